/**
 * Hostile and careless input for the report and profile importers (src/import, src/profiles): the
 * real fixtures mutated (test/fuzz/mutate.ts) and arbitrary text. A reader either accepts the input
 * or refuses it with its own error type, naming file:line:col of the input; an accepted report holds
 * no number below zero or not finite, and one accepted after a number of it was changed carries that
 * number (or a note says why not). FUZZ_RUNS and FUZZ_SEED run it longer or on other cases.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { REPO_ROOT } from '../../src/model/data.js';
import { parseReport, type ReportFormat } from '../../src/import/index.js';
import { ReportFormatError, type ExitReport } from '../../src/import/report.js';
import { importDmesg, ProfileImportError } from '../../src/profiles/importDmesg.js';
import { importCpuinfo } from '../../src/profiles/importCpuinfo.js';
import { anyText, mutated, type Mutated } from './mutate.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const REPORTS = join(REPO_ROOT, 'test/fixtures/reports');
const PROFILES = join(REPO_ROOT, 'test/fixtures/profiles');

function formatOf(name: string): ReportFormat | undefined {
  if (name.startsWith('perf-')) return 'perf-kvm-stat';
  if (name.startsWith('kvm_stat-')) return 'kvm-stat';
  if (name.startsWith('kvmexit-')) return 'kvmexit';
  if (name.startsWith('bhyvectl-')) return 'bhyvectl';
  return undefined;
}

const FIXTURES = readdirSync(REPORTS)
  .filter((f) => f.endsWith('.txt') && formatOf(f) !== undefined)
  .map((f) => ({ name: f, format: formatOf(f)!, text: readFileSync(join(REPORTS, f), 'utf8') }));

/** Every number an accepted report holds (counts, rates, times, percentages: none negative). */
function numbersOf(r: ExitReport): number[] {
  const out: number[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'number') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk({ ...r, notes: undefined });
  return out;
}

/** The report without the positions of its rows (an edit of one line moves none of them). */
function essence(r: ExitReport): string {
  return JSON.stringify({ ...r, rows: r.rows.map((row) => ({ ...row, source: undefined })) });
}

/** Whether line `n` (1-based) of `text` names a row or a counter of the report read from it. */
function readsLine(r: ExitReport, text: string, n: number): boolean {
  const line = text.split(/\r\n|\r|\n/)[n - 1] ?? '';
  const names = [...r.rows.map((row) => row.name), ...Object.keys(r.stats ?? {})];
  return names.some((name) => line.includes(name)) || r.rows.some((row) => row.source.line === n);
}

/**
 * Columns a reader does not keep, by its documented rule: kvm_stat keeps a counter that is not an
 * exit by its Total only ("all other events go to stats", docs/IMPORT.md); several refreshes of perf
 * kvm stat live are summed, and their note says a refresh's own Samples%, Time% and deviation are not
 * kept (src/import/perfLive.ts).
 */
function keptElsewhere(r: ExitReport, e: NonNullable<Mutated['number']>): boolean {
  const line = e.before.split(/\r\n|\r|\n/)[e.line - 1];
  const rest = line.slice(e.index + e.old.length);
  if (r.format === 'kvm-stat') {
    const event = /^\s*(\S+)/.exec(line)?.[1] ?? '';
    const firstNumber = line.search(/(?<=\s)\d/);
    return r.stats?.[event] !== undefined && e.index > firstNumber;
  }
  return (
    (r.refreshes ?? 1) > 1 && /^%/.test(rest) && r.notes.some((n) => n.includes("Samples% and Time% are the sum's own"))
  );
}

/**
 * A number of a line the report reads changed (to another, or to one no tool prints), and both texts
 * accepted: the report must change (carry the new number, or a sum of it) or a note must name the line.
 */
function checkNumberEdit(r: ExitReport, file: string, format: ReportFormat, m: Mutated): void {
  const e = m.number!;
  if (Number(e.now) === Number(e.old)) return; // '' reads as 0 where a blank column is 0 (kvm_stat 4.x)
  let before: ExitReport;
  try {
    before = parseReport(e.before, file, format);
  } catch {
    return;
  }
  if (!readsLine(before, e.before, e.line) || keptElsewhere(before, e)) return;
  if (essence(before) !== essence(r)) return;
  assert.ok(
    r.notes.some((n) => n.includes(`line ${e.line}`)),
    `${m.what}: accepted, and the report is the same as before the edit`,
  );
}

function checkReport(text: string, file: string, format: ReportFormat, m?: Mutated): void {
  let r: ExitReport;
  try {
    r = parseReport(text, file, format);
  } catch (e) {
    if (!(e instanceof ReportFormatError)) throw new Error(`threw ${(e as Error)?.stack ?? String(e)}`, { cause: e });
    const lines = text.split(/\r\n|\r|\n/).length;
    assert.ok(e.line >= 1 && e.line <= lines + 1, `line ${e.line} of ${lines}: ${e.message}`);
    assert.ok(e.column >= 1, e.message);
    assert.ok(e.message.startsWith(`${file}:${e.line}:${e.column}: expected `), e.message);
    return;
  }
  for (const x of numbersOf(r))
    assert.ok(Number.isFinite(x) && x >= 0, `accepted with the number ${x}${m ? ` (${m.what})` : ''}`);
  if (m?.number) checkNumberEdit(r, file, format, m);
}

describe('report importers under mutated fixtures (fast-check)', () => {
  for (const f of FIXTURES)
    it(`${f.name} (${f.format})`, () => {
      fc.assert(
        fc.property(mutated(f.text), (m) => checkReport(m.text, f.name, f.format, m)),
        { numRuns: RUNS, seed: SEED },
      );
    });
});

/** Lines of every fixture, of every format, in any order: a report pasted together from several. */
const SOUP = fc
  .array(fc.constantFrom(...FIXTURES.flatMap((f) => f.text.split('\n'))), { maxLength: 40 })
  .map((ls) => ls.join('\n'));

describe('report importers under arbitrary text (fast-check)', () => {
  for (const format of ['perf-kvm-stat', 'kvm-stat', 'kvmexit', 'bhyvectl'] as const)
    it(format, () => {
      fc.assert(
        fc.property(fc.oneof(anyText, SOUP), (t) => checkReport(t, 'x.txt', format)),
        { numRuns: RUNS * 3, seed: SEED },
      );
    });
});

function checkProfile(text: string, read: (t: string) => unknown): void {
  try {
    read(text);
  } catch (e) {
    if (!(e instanceof ProfileImportError)) throw new Error(`threw ${(e as Error)?.stack ?? String(e)}`, { cause: e });
    const lines = text.split(/\r\n|\r|\n/).length;
    assert.ok(e.line >= 1 && e.line <= lines + 1, `line ${e.line} of ${lines}: ${e.message}`);
    assert.ok(e.column >= 1, e.message);
    assert.ok(e.message.startsWith(`${e.sourceName}:${e.line}:${e.column}: expected `), e.message);
  }
}

describe('profile importers under mutated fixtures and arbitrary text (fast-check)', () => {
  for (const name of readdirSync(PROFILES).filter((f) => f.startsWith('cpuinfo-') || f.endsWith('.dmesg'))) {
    const read = name.endsWith('.dmesg')
      ? (t: string) => importDmesg(t, { sourceName: name })
      : (t: string) => importCpuinfo(t, { sourceName: name });
    const text = readFileSync(join(PROFILES, name), 'utf8');
    it(name, () => {
      fc.assert(
        fc.property(mutated(text), (m) => checkProfile(m.text, read)),
        { numRuns: RUNS, seed: SEED },
      );
      fc.assert(
        fc.property(anyText, (t) => checkProfile(t, read)),
        { numRuns: RUNS, seed: SEED },
      );
    });
  }
});
