/**
 * What import and what-if read from their command lines and files, checked the same way for both:
 * `--tunable NAME=VALUE` flags, and why a report or profile file could not be read.
 */
import { TUNABLES, tunableSpec, type PolicyName, type Tunables } from '../core/hypervisor/policy.js';
import { didYouMean, quoted } from '../input/diagnostics.js';
import { NotUtf8Error } from '../input/utf8.js';
import { fsErrorText } from './readText.js';

/** NAME=VALUE tunable flags checked against the tunables table; an error message on failure. */
export function parseTunableFlags(flags: readonly string[], policy: PolicyName | undefined): Tunables | string {
  const out: Record<string, number> = {};
  for (const f of flags) {
    const m = /^([A-Za-z0-9_.]+)=(-?\d+)$/.exec(f);
    if (m === null) return `--tunable ${quoted(f)}: expected NAME=INTEGER, e.g. hw.vmm.vmx.use_tpr_shadowing=0`;
    const spec = tunableSpec(m[1]);
    if (spec === undefined)
      return `--tunable: unknown tunable "${m[1]}"${didYouMean(
        m[1],
        TUNABLES.map((t) => t.name),
      )} ('vmexit-lab list tunables' lists them)`;
    if (spec.readOnly) return `--tunable: ${spec.name} is read-only`;
    const value = Number(m[2]);
    if (value < spec.min || value > spec.max)
      return `--tunable: ${spec.name} must be ${spec.min}..${spec.max}, found ${value}`;
    if (policy !== undefined && !spec.policies.includes(policy))
      return `--tunable: ${spec.name} is not a tunable of ${policy} (it belongs to ${spec.policies.join(', ')})`;
    out[spec.name] = value;
  }
  return out;
}

/**
 * Why `file` (a report for import, a profile for what-if) could not be read, in words: `-` names a
 * file here, as for run and validate (src/cli/loadOrExplain.ts), so the way to standard input is said;
 * node's "ENOENT: no such file or directory, open '-'" was printed as it came.
 */
export function unreadable(file: string, e: unknown, what: string, expected: string): string {
  // As a report's reader says where it stops: the first byte that is not UTF-8, by line and column.
  if (e instanceof NotUtf8Error) return `${file}:${e.message}`;
  const code = (e as NodeJS.ErrnoException).code;
  if (file === '-' && code === 'ENOENT')
    return `no file named "-" (to read the ${what} from standard input, give /dev/stdin)`;
  // What the file should have been: "no such file" alone left a stranger who pasted README's
  // 'import ... report.txt' without taking the report guessing what to give.
  if (code === 'ENOENT') return `cannot read ${file}: no such file (ENOENT); expected ${expected}`;
  if (code === 'EISDIR') return `cannot read ${file}: a directory (EISDIR); give the ${what} file`;
  return `cannot read ${file}: ${fsErrorText((e as Error).message)}`;
}
