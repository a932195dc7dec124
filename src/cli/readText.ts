/**
 * The CLI's bounded read of results.json, exit reports and profiles. It lives in src/input so that
 * the lower folders that read such files themselves (src/import's readReport, src/profiles' catalog,
 * a scenario's workload profiles) refuse the same endless inputs with the same words.
 */
export { MAX_INPUT_BYTES, readInputText } from '../input/readBounded.js';

/**
 * A file system error in words, its code after them: node's "EACCES: permission denied, open
 * 'x.yaml'" as "permission denied (EACCES)" (as `cpus import` and `compare` say it); the file is
 * named once, before it, by the line that prints this. Any other message as it is.
 */
export function fsErrorText(message: string): string {
  const m = /^(E[A-Z]+): ([^,]+), \w+ '.*'$/s.exec(message);
  return m === null ? message : `${m[2]} (${m[1]})`;
}
