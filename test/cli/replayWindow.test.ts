/**
 * What `vmexit-lab replay` prints for its window (docs/REPLAY.md): its --help's first example prints
 * exits when pasted, and a window that holds nothing, or lies past the host's end, says why on
 * stderr instead of printing the header alone.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture, cli, IDLE_WINDOWS_SCENARIO as GOOD } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-replay-window-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("replay --help's first example prints exits when pasted (a 1 ms window of an idle guest printed the header alone), and an empty window says so on stderr", async () => {
  const help = capture();
  assert.equal(await main(['replay', '--help'], help), 0);
  const text = help.stdout.join('');
  const example = /^ {2}vmexit-lab replay (scenarios\/default\.yaml .*)$/m.exec(text.slice(text.indexOf('Examples:')));
  assert.ok(example, 'the first example replays the default scenario');
  const io = capture();
  assert.equal(await main(['replay', ...example[1].split(/\s+/)], io), 0, io.stderr.join(''));
  const lines = io.stdout.join('\n').trim().split('\n');
  assert.ok(lines.length > 1, `more than the header: ${lines.length} line(s)`);
  assert.equal(io.stderr.join(''), '');

  const empty = capture();
  const args = ['replay', 'scenarios/default.yaml', '--variant', 'bhyve-12.1', '--guest', '3', '--at', '12.5'];
  assert.equal(await main(args, empty), 0);
  assert.equal(empty.stdout.join('\n').trim().split('\n').length, 1, 'the header only');
  assert.equal(
    empty.stderr.join(''),
    'vmexit-lab replay: note: guest 3 had no exit, delivery or violation in the window 12.499..12.5 (0.001 simulated seconds, --window): nothing to print; a longer --window (e.g. --window 0.1) shows what it did before --at',
  );
});

test('replay --at past the host’s end: a note on stderr says where it ended (an empty replay said nothing)', async () => {
  const scenario = join(dir, 'replay.yaml');
  writeFileSync(scenario, GOOD);
  const late = await cli(['replay', scenario, '--guest', '0', '--at', '99']);
  assert.equal(late.status, 0, late.stderr);
  assert.equal(late.stdout.trim().split('\n').length, 1, 'the header only');
  assert.match(
    late.stderr,
    /^vmexit-lab replay: note: guest 0's host ended at 1 simulated seconds, before the window 98\.999\.\.99: nothing to print; give --at 1 or less$/,
  );
  const inside = await cli(['replay', scenario, '--guest', '0', '--at', '0.5', '--window', '0.5']);
  assert.equal(inside.status, 0);
  assert.equal(inside.stderr, '', 'no note for a window the run covers');
  assert.ok(inside.stdout.trim().split('\n').length > 1, 'exits printed');
});
