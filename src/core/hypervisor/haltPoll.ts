/**
 * KVM's halt polling (issue #14, docs/MODEL.md section 5 "Halt polling").
 *
 * A vCPU thread whose guest executed HLT polls for a wake-up for up to its own window
 * (vcpu->halt_poll_ns) before it blocks: torvalds/linux virt/kvm/kvm_main.c kvm_vcpu_block (read at
 * 00116795aa87, a 5.4-era tree; the same loop at f0161aad4725, 4.x) - `++halt_attempted_poll`, then
 * `kvm_vcpu_check_block` until the window ends or `single_task_running()` fails, a wake-up inside
 * it `++halt_successful_poll`; else the thread sleeps and the waker's kvm_vcpu_wake_up finds it
 * (`swq_has_sleeper`, `++halt_wakeup`). Documentation/virt/kvm/halt-polling.rst: the polling is host
 * CPU of the vCPU thread. The window adapts after every halt on block_ns, the whole halt (poll and
 * block): block_ns <= window keeps it; window > 0 and block_ns > halt_poll_ns shrinks it
 * (halt_poll_ns_shrink 0: reset to 0); window < halt_poll_ns and block_ns < halt_poll_ns grows it
 * (x halt_poll_ns_grow 2, at least halt_poll_ns_grow_start 10 us, at most halt_poll_ns). Newer kernels
 * halve on shrink (halt_poll_ns_shrink 2); the corpus's hosts (2018-2022) ran the reset.
 *
 * The outcome of a halt is known where its start and its end are: a wake-up at t after a halt begun
 * at s, with this halt's poll budget p, came while polling iff t - s <= p. So the engine marks the
 * start (haltBegins), asks `polling` where the wake-up's host cost depends on it (the woken thread's
 * haltWakeupNs, the waker's wakeupWakerNs) and accounts the halt at its end (haltEnds). State in a
 * machine-carved Float64Array (MachineArrays.haltPoll, stride HaltPoll.STRIDE); the time is the
 * machine's clock (MachineState.clockNs, the engine's now): a double passed to or returned from a call
 * V8 does not inline is boxed, so no function here takes or returns one - no allocation.
 * bhyve has no polling (vm_handle_hlt checks for a pending interrupt and sleeps at once):
 * PolicyTraits.haltPollNs is 0 there, and its machines carve no words at all (keepsHaltPoll): the
 * readers a bhyve host reaches (polling) answer false on the empty array.
 */

/**
 * Whether a host of these traits keeps the words below: every KVM host - one with kvm.halt_poll_ns 0
 * does not poll but still counts halt_wakeup for every halt that slept (kvm_vcpu_wake_up runs
 * whether or not the thread polled) - and any host that polls. bhyve neither polls nor keeps KVM's
 * statistics (vm_handle_hlt sleeps at once): its machines carve none (vcpu/machineSetup.ts), 7
 * doubles a vCPU saved against the bench's 2 KiB per vCPU (docs/PERF.md "## Memory").
 */
export function keepsHaltPoll(traits: { readonly hypervisor: string; readonly haltPollNs: number }): boolean {
  return traits.hypervisor === 'kvm' || traits.haltPollNs > 0;
}

/** Words per vCPU. */
export const enum HaltPoll {
  /** Simulated ns the current halt began. */
  HALT_START = 0,
  /** This halt's poll budget, ns: the window at HLT, 0 when the thread did not poll. */
  POLL = 1,
  /** KVM's per-vCPU window, vcpu->halt_poll_ns (0 at vCPU creation: the vcpu is zero-allocated). */
  WINDOW = 2,
  /** KVM's vCPU statistics of the same names (counts), and the host ns spent polling. */
  ATTEMPTED = 3,
  SUCCESSFUL = 4,
  WAKEUP = 5,
  POLL_NS = 6,
  STRIDE = 7,
}

/**
 * The host's two words after the vCPUs' (index n * STRIDE on): the latest end of any poll granted
 * (no vCPU polls after it), then the halts granted a poll that have not ended - bounds on the vCPUs
 * polling now, so a host need not scan its vCPUs while they leave a core free (guests/interrupts.ts).
 */
export const HOST_WORDS = 2;

/** Simulated ns after which no vCPU of the host polls (see HOST_WORDS). */
export function pollsEndBy(w: Float64Array): number {
  return w[w.length - 2];
}

/** Halts granted a poll and not ended (see HOST_WORDS). */
export function grantedPolls(w: Float64Array): number {
  return w[w.length - 1];
}

/** kvm_main.c module parameters: halt_poll_ns_grow 2 and halt_poll_ns_grow_start 10000 (10 us). */
export const HALT_POLL_GROW = 2;
export const HALT_POLL_GROW_START_NS = 10_000;

/** What the functions below read and write of a machine (vcpu/machineState.ts MachineState has them). */
export interface HaltPollWords {
  readonly haltPoll: Float64Array;
  /** Host ns in exits per slot: a halt's polling joins its HLT exit's (haltEnds). */
  readonly exitHostNs: Float64Array;
  /** Simulated ns now. */
  readonly clockNs: number;
}

/**
 * vCPU `v`'s thread enters kvm_vcpu_block: its halt (and poll) starts at the time the caller wrote
 * into its HaltPoll.HALT_START word. `mayPoll`: polling is on (halt_poll_ns > 0) and the thread is
 * alone on its CPU (single_task_running()); the poll budget is the window then.
 */
export function haltBegins(w: Float64Array, v: number, mayPoll: boolean): void {
  const b = v * HaltPoll.STRIDE;
  const poll = mayPoll ? w[b + HaltPoll.WINDOW] : 0;
  w[b + HaltPoll.POLL] = poll;
  if (poll > 0) {
    w[w.length - 1]++;
    const end = w[b + HaltPoll.HALT_START] + poll;
    if (end > w[w.length - 2]) w[w.length - 2] = end;
  }
}

/**
 * Whether halted vCPU `v`'s thread is still polling now (a wake-up now ends the poll). A host without
 * the words (keepsHaltPoll: bhyve) has no poller.
 */
export function polling(m: HaltPollWords, v: number): boolean {
  const w = m.haltPoll;
  const b = v * HaltPoll.STRIDE;
  if (b >= w.length) return false;
  const poll = w[b + HaltPoll.POLL];
  return poll > 0 && m.clockNs - w[b + HaltPoll.HALT_START] <= poll;
}

/** Halted vCPU `v`'s thread stops polling now (single_task_running() failed): it blocks. */
export function stopPolling(m: HaltPollWords, v: number): void {
  const w = m.haltPoll;
  const b = v * HaltPoll.STRIDE;
  const polled = m.clockNs - w[b + HaltPoll.HALT_START];
  // A poll cut before it began (the thread still in its exit work) polled nothing; kept above 0 so
  // that haltEnds still counts the attempt.
  w[b + HaltPoll.POLL] = polled > 0 ? polled : Number.MIN_VALUE;
}

/**
 * vCPU `v`'s halt ends now (it is runnable again): counts the poll as KVM does, adds the host ns the
 * thread polled - the whole halt after a successful poll, the budget before it blocked - to exit
 * slot `hltSlot`'s host time, and adapts the window against `maxPollNs` (halt_poll_ns; 0 keeps it
 * 0). A halt that ends before it began (the thread woken while still in its exit work) never slept
 * nor polled: nothing changes.
 */
export function haltEnds(m: HaltPollWords, v: number, maxPollNs: number, hltSlot: number): void {
  const w = m.haltPoll;
  const b = v * HaltPoll.STRIDE;
  const haltNs = m.clockNs - w[b + HaltPoll.HALT_START];
  const poll = w[b + HaltPoll.POLL];
  if (poll > 0) w[w.length - 1]--;
  w[b + HaltPoll.POLL] = 0;
  if (!(haltNs > 0)) return;
  const woke = haltNs <= poll; // inside the poll (poll > 0: haltNs > 0)
  if (poll > 0) {
    // Whole ns (event times carry fractions; the run's ns sums are exact integers: run/totals.ts).
    const spent = Math.round(woke ? haltNs : poll);
    w[b + HaltPoll.ATTEMPTED]++;
    w[b + HaltPoll.POLL_NS] += spent;
    m.exitHostNs[hltSlot] += spent;
  }
  // A successful poll never slept; else the waker's kvm_vcpu_wake_up found a sleeper.
  if (woke) w[b + HaltPoll.SUCCESSFUL]++;
  else w[b + HaltPoll.WAKEUP]++;
  const window = w[b + HaltPoll.WINDOW];
  if (maxPollNs <= 0) w[b + HaltPoll.WINDOW] = 0;
  else if (haltNs <= window) {
    // the halt fit in the window: kept
  } else if (window > 0 && haltNs > maxPollNs) w[b + HaltPoll.WINDOW] = 0;
  else if (window < maxPollNs && haltNs < maxPollNs)
    w[b + HaltPoll.WINDOW] = Math.min(maxPollNs, Math.max(HALT_POLL_GROW_START_NS, window * HALT_POLL_GROW));
}

/**
 * Statistic `word` (HaltPoll.ATTEMPTED, SUCCESSFUL, WAKEUP or POLL_NS) summed over the host's `n`
 * vCPUs: read when a host's totals are collected (run/simulate.ts), never per event. Exact: the
 * counts and the whole polled ns stay far below 2^53 per host.
 */
export function haltPollSum(w: Float64Array, n: number, word: HaltPoll): number {
  let s = 0;
  for (let v = 0; v < n; v++) s += w[v * HaltPoll.STRIDE + word];
  return s;
}
