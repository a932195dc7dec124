/** Which of the fit's iterates it keeps (bestIterate). */

/**
 * The iterate the fit keeps: the least worst relative error (what --max-error judges), then the
 * least total absolute error. When even that one has reasons out of reach (overshooting with their
 * driver at (almost) zero: others cause them), the iterate among those where the same reasons are
 * out of reach that fits the rest best: one infeasible reason does not cost the others their fit.
 */
export function bestIterate<T extends { worst: number; worstFree: number; miss: number; stuck: number[] }>(
  all: T[],
): T {
  const byWorst = (a: T, b: T) => a.worst - b.worst || a.miss - b.miss;
  const first = all.reduce((b, x) => (byWorst(x, b) < 0 ? x : b));
  if (first.stuck.length === 0) return first;
  const same = all.filter((x) => first.stuck.every((slot) => x.stuck.includes(slot)));
  return same.reduce((b, x) => ((x.worstFree - b.worstFree || byWorst(x, b)) < 0 ? x : b));
}
