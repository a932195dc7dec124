/**
 * The exit statuses as the help names them: `vmexit-lab --help` lists the ones README.md lists, and
 * a `--push` that failed after the files were written is status 3, as `run --help` says
 * (docs/CLI.md, "Exit statuses").
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, IDLE_WINDOWS_SCENARIO as GOOD } from '../support/cli.js';
import { REPO_ROOT } from '../../src/model/data.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-exit-status-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('vmexit-lab --help names the exit statuses, the ones README.md lists (it named none), and an example that runs on Linux', async () => {
  const r = await cli(['--help']);
  assert.equal(r.status, 0);
  const line = /^Exit status: ([^]*?)\n\n/m.exec(r.stdout)?.[1];
  assert.ok(line !== undefined, r.stdout);
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const paragraph = /^Exit status: ([^]*?)\n\n/m.exec(readme)?.[1] ?? '';
  const statuses = [...paragraph.matchAll(/`(\d+)`/g)].map((m) => m[1]);
  assert.deepEqual(statuses, ['0', '1', '2', '3', '130', '143'], 'README.md');
  for (const s of statuses) assert.match(line, new RegExp(`(^|, )${s} `), `status ${s}`);
  assert.match(r.stdout, /cpus import .*\/proc\/cpuinfo/);
});

test('run --push to a Pushgateway that is not there: exit 3 after the files are written, as run --help now says (its status 3 did not name it)', async () => {
  const scenario = join(dir, 'push.yaml');
  writeFileSync(scenario, GOOD);
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => ok(p));
    });
  });
  const results = join(dir, 'push.json');
  const r = await cli(['run', '--quiet', '--out', results, '--push', `http://127.0.0.1:${port}`, scenario]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`cannot push metrics to http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  assert.ok(existsSync(results), 'the results are written first');
  const help = (await cli(['run', '--help'])).stdout;
  const three = /^ {2}3 {4}([^]*?)\n {2}130/m.exec(help)?.[1] ?? '';
  assert.match(three.replace(/\s+/g, ' '), /a --push that failed \(the files are written first\)/);
});
