import { readInputText } from './readText.js';
import { RESULTS_VERSION, type RunResults } from '../results/types.js';
import { readableAs } from '../import/index.js';
import { jsonErrorAt, lineColumn } from '../input/jsonError.js';

/** Line and column (1-based) of a character offset in a text, as "LINE:COLUMN". */
function lineCol(text: string, offset: number): string {
  const { line, column } = lineColumn(text, offset);
  return `${line}:${column}`;
}

/** A scenario's top-level key at a line's start, after comments and blank lines only (group 1: what precedes it). */
const SCENARIO_KEY = /^((?:[ \t]*(?:#[^\n]*)?\r?\n)*)(?:name|guests|host|hypervisor|duration|matrix)[ \t]*:/;

/**
 * What a text that is not JSON is, when it is another file this tool writes or reads (each one's
 * first line or key), as "this is ..., not results.json: ..."; undefined for anything else. Given
 * to compare or merge they got `not valid JSON: Unexpected token '<'` (or '#', 'A'), which says what
 * the file is not, not what it is.
 */
function otherTextFile(text: string): string | undefined {
  const head = text.replace(/^\uFEFF/, '').trimStart();
  if (/^<\?xml[^>]*>\s*<testsuites?[\s>/]/.test(head) || /^<testsuites?[\s>/]/.test(head))
    return "JUnit XML ('run --junit' writes it), not results.json: give the file 'run --out' wrote";
  if (/^<!doctype html|^<html[\s>]/i.test(head))
    return "an HTML report ('run --html' writes it), not results.json: give the file 'run --out' wrote";
  if (/^# vmexit-lab workload profile\b/.test(head) || /^workloadProfile[ \t]*:/m.test(head))
    return "a workload profile ('vmexit-lab import' writes it), not results.json: run it as a guest of a scenario (guests: [{ workload: FILE }]) with 'vmexit-lab run --out', or compare configurations with 'vmexit-lab what-if'";
  if (/^# (HELP|TYPE) vmexit_lab_/.test(head))
    return "Prometheus exposition ('run --openmetrics' or /metrics), not results.json: give the file 'run --out' wrote";
  const format = readableAs(text)[0];
  if (format !== undefined)
    return `a ${format} report, not results.json: 'vmexit-lab import ${format} FILE --cpu ID' makes it a workload profile, 'vmexit-lab what-if' compares configurations from it`;
  return undefined;
}

/** What a JSON document that is not results.json is, when this tool or its service writes it; undefined otherwise. */
function otherJsonFile(j: Record<string, unknown>): string | undefined {
  // `curl .../api/runs/ID > results.json`: the record's variants are names, its results a route away.
  if (typeof j.id === 'string' && typeof j.state === 'string' && Array.isArray(j.variants))
    return `a service run record (GET /api/runs/ID) of run ${j.id}, not its results.json: GET /api/runs/${j.id}/results${j.hasResults === false ? ' once the run has results' : ''}`;
  if (Array.isArray(j.runs))
    return "the service's list of runs (GET /api/runs), not results.json: GET /api/runs/ID/results of one of them";
  if ('profile' in j && Array.isArray(j.rows))
    return "'vmexit-lab what-if --json' output, not results.json: give the file 'run --out' wrote";
  if ('old' in j && 'new' in j && Array.isArray(j.deltas))
    return "'vmexit-lab compare --json' output, not results.json: give the two files 'run --out' wrote";
  return undefined;
}

/**
 * A results.json file given to compare or merge, or an Error whose message names the file (with
 * line:col for a JSON syntax error) and says what was expected; node's own messages name neither.
 */
export function readResultsFile(file: string): RunResults {
  let text: string;
  try {
    text = readInputText(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? "no such file (expected the results.json 'vmexit-lab run --out FILE SCENARIO' writes)"
        : code === 'EISDIR'
          ? 'is a directory (expected a results.json file)'
          : code === 'EACCES'
            ? 'permission denied'
            : (e as Error).message;
    throw new Error(`${file}: cannot read: ${why}`, { cause: e });
  }
  const expected = "expected the results.json 'vmexit-lab run --out' writes";
  if (text.trim() === '') throw new Error(`${file}: empty file (${expected})`);
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    // A scenario where its results were meant (`compare baseline.yaml results.yaml`): its first key.
    const key = SCENARIO_KEY.exec(text);
    if (key !== null)
      throw new Error(
        `${file}:${lineCol(text, key.index + key[1].length)}: this is a scenario, not results.json: run it with 'vmexit-lab run --out FILE ${file}' and compare the FILEs (${expected})`,
        { cause: e },
      );
    const other = otherTextFile(text);
    if (other !== undefined) throw new Error(`${file}:1:1: this is ${other}`, { cause: e });
    const at = jsonErrorAt(text, (e as Error).message);
    throw new Error(`${file}:${at.line}:${at.column}: not valid JSON: ${at.message} (${expected})`, { cause: e });
  }
  if (Array.isArray(j))
    throw new Error(
      `${file}: holds ${j.length} results (run --out with several scenario files writes an array); give one scenario's results.json`,
    );
  const r = j as Partial<RunResults> | null;
  const other = r !== null && typeof r === 'object' ? otherJsonFile(r) : undefined;
  if (other !== undefined) throw new Error(`${file}:1:1: this is ${other}`);
  if (r === null || typeof r !== 'object' || !Array.isArray(r.variants))
    throw new Error(`${file}: not a vmexit-lab results.json, no "variants" (${expected})`);
  if (r.version === undefined)
    throw new Error(`${file}: no "version" (${expected}, which has "version": ${RESULTS_VERSION})`);
  if (r.version !== RESULTS_VERSION)
    throw new Error(`${file}: results version ${String(r.version)}, this tool reads version ${RESULTS_VERSION}`);
  for (const [i, v] of (r.variants as readonly unknown[]).entries()) {
    const problem = variantProblem(v);
    if (problem !== undefined) {
      const named = (v as { name?: unknown } | null)?.name;
      const name = typeof named === 'string' ? named : `#${i + 1}`;
      throw new Error(`${file}: variant ${name}: ${problem} (${expected}; is the file damaged?)`);
    }
  }
  return r as RunResults;
}

/**
 * What is wrong with a variant's totals as compare and merge read them, or undefined. A damaged file
 * (`"totals": null`) ended compare in a TypeError with a stack trace and exit 3; `"exits": "x"` or a
 * negative count was compared as if it were a result.
 */
function variantProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not an object';
  const { name, totals } = v as { name?: unknown; totals?: unknown };
  if (typeof name !== 'string') return 'no name';
  if (typeof totals !== 'object' || totals === null || Array.isArray(totals)) return 'totals is not an object';
  const t = totals as Record<string, unknown>;
  const amount = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;
  for (const k of ['guestSeconds', 'vcpuSeconds', 'exitsTotal', 'cr8Accesses', 'interruptsDelivered'])
    if (!amount(t[k])) return `totals.${k} is ${JSON.stringify(t[k]) ?? 'missing'} (expected a number >= 0)`;
  for (const k of ['exits', 'hostSecondsInExits', 'phaseSeconds']) {
    const rec = t[k];
    if (typeof rec !== 'object' || rec === null || Array.isArray(rec))
      return `totals.${k} is not an object of numbers by name`;
    for (const [key, x] of Object.entries(rec))
      if (!amount(x)) return `totals.${k}.${key} is ${JSON.stringify(x)} (expected a number >= 0)`;
  }
  const h = t.interruptLatency as Record<string, unknown> | null | undefined;
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return 'totals.interruptLatency is not an object';
  if (!amount(h.count) || !amount(h.sumNs)) return 'totals.interruptLatency has no count and sumNs >= 0';
  const lists: unknown[] = [h.boundsNs, h.counts];
  if (!lists.every((l) => Array.isArray(l) && (l as unknown[]).every(amount)))
    return 'totals.interruptLatency.boundsNs and counts are not lists of numbers >= 0';
  if (!Array.isArray(t.violations)) return 'totals.violations is not a list';
  return undefined;
}
