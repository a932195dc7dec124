/**
 * The second stranger pass's leftovers (polish32): what a user of `start` and of the command line
 * still met after it. Each test failed before its fix.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startThenSignal } from '../support/startProcess.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-leftovers-'));
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
