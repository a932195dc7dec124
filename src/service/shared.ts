/**
 * Answers too costly to build once per request, shared by the requests that ask for the same one
 * at once: GET /api/runs (up to 1000 records, 780 KB of JSON, 30 - 50 ms of the main thread) and
 * GET /runs/{id} (a finished run's report page, 260 KB, 25 - 30 ms). The pacing is /metrics'
 * (src/metrics/registry.ts, MetricsEndpoint.renderShared, why there): one build shared by every
 * request that asks before it starts; it starts on the next turn of the event loop, or, right after
 * another build, once as long again has passed, so builds take at most half of the main thread
 * however many ask at once. Each request still gets a build started after it arrived (what changed
 * before it asked is in its answer). Built anew per request, 300 run pages asked at once held the
 * main thread 3.8 s, 300 lists of 1000 runs 6.6 s (2026-12-06, the sixth pass, docs/SERVICE.md
 * "Hostile input").
 */
export class SharedAnswers<T> {
  /** Per key, the build asked for and not yet started. */
  private readonly next = new Map<string, Promise<T>>();
  /** When the main thread may build again: the last build's end plus its length, ms. */
  private buildAfterMs = 0;
  /** Builds done (tests count them against the requests). */
  builds = 0;

  /** The answer for `key`, built by `build` (once for every request that asks before it starts). */
  get(key: string, build: () => T): Promise<T> {
    let shared = this.next.get(key);
    if (shared === undefined) {
      shared = new Promise<T>((ok, fail) => {
        const start = (): void => {
          // Started: a request from now on waits for a build of its own.
          this.next.delete(key);
          const t0 = performance.now();
          try {
            const answer = build();
            this.builds++;
            ok(answer);
          } catch (e) {
            fail(e instanceof Error ? e : new Error(String(e)));
          } finally {
            const end = performance.now();
            this.buildAfterMs = end + (end - t0);
          }
        };
        const wait = this.buildAfterMs - performance.now();
        if (wait > 0) setTimeout(start, wait);
        else setImmediate(start);
      });
      this.next.set(key, shared);
    }
    return shared;
  }
}
