/**
 * `run --out`: a results.json path, or k6's form TYPE=PATH for any of run's files
 * (`--out json=results.json --out junit=junit.xml --out html=report.html`). The same file kinds
 * have options of their own (--junit, --summary, --html, --openmetrics); a kind given twice, an
 * unknown TYPE or an empty PATH is a usage error, never a file named "json=x".
 */
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { didYouMean } from '../input/diagnostics.js';
import { OutputPathError, UsageError, type CliIo } from './io.js';

/**
 * Why FILE cannot be written, or undefined: its directory is missing, not a directory or not
 * writable, or FILE is a directory. Asked before anything runs, so a long run does not end in
 * "cannot write output" (exit 3) with its results lost; a file that is there is overwritten.
 */
export function unwritable(file: string): string | undefined {
  // As the OS will open it, unresolved: "sub/../r.json" needs sub/, which resolve() would drop.
  const parent = dirname(file);
  const kind = (p: string): 'file' | 'dir' | 'none' => {
    try {
      return statSync(p).isDirectory() ? 'dir' : 'file';
    } catch {
      return 'none';
    }
  };
  if (kind(file) === 'dir')
    return `${file} is a directory (expected a file name, e.g. ${file.replace(/\/?$/, '/')}out)`;
  const p = kind(parent);
  if (p === 'none') return `the directory ${parent} does not exist (create it first)`;
  if (p === 'file') return `${parent} is a file, not a directory`;
  try {
    accessSync(parent, constants.W_OK);
    if (kind(file) === 'file') accessSync(file, constants.W_OK);
  } catch {
    return kind(file) === 'file' ? `${file} is not writable` : `the directory ${parent} is not writable`;
  }
  return undefined;
}

/** A file to write, checked before anything runs: OutputPathError naming the option when it cannot be written. */
export function writableOut(file: string, given: string): string {
  const why = unwritable(file);
  if (why !== undefined) throw new OutputPathError(`${given}: cannot write there: ${why}`);
  return file;
}

/** What makes two names one file: device and inode when it exists (links, "./a" and "a"), else the resolved path. */
function fileIdentity(file: string): string {
  try {
    const st = statSync(file);
    return `inode:${st.dev}:${st.ino}`;
  } catch {
    return `path:${resolve(file)}`;
  }
}

/**
 * Refuse outputs that would overwrite an input of the command or another output: `run --out
 * scenarios/seed/*.yaml` (the file name forgotten, the shell's first match taken as --out) replaced
 * a scenario with results.json, and `--out r.json --junit r.json` kept only the JUnit file.
 * `outputs` are [option as given, file]; `inputs` the files the command reads.
 */
export function distinctFiles(outputs: readonly (readonly [string, string])[], inputs: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const input of inputs) seen.set(fileIdentity(input), `the input ${input}`);
  for (const [given, file] of outputs) {
    const id = fileIdentity(file);
    const before = seen.get(id);
    if (before !== undefined)
      throw new OutputPathError(
        `${given}: that is ${before}; writing there would replace it (give each output a file of its own)`,
      );
    seen.set(id, `where ${given} writes`);
  }
}

/** Output kinds of `run`: TYPE of --out TYPE=PATH, and the option that writes the same file. */
export const OUT_TYPES = {
  json: { option: '--out', what: 'results.json (docs/RESULTS.md)' },
  junit: { option: '--junit', what: 'JUnit XML' },
  summary: { option: '--summary', what: 'a Markdown summary' },
  html: { option: '--html', what: 'the self-contained HTML report' },
  openmetrics: { option: '--openmetrics', what: 'the OpenMetrics history' },
} as const;

export type OutType = keyof typeof OUT_TYPES;

const OUT_EXAMPLE: Record<OutType, string> = {
  json: 'results.json',
  junit: 'junit.xml',
  summary: 'summary.md',
  html: 'report.html',
  openmetrics: 'history.om.txt',
};

/** Where each kind of output goes (absent: not written). */
export type OutTargets = Partial<Record<OutType, string>>;

/** TYPE=PATH: a lower-case word before the first "=" ("./a=b.json" is a path). */
const TYPED = /^([a-z][a-z0-9-]*)=(.*)$/s;

/**
 * The files `run` writes: every --out value (PATH, or TYPE=PATH) together with the kinds' own
 * options. Throws UsageError for an unknown TYPE, an empty PATH, a kind given twice, or two
 * outputs (or an output and an input) that are one file; `extra` are the command's other outputs,
 * [option as given, file] (run --timeline), held to the same check.
 */
export function outTargets(
  outs: readonly string[],
  options: OutTargets,
  allowed: readonly OutType[] = Object.keys(OUT_TYPES) as OutType[],
  inputs: readonly string[] = [],
  extra: readonly (readonly [string, string])[] = [],
): OutTargets {
  const targets: OutTargets = {};
  const written: [string, string][] = [];
  const set = (type: OutType, path: string, given: string): void => {
    if (path === '')
      throw new UsageError(given === '--out ' ? '--out needs a file name' : `${given}: no file name after "${type}="`);
    if (targets[type] !== undefined)
      throw new UsageError(`${given}: ${OUT_TYPES[type].what} already goes to ${targets[type]} (one file per kind)`);
    targets[type] = writableOut(path, given);
    // `run --out scenarios/seed/*.yaml`: the shell gives --out the first scenario, which is no input then.
    if (/\.ya?ml$/i.test(path) && existsSync(path))
      throw new UsageError(
        `${given}: ${path} is a YAML file that is there (a scenario?); ${OUT_TYPES[type].what} would replace it (give the output a name of its own, e.g. ${OUT_EXAMPLE[type]})`,
      );
    written.push([given, path]);
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
  distinctFiles([...written, ...extra], inputs);
  return targets;
}

/**
 * The --out FILE of a command that writes one file (rules, import, what-if, validate-model): the
 * name as given, unless it looks like k6's TYPE=PATH, which this command cannot honour.
 */
export function singleOut(value: string | undefined, inputs: readonly string[] = []): string | undefined {
  if (value === undefined) return undefined;
  const m = TYPED.exec(value);
  if (m !== null)
    throw new UsageError(
      `--out ${value}: this command writes one file and takes no TYPE=; give its name (--out ${m[2] || 'FILE'}), or ./${value} for a file name with "=" in it`,
    );
  if (value === '') throw new UsageError('--out needs a file name');
  const file = writableOut(value, `--out ${value}`);
  distinctFiles([[`--out ${value}`, file]], inputs);
  return file;
}

/** A system error's words, then its code: "no space left on device (ENOSPC)" for Node's "ENOSPC: no space left on device, write". */
function reasonOf(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const m = /^([A-Z][A-Z0-9_]+): (.*?)(?:, \w+(?: '[^']*')*)?$/s.exec(message);
  return m === null ? message : `${m[2]} (${m[1]})`;
}

/**
 * Write each output of `render` to its file in `files`, on its own. One that fails after the run (a
 * full disk, a file system gone read-only, a quota: what unwritable() cannot see before it) is named
 * on stderr with its option, file and reason, and the others are still written: a full disk used
 * to print `cannot write output: ENOSPC: no space left on device, write`, naming no file, and leave
 * the outputs after it unwritten. False when one failed (the command exits 3).
 */
export function writeOutputs(
  command: string,
  io: CliIo,
  files: OutTargets,
  render: Partial<Record<OutType, () => string>>,
): boolean {
  let ok = true;
  for (const type of Object.keys(OUT_TYPES) as OutType[]) {
    const file = files[type];
    const text = render[type];
    if (file === undefined || text === undefined) continue;
    ok = writeOneOutput(command, io, file, text(), OUT_TYPES[type].what, OUT_TYPES[type].option) && ok;
  }
  return ok;
}

/**
 * Write a command's one output file (`-o FILE` of what-if, import, validate-model and rules; run's
 * `--timeline FILE`, `option`), said as
 * writeOutputs says a failure: a full disk gave an internal error with node's stack (what-if, import,
 * validate-model) or node's words naming the file twice (rules). False when it failed (exit 3).
 */
export function writeOneOutput(
  command: string,
  io: CliIo,
  file: string,
  text: string,
  what: string,
  option = '--out',
): boolean {
  try {
    writeFileSync(file, text);
    return true;
  } catch (e) {
    io.err(
      `vmexit-lab ${command}: ${option} ${file}: cannot write ${what} there: ${reasonOf(e)}; the file may be missing or cut short`,
    );
    return false;
  }
}
