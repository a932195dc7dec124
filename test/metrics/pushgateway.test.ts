/** `vmexit-lab run --push` against a real Prometheus Pushgateway (Debian's prometheus-pushgateway). */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { parseExposition, sumOf, systemBinary } from './support.js';
import { capture } from '../support/cli.js';
import { boundPort, freePort, PROMETHEUS_LISTENING } from '../support/net.js';
import { serverUp } from '../support/http.js';

const gateway = systemBinary('prometheus-pushgateway', 'prometheus-pushgateway');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-push-'));
let child: ChildProcess | undefined;
after(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const scenarioFile = join(dir, 'push.yaml');
writeFileSync(
  scenarioFile,
  `name: push-demo
host: { cpu: i7-6700K, cores: 4, count: 2 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: idle }]
duration: 2s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
thresholds:
  exits_per_second{reason="CR_ACCESS",variant="bhyve-tpr-v3"}: ["== 0"]
`,
);

test(
  'run --push: the final metrics land in a real Pushgateway under the job and grouping labels',
  { skip: gateway.skip, timeout: 60_000 },
  async () => {
    if (!gateway.path) assert.fail(gateway.missing);
    // Port 0: the port it binds is the one it says it listens on (test/support/net.ts boundPort).
    child = spawn(
      gateway.path,
      ['--web.listen-address=127.0.0.1:0', `--persistence.file=${join(dir, 'pushgateway.data')}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const proc = child;
    const url = `http://127.0.0.1:${await boundPort(proc, PROMETHEUS_LISTENING)}`;
    assert.ok(
      await serverUp(`${url}/-/ready`, { alive: () => proc.exitCode === null && proc.signalCode === null }),
      'the pushgateway started',
    );

    const out = join(dir, 'results.json');
    const io = capture();
    // The push options of both runs: one job, two grouping labels.
    const push = ['--push', url, '--push-job', 'ci', '--push-label', 'branch=main', '--push-label', 'pipeline=42'];
    const status = await main(['run', '--quiet', '--workers', '2', '--out', out, ...push, scenarioFile], io);
    assert.equal(status, 0, io.stderr.join('\n'));
    const results = JSON.parse(readFileSync(out, 'utf8'));

    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const s = parseExposition(text);
    const group = { job: 'ci', branch: 'main', pipeline: '42' };
    for (const v of results.variants) {
      assert.equal(
        sumOf(s, 'vmexit_lab_vm_exits_total', { ...group, scenario: 'push-demo', variant: v.name }),
        v.totals.exitsTotal,
        v.name,
      );
    }
    assert.equal(sumOf(s, 'vmexit_lab_threshold_passed', { ...group, variant: 'bhyve-tpr-v3' }), 1);
    assert.equal(sumOf(s, 'vmexit_lab_run_state', { ...group, scenario: 'push-demo', state: 'completed' }), 1);
    assert.ok(sumOf(s, 'push_time_seconds', group) > 0, 'the gateway recorded the push');
    assert.equal(sumOf(s, 'vmexit_lab_runs', group), 0, 'service-only metrics are not pushed');

    // A second push replaces the group (PUT): values are not added up.
    assert.equal(await main(['run', '--quiet', ...push, scenarioFile], capture()), 0);
    const again = parseExposition(await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text());
    assert.equal(
      sumOf(again, 'vmexit_lab_vm_exits_total', { ...group, variant: 'bhyve-12.1' }),
      results.variants[0].totals.exitsTotal,
    );
  },
);

test('run --push: an unreachable gateway is an error (exit 3) after the run; bad push options exit 2', async () => {
  const port = await freePort();
  const io = capture();
  assert.equal(
    await main(['run', '--quiet', '--workers', '1', '--push', `http://127.0.0.1:${port}`, scenarioFile], io),
    3,
  );
  assert.match(io.stderr.join('\n'), /cannot push metrics to http:\/\/127\.0\.0\.1:\d+/);
  assert.match(io.stdout.join(''), /push-demo/, 'the summary was still printed');
  const bad = capture();
  assert.equal(await main(['run', '--push', 'ftp://x', scenarioFile], bad), 2);
  assert.equal(await main(['run', '--push-label', 'branch=main', scenarioFile], capture()), 2);
  assert.equal(
    await main(['run', '--push', 'http://127.0.0.1:1', '--push-label', 'job=x', scenarioFile], capture()),
    2,
  );
  assert.equal(await main(['run', '--workers', '0', scenarioFile], capture()), 2);
});
