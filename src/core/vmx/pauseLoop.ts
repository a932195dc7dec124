/**
 * PAUSE-loop exiting (PLE) and KVM's per-vCPU window (docs/MODEL.md §4 "PAUSE-loop exiting").
 *
 * The architecture (SDM vol. 3 "Instructions That Cause VM Exits Conditionally", PAUSE; "Controls
 * for PAUSE-Loop Exiting" in "VM-Execution Control Fields"): with "PAUSE exiting" 0 and "PAUSE-loop
 * exiting" (secondary control bit 10) 1, a PAUSE at CPL 0 whose distance from the previous PAUSE at
 * CPL 0 exceeds PLE_Gap starts a new loop (so does the first PAUSE after VM entry); otherwise, when
 * the time since the loop's first PAUSE exceeds PLE_Window, the PAUSE exits with reason 40. Both
 * fields count at the TSC's rate. At CPL > 0 the control is ignored.
 */

/**
 * TSC ticks from the first PAUSE of a loop (the first after VM entry) to the PAUSE that exits, for a
 * spin loop that executes PAUSE every `intervalTsc` ticks; Infinity when that loop never exits:
 * every PAUSE of it exceeds the gap and starts a new loop (interval > gap), or PLE is off (gap 0
 * here stands for the control being 0: KVM's ple_gap = 0 leaves it clear, vmx.c).
 * The exiting PAUSE is the first whose time since the loop's first exceeds the window:
 * (floor(window / interval) + 1) PAUSEs later.
 */
export function pauseLoopExitTsc(intervalTsc: number, gapTsc: number, windowTsc: number): number {
  if (gapTsc <= 0 || !(intervalTsc > 0) || intervalTsc > gapTsc) return Infinity;
  return (Math.floor(windowTsc / intervalTsc) + 1) * intervalTsc;
}

/**
 * KVM's window after a PLE exit: handle_pause -> grow_ple_window -> __grow_ple_window (arch/x86/kvm/x86.h,
 * torvalds/linux; since b4a2d31da812 "KVM: VMX: dynamise PLE window", Linux 3.18): a modifier below 1
 * resets to the base, one below the base multiplies, a larger one adds; capped at `max`
 * (ple_window_max, UINT_MAX today). A modifier of 1 keeps the window fixed, as before 3.18.
 */
export function kvmGrowPleWindow(window: number, base: number, modifier: number, max: number): number {
  if (modifier < 1) return base;
  const grown = modifier < base ? window * modifier : window + modifier;
  return Math.min(grown, max);
}

/**
 * KVM's window when the vCPU's thread is scheduled in again (kvm_sched_in -> vmx_sched_in ->
 * shrink_ple_window -> __shrink_ple_window, x86.h): a modifier below 1 (the default ple_window_shrink
 * 0) resets to the base, one below the base divides (integer), a larger one subtracts; never below
 * the base (shrink_ple_window passes ple_window as the minimum).
 */
export function kvmShrinkPleWindow(window: number, base: number, modifier: number): number {
  if (modifier < 1) return base;
  const shrunk = modifier < base ? Math.floor(window / modifier) : window - modifier;
  return Math.max(shrunk, base);
}
