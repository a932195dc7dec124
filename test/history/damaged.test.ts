/**
 * A history database damaged where the open does not read (the sixth pass, docs/SERVICE.md
 * "Hostile input"): the damage found by a later query is said as what it is, with the file.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HistoryDamagedError, HistoryStore } from '../../src/history/store.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A history of 60 runs (one left running, as by a killed service, if `running`), closed. */
function history(running: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-damaged-'));
  dirs.push(dir);
  const { store } = HistoryStore.open(dir);
  for (let i = 0; i < 60; i++)
    store.create({
      id: `run-${i}`,
      scenario: 'damaged',
      source: { kind: 'posted' } as never,
      createdAt: new Date(0).toISOString(),
      options: {} as never,
      guests: 1,
      variants: ['a'],
      yaml: 'x'.repeat(2000), // the runs table spans pages apart from its index
      seriesLabel: 'damaged',
    });
  if (running) store.started('run-59', new Date(0).toISOString());
  // Results of 2,000 characters each: the results table spans pages apart from its root.
  for (let i = 0; i < 20; i++)
    store.finish(`run-${i}`, {
      state: 'completed',
      at: new Date(0).toISOString(),
      results: { pad: 'r'.repeat(2000) } as never,
      partial: false,
    });
  store.close();
  return dir;
}

/** Overwrite the pages dbstat says belong to `name` (a table or index) with 0xff, all but its root page. */
function damage(file: string, name: string): void {
  const db = new Database(file, { readonly: true });
  const pageSize = Number(db.pragma('page_size', { simple: true }));
  const pages = (
    db.prepare("SELECT pageno FROM dbstat WHERE name = ? AND path != '/'").all(name) as { pageno: number }[]
  ).map((p) => p.pageno);
  db.close();
  assert.ok(pages.length > 0, `${name} has pages`);
  const fd = openSync(file, 'r+');
  for (const p of pages) writeSync(fd, Buffer.alloc(pageSize, 0xff), 0, pageSize, (p - 1) * pageSize);
  closeSync(fd);
}

const said = (file: string) => (e: Error) => {
  assert.ok(e instanceof HistoryDamagedError, `${e.constructor.name}: ${e.message}`);
  assert.ok(e.message.startsWith(`the history database ${file} is damaged (SQLite: `), e.message);
  assert.match(e.message, /move it and any .*-wal and -shm beside it elsewhere/);
  return true;
};

test('damage the open finds only when it marks runs interrupted: the file is named, and the data dir is not left locked (it was: "in use by process N")', () => {
  const dir = history(true);
  const file = join(dir, 'history.sqlite');
  damage(file, 'runs'); // markInterrupted reads the runs table; the open's own queries do not
  assert.throws(() => HistoryStore.open(dir), said(file));
  // Again, in the same process: the same words, not a lock this process forgot to release.
  assert.throws(() => HistoryStore.open(dir), said(file));
});

test('damage a query finds after the open (the results table): the file is named and what to do (it was SQLite\'s "database disk image is malformed", a 500 "internal error")', () => {
  const dir = history(false);
  const file = join(dir, 'history.sqlite');
  damage(file, 'results'); // the open reads no results
  const { store, interrupted } = HistoryStore.open(dir);
  try {
    assert.equal(interrupted.length, 40); // the 40 runs left queued
    assert.throws(
      () => store.resultsJson('run-0'),
      (e: Error) => said(file)(e) && /stop the service; /.test(e.message),
    );
  } finally {
    store.close();
  }
});
