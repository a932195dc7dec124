/**
 * The prom-client registries of /metrics (Prometheus text and OpenMetrics, chosen per request by
 * Accept), built from the metric catalogue (catalogue.ts): each metric is a prom-client metric
 * object whose values are read from the MetricsHub at scrape time. The service's scrapes share one
 * render (MetricsEndpoint.renderShared).
 */
import { collectDefaultMetrics, Registry, type RegistryContentType } from 'prom-client';
import { METRICS, type MetricDef, type MetricType } from './catalogue.js';
import type { MetricsHub } from './hub.js';
import type { Sample } from './series.js';

/**
 * A prom-client metric whose values come from a collect function: the registry formats it like
 * its own Counter/Gauge/Histogram (it calls get() at scrape time). A counter's name loses its
 * `_total` in an OpenMetrics registry (prom-client renames it there and appends `_total` to the
 * samples), so each registry gets its own objects.
 */
class CollectedMetric {
  name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly aggregator = 'sum';

  constructor(
    private readonly def: MetricDef,
    private readonly hub: MetricsHub,
  ) {
    this.name = def.name;
    this.help = def.help;
    this.type = def.type;
  }

  get(): { name: string; help: string; type: MetricType; values: Sample[]; aggregator: string } {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.def.collect(this.hub, this.def.name),
      aggregator: this.aggregator,
    };
  }

  reset(): void {
    /* values live in the hub */
  }
}

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;

interface RegistryOptions {
  /** Node.js process metrics (process_*, nodejs_*); off for Pushgateway pushes. */
  readonly defaultMetrics?: boolean;
  /** Metric names to leave out (a push has no history or pool). */
  readonly exclude?: readonly string[];
}

const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export function buildRegistry(
  hub: MetricsHub,
  contentType: RegistryContentType,
  options: RegistryOptions = {},
): Registry<RegistryContentType> {
  const registry = new Registry<RegistryContentType>();
  registry.setContentType(contentType);
  for (const def of METRICS) {
    if (def.perGuest && !hub.perGuest) continue;
    if (options.exclude?.includes(def.name)) continue;
    registry.registerMetric(new CollectedMetric(def, hub) as never);
  }
  if (options.defaultMetrics) {
    collectDefaultMetrics({ register: registry });
    // Gauges named *_total: promtool's lint rejects them (non-counters must not end in _total).
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
  }
  return registry;
}

/** /metrics for both exposition formats, chosen per request. */
export class MetricsEndpoint {
  private readonly prometheus: Registry<RegistryContentType>;
  private readonly openMetrics: Registry<RegistryContentType>;

  constructor(
    readonly hub: MetricsHub,
    options: RegistryOptions = {},
  ) {
    this.prometheus = buildRegistry(hub, PROMETHEUS_CONTENT_TYPE, options);
    this.openMetrics = buildRegistry(hub, OPENMETRICS_CONTENT_TYPE, options);
  }

  async render(openMetrics: boolean): Promise<{ contentType: string; body: string }> {
    const r = openMetrics ? this.openMetrics : this.prometheus;
    // Every collect runs inside metrics()' synchronous part, so all of them read one view of the hub.
    const body = this.hub.withView(() => r.metrics());
    return { contentType: r.contentType, body: await body };
  }

  /** Per format, the render asked for and not yet started (renderShared). */
  private readonly next = new Map<boolean, Promise<{ contentType: string; body: Buffer }>>();
  /** When the main thread may render again (renderShared): the last render's end plus its length, ms. */
  private renderAfterMs = 0;

  /**
   * The service's scrape: one render shared by every request that asks before it starts. It starts
   * on the next turn of the event loop (setImmediate: after the requests whose bytes arrived in this
   * one), or, right after another render, once as long again has passed: renders take at most half
   * of the main thread however many scrape at once (a lone scraper is never delayed: Prometheus
   * scrapes every 15 s). Each request still gets a render taken after it arrived, so it sees the
   * totals of a moment after it asked (test/metrics/liveView.test.ts). Rendering anew per request,
   * 500 scrapes sent at once (each render 26 - 35 ms of the main thread at 500 KB) held /healthz
   * 13 - 16 s (2026-12-06, the fifth pass, docs/SERVICE.md "Hostile input"). Each render, not each
   * request, is timed in vmexit_lab_metrics_render_seconds. The body is one Buffer for all its
   * requests: an answer a slow client has not read yet holds no copy of its own.
   */
  renderShared(openMetrics: boolean): Promise<{ contentType: string; body: Buffer }> {
    let shared = this.next.get(openMetrics);
    if (shared === undefined) {
      shared = new Promise((ok, fail) => {
        const start = (): void => {
          // Started: a request from now on waits for a render of its own.
          this.next.delete(openMetrics);
          const t0 = performance.now();
          this.render(openMetrics).then((r) => {
            const body = Buffer.from(r.body);
            const end = performance.now();
            this.renderAfterMs = end + (end - t0);
            this.hub.stats.rendered(openMetrics ? 'openmetrics' : 'text', (end - t0) / 1000);
            ok({ contentType: r.contentType, body });
          }, fail);
        };
        const wait = this.renderAfterMs - performance.now();
        if (wait > 0) setTimeout(start, wait);
        else setImmediate(start);
      });
      this.next.set(openMetrics, shared);
    }
    return shared;
  }
}

/** Does an Accept header prefer OpenMetrics over the Prometheus text format? (highest q wins; ties: text) */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  let om = -1;
  let text = -1;
  for (const part of accept.split(',')) {
    const [type, ...params] = part
      .trim()
      .split(';')
      .map((s) => s.trim());
    let q = 1;
    for (const p of params) {
      const m = /^q=([0-9.]+)$/.exec(p);
      if (m) q = Number(m[1]);
    }
    if (!Number.isFinite(q)) continue;
    const t = type.toLowerCase();
    if (t === 'application/openmetrics-text') om = Math.max(om, q);
    else if (t === 'text/plain' || t === 'text/*' || t === '*/*') text = Math.max(text, q);
  }
  return om > 0 && om > text;
}
