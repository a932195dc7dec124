import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { RunResults } from '../results/types.js';
import {
  FINAL_STATES,
  RUN_STATES,
  type RunProgress,
  type RunRecord,
  type RunState,
  type RunSummary,
  type StopReason,
} from './records.js';
import { KEEP_CONTINUOUS_RUNS, retentionProblem, type Retention } from './retention.js';
import { lockDataDir, makeDataDir } from './dataDir.js';
import { migrate, toRecord, type Row } from './runRows.js';

/**
 * Run history in SQLite (better-sqlite3, WAL). Every state change is one transaction, so a process
 * killed at any point leaves finished runs intact; at open, runs a dead process left queued or
 * running are marked `interrupted`. One service per data dir (a pid lock file says whose it is).
 * Retention (prune): finished runs beyond the newest `keepRuns`, or finished more than `keepDays`
 * ago, are deleted with their results; iterations of the continuous default are kept apart (the
 * newest KEEP_CONTINUOUS_RUNS), so a service that ran the default for a week keeps users' runs.
 * The data dir and its lock are in dataDir.ts, retention's bounds in retention.ts, a row's columns
 * and the migration in runRows.ts.
 */

const DB_FILE = 'history.sqlite';
/** 2: series_label and continuous columns (added to a version 1 database at open). */
const SCHEMA_VERSION = 2;

/**
 * SQLite found the history database damaged (SQLITE_CORRUPT, SQLITE_NOTADB and their extended
 * codes, better-sqlite3's SqliteError.code): at open, or in a later query, for damage in pages the
 * open did not read (a disk that filled, a copy cut short, a file overwritten while the service ran).
 * The message names the file and what to do; SQLite's alone, "database disk image is malformed",
 * named neither (the fifth and sixth passes, docs/SERVICE.md "Hostile input").
 */
export class HistoryDamagedError extends Error {}

/** `e` as HistoryDamagedError when it is SQLite's word for a damaged file; otherwise `e`. */
function damageOf(file: string, e: unknown, running: boolean): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^SQLITE_(CORRUPT|NOTADB)/.test(code)) return e;
  return new HistoryDamagedError(
    `the history database ${file} is damaged (SQLite: ${(e as Error).message}): ${running ? 'stop the service; ' : ''}to start with an empty history, move it and any ${file}-wal and -shm beside it elsewhere (or give another --data-dir); sqlite3's .recover command may get runs back from it`,
    { cause: e },
  );
}

/** How a run ended, as its record keeps it (with its final state and time). */
export interface RunEnd {
  readonly stopReason?: StopReason;
  readonly error?: string;
  readonly progress?: RunProgress;
  readonly summary?: RunSummary;
  /** results.json, complete or partial. */
  readonly results?: RunResults;
  readonly partial: boolean;
}

interface OpenedHistory {
  readonly store: HistoryStore;
  /** Runs found queued/running at open and marked interrupted. */
  readonly interrupted: readonly string[];
}

export class HistoryStore {
  private readonly db: Database.Database;
  private readonly unlock: () => void;
  private closed = false;

  private constructor(
    db: Database.Database,
    unlock: () => void,
    private readonly file: string,
  ) {
    this.db = db;
    this.unlock = unlock;
  }

  static open(dataDir: string): OpenedHistory {
    makeDataDir(dataDir);
    const unlock = lockDataDir(dataDir);
    const file = join(dataDir, DB_FILE);
    let db: Database.Database | undefined;
    try {
      db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL'); // WAL + NORMAL: a committed transaction survives a killed process
      db.pragma('busy_timeout = 2000');
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS runs (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          id TEXT NOT NULL UNIQUE,
          scenario TEXT NOT NULL,
          source TEXT NOT NULL,
          state TEXT NOT NULL,
          stop_reason TEXT,
          error TEXT,
          created_at TEXT NOT NULL,
          started_at TEXT,
          finished_at TEXT,
          options TEXT NOT NULL,
          guests INTEGER NOT NULL,
          variants TEXT NOT NULL,
          progress TEXT,
          summary TEXT,
          has_results INTEGER NOT NULL DEFAULT 0,
          partial INTEGER NOT NULL DEFAULT 0,
          scenario_yaml TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS runs_state ON runs(state);
        CREATE TABLE IF NOT EXISTS results (run_id TEXT PRIMARY KEY REFERENCES runs(id), json TEXT NOT NULL);
      `);
      const v = db.prepare('SELECT value FROM meta WHERE key = ?').get('schema_version') as
        { value: string } | undefined;
      if (v !== undefined && Number(v.value) > SCHEMA_VERSION)
        throw new Error(`history database schema ${v.value} is newer than this vmexit-lab (${SCHEMA_VERSION})`);
      migrate(db);
      db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(
        'schema_version',
        String(SCHEMA_VERSION),
      );
      // Inside the try: damage the open's own queries missed, found here, closes and unlocks as theirs
      // does (it left the data dir locked to this process and the file open).
      const store = new HistoryStore(db, unlock, file);
      return { store, interrupted: store.markInterrupted() };
    } catch (e) {
      db?.close();
      unlock();
      throw damageOf(file, e, false);
    }
  }

  /** `run`, with SQLite's word for a damaged file said as HistoryDamagedError (damageOf). */
  private query<T>(run: () => T): T {
    try {
      return run();
    } catch (e) {
      throw damageOf(this.file, e, true);
    }
  }

  private markInterrupted(): string[] {
    const now = new Date().toISOString();
    return this.db.transaction(() => {
      const rows = this.db.prepare("SELECT id FROM runs WHERE state IN ('queued', 'running')").all() as {
        id: string;
      }[];
      this.db
        .prepare(
          "UPDATE runs SET state = 'interrupted', finished_at = ?, error = 'the service stopped while this run was in progress (killed?)' WHERE state IN ('queued', 'running')",
        )
        .run(now);
      return rows.map((r) => r.id);
    })();
  }

  create(r: {
    id: string;
    scenario: string;
    source: RunRecord['source'];
    createdAt: string;
    options: RunRecord['options'];
    guests: number;
    variants: readonly string[];
    yaml: string;
    seriesLabel: string;
    continuous?: boolean;
  }): void {
    return this.query(() => {
      this.db
        .prepare(
          `INSERT INTO runs (id, scenario, source, state, created_at, options, guests, variants, scenario_yaml, series_label, continuous)
      VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          r.id,
          r.scenario,
          JSON.stringify(r.source),
          r.createdAt,
          JSON.stringify(r.options),
          r.guests,
          JSON.stringify(r.variants),
          r.yaml,
          r.seriesLabel,
          r.continuous === true ? 1 : 0,
        );
    });
  }

  started(id: string, at: string): void {
    return this.query(() => {
      this.db.prepare("UPDATE runs SET state = 'running', started_at = ? WHERE id = ?").run(at, id);
    });
  }

  progress(id: string, p: RunProgress): void {
    return this.query(() => {
      this.db.prepare("UPDATE runs SET progress = ? WHERE id = ? AND state = 'running'").run(JSON.stringify(p), id);
    });
  }

  /** The run's end and its results, in one transaction. */
  finish(id: string, f: RunEnd & { readonly state: RunState; readonly at: string }): void {
    return this.query(() => {
      this.db.transaction(() => {
        if (f.results)
          this.db
            .prepare('INSERT OR REPLACE INTO results (run_id, json) VALUES (?, ?)')
            .run(id, JSON.stringify(f.results));
        this.db
          .prepare(
            `UPDATE runs SET state = ?, finished_at = ?, stop_reason = ?, error = ?, progress = COALESCE(?, progress), summary = ?,
        has_results = ?, partial = ? WHERE id = ?`,
          )
          .run(
            f.state,
            f.at,
            f.stopReason ?? null,
            f.error ?? null,
            f.progress ? JSON.stringify(f.progress) : null,
            f.summary ? JSON.stringify(f.summary) : null,
            f.results ? 1 : 0,
            f.partial ? 1 : 0,
            id,
          );
      })();
    });
  }

  get(id: string): RunRecord | undefined {
    return this.query(() => {
      const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as Row | undefined;
      return row ? toRecord(row) : undefined;
    });
  }

  /**
   * Delete finished runs (and their results) beyond the retention: users' runs beyond the newest
   * `keepRuns` or finished more than `keepDays` ago; continuous iterations beyond the newest
   * KEEP_CONTINUOUS_RUNS or older than `keepDays`. Runs queued or running are never deleted.
   * Returns the ids deleted.
   */
  prune(r: Retention, now = Date.now()): string[] {
    return this.query(() => {
      const problem = retentionProblem(r);
      if (problem !== undefined) throw new RangeError(problem);
      const finals = FINAL_STATES.map((st) => `'${st}'`).join(', ');
      const cutoff = new Date(now - r.keepDays * 86_400_000).toISOString();
      return this.db.transaction(() => {
        const ids = this.db
          .prepare(
            `SELECT id FROM runs WHERE state IN (${finals}) AND (
            (finished_at IS NOT NULL AND finished_at < ?)
            OR (continuous = 0 AND seq NOT IN (SELECT seq FROM runs WHERE state IN (${finals}) AND continuous = 0 ORDER BY seq DESC LIMIT ?))
            OR (continuous = 1 AND seq NOT IN (SELECT seq FROM runs WHERE state IN (${finals}) AND continuous = 1 ORDER BY seq DESC LIMIT ?)))`,
          )
          .all(cutoff, r.keepRuns, KEEP_CONTINUOUS_RUNS) as { id: string }[];
        const delResults = this.db.prepare('DELETE FROM results WHERE run_id = ?');
        const delRun = this.db.prepare('DELETE FROM runs WHERE id = ?');
        for (const { id } of ids) {
          delResults.run(id);
          delRun.run(id);
        }
        return ids.map((x) => x.id);
      })();
    });
  }

  /**
   * The latest finished run of each series label among runs finished at or after `since` (ISO
   * time), newest first: what the metrics restore at start-up (run state, thresholds, times).
   */
  latestFinishedPerLabel(since: string): RunRecord[] {
    return this.query(() => {
      const finals = FINAL_STATES.map((st) => `'${st}'`).join(', ');
      return (
        this.db
          .prepare(
            `SELECT * FROM runs WHERE seq IN (SELECT MAX(seq) FROM runs WHERE state IN (${finals}) AND finished_at >= ? GROUP BY series_label) ORDER BY seq DESC`,
          )
          .all(since) as Row[]
      ).map(toRecord);
    });
  }

  /** Newest first. */
  list(options: { limit?: number; state?: RunState; scenario?: string } = {}): RunRecord[] {
    return this.query(() => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (options.state) {
        where.push('state = ?');
        args.push(options.state);
      }
      if (options.scenario) {
        where.push('scenario = ?');
        args.push(options.scenario);
      }
      const sql = `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
      args.push(Math.max(1, Math.min(1000, options.limit ?? 100)));
      return (this.db.prepare(sql).all(...args) as Row[]).map(toRecord);
    });
  }

  /** results.json text as stored. */
  resultsJson(id: string): string | undefined {
    return this.query(() => {
      return (this.db.prepare('SELECT json FROM results WHERE run_id = ?').get(id) as { json: string } | undefined)
        ?.json;
    });
  }

  scenarioYaml(id: string): string | undefined {
    return this.query(() => {
      return (
        this.db.prepare('SELECT scenario_yaml FROM runs WHERE id = ?').get(id) as { scenario_yaml: string } | undefined
      )?.scenario_yaml;
    });
  }

  countsByState(): Record<RunState, number> {
    return this.query(() => {
      const out = Object.fromEntries(RUN_STATES.map((s) => [s, 0])) as Record<RunState, number>;
      for (const r of this.db.prepare('SELECT state, COUNT(*) AS n FROM runs GROUP BY state').all() as {
        state: RunState;
        n: number;
      }[])
        out[r.state] = r.n;
      return out;
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
    this.unlock();
  }
}
