/**
 * E21 (docs/perf/engine30.md, the fortieth session): the event walk (src/core/engine/events.ts) tests a
 * kind's time against the due limit only when it is before the earliest time so far (a due time is:
 * every kind before it was later than the limit); reads the vCPU's mode once, its guest's index only in
 * the phase kinds' blocks; and asks the host's flag HostState.workloadGuests, not `wl`'s length, before
 * the workload blocks (and progressRate before the guest's model). Held here: before every advance
 * and re-key of a run, and after every advance (where firstDue asks), on every vCPU, firstDue and
 * nextEventTime answer as a reference walk written plainly below (each kind's exact due time, both
 * tests at every block, the workload read from the guests' config), on hosts that reach every kind;
 * the checks change nothing (the same totals without them); and a host whose workloadGuests flag is
 * wrong gives other results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ev, firstDue, nextEventTime } from '../../src/core/engine/events.js';
import { Mode, V8, Vf, Vi, WL, WL_COST, WL_IRQ_AT } from '../../src/core/engine/fields.js';
import type { HostSimulation } from '../../src/core/engine/host.js';
import { Gf, PhaseKind } from '../../src/core/engine/state.js';
import { timerActive } from '../../src/core/guests/timers.js';
import { workloadDynAt } from '../../src/core/guests/workloadGuest.js';
import { ENGINE_HOSTS, firstHost, hostTotals, sysbenchWorkloadYaml } from '../support/hosts.js';

/** Each host's scenario body: every phase kind, an overcommitted host (shares change), an idle fleet, workload profiles. */
const HOSTS: Record<string, string> = {
  'an install, a build, a disk benchmark and a ping-pong on 4 cores, bhyve-tpr-v3': ENGINE_HOSTS.everyPhase,
  'an install, a build and a ping-pong on 2 cores for 6 vCPUs, bhyve-12.1': ENGINE_HOSTS.installBuildPingPong,
  'an idle KVM fleet with Hyper-V guests': ENGINE_HOSTS.kvmIdleFleet,
  'workload-profile guests beside a modelled one on 2 cores, KVM': `
host: { cpu: xeon-e5-2667v4, cores: 2 }
hypervisor: { policy: kvm }
guests:
  - { workload: ../data/workloads/sysbench-kvm-2020.yaml, count: 2 }
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, work: 300ms }, { phase: idle }] }`,
};

function host(body: string): HostSimulation {
  return firstHost(`name: walk-due\nseed: 5\n${body.trim()}\nduration: 10s\n`, 'scenarios/walk-due.yaml');
}

/**
 * The walk's answer written plainly: each kind's exact due time in Ev order, `t <= limit` and `t < next`
 * both asked at every block (the walk before E21), the rate from the guest's config. Returns the first
 * kind due (with `due`) or -1, and the earliest waking time.
 */
function reference(h: HostSimulation, v: number, due: boolean): [number, number] {
  const limit = due ? h.now : -Infinity;
  const vf = h.vf;
  const b = v * Vf.STRIDE;
  const gi = h.vi[v * Vi.STRIDE + Vi.GUEST_OF];
  const mode: Mode = h.v8[v * V8.STRIDE + V8.MODE];
  const halted = mode === Mode.HALT;
  const kinds = h.phaseEvents ? h.phaseKinds[v] : 0;
  const workload = h.guests[gi].workload !== undefined;
  const anyWorkload = h.guests.some((g) => g.workload !== undefined);
  let next = Infinity;
  let found = -1;
  const kind = (k: number, t: number, wakes = true): void => {
    if (found >= 0) return;
    if (t <= limit) found = k;
    else if (wakes && t < next) next = t;
  };
  kind(Ev.ISR_END, vf[b + Vf.ISR_END]);
  kind(Ev.RAISED_END, vf[b + Vf.RAISED_END]);
  kind(Ev.NOTIFY, vf[b + Vf.NOTIFY_AT]);
  kind(Ev.IPI, vf[b + Vf.IPI_AT]);
  kind(Ev.BG_IO_DONE, vf[b + Vf.BG_DONE_AT]);
  kind(Ev.IO_DONE, (kinds & PhaseKind.IO_DONE) !== 0 ? h.gf[gi * Gf.STRIDE + Gf.IO_DONE_AT] : Infinity);
  if (anyWorkload) {
    kind(Ev.WL_IRQ, h.wl[v * WL + WL_IRQ_AT]);
    workloadDynAt(h, v);
    kind(Ev.WL_DYN, h.wlDynAt);
  }
  const timerOn = timerActive(h, v);
  kind(Ev.TIMER, timerOn ? vf[b + Vf.NEXT_TIMER] : Infinity);
  let from = 0;
  if (!halted) {
    h.resumeTime(v);
    from = h.resumeAt;
  }
  const share = h.share();
  const rate = workload
    ? share / (1 + h.wl[v * WL + WL_COST])
    : share / (1 + vf[b + Vf.CR8_PER_NS] * vf[b + Vf.COST_PER_ACCESS]);
  const done = (left: number): number => from + Math.max(0, Math.ceil(left / rate));
  kind(Ev.BG_IO, !halted && vf[b + Vf.BG_IO_LEFT] !== Infinity ? done(vf[b + Vf.BG_IO_LEFT]) : Infinity);
  kind(Ev.BG_IPI, !halted && vf[b + Vf.BG_IPI_LEFT] !== Infinity ? done(vf[b + Vf.BG_IPI_LEFT]) : Infinity);
  const running = !halted && mode === Mode.RUN && vf[b + Vf.RAISED_END] === Infinity;
  kind(Ev.PHASE_END, (kinds & PhaseKind.PHASE_END) !== 0 ? h.gf[gi * Gf.STRIDE + Gf.PHASE_END] : Infinity);
  const chunk = h.gf[gi * Gf.STRIDE + Gf.CHUNK_LEFT];
  kind(Ev.CHUNK_END, running && (kinds & PhaseKind.CHUNK_END) !== 0 ? from + Math.ceil(chunk / rate) : Infinity);
  const building = running && (kinds & PhaseKind.BUILD_END) !== 0;
  const hop = running && (kinds & PhaseKind.HOP_END) !== 0;
  kind(building ? Ev.BUILD_END : Ev.HOP_END, building || hop ? done(vf[b + Vf.WORK_LEFT]) : Infinity);
  const busy = h.v8[v * V8.STRIDE + V8.BUSY] === 1 && vf[b + Vf.BURST_WORK] !== Infinity;
  kind(Ev.BURST_END, busy ? (running ? done(vf[b + Vf.BURST_WORK]) : Infinity) : vf[b + Vf.BURST_END]);
  kind(Ev.TIMER_STALE, timerOn ? Infinity : vf[b + Vf.NEXT_TIMER], false);
  if (found >= 0) return [found, NaN];
  const tick = vf[b + Vf.NEXT_HOST_TICK];
  if (!halted && tick < next && !h.machine.isQuiet(v)) next = tick;
  return [-1, next];
}

/** firstDue and nextEventTime against the reference on every vCPU; the count of due kinds found. */
function checkAll(h: HostSimulation, what: string): number {
  let found = 0;
  for (let u = 0; u < h.n; u++) {
    if (h.machine.isStopped(u)) continue;
    const [wantKind, wantNext] = reference(h, u, true);
    const kind = firstDue(h, u);
    assert.equal(kind, wantKind, `firstDue of vCPU ${u} ${what} at ${h.now} ns`);
    if (kind === -1) assert.equal(h.walkNext, wantNext, `firstDue's earliest time, vCPU ${u} ${what}`);
    else found++;
    assert.equal(nextEventTime(h, u), reference(h, u, false)[1], `nextEventTime of vCPU ${u} ${what}`);
  }
  return found;
}

/** `h` with the checks before every re-key and around every advance; their counts. */
function checked(h: HostSimulation): { checks: number; due: number } {
  const counts = { checks: 0, due: 0 };
  const rekey = h.reschedule.bind(h);
  h.reschedule = (v: number): void => {
    counts.due += checkAll(h, `before a re-key of vCPU ${v}`);
    counts.checks++;
    rekey(v);
  };
  const advance = h.advance.bind(h);
  h.advance = (v: number): void => {
    checkAll(h, `before an advance of vCPU ${v}`);
    advance(v);
    counts.due += checkAll(h, `after an advance of vCPU ${v}`);
    counts.checks++;
  };
  return counts;
}

for (const [name, body] of Object.entries(HOSTS)) {
  test(`${name}: firstDue and nextEventTime answer as the plain walk at every advance and re-key`, () => {
    const h = host(body);
    assert.equal(
      h.workloadGuests,
      h.guests.some((g) => g.workload !== undefined),
    );
    const counts = checked(h);
    h.advanceTo(1.2e9);
    assert.ok(counts.checks > 1000, `checks: ${counts.checks}`);
    assert.ok(counts.due > 500, `kinds found due: ${counts.due}`);
  });

  test(`${name}: the checks change nothing`, () => {
    const h = host(body);
    checked(h);
    assert.equal(hostTotals(h, 0.6e9), hostTotals(host(body), 0.6e9));
  });
}

test('a host whose workloadGuests flag is wrong gives other results (the walk and progressRate read it)', () => {
  const body = HOSTS['workload-profile guests beside a modelled one on 2 cores, KVM'];
  const wrong = host(body);
  assert.equal(wrong.workloadGuests, true);
  (wrong as { workloadGuests: boolean }).workloadGuests = false;
  assert.notEqual(hostTotals(wrong, 0.6e9), hostTotals(host(body), 0.6e9));
});

test('the flag is off without workload guests, on with them', () => {
  assert.equal(host(ENGINE_HOSTS.kvmIdleFleet).workloadGuests, false);
  assert.equal(firstHost(sysbenchWorkloadYaml('wl'), 'scenarios/wl.yaml').workloadGuests, true);
});

test('a host of more vCPUs than VcpuIndex.MASK + 1 is refused before the walk could mask an index', async () => {
  const { HostSimulation } = await import('../../src/core/engine/host.js');
  const config = { host: { hostTickHz: 1000 }, cores: 1, guests: [{ vcpus: 2 ** 24 + 1, phases: [] }] };
  assert.throws(() => new HostSimulation(config as never), /16777217 vCPUs on one host: at most 16777216/);
});
