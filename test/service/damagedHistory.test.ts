/**
 * The service started on a history it cannot read whole (docs/SERVICE.md, "Hostile input: what is
 * checked"): a database SQLite finds damaged stops the start with the file and what to do; stored
 * results the metrics cannot read back leave those runs without their thresholds, named in a note,
 * and their pages and results say what is wrong. test/history/damaged.test.ts has the store's side.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HistoryStore } from '../../src/history/store.js';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest } from '../support/http.js';

const { dataDir, services } = serviceFixture('vmexit-lab-damaged-history-');

test('a history database SQLite finds damaged: the service does not start, and says which file and what to do (it said only "database disk image is malformed")', async () => {
  const dir = dataDir();
  const s = await startService({ port: 0, dataDir: dir, workers: 1 });
  await s.close();
  // Past the file header (100 bytes), the first page's b-tree header and all after it overwritten.
  const file = join(dir, 'history.sqlite');
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(statSync(file).size - 100, 0xff), 0, undefined, 100);
  closeSync(fd);
  await assert.rejects(startService({ port: 0, dataDir: dir, workers: 1 }), (e: Error) => {
    assert.ok(e.message.includes(`the history database ${file} is damaged (SQLite: `), e.message);
    assert.match(e.message, /move it and any .*-wal and -shm beside it elsewhere \(or give another --data-dir\)/);
    return true;
  });
  // Moved aside, as the message says: the service starts with an empty history.
  renameSync(file, `${file}.damaged`);
  for (const x of ['-wal', '-shm']) rmSync(`${file}${x}`, { force: true });
  const again = await startService({ port: 0, dataDir: dir, workers: 1 });
  services.push(again);
  assert.deepEqual(again.manager.list({}), []);
});

test('a history holding results the metrics cannot read back (cut short, or of another shape) still starts: those runs come back without their thresholds, named in a note (the service would not start: "results.crossVariantThresholds is not iterable")', async () => {
  const d = dataDir();
  {
    const { store } = HistoryStore.open(d);
    const finished = (id: string, results: unknown): void => {
      store.create({
        id,
        scenario: id,
        source: { kind: 'inline' },
        createdAt: new Date().toISOString(),
        options: { pace: 'max', seed: 1, workers: 1 },
        guests: 1,
        variants: ['base'],
        yaml: `name: ${id}\n`,
        seriesLabel: id,
      });
      store.started(id, new Date().toISOString());
      store.finish(id, {
        state: 'completed',
        at: new Date().toISOString(),
        results: results as any,
        partial: false,
        summary: { exitStatus: 1, variants: [], crossVariantThresholdsFailed: 0 },
      });
    };
    finished('other-shape', { version: 1, scenario: 'other-shape', variants: [] });
    finished('cut', { version: 1, scenario: 'cut', variants: [], crossVariantThresholds: [] });
    finished('fine', {
      version: 1,
      scenario: 'fine',
      variants: [{ name: 'base', thresholds: [{ metric: 'exits_per_second', expr: '< 1', passed: false }] }],
      crossVariantThresholds: [],
    });
    store.close();
    // A results.json cut short (a disk that filled, a copy interrupted).
    const db = new Database(join(d, 'history.sqlite'));
    db.prepare("UPDATE results SET json = substr(json, 1, 20) WHERE run_id = 'cut'").run();
    db.close();
  }
  const s = await startService({ port: 0, dataDir: d, workers: 1 });
  services.push(s);
  assert.deepEqual(
    [...((s as unknown as { notes?: readonly string[] }).notes ?? [])].sort(),
    [
      'run other-shape: its results.json could not be read back into the metrics (results.crossVariantThresholds is not iterable); its run state, times and exit status are restored, its threshold outcomes are not',
      'run cut: its results.json could not be read back into the metrics (it is not valid JSON: Unterminated string in JSON at position 20); its run state, times and exit status are restored, its threshold outcomes are not',
    ].sort(),
  );
  const metrics = (await rawRequest(s.url, 'GET', '/metrics')).text;
  assert.match(metrics, /vmexit_lab_run_last_exit_status\{scenario="other-shape"\} 1/);
  assert.match(metrics, /vmexit_lab_run_last_exit_status\{scenario="cut"\} 1/);
  assert.match(
    metrics,
    /vmexit_lab_threshold_passed\{scenario="fine",variant="base",threshold="exits_per_second: < 1"\} 0/,
  );
  // Their pages say what is wrong, in HTML, with where the record and the stored file are (it was
  // the JSON "internal error: Cannot read properties of undefined (reading 'replace')").
  for (const id of ['other-shape', 'cut']) {
    const page = await rawRequest(s.url, 'GET', `/runs/${id}`, { Accept: 'text/html' });
    assert.equal(page.status, 500, id);
    assert.match(String(page.headers['content-type']), /^text\/html/, `${id}: ${page.text.slice(0, 200)}`);
    assert.match(page.text, /its results\.json could not be shown \(/, id);
    assert.match(page.text, new RegExp(`href="/api/runs/${id}/results"`), id);
  }
  // The API says what a results.json cut short is, as the page does (it was 200 application/json
  // with the 20 characters: a client's JSON parser failed on the service's "success"); one of
  // another shape is still JSON, served as stored.
  const cut = await rawRequest(s.url, 'GET', '/api/runs/cut/results');
  assert.equal(cut.status, 500, cut.text);
  assert.equal(cut.body.error.code, 'damaged_results');
  assert.match(
    cut.body.error.message,
    /^run cut: its stored results\.json is not valid JSON \(Unterminated string in JSON at position 20\): cut short or damaged after it was written/,
  );
  const other = await rawRequest(s.url, 'GET', '/api/runs/other-shape/results');
  assert.equal(other.status, 200, other.text);
  assert.equal(other.body.scenario, 'other-shape');
});
