/**
 * what-if: a profile measured on one host, asked about other policies and CPUs. The answers must
 * follow the rules: TPR shadowing removes the %cr8 exits and nothing else a Windows-like profile
 * does; APICv on the Xeon E5-2667 v4 under bhyve-tpr-v2 trips bhyve's isrvec_stk check.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectionRefusal, whatIf } from '../../src/import/whatIf.js';
import { loadModelData, REPO_ROOT } from '../../src/model/data.js';
import { findCpuProfile, loadCpuCatalog } from '../../src/profiles/catalog.js';
import { parseWorkloadProfile } from '../../src/scenario/workload.js';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import { windowsLikeProfile } from '../support/workloads.js';

const data = loadModelData();
const catalog = loadCpuCatalog();
const cpu = (id: string) => findCpuProfile(catalog, id);

const WINDOWS_LIKE = windowsLikeProfile();

describe('what-if', () => {
  const profile = parseWorkloadProfile(WINDOWS_LIKE, 'win-like.yaml');
  const source = { cpu: cpu('i7-2620M'), policy: 'bhyve-12.1' as const, tunables: {} };

  it('TPR shadowing (bhyve-tpr-v1/v3 on the same CPU) removes the CR_ACCESS exits and shortens the phase', () => {
    const r = whatIf(
      profile,
      source,
      [
        { ...source, policy: 'bhyve-tpr-v1' },
        { ...source, policy: 'bhyve-tpr-v3' },
      ],
      { simSeconds: 4, seed: 5, phaseSeconds: 1000, data },
    );
    assert.equal(r.rows.length, 3);
    const [measured, v1, v3] = r.rows;
    assert.ok(measured.isSource && !v1.isSource);
    assert.ok(measured.exitsPerSecond.CR_ACCESS > 10000, 'every %cr8 write exits on the measured host');
    for (const row of [v1, v3]) {
      assert.equal(row.exitsPerSecond.CR_ACCESS, undefined, `${row.variant}: no CR_ACCESS with the TPR shadowed`);
      assert.ok(row.exitsChangePercent < -80, `${row.variant}: ${row.exitsChangePercent}`);
      assert.ok(row.hostTimeInExits < measured.hostTimeInExits);
      assert.ok(row.projectedPhaseSeconds! < 1000, `${row.variant}: ${row.projectedPhaseSeconds}`);
      assert.equal(row.projectedPhaseSeconds, (1000 * measured.guestCpu) / row.guestCpu);
      assert.deepEqual(row.violations, []);
    }
    assert.equal(measured.projectedPhaseSeconds, 1000);
  });

  it('bhyve-tpr-v2 on the Xeon E5-2667 v4 with APICv: the isrvec_stk check trips and the guest stops; v3 does not', () => {
    const xeon = cpu('xeon-e5-2667v4');
    const r = whatIf(
      profile,
      source,
      [
        { cpu: xeon, policy: 'bhyve-tpr-v2', tunables: {} },
        { cpu: xeon, policy: 'bhyve-tpr-v3', tunables: {} },
      ],
      { simSeconds: 4, seed: 5, data },
    );
    const v2 = r.rows.find((x) => x.policy === 'bhyve-tpr-v2')!;
    const v3 = r.rows.find((x) => x.policy === 'bhyve-tpr-v3')!;
    assert.ok(v2.violations.length > 0, 'v2 syncs the PPR with VID on and meets an empty isrvec_stk');
    assert.deepEqual(v3.violations, []);
    assert.ok(v2.guestCpu < v3.guestCpu / 2, 'the stopped guest ran less');
  });

  it('a tunable changed on the measured CPU and policy is a configuration of its own, named by the change', () => {
    const xeon = { cpu: cpu('xeon-e5-2667v4'), policy: 'kvm' as const, tunables: {} };
    const r = whatIf(
      profile,
      xeon,
      [
        { ...xeon, tunables: { 'kvm_intel.enable_apicv': 0 } },
        { ...xeon, tunables: { 'kvm_intel.enable_apicv': 1 } }, // the default: the measured host again
        { ...xeon, tunables: { 'kvm_intel.enable_apicv': 0 } },
      ],
      { simSeconds: 2, seed: 5, data },
    );
    assert.deepEqual(
      r.rows.map((x) => x.variant),
      ['kvm/xeon-e5-2667v4', 'kvm/xeon-e5-2667v4 kvm_intel.enable_apicv=0'],
    );
    const [apicv, noApicv] = r.rows;
    assert.equal(apicv.exitsPerSecond.APIC_ACCESS, undefined, 'EOIs virtualized with APICv');
    assert.ok(
      (noApicv.exitsPerSecond.APIC_ACCESS ?? 0) > 100,
      `EOIs exit without APICv: ${noApicv.exitsPerSecond.APIC_ACCESS}`,
    );
  });

  it('CLI: source from the profile, --json, and clear errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-whatif-'));
    try {
      const file = join(dir, 'win.yaml');
      writeFileSync(file, WINDOWS_LIKE);
      let io = capture();
      assert.equal(
        await main(
          ['what-if', file, '--policy', 'bhyve-tpr-v3', '--sim-seconds', '2', '--phase', '2280s', '--json'],
          io,
        ),
        0,
        io.stderr.join(''),
      );
      const out = JSON.parse(io.stdout.join('')) as {
        rows: { variant: string; exitsPerSecond: Record<string, number>; projectedPhaseSeconds: number }[];
      };
      assert.deepEqual(
        out.rows.map((x) => x.variant),
        ['bhyve-12.1/i7-2620M', 'bhyve-tpr-v3/i7-2620M'],
      );
      assert.equal(out.rows[0].projectedPhaseSeconds, 2280);
      io = capture();
      assert.equal(await main(['what-if', file, '--policy', 'bhyve-tpr-v3', '--sim-seconds', '2'], io), 0);
      assert.match(io.stdout.join(''), /^bhyve-12\.1\/i7-2620M +[\d,.]+ +measured /m);
      io = capture();
      writeFileSync(file, WINDOWS_LIKE.replace(/source:.*\n/, ''));
      assert.equal(await main(['what-if', file], io), 2);
      assert.match(io.stderr.join(''), /has no source cpu and policy: give --from CPU:POLICY/);
      io = capture();
      assert.equal(await main(['what-if', file, '--from', 'i7-2620M:bhyve-99'], io), 2);
      assert.match(io.stderr.join(''), /unknown policy "bhyve-99"/);
      io = capture();
      assert.equal(
        await main(
          ['what-if', file, '--from', 'i7-2620M:kvm', '--tunable', 'kvm_intel.enable_apicv=2', '--policy', 'kvm'],
          io,
        ),
        2,
      );
      assert.match(io.stderr.join(''), /kvm_intel\.enable_apicv must be 0\.\.1, found 2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('import CLI: required flags and malformed reports give exit 2 with a message', async () => {
    let io = capture();
    const report = join(REPO_ROOT, 'test', 'fixtures', 'reports', 'perf-intel-sysbench-2020.txt');
    assert.equal(await main(['import', 'perf-kvm-stat', report, '--duration', '10s'], io), 2);
    assert.match(io.stderr.join(''), /--cpu is required/);
    io = capture();
    assert.equal(await main(['import', 'perf-kvm-stat', report, '--cpu', 'i7-6700K'], io), 2);
    assert.match(io.stderr.join(''), /--duration is required/);
    io = capture();
    assert.equal(await main(['import', 'perf-kvm-stat', report, '--cpu', 'epyc-7281', '--duration', '10s'], io), 2);
    assert.match(io.stderr.join(''), /report of an Intel VT-x host, but --cpu epyc-7281 is AMD/);
    io = capture();
    assert.equal(await main(['import', 'bhyvectl', report, '--cpu', 'i7-6700K', '--duration', '10s'], io), 2);
    assert.match(io.stderr.join(''), /--policy is required for bhyvectl reports/);
    // Exits only a feature produces: the importer says which one the measured host had.
    io = capture();
    const amd = join(REPO_ROOT, 'test', 'fixtures', 'reports', 'perf-amd-constructed.txt');
    assert.equal(
      await main(
        ['import', 'perf-kvm-stat', amd, '--cpu', 'epyc-7281', '--duration', '10s', '--sim-seconds', '2', '--json'],
        io,
      ),
      1, // without AVIC its EOIs exit as nested page faults: the fit misses VMEXIT_NPF (docs/IMPORT.md)
    );
    assert.match(io.stderr.join(''), /fit misses: VMEXIT_NPF .* each causes VMEXIT_NPF exits \(its EOI\)/);
    assert.match(
      io.stderr.join(''),
      /the report has AVIC exits, so the measured host used AVIC; epyc-7281 under kvm runs without it \(add --tunable kvm_amd\.avic=1\)/,
    );
    io = capture();
    assert.equal(
      await main(
        [
          'import',
          'perf-kvm-stat',
          amd,
          '--cpu',
          'epyc-7281',
          '--tunable',
          'kvm_amd.avic=1',
          '--duration',
          '10s',
          '--sim-seconds',
          '2',
          '--json',
        ],
        io,
      ),
      0,
    );
    assert.doesNotMatch(io.stderr.join(''), /AVIC exits/);
    io = capture();
    const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-import-'));
    try {
      const bad = join(dir, 'bad.txt');
      writeFileSync(
        bad,
        'Analyze events for all VMs, all VCPUs:\n\n             VM-EXIT    Samples  Samples%     Time%    Min Time    Max Time         Avg time\n\n  HLT  abc  10.00%  1.00%  1.00us  2.00us  1.50us ( +-   1.00% )\n',
      );
      assert.equal(await main(['import', 'perf-kvm-stat', bad, '--cpu', 'i7-6700K', '--duration', '10s'], io), 2);
      assert.match(io.stderr.join(''), /bad\.txt:5:\d+: expected/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('what-if: the projection refusal', () => {
  it('prints the running share to one decimal: 49.7 % is below half, where "50 %" read as if it were not', () => {
    const why = projectionRefusal({ guestCpu: 0.497, exitsPerSecond: {}, exitsPerSecondTotal: 0 });
    assert.match(why ?? '', /its vCPUs run 49\.7 % of the time, halted or waiting 50\.3 %/);
    assert.equal(projectionRefusal({ guestCpu: 0.5, exitsPerSecond: {}, exitsPerSecondTotal: 0 }), undefined);
  });
});
