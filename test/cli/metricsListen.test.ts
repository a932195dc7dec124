import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../../src/model/data.js';
import { waitUntil } from '../support/wait.js';
import { boundPort, RUN_METRICS_LISTENING } from '../support/net.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-listen-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function exitsTotal(text: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^vmexit_lab_vm_exits_total\{[^}]*\} ([0-9.e+]+)$/.exec(line);
    if (m) sum += Number(m[1]);
  }
  return sum;
}

test('run --metrics-listen serves live /metrics while the run runs (for a PodMonitor next to a shard job)', async () => {
  const file = join(dir, 'long.yaml');
  writeFileSync(
    file,
    `name: listen
host: { cpu: i7-2620M, cores: 4, count: 4 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, work: 60s }] }
duration: until-complete
maxDuration: 1h
`,
  );
  const child = spawn(
    process.execPath,
    [
      join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'),
      'run',
      '--quiet',
      '--workers',
      '1',
      '--metrics-listen',
      '127.0.0.1:0',
      file,
    ],
    { env: { ...process.env, CI: 'true' } },
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  try {
    const url = `http://127.0.0.1:${await boundPort(child, RUN_METRICS_LISTENING)}/metrics`;
    const scrape = async (): Promise<string> => (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
    const first = await waitUntil('exits to appear while running', async () => exitsTotal(await scrape()) || undefined);
    // The next snapshots (every 250 ms at pace max); it slept 1.5 s and expected one by then.
    let second = first;
    await waitUntil(
      'the counters to increase between scrapes',
      async () => {
        second = exitsTotal(await scrape());
        return second > first;
      },
      { seen: () => `${first} -> ${second}` },
    );
    assert.ok(second > first, `counters increase between scrapes (${first} -> ${second})`);
    const om = await fetch(url, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
    assert.match(om.headers.get('content-type') ?? '', /openmetrics/);
    assert.match(await om.text(), /# EOF\s*$/);
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
  }
});
