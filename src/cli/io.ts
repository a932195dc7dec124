import { parseArgs, type ParseArgsConfig } from 'node:util';
import { didYouMean, quoted } from '../input/diagnostics.js';
import { parseDurationNs, parseSecondsNs, parseSizeBytes } from '../input/units.js';

/** What a command may touch of its process: output streams, TTY-ness, environment. Injected for tests. */
export interface CliIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** stderr is an interactive terminal (progress bars) and CI is not set. */
  readonly interactive: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Clock in ms for the progress lines (tests give one that moves as they say); performance.now() when absent. */
  readonly now?: () => number;
}

/** stdout / stderr whose reader went away (EPIPE): later output to them is dropped. */
const gone = new Set<NodeJS.WriteStream>();

/**
 * `vmexit-lab run ... | head -1`: a reader that stops reading ends the output, not the command.
 * It still writes its files (--out, --junit) and exits with its own status, which CI reads
 * through `set -o pipefail`; exiting 0 at the first EPIPE lost both.
 */
function dropOutputOnEpipe(stream: NodeJS.WriteStream): void {
  if (stream.listenerCount('error') > 0) return;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && !gone.has(stream)) throw e;
    gone.add(stream);
  });
}

function writeLine(stream: NodeJS.WriteStream, s: string): void {
  if (!gone.has(stream)) stream.write(s.endsWith('\n') ? s : `${s}\n`);
}

export function processIo(): CliIo {
  dropOutputOnEpipe(process.stdout);
  dropOutputOnEpipe(process.stderr);
  return {
    out: (s) => writeLine(process.stdout, s),
    err: (s) => writeLine(process.stderr, s),
    interactive: process.stderr.isTTY === true && !isCi(process.env),
    env: process.env,
    cwd: process.cwd(),
  };
}

function isCi(env: Readonly<Record<string, string | undefined>>): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/**
 * Exit statuses (docs/CLI.md, README); 130 is 128 + SIGINT, what a shell reports for Ctrl-C, and 143
 * 128 + SIGTERM, for a `run` stopped by SIGTERM (a CI job cancelled or timed out, `timeout`, a pod).
 */
export const ExitStatus = {
  OK: 0,
  THRESHOLD_FAILED: 1,
  BAD_INPUT: 2,
  INTERNAL: 3,
  INTERRUPTED: 130,
  TERMINATED: 143,
} as const;

/** A bad command line: the command prints the message (optionProblem) and exits 2. */
export class UsageError extends Error {}

/**
 * An output file an option names that cannot be written (its directory missing, the file one of
 * the inputs): the message says what to do, so it is printed without the pointer to --help.
 */
export class OutputPathError extends UsageError {}

/**
 * An option's value that the option does not take, in the one wording every option has:
 * `--NAME: expected WHAT, found "TEXT"` (some said `--shard expects ...`, others `--seed: expected ...`).
 */
export function badOptionValue(name: string, expected: string, text: string, hint = ''): UsageError {
  return new UsageError(`${name}: expected ${expected}, found ${quoted(text)}${hint}`);
}

/**
 * A name given on the command line that the tool does not know (a format, policy, CPU profile, OS,
 * kind, variant): `unknown policy "KVM" (did you mean "kvm"?): expected one of bhyve-12.1, ..., kvm`.
 * A UsageError, so that refuseOption ends it where the options are listed, as every other
 * command-line problem ends; `suggestion` when the caller knows better than the spelling (a CPU's
 * aliases), `more` after the list (" or all").
 */
export function unknownName(
  what: string,
  given: string,
  known: readonly string[],
  options: { readonly suggestion?: string; readonly more?: string } = {},
): UsageError {
  const hint =
    options.suggestion !== undefined ? ` (did you mean ${quoted(options.suggestion)}?)` : didYouMean(given, known);
  return new UsageError(
    `unknown ${what} ${quoted(given)}${hint}: expected one of ${known.join(', ')}${options.more ?? ''}`,
  );
}

/** A CPU profile id the catalog does not have (findCpuProfile), in unknownName's words. */
export function unknownCpu(e: {
  readonly query: string;
  readonly knownIds: readonly string[];
  readonly suggestion: string | undefined;
}): UsageError {
  return unknownName(
    'CPU profile',
    e.query,
    e.knownIds,
    e.suggestion === undefined ? {} : { suggestion: e.suggestion },
  );
}

/**
 * The line for what is wrong in a command's options (a value refused, an option that needs
 * another): as usageProblem, so it ends where the options are listed, on every command (`run
 * --workers 0` ended without it, `serve --workers 0` with it); an OutputPathError ends with its own
 * remedy.
 */
export function optionProblem(command: string, e: unknown): string {
  const what = (e as Error).message;
  return e instanceof OutputPathError ? `vmexit-lab ${command}: ${what}` : usageProblem(command, what);
}

/** Print optionProblem's line for `e` and give the exit status of bad input. */
export function refuseOption(io: Pick<CliIo, 'err'>, command: string, e: unknown): number {
  io.err(optionProblem(command, e));
  return ExitStatus.BAD_INPUT;
}

/**
 * The most worker threads `run --workers` and `serve --workers` take. The service starts its
 * workers at once, each about 20 MiB resident (64 workers: 1.35 GB), so an unbounded
 * `serve --workers 1000` held about 20 GB before it printed anything.
 */
export const MAX_WORKERS = 256;

/** Plain decimals, as the service's API takes them (src/service/request.ts): no 0x10, 1e3, 0b11, " 7". */
const DECIMAL_OPTION = /^-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)$/;
const INTEGER_OPTION = /^-?[0-9]+$/;

/**
 * A number option's value written in plain decimal digits, or undefined. Number() alone read
 * `--port 0x50` as 80, `--seed 0b11` as 3, `--workers 1e1` as 10 and `--port 80.0` as 80.
 * Integers must be exact (at most 2^53 - 1).
 */
export function plainDecimal(text: string, integer: boolean): number | undefined {
  if (!(integer ? INTEGER_OPTION : DECIMAL_OPTION).test(text)) return undefined;
  const x = Number(text);
  if (!Number.isFinite(x) || (integer && !Number.isSafeInteger(x))) return undefined;
  return x;
}

/**
 * A numeric option: undefined when absent; a UsageError naming the option and its range when bad.
 * `max` may be Infinity (the range then reads ">= min"). Only plain decimals are numbers here.
 */
export function numberOption(
  text: string | undefined,
  name: string,
  min: number,
  max: number,
  integer = false,
  unit?: OptionUnit,
): number | undefined {
  if (text === undefined) return undefined;
  const x = plainDecimal(text, integer);
  if (x === undefined || x < min || x > max) {
    const range = max === Infinity ? `>= ${min}` : `${min}..${max}`;
    // 0x50, 1e3, 80.0: a number to Number(), but not one written as the range is
    const digits =
      !DECIMAL_OPTION.test(text) && text.trim() !== '' && Number.isFinite(Number(text)) ? ' in decimal digits' : '';
    throw badOptionValue(
      name,
      `${integer ? 'an integer' : 'a number'} ${range}${digits}`,
      text,
      unitHint(text, name, unit),
    );
  }
  return x;
}

/** The unit of an option whose value is a bare number: seconds, days or bytes. */
export type OptionUnit = 'seconds' | 'days' | 'bytes';

/**
 * ` (NAME is in UNIT, without a unit: TEXT is N)` when TEXT is a value with a unit this option would
 * take as N (`--max-duration 1h`, `--body-limit 2MiB`, `replay --at 1s`), else ''. They got
 * `expected an integer >= 1, found "1h"`, which named no unit; a scenario's durations take units.
 */
function unitHint(text: string, name: string, unit: OptionUnit | undefined): string {
  if (unit === undefined || /^\s*[\d.]+\s*$/.test(text)) return '';
  let value: number | undefined;
  if (unit === 'seconds') {
    const d = parseDurationNs(text);
    if (d.ok) value = d.value / 1e9;
  } else if (unit === 'bytes') {
    const b = parseSizeBytes(text);
    if (b.ok) value = b.value;
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(?:d|days?)\s*$/.exec(text);
    if (m !== null) value = Number(m[1]);
  }
  return value === undefined
    ? ''
    : ` (${name} is in ${unit}, without a unit: ${text.trim()} is ${+value.toPrecision(12)})`;
}

/** 2^53 - 1 ns as exact decimal seconds (a division would round its last digit). */
const MAX_SECONDS_TEXT = `${Math.floor(Number.MAX_SAFE_INTEGER / 1e9)}.${String(Number.MAX_SAFE_INTEGER % 1e9).padStart(9, '0')}`;

/** Exact decimal seconds (up to 9 decimals, e.g. the sim_time of an exemplar) as integer ns: undefined when absent. */
export function secondsOption(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ns = parseSecondsNs(text);
  // 999999999 is decimal seconds, but past 2^53 ns: say the bound, not the form it has.
  if (ns === undefined && /^\d+(?:\.\d{1,9})?$/.test(text.trim()))
    throw badOptionValue(name, `decimal seconds, at most ${MAX_SECONDS_TEXT} (2^53 ns)`, text);
  if (ns === undefined)
    throw badOptionValue(name, 'decimal seconds (up to 9 decimals)', text, unitHint(text, name, 'seconds'));
  return ns;
}

/** A positive duration option (30s, 2m, 1500ms ...) in seconds: undefined when absent, UsageError when bad. */
export function durationOption(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const d = parseDurationNs(text);
  // `--duration -1` said "expected a non-negative duration" (parseDurationNs' words for a scenario,
  // where 0 is its own error), and `--duration 0` "a positive duration": -1 invited the 0 refused.
  const negative = !d.ok && /^\s*-/.test(text) && parseDurationNs(text.replace('-', '')).ok;
  if (!d.ok || d.value <= 0) throw badOptionValue(name, d.ok || negative ? 'a positive duration' : d.expected, text);
  return d.value / 1e9;
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/**
 * The options each command declared to parseArgs when it last read its arguments, as --NAME
 * (-h/--help included): what its --help and docs/CLI.md must name, no more and no fewer
 * (test/cli/docs.test.ts).
 */
export const DECLARED_OPTIONS = new Map<string, readonly string[]>();
const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/** The option a parseArgs error message names ('--out', '-x'), from its first quoted token. */
function optionIn(message: string): string | undefined {
  // An option with a short form is named "-o, --out <value>": the long name, as the help lists it.
  return /'(?:-[^-'\s,]+, )?(-{1,2}[^'\s,<]+)/.exec(message)?.[1];
}

/**
 * The guess for an unknown one-letter option: the long options of its letter (`-o` is `--out`
 * where a command has no `-o`). By edit distance every one-letter option is 1 from `-h`, which was
 * all `-o` and `-q` were offered.
 */
function shortGuess(which: string, options: OptionsConfig): string {
  const letter = which.slice(1);
  const long = Object.keys(options)
    .filter((n) => n.startsWith(letter))
    .map((n) => `--${n}`);
  if (long.length === 0) return ` (this command has no ${which}; it has no option starting with "${letter}")`;
  return long.length === 1 ? ` (did you mean ${long[0]}?)` : ` (did you mean one of ${long.join(', ')}?)`;
}

/**
 * A command line parseArgs refused, as one line: what is wrong, a did-you-mean for an unknown
 * option, and where the options are listed (instead of node's message and the whole usage).
 */
export function usageErrorLine(
  command: string,
  error: Error & { code?: string },
  options: OptionsConfig,
  usage = '',
): string {
  const names = Object.entries({ ...options, ...HELP }).flatMap(([name, o]) => [
    `--${name}`,
    ...(o.short !== undefined ? [`-${o.short}`] : []),
  ]);
  const which = optionIn(error.message);
  const spec =
    which === undefined
      ? undefined
      : Object.entries(options).find(([n, o]) => `--${n}` === which || `-${o.short}` === which);
  let what: string;
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      what = `unknown option ${which ?? '?'}${which === undefined ? '' : /^-[^-]$/.test(which) ? shortGuess(which, options) : didYouMean(which, names)}`;
      break;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      what =
        spec?.[1].type === 'boolean'
          ? `${which ?? 'the option'} takes no value`
          : / is ambiguous/.test(error.message)
            ? // `--seed -1`: parseArgs reads a value starting with "-" as the next option.
              `${which ?? 'an option'} needs a value; one starting with "-" reads as an option, write ${which ?? '--option'}=-VALUE`
            : `${which ?? 'an option'} needs a value${which === undefined ? '' : valueHint(usage, which)}`;
      break;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      what = `unexpected argument ${quoted(/'([^']*)'/.exec(error.message)?.[1] ?? '')}`;
      break;
    default:
      what = error.message.split('\n')[0];
  }
  return usageProblem(command, what);
}

/**
 * What value option `name` takes, from the command's usage: `: --duration TIME, how long the report's
 * recording lasted, e.g. 30s` (its line's placeholder and the first clause of its description, which
 * run's long options put on the next line); '' when the usage has no such line. "--at needs a value"
 * alone did not say what to give (the stranger pass of import, what-if, replay and --timeline).
 */
export function valueHint(usage: string, name: string): string {
  const lines = usage.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s+)(?:-[A-Za-z], )?(--[a-z0-9-]+) (\S+)(?:\s{2,}(\S.*))?$/.exec(lines[i]);
    if (m === null || m[2] !== name) continue;
    // Its description: the rest of the line and the lines indented under it.
    const parts = m[4] === undefined ? [] : [m[4]];
    for (let j = i + 1; j < lines.length; j++) {
      const l = /^(\s+)(\S.*)$/.exec(lines[j]);
      if (l === null || l[1].length <= m[1].length || l[2].startsWith('-')) break;
      parts.push(l[2]);
    }
    const what = parts
      .join(' ')
      // `import: physical cores`: the subcommand an option belongs to (cpus import) is a label,
      // not what the value is (`--cores needs a value: --cores N, import`).
      .replace(/^[a-z-]+: (?=\S)/, '')
      .replace(/ \([^()]*\)/g, '')
      .split(/; |: | \(|\. (?=[A-Z])/)[0]
      .replace(/[,.]$/, '');
    return `: ${name} ${m[3]}${what === '' ? '' : `, ${what}`}`;
  }
  return '';
}

/**
 * A command line that parsed but cannot run (no file given, a required option missing, an option's
 * value refused), as one line that says where the usage is. The whole usage after the message hid
 * the message above a screen of options, and only some errors of some commands printed it.
 */
export function usageProblem(command: string, what: string): string {
  return `vmexit-lab ${command}: ${what}; 'vmexit-lab ${command} --help' lists the options`;
}

/** A negative number: what `--seed -1` or `--max-regression -5` gives as the value (no option starts with a digit). */
const NEGATIVE_NUMBER = /^-(?:\d|\.\d)/;

/**
 * `args` with each negative number that follows an option taking a value joined to it (`--workers
 * -1` as `--workers=-1`): parseArgs reads "-1" as an option and refused the line as ambiguous, with
 * a hint to write `--workers=-VALUE`, which the range check then refused too; joined, the option's
 * own check says what it takes ("--workers: expected an integer 1..256, found "-1"").
 */
function negativeValuesJoined(args: readonly string[], options: OptionsConfig): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    const spec = /^--[^=]+$/.test(a)
      ? options[a.slice(2)]
      : /^-[A-Za-z]$/.test(a)
        ? Object.values(options).find((o) => o.short === a.slice(1))
        : undefined;
    if (spec?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(a.startsWith('--') ? `${a}=${next}` : `${a}${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * A command's arguments, read by node's parseArgs with -h/--help added: the values and
 * positionals, or, when there is nothing to run, the exit status after printing the usage
 * (--help: 0) or one line saying what is wrong with the command line (2).
 */
export function commandArgs<const O extends OptionsConfig>(
  io: Pick<CliIo, 'out' | 'err'>,
  command: string,
  usage: string,
  args: readonly string[],
  options: O,
  allowPositionals = true,
):
  | ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: boolean; tokens: true; options: O & typeof HELP }>>
  | number {
  DECLARED_OPTIONS.set(command, ['--help', ...Object.keys(options).map((n) => `--${n}`)]);
  let parsed;
  try {
    parsed = parseArgs<{ args: string[]; allowPositionals: boolean; tokens: true; options: O & typeof HELP }>({
      args: negativeValuesJoined(args, options),
      allowPositionals,
      tokens: true,
      options: { ...options, ...HELP },
    });
  } catch (e) {
    io.err(usageErrorLine(command, e as Error & { code?: string }, options, usage));
    return ExitStatus.BAD_INPUT;
  }
  if ('help' in parsed.values && parsed.values.help === true) {
    io.out(usage);
    return ExitStatus.OK;
  }
  const repeated = repeatedOption(parsed.tokens, options);
  if (repeated !== undefined) {
    io.err(usageProblem(command, repeated));
    return ExitStatus.BAD_INPUT;
  }
  return parsed;
}

/**
 * An option given more than once that its help does not call repeatable (not `multiple`), as what
 * to say: parseArgs keeps the last (`run --seed 2 --seed 3` ran seed 3), where the service refuses a
 * repeated query parameter (src/service/request.ts repeatedKey).
 */
function repeatedOption(
  tokens: readonly { kind: string; name?: string; rawName?: string; value?: string; inlineValue?: boolean }[],
  options: OptionsConfig,
): string | undefined {
  const seen = new Map<string, string[]>();
  for (const t of tokens) {
    if (t.kind !== 'option' || t.name === undefined || options[t.name]?.multiple === true) continue;
    const form = t.value === undefined ? `${t.rawName}` : `${t.rawName}${t.inlineValue === true ? '=' : ' '}${t.value}`;
    seen.set(t.name, [...(seen.get(t.name) ?? []), form]);
  }
  for (const [name, forms] of seen) {
    if (forms.length < 2) continue;
    const times = forms.length === 2 ? 'twice' : `${forms.length} times`;
    return `--${name} given ${times} (${forms[0]}, then ${forms.slice(1).join(', ')}); give it once`;
  }
  return undefined;
}
