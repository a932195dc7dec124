/**
 * The service as a real process: posts a run, scrapes /metrics while it runs, reads results, and
 * checks the history after a clean restart (SIGTERM drains) and after kill -9.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { parseExposition, sumOf, systemBinary } from '../metrics/support.js';
import { api, waitForSimulated, waitForState } from '../support/http.js';
import { boundPort, SERVE_LISTENING } from '../support/net.js';
import { waitUntil } from '../support/wait.js';

const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-svc-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Child {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
}

async function startChild(): Promise<Child> {
  const proc = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--data-dir', dir, '--workers', '2'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true', VMEXIT_LAB_TOKEN: '' },
  });
  children.push(proc);
  let err = '';
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((ok) =>
    proc.on('exit', (code, signal) => ok({ code, signal })),
  );
  const url = `http://127.0.0.1:${await boundPort(proc, SERVE_LISTENING)}`;
  return { proc, url, stderr: () => err, exited };
}

function post(base: string, yaml: string, query = ''): ReturnType<typeof api> {
  return api(base, `/api/runs${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/yaml' },
    body: yaml,
  });
}

/** Poll until `f` gives a value (every 150 ms, 30 s unless told). */
const until = <T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> =>
  waitUntil(what, f, { timeoutMs, intervalMs: 150 });

const scenario = (name: string, seconds: number): string => `name: ${name}
seed: 11
host: { cpu: i7-6700K, cores: 4, count: 2 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: idle }]
  - os: ubuntu-18.04
    vcpus: 1
    x2apic: true
    phases: [{ phase: idle }]
duration: ${seconds}s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
`;

const promtool = systemBinary('promtool', 'prometheus');

test(
  'service process: live metrics while a run runs, results, history across SIGTERM and kill -9',
  { timeout: 180_000 },
  async () => {
    // 1. A first process: a quick run to completion.
    let svc = await startChild();
    const quick = await post(svc.url, scenario('svc-quick', 2));
    assert.equal(quick.status, 202, quick.text);
    const quickRec = await waitForState(svc.url, quick.body.id, ['completed']);
    assert.equal(quickRec.summary.exitStatus, 0);
    const quickResults = (await api(svc.url, `/api/runs/${quick.body.id}/results`)).text;
    assert.equal(JSON.parse(quickResults).version, 1);

    // 2. A realtime run: scrape /metrics while it runs; the values increase between scrapes.
    const live = await post(svc.url, scenario('svc-live', 8), '?pace=realtime');
    assert.equal(live.status, 202, live.text);
    await waitForSimulated(svc.url, live.body.id, 1);
    // The series carry the label the service gave the posted YAML (the record says which).
    const label = live.body.seriesLabel as string;
    const scrape = async (): Promise<{ text: string; exits: number; running: number; sim: number }> => {
      const r = await api(svc.url, '/metrics');
      const s = parseExposition(r.text);
      return {
        text: r.text,
        exits: sumOf(s, 'vmexit_lab_vm_exits_total', { scenario: label }),
        running: sumOf(s, 'vmexit_lab_guests_running', { scenario: label }),
        sim: sumOf(s, 'vmexit_lab_simulated_seconds_total', { scenario: label }),
      };
    };
    const a = await scrape();
    // The next scrape once the run has published another simulated second (it slept 2.2 s and
    // expected one by then).
    let b = a;
    await until('the live run to publish another simulated second', async () => {
      b = await scrape();
      return b.sim > a.sim ? true : undefined;
    });
    assert.ok(a.exits > 0, 'exits counted while running');
    assert.ok(b.exits > a.exits, `exits grew between scrapes: ${a.exits} -> ${b.exits}`);
    assert.ok(b.sim > a.sim, `simulated seconds grew: ${a.sim} -> ${b.sim}`);
    assert.equal(a.running, 8, 'all guests of both variants running (2 hosts x 2 guests x 2 variants)');
    if (promtool.path) {
      const r = spawnSync(promtool.path, ['check', 'metrics'], { input: b.text, encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 0, `promtool on a live scrape: ${r.stdout}${r.stderr}`);
    } else if (promtool.skip === false) {
      assert.fail(promtool.missing);
    }
    const liveRec = await until(
      'the live run to end',
      async () => {
        const r = await api(svc.url, `/api/runs/${live.body.id}`);
        return ['completed', 'failed', 'cancelled'].includes(r.body.state) ? r.body : undefined;
      },
      40_000,
    );
    assert.equal(liveRec.state, 'completed');
    const liveResults = await api(svc.url, `/api/runs/${live.body.id}/results`);
    assert.equal(liveResults.body.variants[0].totals.simulatedSeconds, 8);
    const c = await scrape();
    assert.equal(
      c.exits,
      liveResults.body.variants.reduce(
        (n: number, v: { totals: { exitsTotal: number } }) => n + v.totals.exitsTotal,
        0,
      ),
      'final metric = results, nothing double counted',
    );
    assert.equal(c.running, 0);

    // 3. SIGTERM while a run is in progress: it is cancelled cleanly, partial results stored and marked.
    const drained = await post(svc.url, scenario('svc-drained', 300), '?pace=realtime');
    assert.equal(drained.status, 202);
    await waitForSimulated(svc.url, drained.body.id, 1);
    svc.proc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const term = await Promise.race([
      svc.exited,
      new Promise<never>((_, fail) => {
        timer = setTimeout(() => fail(new Error('no exit 20 s after SIGTERM')), 20_000);
      }),
    ]);
    clearTimeout(timer);
    assert.equal(term.code, 0, svc.stderr());
    assert.match(svc.stderr(), /SIGTERM: draining/);

    // 4. Restart: the history lists every run; the drained one is cancelled (shutdown) with partial results.
    svc = await startChild();
    const runs = (await api(svc.url, '/api/runs')).body.runs as {
      id: string;
      state: string;
      stopReason?: string;
      partial: boolean;
      hasResults: boolean;
    }[];
    const byId = new Map(runs.map((r) => [r.id, r]));
    assert.equal(byId.get(quick.body.id)?.state, 'completed');
    assert.equal(byId.get(live.body.id)?.state, 'completed');
    const d = byId.get(drained.body.id)!;
    assert.deepEqual([d.state, d.stopReason, d.partial, d.hasResults], ['cancelled', 'shutdown', true, true]);
    const partial = await api(svc.url, `/api/runs/${drained.body.id}/results`);
    assert.equal(partial.headers.get('x-vmexit-lab-partial'), 'true');
    assert.ok(
      partial.body.variants[0].totals.simulatedSeconds >= 1 && partial.body.variants[0].totals.simulatedSeconds < 300,
    );
    assert.equal(
      (await api(svc.url, `/api/runs/${quick.body.id}/results`)).text,
      quickResults,
      'finished results intact',
    );

    // 5. kill -9 mid-run: after a restart that run is interrupted, every finished run intact.
    const killed = await post(svc.url, scenario('svc-killed', 300), '?pace=realtime');
    assert.equal(killed.status, 202);
    await waitForSimulated(svc.url, killed.body.id, 1);
    svc.proc.kill('SIGKILL');
    assert.equal((await svc.exited).signal, 'SIGKILL');
    svc = await startChild();
    const k = (await api(svc.url, `/api/runs/${killed.body.id}`)).body;
    assert.equal(k.state, 'interrupted');
    assert.equal(k.hasResults, false);
    const none = await api(svc.url, `/api/runs/${killed.body.id}/results`);
    assert.equal(none.status, 404);
    assert.equal(none.body.error.code, 'no_results');
    assert.equal((await api(svc.url, `/api/runs/${quick.body.id}/results`)).text, quickResults);
    assert.equal((await api(svc.url, `/api/runs/${live.body.id}`)).body.state, 'completed');
    assert.equal((await api(svc.url, `/api/runs/${drained.body.id}`)).body.state, 'cancelled');
    assert.match((await api(svc.url, '/metrics')).text, /^vmexit_lab_runs\{state="interrupted"\} 1$/m);
    assert.equal((await api(svc.url, '/readyz')).status, 200);
    svc.proc.kill('SIGTERM');
    assert.equal((await svc.exited).code, 0);
  },
);
