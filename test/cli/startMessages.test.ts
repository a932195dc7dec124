/**
 * What `vmexit-lab start` (`npm start`) says as it starts: the line that says the default scenario
 * runs links the run's page, and a port in use says how to give npm the port (docs/CLI.md, "Bad
 * input: what is checked").
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import { startThenSignal } from '../support/startProcess.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-start-messages-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("start: the line that says the scenario is running links its run's HTML page (it linked the JSON record only)", async () => {
  let page: Response | undefined;
  let json: Response | undefined;
  const { exit, out, err } = await startThenSignal(join(dir, 'start'), /\n {2}running .*\n/, ['SIGTERM'], async (o) => {
    const line = /\n {2}running (.*)\n/.exec(o)![1];
    const m = /: (http:\/\/\S+\/runs\/([0-9a-f-]{36})) \(its page; JSON: (http:\/\/\S+\/api\/runs\/\2)\)$/.exec(line);
    assert.ok(m !== null, line);
    page = await fetch(m[1], { headers: { Accept: 'text/html' } });
    json = await fetch(m[3]);
  });
  assert.deepEqual(exit, [0, null], `${out}${err}`);
  assert.equal(page?.status, 200);
  assert.match(page?.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(json?.status, 200);
  assert.match(json?.headers.get('content-type') ?? '', /^application\/json/);
});

test('npm start on a port in use says how to give npm the port (npm start -- --port N)', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const { port } = busy.address() as AddressInfo;
  try {
    const io = { ...capture(), env: { CI: 'true', npm_lifecycle_event: 'start' } };
    const status = await main(['start', '--port', String(port)], io);
    const stderr = io.stderr.join('\n');
    assert.equal(status, 2, stderr);
    // Was `port N is in use; pick another with --port (0 = any free port)`: `npm start --port 0` is npm's option, not ours.
    assert.match(
      stderr,
      new RegExp(`port ${port} is in use; pick another with --port \\(0 = any free port\\): npm start -- --port 8081`),
    );
  } finally {
    await new Promise((resolve) => busy.close(resolve));
  }
});
