/**
 * The dashboards against a real Prometheus (Debian package prometheus): the service runs
 * scenarios/default.yaml in-process (once at pace max so the threshold gauges exist, then at pace
 * realtime), Prometheus scrapes it every second from a temporary data dir with the recording and
 * alert rules loaded, and every panel query of every dashboard, with its template variables filled
 * in from /api/v1/label/<name>/values, must return data through /api/v1/query.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { startService, type ServiceHandle } from '../../src/service/server.js';
import { buildDashboards } from '../../src/dashboards/index.js';
import { systemBinary } from '../metrics/support.js';
import {
  defaultValue,
  interpolate,
  panelTargets,
  queryVariables,
  type DashboardJson,
  type VariableValue,
} from './support.js';
import { boundPort, PROMETHEUS_LISTENING } from '../support/net.js';

const prometheus = systemBinary('prometheus', 'prometheus');
const RULES = join(REPO_ROOT, 'grafana', 'provisioning', 'prometheus', 'rules', 'vmexit-lab.rules.yml');

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-grafana-'));
let prom: ChildProcess | undefined;
let svc: ServiceHandle | undefined;
after(async () => {
  if (prom && prom.exitCode === null && prom.signalCode === null) {
    const exited = new Promise((ok) => prom!.once('exit', ok));
    prom.kill('SIGTERM');
    const t = setTimeout(() => prom!.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  }
  await svc?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Panels with no value for scenarios/default.yaml, rightly: it has no work-bound phase, so no guest
 * completes one and there is no unfinished-phase series (test/grafana/values.test.ts checks their
 * numbers on a scenario that has).
 */
const PHASE_PANELS = ['Phase completion time (mean over guests)', 'Guests that had not finished a work-bound phase'];
const NO_DATA_FOR_DEFAULT = PHASE_PANELS;
/** KVM's halt-poll series exist on KVM variants only (bhyve's vm_handle_hlt never polls): the default scenario is bhyve. */
const KVM_ONLY = /vmexit_lab_kvm_halt/;
/**
 * The KVM scenario (scenarios/library/linux-pipe-ping-pong.yaml: its pipe's reader halts for ~44 us,
 * inside KVM's 200 us poll window, so its halts are polled) runs live at pace realtime for longer than
 * the test: panels about finished runs (thresholds, verdict) and work-bound phases rightly have no value.
 */
const NO_DATA_FOR_LIVE_KVM = [...PHASE_PANELS, 'Thresholds passed', 'Latest run verdict'];

const sleep = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));

async function json(url: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${url}: ${res.status} ${text.slice(0, 300)}`);
  }
}

async function until<T>(
  what: string,
  f: () => Promise<T | undefined>,
  timeoutMs: number,
  detail: () => string = () => '',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; i < 1000 && Date.now() < end; i++) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch {
      /* not up yet */
    }
    await sleep(250);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail()}`);
}

test(
  'every panel query of every dashboard returns data from a real Prometheus scraping the service',
  { skip: prometheus.skip, timeout: 120_000 },
  async () => {
    assert.ok(prometheus.path, prometheus.missing);
    // Two workers: at pace realtime each variant needs its own, or the second one waits (and its
    // guarded rates rightly have no value until it runs).
    // Four: two for the default scenario's two variants, two for the KVM scenario's.
    svc = await startService({ port: 0, dataDir: join(dir, 'svc'), workers: 4 });
    const post = (pace: string): Promise<any> =>
      json(`${svc!.url}/api/runs`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ scenario: 'default', pace }),
      });

    // 1. A run at pace max to completion: thresholds and the latest-run gauges.
    const quick = await post('max');
    assert.ok(quick.id, JSON.stringify(quick));
    await until(
      'the pace-max run to complete',
      async () => ((await json(`${svc!.url}/api/runs/${quick.id}`)).state === 'completed' ? true : undefined),
      40_000,
    );
    // 2. A realtime run (30 simulated s = 30 s), live while Prometheus scrapes; cancelled by close().
    const live = await post('realtime');
    assert.ok(live.id, JSON.stringify(live));
    // 2b. A KVM scenario whose halts are polled (the KVM halt-poll panels), live at pace realtime
    // for longer than the test (its 5 s made 300 s; cancelled by close()).
    const pingPong = readFileSync(join(REPO_ROOT, 'scenarios', 'library', 'linux-pipe-ping-pong.yaml'), 'utf8');
    assert.equal(pingPong.match(/duration: 5s/g)?.length, 2, 'the ping-pong phase and the run last 5 s');
    const kvm = await json(`${svc.url}/api/runs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ yaml: pingPong.replaceAll('duration: 5s', 'duration: 300s'), pace: 'realtime' }),
    });
    assert.ok(kvm.id, JSON.stringify(kvm));
    const kvmScenario = (await json(`${svc.url}/api/runs/${kvm.id}`)).seriesLabel as string;
    assert.ok(kvmScenario, 'the KVM run has a series label');

    // 3. Prometheus on loopback port 0 (the port it binds, read from its log), scraping every second,
    // with the rules.
    const target = new URL(svc.url).host;
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: [${JSON.stringify(RULES)}]`,
        'scrape_configs:',
        '  - job_name: vmexit-lab',
        `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
        '',
      ].join('\n'),
    );
    let log = '';
    prom = spawn(
      prometheus.path,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        '--web.listen-address=127.0.0.1:0',
        '--storage.tsdb.retention.time=1h',
        '--log.level=info',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prom.stderr!.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    });
    const base = `http://127.0.0.1:${await boundPort(prom, PROMETHEUS_LISTENING)}`;
    const tail = (): string => `\nprometheus log:\n${log}`;
    await until(
      'Prometheus to be ready',
      async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined),
      30_000,
      tail,
    );
    const query = async (q: string): Promise<unknown[]> => {
      const r = await json(`${base}/api/v1/query?${new URLSearchParams({ query: q }).toString()}`);
      if (r.status !== 'success') throw new Error(`query failed: ${r.error}\n${q}`);
      return r.data.result as unknown[];
    };
    await until(
      'rates of the live run in Prometheus',
      async () =>
        (await query('sum(rate(vmexit_lab_simulated_seconds_total[15s])) > 0')).length > 0 ? true : undefined,
      30_000,
      tail,
    );

    await until(
      'rates of the live KVM run in Prometheus',
      async () =>
        (await query(`sum(rate(vmexit_lab_kvm_halt_polls_total{scenario="${kvmScenario}"}[15s])) > 0`)).length > 0
          ? true
          : undefined,
      30_000,
      tail,
    );

    // 4. Every dashboard: fill the variables in order, then every target must return data: for the
    // default scenario (the first, as Grafana picks it), then for the KVM one, where the halt-poll
    // panels must have data.
    let checked = 0;
    let kvmChecked = 0;
    for (const [scenario, skip] of [
      [
        undefined,
        (t: { panel: string; expr: string }) => NO_DATA_FOR_DEFAULT.includes(t.panel) || KVM_ONLY.test(t.expr),
      ],
      [kvmScenario, (t: { panel: string; expr: string }) => NO_DATA_FOR_LIVE_KVM.includes(t.panel)],
    ] as const)
      for (const { dashboard } of buildDashboards()) {
        const d = dashboard as unknown as DashboardJson;
        const vars: Record<string, VariableValue> = {};
        for (const v of queryVariables(d)) {
          if (v.name === 'scenario' && scenario !== undefined) {
            vars[v.name] = scenario;
            continue;
          }
          const match = `${v.metric}{${interpolate(v.selector, vars)}}`.replace('{}', '');
          const values = await until(
            `values of $${v.name} (${match})`,
            async () => {
              const r = await json(
                `${base}/api/v1/label/${v.label}/values?${new URLSearchParams({ 'match[]': match }).toString()}`,
              );
              return Array.isArray(r.data) && r.data.length > 0 ? (r.data as string[]) : undefined;
            },
            15_000,
          );
          // As Grafana on a first load: All, or the first value in the variable's order (B sorts
          // descending, so the A/B pair compares two variants).
          vars[v.name] = defaultValue(v, values);
        }
        const targets = panelTargets(d);
        assert.ok(targets.length > 10, `${d.uid}: ${targets.length} targets`);
        const empty: string[] = [];
        if (scenario !== undefined) assert.equal(vars.scenario, kvmScenario);
        else assert.notEqual(vars.scenario, kvmScenario, 'Grafana picks the default scenario first');
        for (const t of targets) {
          if (skip(t)) continue;
          if (KVM_ONLY.test(t.expr)) kvmChecked++;
          const q = interpolate(t.expr, vars);
          try {
            await until(`${t.panel} ${t.refId}`, async () => ((await query(q)).length > 0 ? true : undefined), 10_000);
          } catch {
            empty.push(`${t.panel} [${t.refId}]: ${q}`);
          }
          checked++;
        }
        assert.deepEqual(empty, [], `${d.uid} with ${JSON.stringify(vars)}: panels without data`);
      }
    assert.ok(checked > 30, `${checked} targets checked`);
    // The KVM halt-poll counters are on a panel: polls by outcome, wake-ups, polled seconds.
    assert.ok(kvmChecked >= 3, `${kvmChecked} KVM halt-poll targets checked on the KVM scenario`);

    // 5. The recording rules evaluate on the live data; no invariant alert fires for the default scenario.
    for (const rule of [
      'vmexit_lab:vm_exits_per_simulated_second:rate1m',
      'vmexit_lab:cr8_exits_per_guest_second:rate1m',
      'vmexit_lab:interrupt_latency_seconds:p99_rate1m',
    ]) {
      await until(
        `recording rule ${rule}`,
        async () => ((await query(rule)).length > 0 ? true : undefined),
        15_000,
        tail,
      );
    }
    const rules = await json(`${base}/api/v1/rules`);
    assert.equal(rules.status, 'success');
    const health = rules.data.groups.flatMap((g: any) => g.rules.map((r: any) => `${r.name}:${r.health}`));
    assert.ok(
      health.every((h: string) => !h.endsWith(':err')),
      `rules healthy: ${health.join(', ')}`,
    );
    assert.ok(readFileSync(RULES, 'utf8').includes('VmexitLabInvariantViolations'));
  },
);
