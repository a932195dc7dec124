/**
 * AMD's pause filter (docs/MODEL.md §4 "PAUSE-loop exiting"), the SVM counterpart of Intel's
 * PAUSE-loop exiting (vmx/pauseLoop.ts).
 *
 * The architecture (AMD APM vol. 2, 15.14.4 "Pause Intercept Filtering"; KVM's summary of it above
 * pause_filter_thresh in arch/x86/kvm/svm/svm.c): with the PAUSE intercept set, VMRUN loads the
 * VMCB's 16-bit PauseFilterCount (offset 03Eh, CPUID Fn8000_000A EDX bit 10) into an internal
 * counter; each PAUSE decrements it and the PAUSE that takes it to zero intercepts (#VMEXIT_PAUSE,
 * exit code 77h). With the threshold (PauseFilterThreshold, offset 03Ch, EDX bit 12) non-zero, a
 * PAUSE more than the threshold's cycles after the previous PAUSE reloads the counter from the VMCB
 * instead of decrementing it; a threshold of 0 leaves the filter count-only. The model counts the
 * threshold's cycles at the TSC's rate, as Intel's PLE_Gap (both are the same at the base clock).
 * The APM's advanced-filter paragraph says the intercept comes when the count is "less than zero",
 * one PAUSE after the simple filter's "reaches zero"; both modes follow the simple filter's wording
 * here (its count-0 case, every PAUSE intercepts, fixes which PAUSE that is): docs/MODEL.md §4.
 */

/**
 * TSC ticks from the first PAUSE of a spin loop to the PAUSE that intercepts, for a loop that
 * executes PAUSE every `intervalTsc` ticks under PauseFilterCount `count` and PauseFilterThreshold
 * `thresholdTsc`; Infinity when that loop never intercepts (every PAUSE of it is more than the
 * threshold after the previous one and reloads the count).
 * - Threshold on: the loop's first PAUSE comes long after the last one before the VM exit (an exit
 *   and VMRUN take thousands of cycles), so it reloads; the `count` PAUSEs after it decrement the
 *   counter to zero: `count` intervals.
 * - Count-only (threshold 0): VMRUN loaded the counter, so the loop's `count`-th PAUSE intercepts:
 *   `count - 1` intervals.
 * A count of 0 filters nothing: every PAUSE intercepts (0 ticks).
 */
export function pauseFilterExitTsc(intervalTsc: number, thresholdTsc: number, count: number): number {
  if (!(intervalTsc > 0)) return Infinity;
  if (count <= 0) return 0;
  if (thresholdTsc > 0) return intervalTsc > thresholdTsc ? Infinity : count * intervalTsc;
  return (count - 1) * intervalTsc;
}
