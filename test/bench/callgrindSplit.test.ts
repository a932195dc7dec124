/**
 * bench/callgrindSplit.ts on small hand-written callgrind outputs and perf maps: self counts named by
 * the last perf-map entry covering the address (a freed and reused address counts under its new code),
 * call lines' inclusive costs left out, relative addresses followed, native code by kind, and the long
 * run less the short over the events given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench } from '../support/bench.js';

const MAP = [
  '1000 100 JS:*walk file:///x/dist/bundle/bench/engine.js:12784:14',
  '2000 80 JS:^reschedule file:///x/dist/bundle/bench/engine.js:13246:15',
  // code freed and the address reused by another function: the later entry names it
  '2000 40 JS:*progress file:///x/dist/bundle/bench/engine.js:13350:13',
  '',
].join('\n');

/** A callgrind output: `walk` costs `w` at two addresses (one relative), a call's inclusive line, native code. */
function cg(w: number, p: number): string {
  return [
    'positions: instr line',
    'events: Ir',
    'ob=(1) ???',
    'fl=(1) ???',
    'fn=(1) 0x0000000000001000',
    `0x1000 0 ${w}`,
    `+16 0 ${w}`,
    'cob=(1)',
    'cfn=(2) 0x0000000000002010',
    'calls=1 0x2010 0',
    '* 0 999999',
    'fn=(2)',
    `0x2010 0 ${p}`,
    'ob=(2) /usr/bin/node',
    'fl=(2) ???',
    'fn=(3) v8::internal::compiler::GraphReducer::ReduceTop()',
    '0x5000 0 700',
    'fn=(4) Builtins_LoadIC',
    '0x6000 0 30',
    '',
  ].join('\n');
}

test('callgrindSplit: instructions per event by compiled function, the long run less the short', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cgsplit-'));
  try {
    const files = { longCg: 'long.out', longMap: 'long.map', shortCg: 'short.out', shortMap: 'short.map' };
    writeFileSync(join(dir, files.longCg), cg(500, 300));
    writeFileSync(join(dir, files.shortCg), cg(100, 100));
    writeFileSync(join(dir, files.longMap), MAP);
    writeFileSync(join(dir, files.shortMap), MAP);
    const paths = [files.longCg, files.longMap, files.shortCg, files.shortMap].map((f) => join(dir, f));
    const r = runBench('callgrindSplit', ['--events', '100', ...paths]);
    assert.equal(r.status, 0, r.stderr);
    const rows = new Map(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => {
          const m = /^\s*(-?[\d.]+)\s+(?:-?[\d.]+ %\s+)?(.*)$/.exec(l);
          assert.ok(m !== null, l);
          return [m[2], Number(m[1])] as const;
        }),
    );
    // walk: 2 x (500 - 100) over 100 events; the call's 999999 is not walk's own
    assert.equal(rows.get('walk engine.js:12784'), 8);
    // 0x2010 is inside both entries at 0x2000: the later one, progress, names it
    assert.equal(rows.get('progress engine.js:13350'), 2);
    assert.equal(rows.get('JS other tiers (^)'), undefined);
    // native code the same in both runs: nothing per event
    assert.equal(rows.get("V8's compiler"), 0);
    assert.equal(rows.get('builtin Builtins_LoadIC'), 0);
    assert.equal(rows.get('all (100 events)'), 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('callgrindSplit: without --events or the four files, a usage error', () => {
  const r = runBench('callgrindSplit', ['a.out', 'a.map']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /expected --events N/);
});
