/**
 * A profile measured on one configuration, asked about another (issue #14 part 5): the %cr8 prior
 * for Windows reports from TPR-shadowing hosts, opaque exits only where the target can take them,
 * and no phase projection for halt-dominated or polling profiles.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fitWorkload } from '../../src/import/fit.js';
import { projectionRefusal, whatIf, whatIfNotes } from '../../src/import/whatIf.js';
import { loadModelData } from '../../src/model/data.js';
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
    assert.match(
      notes,
      /bhyve-12\.1\/i7-2620M: VMX_PREEMPTION_TIMER \(300\/s of the profile\) dropped: bhyve does not use/,
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
