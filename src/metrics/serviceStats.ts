import type { Labels, Sample } from './series.js';

/**
 * The service's own metrics (issue #17 item 7), in the standard shapes: HTTP request durations by
 * route, method and status code and the /metrics render time as histograms in seconds, runs started
 * and finished as counters, submissions by outcome, queue gauges. Every label takes values from a
 * fixed set (express route patterns, HTTP methods the API has, status codes it answers, run states,
 * lanes, error codes), so their series are bounded whatever clients send.
 */

/** Histogram bounds in seconds: from 1 ms (a health check) to 10 s (a slow scrape or a big POST). */
export const DURATION_BOUNDS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10] as const;

class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  observe(labels: Labels, seconds: number): void {
    const key = Object.values(labels).join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: DURATION_BOUNDS_S.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < DURATION_BOUNDS_S.length; i++) if (seconds <= DURATION_BOUNDS_S[i]) s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }

  samples(name: string): Sample[] {
    const out: Sample[] = [];
    for (const s of this.series.values()) {
      DURATION_BOUNDS_S.forEach((b, i) =>
        out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: String(b) }, value: s.counts[i] }),
      );
      out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      out.push({ metricName: `${name}_sum`, labels: s.labels, value: s.sum });
      out.push({ metricName: `${name}_count`, labels: s.labels, value: s.count });
    }
    return out;
  }
}

class CounterSet {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  inc(labels: Labels, by = 1): void {
    const key = Object.values(labels).join('\u0000');
    const v = this.values.get(key);
    if (v) v.value += by;
    else this.values.set(key, { labels, value: by });
  }

  samples(): Sample[] {
    return [...this.values.values()].map((v) => ({ labels: v.labels, value: v.value }));
  }
}

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'DELETE'] as const;

export class ServiceStats {
  readonly http = new Histogram();
  readonly render = new Histogram();
  readonly started = new CounterSet();
  readonly finished = new CounterSet();
  readonly submissions = new CounterSet();
  /** Runs queued / running per lane, read at scrape time. */
  lanes: () => readonly { lane: string; queued: number; running: number }[] = () => [];

  /** One HTTP request: `route` is the express route pattern (or "unmatched"), never the raw path. */
  request(route: string, method: string, status: number, seconds: number): void {
    const m = (HTTP_METHODS as readonly string[]).includes(method) ? method : 'other';
    this.http.observe({ route, method: m, code: String(status) }, seconds);
  }

  rendered(format: 'text' | 'openmetrics', seconds: number): void {
    this.render.observe({ format }, seconds);
  }

  runStarted(lane: string): void {
    this.started.inc({ lane });
  }

  runFinished(lane: string, state: string): void {
    this.finished.inc({ lane, state });
  }

  /** A POST /api/runs: `accepted`, or the error code it was refused with. */
  submission(outcome: string): void {
    this.submissions.inc({ outcome });
  }

  queue(which: 'queued' | 'running'): Sample[] {
    return this.lanes().map((l) => ({ labels: { lane: l.lane }, value: l[which] }));
  }
}
