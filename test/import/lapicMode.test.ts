/**
 * The LAPIC mode `import` gives a measured guest when not told (src/import/lapicMode.ts): the
 * hypervisor's default x2APIC offer, the guest model's use of it, and AVIC exits that say x2APIC was
 * hidden.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measuredX2apicMode } from '../../src/import/lapicMode.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { findCpuProfile, loadCpuCatalog } from '../../src/profiles/catalog.js';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import type { PolicyName } from '../../src/core/hypervisor/policy.js';

const catalog = loadCpuCatalog();
const cpu = (id: string) => findCpuProfile(catalog, id);
const X2AVIC = { ...cpu('ryzen-5-3600x'), svm: { ...cpu('ryzen-5-3600x').svm!, x2avic: true } };

describe('measuredX2apicMode', () => {
  const rows: readonly [string, PolicyName, boolean, ReturnType<typeof cpu>, string[], boolean][] = [
    ['Linux under KVM (QEMU offers x2APIC)', 'kvm', true, cpu('i7-6700K'), ['MSR_WRITE', 'HLT'], true],
    ['Windows under KVM (stays in xAPIC mode)', 'kvm', false, cpu('i7-6700K'), ['MSR_WRITE'], false],
    ['Linux under bhyve (x2APIC only with bhyve -x)', 'bhyve-tpr-v3', true, cpu('i7-6700K'), ['HLT'], false],
    ['Linux under KVM with AVIC exits, no x2AVIC', 'kvm', true, cpu('ryzen-5-3600x'), ['VMEXIT_AVIC_NOACCEL'], false],
    ['Linux under KVM with AVIC exits on an x2AVIC CPU', 'kvm', true, X2AVIC, ['VMEXIT_AVIC_INCOMPLETE_IPI'], true],
    ['Linux under KVM on AMD without AVIC exits', 'kvm', true, cpu('ryzen-5-3600x'), ['VMEXIT_MSR'], true],
  ];
  for (const [what, policy, uses, c, names, want] of rows)
    it(`${what}: ${want ? 'x2APIC' : 'xAPIC'}`, () => {
      assert.equal(measuredX2apicMode(policy, uses, c, names), want);
    });
});

describe('import: the LAPIC mode flags', () => {
  // Gregg's Linux guest (perf kvm stat live): MSR_WRITE-heavy, no APIC_ACCESS rows - an x2APIC guest.
  const report = join(REPO_ROOT, 'test', 'fixtures', 'reports', 'perf-intel-live-sysperf-2020.txt');
  const run = async (...flags: string[]) => {
    const io = capture();
    const args = ['import', 'perf-kvm-stat', report, '--cpu', 'i7-6700K', '--duration', '1s', '--sim-seconds', '10'];
    const code = await main([...args, ...flags], io);
    return { code, out: io.stdout.join(''), err: io.stderr.join('') };
  };
  it('a Linux report from KVM imports as x2APIC by default and fits', async () => {
    const r = await run();
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^x2apic: true$/m);
  });
  it('--xapic forces xAPIC mode: its EOIs are APIC_ACCESS exits the report lacks', async () => {
    const r = await run('--xapic');
    assert.match(r.out, /^x2apic: false$/m);
    assert.match(r.err, /APIC_ACCESS +- +0\.0 +[\d.]+ +not in report/);
  });
  it('what-if says that bhyve rows assume x2APIC offered (bhyve -x) for an x2APIC profile', async () => {
    const r = await run();
    const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-lapic-'));
    try {
      const file = join(dir, 'linux.yaml');
      writeFileSync(file, r.out);
      const io = capture();
      assert.equal(await main(['what-if', file, '--sim-seconds', '2'], io), 0, io.stderr.join(''));
      const all = (io.stdout.join('') + io.stderr.join('')).replace(/\s+/g, ' ');
      assert.match(
        all,
        /bhyve-12\.1, bhyve-tpr-v1, bhyve-tpr-v2, bhyve-tpr-v3 on i7-6700K \(4 configurations\): the guest runs in x2APIC mode as measured; bhyve offers x2APIC only with bhyve -x/,
      );
      // Grouped as the other notes are (what-if --cpu all listed 32 configurations one by one here).
      assert.doesNotMatch(all, /bhyve-12\.1\/i7-6700K, bhyve-tpr-v1\/i7-6700K/);
      assert.doesNotMatch(all, /kvm\/i7-6700K[^:]*: the guest runs in x2APIC mode/);
      const xapic = await run('--xapic');
      writeFileSync(file, xapic.out);
      const io2 = capture();
      assert.equal(await main(['what-if', file, '--sim-seconds', '2'], io2), 0);
      assert.doesNotMatch(io2.stdout.join('') + io2.stderr.join(''), /the guest runs in x2APIC mode/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('--x2apic with --xapic is a usage error', async () => {
    const r = await run('--x2apic', '--xapic');
    assert.equal(r.code, 2);
    assert.match(r.err, /--x2apic and --xapic: give one LAPIC mode/);
  });
});
