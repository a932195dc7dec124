/**
 * The bench scripts' command lines: node's parseArgs with `--help` (`-h`), which prints the script's
 * usage - what it does, then each option with its default and what it means, then what the script
 * adds (bench/run.ts its cases) - and exits 0. An unknown option or a missing value prints the error
 * and the usage on stderr and exits 2, the CLI's status for a usage error (src/cli/io.ts
 * commandArgs), instead of parseArgs' stack trace. Each option's meaning is written once, here beside
 * its parseArgs entry, so the usage cannot list an option the script does not take or miss one.
 */
import { parseArgs } from 'node:util';

/** One option: parseArgs' type and default, and what it means (a line of the usage). */
export interface BenchOption {
  type: 'string' | 'boolean';
  default?: string | boolean;
  /** The value's name in the usage, e.g. N (string options). */
  value?: string;
  help: string;
}

type Values<S extends Record<string, BenchOption>> = {
  [K in keyof S]:
    (S[K]['type'] extends 'boolean' ? boolean : string) | (S[K] extends { default: unknown } ? never : undefined);
};

/** Exit status of a usage error (as src/cli/io.ts's ExitStatus.BAD_INPUT). */
export const USAGE_ERROR = 2;

/** The usage text: the synopsis, the options with their defaults, then `more` (cases, examples). */
export function usageText(synopsis: string, spec: Record<string, BenchOption>, more = ''): string {
  const lines = Object.entries(spec).map(([name, o]) => {
    const flag = o.type === 'string' ? `--${name} ${o.value ?? 'VALUE'}` : `--${name}`;
    const dflt = o.type === 'string' && o.default !== undefined ? ` (default ${String(o.default)})` : '';
    return `  ${flag.padEnd(24)} ${o.help}${dflt}`;
  });
  lines.push(`  ${'--help, -h'.padEnd(24)} this text`);
  return `${synopsis}\n\noptions:\n${lines.join('\n')}\n${more === '' ? '' : `\n${more}\n`}`;
}

/**
 * Parse `argv` (the process's arguments) against `spec`. `--help` prints the usage and exits 0; a
 * usage error prints the error and the usage on stderr and exits 2. `more` is added to the usage.
 */
export function benchArgs<const S extends Record<string, BenchOption>>(
  synopsis: string,
  spec: S,
  opts: { more?: string; allowPositionals?: boolean; argv?: readonly string[] } = {},
): { values: Values<S>; positionals: string[] } {
  const options: Record<string, { type: 'string' | 'boolean'; default?: string | boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h', default: false },
  };
  for (const [name, o] of Object.entries(spec))
    options[name] = o.default === undefined ? { type: o.type } : { type: o.type, default: o.default };
  const usage = usageText(synopsis, spec, opts.more);
  let parsed;
  try {
    parsed = parseArgs({
      args: [...(opts.argv ?? process.argv.slice(2))],
      options,
      allowPositionals: opts.allowPositionals ?? false,
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${usage}`);
    process.exit(USAGE_ERROR);
  }
  if (parsed.values.help === true) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return { values: parsed.values as Values<S>, positionals: parsed.positionals };
}

/**
 * The usage's list of the names an option takes (the bench's cases, bench/cases.ts CASES): a
 * `title:` line, then each name with what it is.
 */
export function choicesText(title: string, choices: Readonly<Record<string, string>>): string {
  return `${title}:\n${Object.entries(choices)
    .map(([id, label]) => `  ${id.padEnd(24)} ${label}`)
    .join('\n')}`;
}

/**
 * `--option`'s value, when given, must be one of `choices`' names; any other prints `no option
 * VALUE; title: the names (--help)` on stderr and exits 2, the usage error.
 */
export function checkChoice<K extends string>(
  option: string,
  title: string,
  value: string | undefined,
  choices: Readonly<Record<K, string>>,
): asserts value is K | undefined {
  if (value === undefined || value in choices) return;
  process.stderr.write(`no ${option} ${value}; ${title}: ${Object.keys(choices).join(', ')} (--help)\n`);
  process.exit(USAGE_ERROR);
}
