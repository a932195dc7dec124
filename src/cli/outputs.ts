/**
 * `run --out`: a results.json path, or k6's form TYPE=PATH for any of run's files
 * (`--out json=results.json --out junit=junit.xml --out html=report.html`). The same file kinds
 * have options of their own (--junit, --summary, --html, --openmetrics); a kind given twice, an
 * unknown TYPE or an empty PATH is a usage error, never a file named "json=x".
 */
import { didYouMean } from '../input/diagnostics.js';
import { UsageError } from './io.js';

/** Output kinds of `run`: TYPE of --out TYPE=PATH, and the option that writes the same file. */
export const OUT_TYPES = {
  json: { option: '--out', what: 'results.json (docs/RESULTS.md)' },
  junit: { option: '--junit', what: 'JUnit XML' },
  summary: { option: '--summary', what: 'a Markdown summary' },
  html: { option: '--html', what: 'the self-contained HTML report' },
  openmetrics: { option: '--openmetrics', what: 'the OpenMetrics history' },
} as const;

export type OutType = keyof typeof OUT_TYPES;

/** Where each kind of output goes (absent: not written). */
export type OutTargets = Partial<Record<OutType, string>>;

/** TYPE=PATH: a lower-case word before the first "=" ("./a=b.json" is a path). */
const TYPED = /^([a-z][a-z0-9-]*)=(.*)$/s;

/**
 * The files `run` writes: every --out value (PATH, or TYPE=PATH) together with the kinds' own
 * options. Throws UsageError for an unknown TYPE, an empty PATH, or a kind given twice.
 */
export function outTargets(
  outs: readonly string[],
  options: OutTargets,
  allowed: readonly OutType[] = Object.keys(OUT_TYPES) as OutType[],
): OutTargets {
  const targets: OutTargets = {};
  const set = (type: OutType, path: string, given: string): void => {
    if (path === '') throw new UsageError(`${given}: no file name after "${type}="`);
    if (targets[type] !== undefined)
      throw new UsageError(`${given}: ${OUT_TYPES[type].what} already goes to ${targets[type]} (one file per kind)`);
    targets[type] = path;
  };
  for (const out of outs) {
    const m = TYPED.exec(out);
    if (m === null) {
      set('json', out, `--out ${out}`);
      continue;
    }
    const type = m[1];
    if (!(allowed as readonly string[]).includes(type)) {
      const kinds = allowed;
      throw new UsageError(
        `--out ${out}: unknown output type "${type}"${didYouMean(type, kinds)}; expected ${kinds.map((k) => `${k}=FILE`).join(', ')} or a results.json FILE (a file name with "=" in it: ./${out})`,
      );
    }
    set(type as OutType, m[2], `--out ${out}`);
  }
  for (const [type, path] of Object.entries(options) as [OutType, string | undefined][]) {
    if (path !== undefined) set(type, path, `${OUT_TYPES[type].option} ${path}`);
  }
  return targets;
}

/**
 * The --out FILE of a command that writes one file (rules, import, what-if, validate-model): the
 * name as given, unless it looks like k6's TYPE=PATH, which this command cannot honour.
 */
export function singleOut(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = TYPED.exec(value);
  if (m !== null)
    throw new UsageError(
      `--out ${value}: this command writes one file and takes no TYPE=; give its name (--out ${m[2] || 'FILE'}), or ./${value} for a file name with "=" in it`,
    );
  if (value === '') throw new UsageError('--out needs a file name');
  return value;
}
