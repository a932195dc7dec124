import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { singleOut, writeOneOutput } from '../outputs.js';
import { join } from 'node:path';
import { ScenarioError, formatDiagnostic } from '../../input/diagnostics.js';
import { BEFORE_FILE, VALIDATION_DIR, loadBeforeValues, loadValidationCorpus } from '../../validation/load.js';
import { beforeValuesOf, runCorpus, selectCases } from '../../validation/run.js';
import { validationExitStatus } from '../../validation/compare.js';
import { formatMarkdown, formatText, toJson } from '../../validation/report.js';
import type { ValidationCase } from '../../validation/types.js';
import { ExitStatus, UsageError, commandArgs, refuseOption, type CliIo } from '../io.js';
import { VALIDATION_CASE_DIR, yamlDirProblem } from '../yamlDir.js';

export const VALIDATE_MODEL_USAGE = `Usage: vmexit-lab validate-model [options]

Run the validation corpus (data/validation/*.yaml: real, published exit reports, timings and papers
the model was not fitted to, plus the seed figures it was fitted to, marked fitted) and print, per
compared value, | case | metric | real | model | model/real | within |, then the geometric mean of
model/real, the typical error factor and the worst ratio. Every case runs its own scenario with its
own seed: the output is the same on any machine.

Exit status: 0 every case within tolerance or a known gap, 1 some case outside, 2 bad input.

Options:
  --case ID           run only this case (repeatable; * is a wildcard, e.g. --case 'kvm-*')
  --exclude-fitted    leave out the seed figures the model was fitted to
  --dir DIR           the corpus directory (default data/validation)
  --json              machine-readable output (every row, the summary now and before)
  --markdown          docs/VALIDATION.md (with the recorded "before" column)
  --write-before      record the current model values as the "before" values of cases that have
                      none yet (data/validation/before.json); existing values are kept
  -o, --out FILE      write the output to FILE instead of stdout
  -h, --help          show this help

Examples:
  vmexit-lab validate-model
  vmexit-lab validate-model --case kvm-sysbench-blog-2020 --json
  vmexit-lab validate-model --markdown -o docs/VALIDATION.md
`;

export const DOC_COMMANDS = { regenerate: 'npm run docs:validation', run: 'vmexit-lab validate-model' } as const;

export async function validateModelCommand(argv: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(
    io,
    'validate-model',
    VALIDATE_MODEL_USAGE,
    argv,
    {
      case: { type: 'string', multiple: true },
      'exclude-fitted': { type: 'boolean' },
      dir: { type: 'string' },
      json: { type: 'boolean' },
      markdown: { type: 'boolean' },
      'write-before': { type: 'boolean' },
      out: { type: 'string', short: 'o' },
    },
    false,
  );
  if (typeof parsed === 'number') return parsed;
  const o = parsed.values;
  let outFile: string | undefined;
  try {
    outFile = singleOut(o.out);
  } catch (e) {
    return refuseOption(io, 'validate-model', e);
  }
  const bad = (msg: string): number => {
    io.err(`vmexit-lab validate-model: ${msg}`);
    return ExitStatus.BAD_INPUT;
  };
  if (o.json && o.markdown) return bad('give --json or --markdown, not both');
  const dir = o.dir ?? VALIDATION_DIR;
  const dirProblem = o.dir === undefined ? undefined : yamlDirProblem('--dir', o.dir, VALIDATION_CASE_DIR);
  if (dirProblem !== undefined) return bad(dirProblem);
  let corpus: ValidationCase[];
  try {
    corpus = loadValidationCorpus(dir);
  } catch (e) {
    // As `run` prints a bad scenario (src/cli/loadOrExplain.ts): one FILE:LINE:COL: error: line each.
    if (e instanceof ScenarioError) {
      for (const d of e.diagnostics) io.err(formatDiagnostic(d));
      if (e.total > e.diagnostics.length) io.err(`(${e.total - e.diagnostics.length} more errors not shown)`);
      return ExitStatus.BAD_INPUT;
    }
    return bad(`cannot read ${dir}: ${(e as Error).message}`);
  }
  const cases = selectCases(corpus, o.case ?? [], o['exclude-fitted'] !== true);
  if (cases.length === 0)
    return refuseOption(
      io,
      'validate-model',
      new UsageError(`no case matches ${(o.case ?? []).join(', ')} (known: ${corpus.map((c) => c.id).join(', ')})`),
    );
  const before = loadBeforeValues(dir);
  const t0 = performance.now();
  const results = runCorpus(cases, {
    before,
    onCase: (r, ms) => {
      if (!o.json && !o.markdown)
        io.err(`${r.id}: ${r.status} (${(ms / 1000).toFixed(1)} s wall, ${r.simulatedSeconds.toFixed(0)} s simulated)`);
    },
  });
  if (!o.json && !o.markdown)
    io.err(`${results.length} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s wall`);
  if (o['write-before']) {
    const path = join(dir, BEFORE_FILE);
    const existing = existsSync(path)
      ? (JSON.parse(readFileSync(path, 'utf8')) as { values?: Record<string, Record<string, number | null>> })
      : {};
    const values = { ...(existing.values ?? {}) };
    const now = beforeValuesOf(results);
    let added = 0;
    for (const [id, rows] of Object.entries(now)) {
      const kept = values[id] ?? {};
      for (const [k, v] of Object.entries(rows)) {
        if (!(k in kept)) {
          kept[k] = v;
          added++;
        }
      }
      values[id] = kept;
    }
    const sorted = Object.fromEntries(Object.entries(values).sort(([a], [b]) => (a < b ? -1 : 1)));
    writeFileSync(
      path,
      `${JSON.stringify({ note: 'Model values measured before any model fix (issue #14): the "before" column of docs/VALIDATION.md. Written by vmexit-lab validate-model --write-before, which only adds missing values.', values: sorted }, null, 2)}\n`,
    );
    io.err(`${path}: ${added} before-values added`);
  }
  const text = o.json
    ? `${JSON.stringify(toJson(results), null, 2)}\n`
    : o.markdown
      ? formatMarkdown(cases, results, DOC_COMMANDS)
      : `${formatText(results)}\n`;
  if (outFile === undefined) io.out(text);
  else if (!writeOneOutput('validate-model', io, outFile, text, 'the comparison')) return ExitStatus.INTERNAL;
  return validationExitStatus(results);
}
