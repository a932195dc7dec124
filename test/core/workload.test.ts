/**
 * Workload-profile guests (src/core/guests/workload.ts, executed by src/core/guests/workloadGuest.ts): each
 * instruction of a profile exits exactly as the machine's rules say under each configuration, the
 * bulk counts are exact, and the same profile is deterministic across shards.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadModelData } from '../../src/model/data.js';
import { findCpuProfile, loadCpuCatalog } from '../../src/profiles/catalog.js';
import { simulateProfile, workloadScenario } from '../../src/import/simulateProfile.js';
import { runHosts } from '../../src/run/simulate.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { EXIT_KINDS } from '../../src/core/vcpu/exits.js';
import { workloadSpecFor } from '../../src/scenario/workload.js';
import { WORKLOAD_RATE_NAMES, type WorkloadProfile, type WorkloadRateName } from '../../src/scenario/types.js';
import { resolvePolicy, type PolicyName } from '../../src/core/hypervisor/policy.js';

const data = loadModelData();
/**
 * The model data with every host OS's tick slowed to one per 1000 s. A host tick exits only while the
 * vCPU is in guest mode (docs/MODEL.md §3; test/core/rootModeTicks.test.ts), so an instruction's own
 * exits take a few tick exits away; the rule table below isolates each instruction's exit without them.
 */
const noHostTicks = {
  ...data,
  costModel: {
    ...data.costModel,
    hostTickHz: Object.fromEntries(Object.keys(data.costModel.hostTickHz).map((os) => [os, 0.001])) as Record<
      keyof typeof data.costModel.hostTickHz,
      number
    >,
  },
};
const catalog = loadCpuCatalog();
const cpu = (id: string) => findCpuProfile(catalog, id);

function profile(
  rates: Partial<Record<WorkloadRateName, number>>,
  extra: Partial<WorkloadProfile> = {},
): WorkloadProfile {
  const per = Object.fromEntries(WORKLOAD_RATE_NAMES.map((k) => [k, rates[k] ?? 0])) as Record<
    WorkloadRateName,
    number
  >;
  return {
    name: 't',
    os: 'ubuntu-18.04',
    vcpus: 1,
    x2apic: false,
    perGuestSecond: per,
    interruptsPerSecond: 0,
    opaquePerGuestSecond: {},
    ...extra,
  };
}

/** Exits by name over `seconds` for one vCPU running only `rates`. */
function exitsOf(
  p: WorkloadProfile,
  cpuId: string,
  policy: PolicyName,
  seconds = 2,
  tunables = {},
  model = data,
): Record<string, number> {
  const { acc } = simulateProfile(p, cpu(cpuId), policy, tunables, seconds, 1, model);
  const out: Record<string, number> = {};
  for (const k of EXIT_KINDS) if (acc.exits[k.slot] > 0) out[k.name] = acc.exits[k.slot];
  return out;
}

// [rate, cpu, policy, x2apic, the exit it must cause (or none), source of the rule]
const RULES: ReadonlyArray<readonly [WorkloadRateName, string, PolicyName, boolean, string | undefined, string]> = [
  [
    'cr8Writes',
    'i7-2620M',
    'bhyve-12.1',
    false,
    'CR_ACCESS',
    'no TPR shadow: MOV to CR8 exits (SDM 25.1.3, CR8-load exiting)',
  ],
  ['cr8Writes', 'i7-2620M', 'bhyve-tpr-v1', false, undefined, 'TPR shadow: MOV to CR8 virtualized (SDM 29.3)'],
  ['cr8Writes', 'i7-2620M', 'kvm', false, undefined, 'KVM FlexPriority: TPR shadow'],
  ['cr8Reads', 'i7-2620M', 'bhyve-12.1', false, 'CR_ACCESS', 'CR8-store exiting without TPR shadow'],
  ['cr8Reads', 'xeon-e5-2667v4', 'bhyve-tpr-v3', false, undefined, 'MOV from CR8 reads the VTPR (SDM 29.3)'],
  [
    'cr8Writes',
    'epyc-7763',
    'bhyve-12.1',
    false,
    undefined,
    'SVM with V_INTR_MASKING: CR8 writes go to V_TPR, not intercepted (APM vol. 2 15.21.1; bhyve svm.c)',
  ],
  [
    'cr8Writes',
    'epyc-7763',
    'kvm',
    false,
    undefined,
    'KVM intercepts CR8 writes only while an interrupt waits on the TPR (svm.c update_cr8_intercept)',
  ],
  ['cpuid', 'i7-6700K', 'kvm', false, 'CPUID', 'CPUID exits unconditionally (SDM 26.1.2)'],
  ['cpuid', 'epyc-7281', 'kvm', false, 'VMEXIT_CPUID', 'CPUID intercept (APM 15.9)'],
  ['io', 'i7-6700K', 'kvm', false, 'IO_INSTRUCTION', 'unconditional I/O exiting / I/O bitmap'],
  [
    'mmio',
    'i7-6700K',
    'kvm',
    false,
    'EPT_MISCONFIG',
    'KVM emulates device MMIO through EPT misconfigurations (MMIO SPTEs; D9)',
  ],
  ['mmio', 'i7-2620M', 'bhyve-tpr-v3', false, 'EPT_VIOLATION', 'bhyve leaves device MMIO unmapped in the EPT (D9)'],
  ['mmio', 'epyc-7281', 'kvm', false, 'VMEXIT_NPF', 'nested page fault'],
  ['msrWrites', 'i7-6700K', 'kvm', false, 'MSR_WRITE', 'IA32_TSC_DEADLINE intercepted by the MSR bitmap'],
  ['msrReads', 'i7-6700K', 'bhyve-12.1', false, 'MSR_READ', 'MSR bitmap'],
  [
    'apicTimerWrites',
    'i7-2620M',
    'bhyve-12.1',
    false,
    'EPT_VIOLATION',
    'bhyve without APIC-access virtualization: the APIC page is unmapped',
  ],
  [
    'apicTimerWrites',
    'i7-6700K',
    'kvm',
    false,
    'APIC_ACCESS',
    'APIC-access page without APIC-register virtualization (SDM 29.4)',
  ],
  [
    'apicTimerWrites',
    'xeon-e5-2667v4',
    'kvm',
    false,
    'APIC_WRITE',
    'APIC-register virtualization: a write to TMICT traps (SDM 29.4.3)',
  ],
  ['apicTimerWrites', 'i7-6700K', 'kvm', true, 'MSR_WRITE', 'x2APIC: WRMSR 0x838 through the MSR bitmap'],
  ['hostInterrupts', 'i7-6700K', 'kvm', false, 'EXTERNAL_INTERRUPT', 'external-interrupt exiting'],
];

describe('workload instructions exit by the rules', () => {
  for (const [rate, cpuId, policy, x2apic, exit, why] of RULES) {
    it(`${rate} on ${cpuId} / ${policy}${x2apic ? ' (x2APIC)' : ''} -> ${exit ?? 'no exit'}: ${why}`, () => {
      const base = exitsOf(profile({}, { x2apic }), cpuId, policy, 2, {}, noHostTicks);
      const withOp = exitsOf(profile({ [rate]: 1000 }, { x2apic }), cpuId, policy, 2, {}, noHostTicks);
      const added: Record<string, number> = {};
      for (const [k, n] of Object.entries(withOp)) if (n !== (base[k] ?? 0)) added[k] = n - (base[k] ?? 0);
      if (exit === undefined) {
        assert.deepEqual(added, {}, 'no exit added');
      } else {
        assert.deepEqual(Object.keys(added), [exit]);
        // 1000 per guest-second for 2 s, minus the guest time the exits themselves take (a few %).
        assert.ok(added[exit] > 1900 && added[exit] <= 2000, `${exit}: ${added[exit]}`);
      }
    });
  }
});

describe('workload guests', () => {
  it('opaque exits are counted exactly as given and map across vendors', () => {
    const p = profile({}, { opaquePerGuestSecond: { EPT_MISCONFIG: 500, VMX_PREEMPTION_TIMER: 250 } });
    const intel = exitsOf(p, 'i7-6700K', 'kvm');
    assert.ok(intel.EPT_MISCONFIG >= 995 && intel.EPT_MISCONFIG <= 1000, String(intel.EPT_MISCONFIG));
    assert.ok(intel.VMX_PREEMPTION_TIMER >= 497 && intel.VMX_PREEMPTION_TIMER <= 500);
    const epyc = cpu('epyc-7281');
    const resolved = workloadSpecFor(p, resolvePolicy('kvm', epyc, {}), epyc);
    assert.deepEqual(
      resolved.dropped.map((d) => d.name),
      ['VMX_PREEMPTION_TIMER'],
    );
    assert.deepEqual(resolved.mapped, ['EPT_MISCONFIG -> VMEXIT_NPF (the same event on AMD)']);
    const amd = exitsOf(p, 'epyc-7281', 'kvm');
    assert.ok(amd.VMEXIT_NPF >= 995, 'EPT misconfiguration becomes a nested page fault on AMD');
    assert.equal(amd.VMX_PREEMPTION_TIMER, undefined);
  });

  it('HLTs sleep until an interrupt: HLT exits <= interrupts delivered + 1 per vCPU, and guest CPU falls', () => {
    const busy = simulateProfile(
      profile({ cpuid: 100 }, { interruptsPerSecond: 500 }),
      cpu('i7-6700K'),
      'kvm',
      {},
      4,
      3,
      data,
    ).acc;
    const idle = simulateProfile(
      profile({ cpuid: 100, hlts: 400 }, { interruptsPerSecond: 500 }),
      cpu('i7-6700K'),
      'kvm',
      {},
      4,
      3,
      data,
    ).acc;
    const hlt = idle.exits[EXIT_KINDS.find((k) => k.name === 'HLT')!.slot];
    assert.ok(hlt > 0);
    assert.ok(idle.guestNs > 0 && idle.guestCounters[0] < busy.guestCounters[0] * 0.8, 'the halted guest ran less');
    const delivered = idle.guestCounters[4] + idle.guestCounters[5] + idle.guestCounters[6];
    assert.ok(hlt <= delivered + 1, `${hlt} HLTs, ${delivered} interrupts`);
  });

  it('IPIs between vCPUs exit as the LAPIC mode says (xAPIC ICR write on KVM without APICv: APIC_ACCESS)', () => {
    const two = (ipis: number) => exitsOf(profile({ ipis }, { vcpus: 2 }), 'i7-6700K', 'kvm');
    const without = two(0);
    const withIpis = two(300);
    assert.ok((withIpis.APIC_ACCESS ?? 0) > (without.APIC_ACCESS ?? 0) + 1000, JSON.stringify(withIpis));
  });

  it('is deterministic across host ranges: hosts 0..3 at once equal hosts 0..1 plus 2..3', () => {
    const p = profile(
      { cr8Writes: 20000, mmio: 300, hlts: 200, ipis: 50 },
      { vcpus: 2, interruptsPerSecond: 400, opaquePerGuestSecond: { XSETBV: 3 } },
    );
    const scenario = workloadScenario(
      p,
      [{ name: 'v', cpu: cpu('i7-2620M'), policy: 'bhyve-12.1', tunables: {} }],
      3,
      9,
    );
    const variant = { ...scenario.variants[0], host: { ...scenario.variants[0].host, count: 4 } };
    const all = new TotalsAccumulator();
    runHosts(scenario, variant, data, 0, 4, all);
    const a = new TotalsAccumulator();
    const b = new TotalsAccumulator();
    runHosts(scenario, variant, data, 2, 4, b);
    runHosts(scenario, variant, data, 0, 2, a);
    a.merge(b);
    assert.deepEqual([...a.exits], [...all.exits]);
    assert.deepEqual([...a.guestCounters], [...all.guestCounters]);
    assert.deepEqual([...a.latency], [...all.latency]);
  });
});
