/**
 * bench/run.ts --memory-only: the memory per simulated vCPU alone, with the fleet built and dropped
 * twice first. Its first form read ~620 bytes per vCPU where the whole bench read ~1,865: the dropped
 * fleets' buffers were still counted by process.memoryUsage() until V8's sweeper freed them, during
 * the measured build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBench } from '../support/bench.js';

test('--memory-only prints the memory figure alone, and the host buffers are in it', () => {
  const r = runBench('run', ['--memory-only'], { node: ['--expose-gc'], timeoutMs: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /^per CPU second|events\/CPU-s|^event mix/m, 'no case ran');
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('memory: '));
  assert.equal(lines.length, 1, r.stdout);
  const m = /: (\d+) bytes per vCPU/.exec(lines[0]);
  assert.ok(m, lines[0]);
  // Each 7-vCPU host's one buffer holds ~1,290 bytes per vCPU (the machine's 90 state words, its exit
  // counts and counters: docs/perf/memory.md); a figure below 1,000 left the buffers out.
  assert.ok(Number(m[1]) > 1000, `${m[1]} bytes per vCPU: the fleet's buffers are not all counted`);
});
