import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryStore } from '../../src/history/store.js';
import type { RunResults } from '../../src/results/types.js';

const dirs: string[] = [];
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'vmexit-lab-history-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const options = { pace: 'max' as const, seed: 1, workers: 2 };
const fakeResults = { version: 1, scenario: 's', variants: [] } as unknown as RunResults;

function create(store: HistoryStore, id: string): void {
  store.create({
    id,
    scenario: 's',
    source: { kind: 'inline' },
    createdAt: new Date().toISOString(),
    options,
    guests: 4,
    variants: ['a', 'b'],
    yaml: 'name: s\n',
    seriesLabel: 's',
  });
}

test('records: create, start, progress, finish with results; newest first; counts by state', () => {
  const d = dataDir();
  const { store, interrupted } = HistoryStore.open(d);
  assert.deepEqual(interrupted, []);
  create(store, 'r1');
  assert.equal(store.get('r1')?.state, 'queued');
  store.started('r1', new Date().toISOString());
  store.progress('r1', {
    fraction: 0.5,
    simSeconds: 1,
    limitSeconds: 2,
    hostsDone: 0,
    hostsTotal: 2,
    tasksDone: 0,
    tasksTotal: 2,
  });
  assert.equal(store.get('r1')?.progress?.fraction, 0.5);
  store.finish('r1', {
    state: 'completed',
    at: new Date().toISOString(),
    results: fakeResults,
    partial: false,
    summary: { exitStatus: 0, variants: [], crossVariantThresholdsFailed: 0 },
  });
  create(store, 'r2');
  const r1 = store.get('r1')!;
  assert.deepEqual([r1.state, r1.hasResults, r1.partial, r1.summary?.exitStatus], ['completed', true, false, 0]);
  assert.deepEqual(JSON.parse(store.resultsJson('r1')!), fakeResults);
  assert.equal(store.scenarioYaml('r1'), 'name: s\n');
  assert.deepEqual(
    store.list().map((r) => r.id),
    ['r2', 'r1'],
  );
  assert.deepEqual(
    store.list({ state: 'completed' }).map((r) => r.id),
    ['r1'],
  );
  assert.equal(store.countsByState().completed, 1);
  assert.equal(store.countsByState().queued, 1);
  store.close();
});

test('reopening marks runs left queued or running as interrupted and keeps finished ones', () => {
  const d = dataDir();
  const a = HistoryStore.open(d).store;
  create(a, 'done');
  a.started('done', new Date().toISOString());
  a.finish('done', { state: 'completed', at: new Date().toISOString(), results: fakeResults, partial: false });
  create(a, 'running');
  a.started('running', new Date().toISOString());
  create(a, 'queued');
  a.close();
  const { store, interrupted } = HistoryStore.open(d);
  assert.deepEqual([...interrupted].sort(), ['queued', 'running']);
  assert.equal(store.get('running')?.state, 'interrupted');
  assert.match(store.get('running')?.error ?? '', /stopped while this run was in progress/);
  assert.equal(store.get('done')?.state, 'completed');
  assert.ok(store.resultsJson('done'));
  store.close();
});

test('one service per data dir: a live holder blocks, a stale lock (a killed process) is taken over', () => {
  const d = dataDir();
  const { store } = HistoryStore.open(d);
  assert.throws(() => HistoryStore.open(d), /in use by process/);
  store.close();
  writeFileSync(join(d, 'service.lock'), '999999999\n'); // no such process
  const again = HistoryStore.open(d);
  again.store.close();
  writeFileSync(join(d, 'service.lock'), `${process.ppid}\n`); // a live process
  assert.throws(() => HistoryStore.open(d), /in use by process/);
});

test('retention (#18.7): finished runs beyond keepRuns or older than keepDays go with their results; runs in progress stay', () => {
  const d = dataDir();
  const { store } = HistoryStore.open(d);
  const day = 86_400_000;
  const now = Date.parse('2026-12-02T12:00:00Z');
  const finishAt = (id: string, ms: number): void => {
    create(store, id);
    store.started(id, new Date(ms).toISOString());
    store.finish(id, { state: 'completed', at: new Date(ms).toISOString(), results: fakeResults, partial: false });
  };
  finishAt('old', now - 40 * day);
  for (let i = 0; i < 5; i++) finishAt(`r${i}`, now - (5 - i) * 1000);
  create(store, 'live');
  store.started('live', new Date(now).toISOString());
  const deleted = store.prune({ keepRuns: 3, keepDays: 30 }, now);
  assert.deepEqual([...deleted].sort(), ['old', 'r0', 'r1']);
  assert.deepEqual(
    store.list().map((r) => r.id),
    ['live', 'r4', 'r3', 'r2'],
  );
  assert.equal(store.resultsJson('old'), undefined, 'its results are deleted too');
  assert.equal(store.get('live')?.state, 'running');
  store.close();
});

test('retention below one run or one day, or past 100 years, is refused: 0 deleted every finished run as it ended', () => {
  const d = dataDir();
  const { store } = HistoryStore.open(d);
  const now = Date.parse('2026-12-02T12:00:00Z');
  create(store, 'done');
  store.started('done', new Date(now - 1000).toISOString());
  store.finish('done', { state: 'completed', at: new Date(now).toISOString(), results: fakeResults, partial: false });
  assert.throws(
    () => store.prune({ keepRuns: 0, keepDays: 30 }, now),
    /retention keepRuns must be an integer >= 1, not 0/,
  );
  assert.throws(
    () => store.prune({ keepRuns: 1000, keepDays: 0 }, now),
    /retention keepDays must be an integer 1\.\.36500, not 0/,
  );
  assert.throws(() => store.prune({ keepRuns: 1000, keepDays: 1.5 }, now), /keepDays must be an integer/);
  assert.throws(
    () => store.prune({ keepRuns: 1000, keepDays: 200_000_000 }, now),
    /keepDays must be an integer 1\.\.36500/,
  );
  assert.deepEqual(store.prune({ keepRuns: 1, keepDays: 1 }, now), [], 'the least retention keeps the newest run');
  assert.ok(store.resultsJson('done') !== undefined, 'its results are there to fetch');
  store.close();
});
