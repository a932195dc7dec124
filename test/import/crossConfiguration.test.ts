/**
 * A profile measured on one configuration, asked about another (issue #14 part 5): the %cr8 prior
 * for Windows reports from TPR-shadowing hosts, opaque exits only where the target can take them,
 * and no phase projection for halt-dominated or polling profiles.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import { fitWorkload } from '../../src/import/fit.js';
import { sixDigits } from '../../src/import/fittedProfile.js';
import { projectionRefusal, whatIf, whatIfNotes } from '../../src/import/whatIf.js';
import { exitCostTable, loadModelData } from '../../src/model/data.js';
import { EXIT_KINDS } from '../../src/core/vcpu/exits.js';
import { findCpuProfile, loadCpuCatalog } from '../../src/profiles/catalog.js';
import { parseWorkloadProfile } from '../../src/scenario/workload.js';

const data = loadModelData();
const catalog = loadCpuCatalog();
const cpu = (id: string) => findCpuProfile(catalog, id);

const fitConfig = {
  name: 'win-kvm',
  os: 'windows-10-1909' as const,
  vcpus: 1,
  x2apic: false,
  cpu: cpu('i7-6700K'),
  policy: 'kvm' as const,
  tunables: {},
  simSeconds: 4,
  seed: 1,
  maxIterations: 20,
  data,
};

describe('the %cr8 prior for Windows', () => {
  // A Windows guest under KVM with FlexPriority: %cr8 writes never exit, so the report has none.
  const measured = new Map([
    ['EXTERNAL_INTERRUPT', 300],
    ['HLT', 200],
    ['MSR_WRITE', 250],
    ['EPT_VIOLATION', 150],
  ]);

  it('takes the guest model idle %cr8 rate, not fitted, and says so', () => {
    const fit = fitWorkload(measured, fitConfig);
    const perBusySecond = data.guestModels.get('windows-10-1909')!.phases.idle.cr8PerBusySecond;
    assert.ok(perBusySecond > 0);
    const writes = fit.profile.perGuestSecond.cr8Writes;
    assert.ok(Math.abs(writes - (2 / 3) * perBusySecond) <= 2, `${writes} vs 2/3 of ${perBusySecond}`);
    assert.ok(Math.abs(fit.profile.perGuestSecond.cr8Reads - perBusySecond / 3) <= 1);
    assert.equal(fit.notes.length, 1);
    assert.match(fit.notes[0], /%cr8 prior/);
    // The measured host still takes no CR8 exit, and the fit still reproduces the report.
    assert.equal(
      fit.rows.find((r) => r.reason === 'CR_ACCESS'),
      undefined,
    );
    for (const r of fit.rows.filter((x) => x.measured > 0))
      assert.ok(Math.abs(r.errorPercent!) < 5, `${r.reason}: ${r.errorPercent}`);
  });

  it('so a desktop CPU under bhyve 12.1 (no TPR shadow) is predicted to exit on %cr8 writes', () => {
    const fit = fitWorkload(measured, fitConfig);
    const r = whatIf(
      fit.profile,
      { cpu: cpu('i7-6700K'), policy: 'kvm', tunables: {} },
      [{ cpu: cpu('i7-2620M'), policy: 'bhyve-12.1', tunables: {} }],
      { simSeconds: 4, seed: 1, data },
    );
    assert.equal(r.rows[0].exitsPerSecond.CR_ACCESS, undefined);
    assert.ok(r.rows[1].exitsPerSecond.CR_ACCESS > 1000, String(r.rows[1].exitsPerSecond.CR_ACCESS));
  });

  it('is not taken for a report that has the CR8 exits, nor for a Linux guest', () => {
    const withExits = new Map([...measured, ['CR_ACCESS', 40000]]);
    const cfg = { ...fitConfig, cpu: cpu('i7-2620M'), policy: 'bhyve-12.1' as const };
    assert.deepEqual(fitWorkload(withExits, cfg).notes, []);
    assert.deepEqual(fitWorkload(measured, { ...fitConfig, os: 'ubuntu-18.04' }).notes, []);
  });
});

describe('what-if across configurations', () => {
  const profile = parseWorkloadProfile(
    `workloadProfile: 1
name: kvm-apicv
os: ubuntu-18.04
vcpus: 2
perGuestSecond: { cpuid: 2000, msrWrites: 500 }
interruptsPerSecond: 50
opaquePerGuestSecond: { VMX_PREEMPTION_TIMER: 300, TPR_BELOW_THRESHOLD: 40, EPT_MISCONFIG: 100 }
`,
    'kvm-apicv.yaml',
  );
  const source = { cpu: cpu('xeon-e5-2667v4'), policy: 'kvm' as const, tunables: {} };

  it('drops the opaque exits a target cannot take, names them and why, and maps the others', () => {
    const r = whatIf(profile, source, [{ cpu: cpu('i7-2620M'), policy: 'bhyve-12.1', tunables: {} }], {
      simSeconds: 2,
      seed: 3,
      data,
    });
    const [measured, bhyve] = r.rows;
    // APICv on the source: no TPR threshold there either.
    assert.deepEqual(
      measured.droppedOpaque.map((d) => d.name),
      ['TPR_BELOW_THRESHOLD'],
    );
    assert.ok(measured.exitsPerSecond.VMX_PREEMPTION_TIMER > 0);
    assert.deepEqual(bhyve.droppedOpaque.map((d) => d.name).sort(), ['TPR_BELOW_THRESHOLD', 'VMX_PREEMPTION_TIMER']);
    assert.equal(bhyve.exitsPerSecond.VMX_PREEMPTION_TIMER, undefined);
    assert.ok(bhyve.exitsPerSecond.EPT_VIOLATION >= 99, String(bhyve.exitsPerSecond.EPT_VIOLATION));
    assert.equal(bhyve.exitsPerSecond.EPT_MISCONFIG, undefined);
    const notes = whatIfNotes(r).join('\n');
    // The dropped rate as the report's reader knows it (per vCPU-second on the measured host), then
    // as the profile holds it (per second of guest execution).
    const atSource = bhyve.droppedOpaque.find((d) => d.name === 'VMX_PREEMPTION_TIMER');
    assert.equal(atSource?.perVcpuSecondAtSource, measured.exitsPerSecond.VMX_PREEMPTION_TIMER);
    assert.ok(
      notes.includes(
        `VMX_PREEMPTION_TIMER dropped (${sixDigits(measured.exitsPerSecond.VMX_PREEMPTION_TIMER)} per vCPU-second on the measured host; 300 per second of guest execution in the profile): bhyve does not use`,
      ),
      notes,
    );
    assert.match(notes, /EPT_MISCONFIG -> EPT_VIOLATION/);
  });

  it('refuses the phase projection for a halt-dominated profile, with the reason', () => {
    const idle = parseWorkloadProfile(
      `workloadProfile: 1
name: idle
os: ubuntu-18.04
vcpus: 1
perGuestSecond: { hlts: 100, msrWrites: 100 }
interruptsPerSecond: 20
`,
      'idle.yaml',
    );
    const r = whatIf(idle, source, [{ cpu: cpu('i7-2620M'), policy: 'bhyve-12.1', tunables: {} }], {
      simSeconds: 2,
      seed: 3,
      phaseSeconds: 600,
      data,
    });
    assert.ok(r.rows[0].guestCpu < 0.5, String(r.rows[0].guestCpu));
    assert.match(r.phaseRefused ?? '', /halt-dominated/);
    for (const row of r.rows) assert.equal(row.projectedPhaseSeconds, undefined);
  });

  it('projectionRefusal: CPU-bound profiles project, polling ones do not', () => {
    assert.equal(
      projectionRefusal({ guestCpu: 0.9, exitsPerSecond: { CPUID: 100 }, exitsPerSecondTotal: 100 }),
      undefined,
    );
    assert.match(
      projectionRefusal({ guestCpu: 0.95, exitsPerSecond: { PAUSE: 20, CPUID: 80 }, exitsPerSecondTotal: 100 }) ?? '',
      /polling \(20 %/,
    );
    assert.match(projectionRefusal({ guestCpu: 0.2, exitsPerSecond: {}, exitsPerSecondTotal: 0 }) ?? '', /run 20 %/);
  });
});

describe("import --carry-exit-times: the report's own time per exit", () => {
  const report = join('test', 'fixtures', 'reports', 'perf-intel-sysbench-2020.txt');
  const args = ['--cpu', 'xeon-e5-2667v4', '--duration', '10s', '--vcpus', '2', '--sim-seconds', '5'];

  it('is carried (HLT aside) and prices the exits it timed on the measured host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-carry-'));
    try {
      const file = join(dir, 'sb.yaml');
      let io = capture();
      assert.equal(
        await main(['import', 'perf-kvm-stat', report, ...args, '--carry-exit-times', '-o', file], io),
        0,
        io.stderr.join(''),
      );
      const profile = parseWorkloadProfile(readFileSync(file, 'utf8'), file);
      const times = profile.measuredTimePerExit!;
      // perf's Avg time column: MSR_WRITE 3.00us, EXTERNAL_INTERRUPT 2.43us; HLT's 30.6 ms is sleep.
      assert.equal(times.MSR_WRITE.measuredNs, 3000);
      assert.equal(times.EXTERNAL_INTERRUPT.measuredNs, 2430);
      assert.equal(times.HLT, undefined);
      // modelNs is the model's own cost of that exit on the measured host (E5-2667 v4 under KVM).
      const table = exitCostTable(loadModelData().costModel, findCpuProfile(loadCpuCatalog(), 'xeon-e5-2667v4'), 'kvm');
      for (const name of ['MSR_WRITE', 'EXTERNAL_INTERRUPT'])
        assert.equal(times[name].modelNs, table[EXIT_KINDS.find((k) => k.name === name)!.slot], name);
      io = capture();
      // Every policy on the Xeon E5-2667 v4: bhyve-tpr-v2's guest stops there, exit 3 (test/cli/whatIfGate.test.ts).
      assert.equal(await main(['what-if', file, '--sim-seconds', '5', '--json'], io), 3, io.stderr.join(''));
      const row = (
        JSON.parse(io.stdout.join('')) as {
          rows: { exitsPerSecond: Record<string, number>; hostTimeInExits: number }[];
        }
      ).rows[0];
      // On the measured host each timed exit costs what the report says (integer ns).
      let expected = 0;
      for (const [name, perSecond] of Object.entries(row.exitsPerSecond)) {
        const t = times[name];
        if (t !== undefined) expected += perSecond * t.measuredNs * 1e-9;
      }
      assert.ok(row.hostTimeInExits > expected, `${row.hostTimeInExits} vs ${expected}`);
      assert.ok(row.hostTimeInExits < expected * 1.1, `${row.hostTimeInExits} vs ${expected}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is refused for a report without times', async () => {
    const io = capture();
    const bhyve = join('test', 'fixtures', 'reports', 'bhyvectl-intel-2vcpu-constructed.txt');
    const status = await main(
      [
        'import',
        'bhyvectl',
        bhyve,
        '--cpu',
        'i7-2620M',
        '--policy',
        'bhyve-12.1',
        '--duration',
        '10s',
        '--carry-exit-times',
      ],
      io,
    );
    assert.equal(status, 2);
    assert.match(io.stderr.join(''), /--carry-exit-times: .* has no time per exit/);
  });
});

describe('measuredTimePerExit in a profile file', () => {
  it('rejects a zero time and an unknown exit name at their position', () => {
    const text = `workloadProfile: 1
name: t
os: ubuntu-18.04
perGuestSecond: { cpuid: 10 }
measuredTimePerExit:
  MSR_WRITE: { measuredNs: 0, modelNs: 300 }
  MSR_WRTIE: { measuredNs: 10, modelNs: 300 }
`;
    assert.throws(
      () => parseWorkloadProfile(text, 't.yaml'),
      (e: Error) =>
        /t\.yaml:6:\d+: error: wrong value for measuredTimePerExit\.MSR_WRITE\.measuredNs/.test(e.message) &&
        /t\.yaml:7:3: error: unknown key "MSR_WRTIE" \(did you mean "MSR_WRITE"\?\)/.test(e.message),
    );
  });
});
