/**
 * The event table of a host simulation: every kind of event a vCPU can have pending, declared once.
 *
 * A kind's value is its priority (as gem5's src/sim/eventq.hh names its priorities): when several
 * kinds are due at the same time on one vCPU, the lowest value runs first. The engine answers both
 * of its questions from one walk over this list in this order (HostSimulation.scan):
 *   - when is this vCPU's next event: the earliest due time over the kinds that wake it;
 *   - which due event runs first: the lowest kind whose due time has come.
 * Two kinds are one-sided: TIMER_STALE runs but never wakes, HOST_TICK wakes but never runs.
 * Exactly one event runs per pop; the vCPU is then re-keyed and, if another kind is due at the same
 * time, pops again (vCPUs due at the same time pop in index order, src/core/engine/heap.ts).
 *
 * The order is the tie-break results depend on: reordering two kinds that can be due together
 * changes results (the golden digests catch it). Where an order is a convention rather than a
 * necessity, its reason says so. Payloads (vectors, targets) live in the host's typed arrays; an
 * event is a (vCPU, kind) pair, never an object. A const enum, so the engine's switch over kinds
 * compiles to a jump table on small integer literals.
 */
export const enum Ev {
  /**
   * End of the ISR in service (EOI, restored TPR, IRET). First: what it finished (an I/O step, a
   * completion notice) follows on at its own time, and what arrives at the same instant finds the
   * vector already out of service. Never due together with RAISED_END: a raised section is suspended
   * while an ISR runs.
   */
  ISR_END = 0,
  /** End of a Windows raised-IRQL section (MOV CR8 <- 0): before arrivals, so they find the TPR lowered. */
  RAISED_END = 1,
  /**
   * An I/O-completion notice (DPC request / reschedule IPI) reaches its vCPU. Arrivals come before
   * the guest's own actions at the same instant (their times were fixed when they were sent); among
   * arrivals the critical-path notice goes first — a convention.
   */
  NOTIFY = 2,
  /** A general IPI reaches its vCPU (after NOTIFY: convention). */
  IPI = 3,
  /** A background I/O's completion interrupt reaches the vCPU that issued it (arrival; convention). */
  BG_IO_DONE = 4,
  /** A work chain's I/O completion interrupt reaches its target vCPU (arrival; convention). */
  IO_DONE = 5,
  /** A workload-profile guest's device interrupt (arrival; workload guests have no other arrivals of their own). */
  WL_IRQ = 6,
  /**
   * A workload-profile guest's next HLT or IPI send: the guest's own action, after the arrivals of the
   * same instant, so an HLT then finds the interrupt pending and does not sleep.
   */
  WL_DYN = 7,
  /**
   * The guest's LAPIC timer fires (only while the timer runs: not in a tickless halt). After the
   * workload kinds, which it never meets (workload guests have no timer).
   */
  TIMER = 8,
  /**
   * Background device I/O (a doorbell write), only while the vCPU is not halted: the guest's own
   * action, after arrivals. (Issue #14: its deadline is drawn in wall time but taken only while
   * running; dueAt's BG_IO / BG_IPI case is the one place that gates it.)
   */
  BG_IO = 9,
  /** Background IPI send (ICR write), only while not halted; after BG_IO (convention). */
  BG_IPI = 10,
  /**
   * A duration-bound phase ends (vCPU 0 of the guest carries it): after this instant's arrivals and
   * actions, which belong to the old phase.
   */
  PHASE_END = 11,
  /** The worker vCPU finishes its CPU chunk of an install / disk-benchmark step and issues the step's I/O. */
  CHUNK_END = 12,
  /** A vCPU finishes its share of a build (the guest's phase ends with the last share). */
  BUILD_END = 13,
  /**
   * Busy/idle burst boundary. Late: a vCPU whose burst ends at an instant first handles that
   * instant's other events while still busy (and a chunk or share that ends re-draws the burst).
   */
  BURST_END = 14,
  /**
   * A timer deadline passed while the timer was stopped (tickless halt): dropped, so the timer is
   * re-armed afresh when it restarts. Passive: it never wakes the vCPU and runs only when the vCPU
   * pops for another reason and nothing else is due.
   */
  TIMER_STALE = 15,
  /**
   * The host's timer tick on the core running this vCPU, as its own event only while the vCPU has
   * something pending or in service (otherwise ticks are applied in bulk). Its external-interrupt
   * exits are applied when the vCPU is advanced, before anything runs: it only wakes the vCPU, and
   * never takes a turn from another kind.
   */
  HOST_TICK = 16,
}

/** Number of kinds. */
export const EV_COUNT = Ev.HOST_TICK + 1;
