/** The runs table's rows: a row's columns, a row read as a RunRecord, the version 1 -> 2 migration. */
import type Database from 'better-sqlite3';
import {
  seriesLabel,
  type RunOptionsRecord,
  type RunProgress,
  type RunRecord,
  type RunSource,
  type RunState,
  type RunSummary,
  type StopReason,
} from './records.js';

export interface Row {
  id: string;
  scenario: string;
  source: string;
  state: string;
  stop_reason: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  options: string;
  guests: number;
  variants: string;
  progress: string | null;
  summary: string | null;
  has_results: number;
  partial: number;
  series_label: string | null;
  continuous: number;
}

/** Version 1 -> 2: the series label (computed for old rows) and the continuous flag. */
export function migrate(db: Database.Database): void {
  const cols = new Set((db.prepare('PRAGMA table_info(runs)').all() as { name: string }[]).map((c) => c.name));
  db.transaction(() => {
    if (!cols.has('continuous')) db.exec('ALTER TABLE runs ADD COLUMN continuous INTEGER NOT NULL DEFAULT 0');
    if (!cols.has('series_label')) {
      db.exec('ALTER TABLE runs ADD COLUMN series_label TEXT');
      const rows = db.prepare('SELECT id, scenario, source, scenario_yaml FROM runs').all() as {
        id: string;
        scenario: string;
        source: string;
        scenario_yaml: string;
      }[];
      const set = db.prepare('UPDATE runs SET series_label = ? WHERE id = ?');
      for (const r of rows) set.run(seriesLabel(JSON.parse(r.source) as RunSource, r.scenario, r.scenario_yaml), r.id);
    }
    db.exec('CREATE INDEX IF NOT EXISTS runs_label ON runs(series_label)');
  })();
}

export function toRecord(r: Row): RunRecord {
  return {
    id: r.id,
    scenario: r.scenario,
    source: JSON.parse(r.source) as RunSource,
    state: r.state as RunState,
    ...(r.stop_reason ? { stopReason: r.stop_reason as StopReason } : {}),
    ...(r.error ? { error: r.error } : {}),
    createdAt: r.created_at,
    ...(r.started_at ? { startedAt: r.started_at } : {}),
    ...(r.finished_at ? { finishedAt: r.finished_at } : {}),
    options: JSON.parse(r.options) as RunOptionsRecord,
    guests: r.guests,
    variants: JSON.parse(r.variants) as string[],
    ...(r.progress ? { progress: JSON.parse(r.progress) as RunProgress } : {}),
    ...(r.summary ? { summary: JSON.parse(r.summary) as RunSummary } : {}),
    hasResults: r.has_results === 1,
    partial: r.partial === 1,
    seriesLabel: r.series_label ?? r.scenario,
    ...(r.continuous === 1 ? { continuous: true as const } : {}),
  };
}
