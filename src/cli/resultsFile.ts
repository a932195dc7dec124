import { readInputText } from './readText.js';
import { RESULTS_VERSION, type RunResults } from '../results/types.js';

/** Node's JSON.parse message without its position or its quoted excerpt (which spans lines). */
function oneLine(message: string): string {
  return message.replace(/ in JSON at position \d+.*$/s, '').replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '');
}

/** Line and column (1-based) of a character offset in a text. */
function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}:${offset - before.lastIndexOf('\n')}`;
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
        ? 'no such file'
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
    const message = (e as Error).message;
    const at = /at position (\d+)/.exec(message);
    throw new Error(
      `${file}${at ? `:${lineCol(text, Number(at[1]))}` : ''}: not valid JSON: ${oneLine(message)} (${expected})`,
      { cause: e },
    );
  }
  if (Array.isArray(j))
    throw new Error(
      `${file}: holds ${j.length} results (run --out with several scenario files writes an array); give one scenario's results.json`,
    );
  const r = j as Partial<RunResults> | null;
  if (r === null || typeof r !== 'object' || !Array.isArray(r.variants))
    throw new Error(`${file}: not a vmexit-lab results.json, no "variants" (${expected})`);
  if (r.version !== RESULTS_VERSION)
    throw new Error(`${file}: results version ${String(r.version)}, this tool reads version ${RESULTS_VERSION}`);
  return r as RunResults;
}
