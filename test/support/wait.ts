/**
 * Waiting for a condition instead of for time. A test that sleeps N ms and then asserts bets that
 * the machine did the work in N ms; on CI's two shared cores it loses that bet now and then (the
 * drain test's ECONNRESET, the pool's cancel test). `waitUntil` polls the condition until it holds.
 * Its bound is what a hung service would take, not what the work should take: it only turns a hang
 * into a failure that says what was awaited and what was seen last.
 */

export interface WaitOptions {
  /** Give up after this long (default 60 s: a hang, not a slow machine). */
  readonly timeoutMs?: number;
  /** Pause between two probes (default 50 ms). */
  readonly intervalMs?: number;
}

export const sleep = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));

/**
 * Probe until it returns something other than undefined or false, and return that. A probe may
 * throw to fail at once (a run that ended in another state than the one awaited). `seen` says what
 * the last probe saw, for the failure message.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitOptions & { seen?: () => string } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) {
      const seen = options.seen?.();
      throw new Error(`waited ${timeoutMs / 1000} s for ${what}${seen ? `; last seen: ${seen}` : ''}`);
    }
    await sleep(options.intervalMs ?? 50);
  }
}
