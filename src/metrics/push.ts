import { Pushgateway } from 'prom-client';
import type { MetricsHub } from './hub.js';
import { METRICS } from './catalogue.js';
import { buildRegistry, PROMETHEUS_CONTENT_TYPE } from './registry.js';

/** Service-only metrics (history, pool, queue, HTTP): a one-shot CLI run has no values for them. */
const NOT_PUSHED = METRICS.filter((d) => d.serviceOnly === true).map((d) => d.name);

interface PushOptions {
  /** Pushgateway base URL, e.g. http://127.0.0.1:9091 */
  readonly url: string;
  readonly job: string;
  /** Grouping labels: the group this push replaces (PUT), e.g. { branch: 'main' }. */
  readonly groupings?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Parse `--push-label name=value` arguments. */
export function parseGroupings(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const i = item.indexOf('=');
    const name = i < 0 ? '' : item.slice(0, i);
    if (i < 0 || !LABEL_RE.test(name) || name.startsWith('__') || name === 'job') {
      throw new Error(`--push-label expects NAME=VALUE with a Prometheus label name other than "job", found "${item}"`);
    }
    out[name] = item.slice(i + 1);
  }
  return out;
}

/**
 * Push the hub's metrics (the finished run's) to a Prometheus Pushgateway: a PUT that replaces
 * the job's group, the batch-job pattern (the gateway keeps the series until deleted).
 */
export async function pushMetrics(hub: MetricsHub, options: PushOptions): Promise<void> {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new Error(`--push expects an http(s) URL, found "${options.url}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`--push expects an http(s) URL, found "${options.url}"`);
  const registry = buildRegistry(hub, PROMETHEUS_CONTENT_TYPE, { exclude: NOT_PUSHED });
  const gateway = new Pushgateway(options.url, { timeout: options.timeoutMs ?? 10_000 }, registry);
  await gateway.push({
    jobName: options.job,
    ...(options.groupings && Object.keys(options.groupings).length > 0 ? { groupings: { ...options.groupings } } : {}),
  });
}
