/**
 * Scenario matrices: `matrix:` maps a parameter to a list of values; the scenario runs once per
 * combination (cartesian product, keys in the order written, the last key varying fastest).
 *
 *   matrix:
 *     policy: [bhyve-12.1, bhyve-tpr-v1]        # hypervisor.policy
 *     cpu: [i7-2620M, xeon-e5-2667v4]           # host.cpu
 *     cores: [2, 4]                             # host.cores
 *     x2apic: [false, true]                     # every guest's x2apic
 *     tunables.hw.vmm.vmx.use_tpr_shadowing: [0, 1]
 *     enlightenments: [none, [hv-vpindex, hv-synic, hv-stimer, hv-time]]   # every Windows guest's
 *
 * Variant names are the values' names joined with "/" in key order
 * (`bhyve-12.1/i7-2620M/cores=2/x2apic=false/hw.vmm.vmx.use_tpr_shadowing=0`); without a matrix the
 * only variant is `base`. A value that says what it is names itself: a policy id, a CPU profile id,
 * an enlightenment list (its members joined with "+", or `none`). A bare number or boolean does not
 * ("0", "true" in a Prometheus label, a JUnit case or a compare table say nothing of what they set),
 * so it is named KEY=VALUE: `cores=2`, `x2apic=false`, and a tunable by its full name as written
 * after `tunables.` — `kvm_amd.avic=1`, `kvm.halt_poll_ns=0` — the form the kernel command line
 * (Documentation/admin-guide/kernel-parameters.txt: "module.param=value") and FreeBSD's
 * loader.conf(5) use, so it is unambiguous across modules and can be pasted where it is set.
 * Names before this were the bare values; `legacyVariantName` maps a name back to that form so
 * that a user's old name gets "is now named ..." rather than a silent no-match.
 */
import type { Node as YamlNode } from 'yaml';
import type { CpuProfile } from '../core/cpu/profile.js';
import { POLICY_NAMES, TUNABLES, tunableSpec, type TunableSpec } from '../core/hypervisor/policy.js';
import { findCpuProfile } from '../profiles/catalog.js';
import { didYouMean } from '../input/diagnostics.js';
import { parseDurationNs } from '../input/units.js';
import type { Field, Reader, Val } from '../input/reader.js';
import type { HvEnlightenment } from '../core/hypervisor/hyperv.js';
import { enlightenmentsName, readEnlightenments } from './timekeeping.js';

export const MAX_VARIANTS = 64;
export const MAX_HOST_CORES = 1024;

export const MATRIX_KEYS = ['policy', 'cpu', 'cores', 'x2apic', 'enlightenments'] as const;
export const MATRIX_TUNABLE_PREFIX = 'tunables.';

type MatrixValue = string | number | boolean;

interface MatrixChoice {
  readonly value: MatrixValue;
  readonly node: YamlNode | null;
  /** For `cpu`: the profile the value names. */
  readonly profile?: CpuProfile;
  /** For `enlightenments`: the list the value names. */
  readonly list?: readonly HvEnlightenment[];
}

export interface MatrixAxis {
  readonly key: string;
  readonly keyNode: YamlNode;
  readonly choices: readonly MatrixChoice[];
}

interface MatrixCombination {
  readonly name: string;
  readonly params: Readonly<Record<string, MatrixValue>>;
  readonly picks: ReadonlyMap<string, MatrixChoice>;
}

/** Look a CPU profile up in the catalog; reports the catalog's did-you-mean message at the value. */
/** A value the matrix sets that the scenario also sets outside it: one of them would be ignored. */
export function setTwice(r: Reader, field: Field, here: string, there: string): void {
  r.error(field.key, `${here} is also set by ${there}; remove one of them`);
}

export function lookupCpu(r: Reader, v: Val, what: string, catalog: readonly CpuProfile[]): CpuProfile | undefined {
  const id = r.str(v, what, undefined, 'a CPU profile id such as "i7-2620M"');
  if (id === undefined) return undefined;
  try {
    return findCpuProfile(catalog, id);
  } catch (e) {
    return r.error(v, e instanceof Error ? e.message : String(e));
  }
}

/** A tunable name checked for existence and writability (policy membership is checked per variant). */
export function checkTunableName(r: Reader, keyNode: YamlNode, name: string): TunableSpec | undefined {
  const spec = tunableSpec(name);
  if (spec === undefined) {
    return r.error(
      keyNode,
      `unknown tunable "${name}"${didYouMean(
        name,
        TUNABLES.map((t) => t.name),
      )}`,
      `one of ${TUNABLES.filter((t) => !t.readOnly)
        .map((t) => t.name)
        .join(', ')}`,
    );
  }
  if (spec.readOnly) return r.error(keyNode, `tunable "${name}" is read-only (${spec.description}); it cannot be set`);
  return spec;
}

export function tunableValue(r: Reader, v: Val, what: string, spec: TunableSpec): number | undefined {
  // A tunable in nanoseconds (kvm.halt_poll_ns) is an integer, as the module parameter is; a
  // duration with a unit ("200us") is what a user who knows the scenarios' durations writes, so
  // the message gives the number to write instead.
  const s = spec.name.endsWith('_ns') ? r.scalar(v) : undefined;
  if (s !== undefined && typeof s.value === 'string') {
    const d = parseDurationNs(s.value);
    if (d.ok && Number.isInteger(d.value) && d.value >= spec.min && d.value <= spec.max)
      return r.error(
        v,
        `wrong type for ${what}: ${spec.name} is in nanoseconds, without a unit`,
        `an integer ${spec.min}..${spec.max}: ${d.value} for ${s.value}`,
        r.describe(v.node),
      );
  }
  return r.int(v, what, spec.min, spec.max, `an integer ${spec.min}..${spec.max} for ${spec.name}`);
}

/** Read and check `matrix:`; undefined after reporting a problem. */
export function parseMatrix(r: Reader, v: Val, catalog: readonly CpuProfile[]): MatrixAxis[] | undefined {
  const m = r.map(v, 'matrix');
  if (m === undefined) return undefined;
  const known = [
    ...MATRIX_KEYS,
    ...TUNABLES.filter((t) => !t.readOnly).map((t) => `${MATRIX_TUNABLE_PREFIX}${t.name}`),
  ];
  const f = r.fields(
    m,
    'matrix',
    (k) => (MATRIX_KEYS as readonly string[]).includes(k) || k.startsWith(MATRIX_TUNABLE_PREFIX),
    [],
    known,
    `${MATRIX_KEYS.join(', ')}, ${MATRIX_TUNABLE_PREFIX}NAME (vmexit-lab list tunables)`,
  );
  if (f.entries.size === 0) {
    if (m.items.length === 0)
      r.errorAt(
        r.positionOf(v.key ?? m),
        'matrix is empty',
        `one or more of ${MATRIX_KEYS.join(', ')}, tunables.<name>`,
        'an empty mapping',
      );
    return undefined;
  }
  const axes: MatrixAxis[] = [];
  let ok = true;
  for (const field of f) {
    const what = `matrix.${field.name}`;
    let tunable: TunableSpec | undefined;
    if (field.name.startsWith(MATRIX_TUNABLE_PREFIX)) {
      tunable = checkTunableName(r, field.key, field.name.slice(MATRIX_TUNABLE_PREFIX.length));
      if (tunable === undefined) {
        ok = false;
        continue;
      }
    }
    const items = r.seq(field, what, 'a non-empty list of values');
    if (items === undefined) {
      ok = false;
      continue;
    }
    if (items.length === 0) {
      r.error(field, `${what} is empty`, 'a non-empty list of values', 'an empty list');
      ok = false;
      continue;
    }
    const choices: MatrixChoice[] = [];
    const seen = new Map<string, MatrixValue>();
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const iw = `${what}[${i}]`;
      let choice: MatrixChoice | undefined;
      switch (field.name) {
        case 'policy': {
          const p = r.oneOf(item, iw, POLICY_NAMES, 'policy');
          if (p !== undefined) choice = { value: p, node: item.node };
          break;
        }
        case 'cpu': {
          const profile = lookupCpu(r, item, iw, catalog);
          const s = r.scalar(item);
          // Named by the profile id however it was spelt (ids are looked up without regard to case).
          if (profile !== undefined && s !== undefined) choice = { value: profile.id, node: item.node, profile };
          break;
        }
        case 'cores': {
          const c = r.int(item, iw, 1, MAX_HOST_CORES);
          if (c !== undefined) choice = { value: c, node: item.node };
          break;
        }
        case 'x2apic': {
          const b = r.bool(item, iw);
          if (b !== undefined) choice = { value: b, node: item.node };
          break;
        }
        case 'enlightenments': {
          const list = readEnlightenments(r, item, iw);
          if (list !== undefined) choice = { value: enlightenmentsName(list), node: item.node, list };
          break;
        }
        default: {
          const t = tunableValue(r, item, iw, tunable!);
          if (t !== undefined) choice = { value: t, node: item.node };
        }
      }
      if (choice === undefined) {
        ok = false;
        continue;
      }
      // An enlightenment list is a set: QEMU's flag order changes nothing, so another order is the same value.
      const id =
        field.name === 'cpu'
          ? choice.profile!.id
          : choice.list !== undefined
            ? [...choice.list].sort().join('+')
            : String(choice.value);
      const first = seen.get(id);
      if (first !== undefined) {
        const same =
          first === choice.value ? '' : ` (the same set as ${JSON.stringify(first)}: the order does not matter)`;
        // As written: a cpu's value is its profile id, and "i7-2620m" twice was written so.
        const scalar = field.name === 'cpu' ? r.scalar(item)?.value : undefined;
        const written = typeof scalar === 'string' ? scalar : choice.value;
        r.error(item, `${what} lists ${JSON.stringify(written)} twice${same}`);
        ok = false;
        continue;
      }
      seen.set(id, choice.value);
      choices.push(choice);
    }
    axes.push({ key: field.name, keyNode: field.key, choices });
  }
  if (!ok) return undefined;
  const count = axes.reduce((n, a) => n * a.choices.length, 1);
  if (count > MAX_VARIANTS) {
    r.errorAt(
      r.positionOf(v.key ?? m),
      `matrix expands to ${count} variants; the limit is ${MAX_VARIANTS}`,
      `at most ${MAX_VARIANTS} combinations (${axes.map((a) => `${a.key}: ${a.choices.length}`).join(' x ')})`,
    );
    return undefined;
  }
  return axes;
}

/** Every combination, the first key varying slowest. Without axes: the single variant `base`. */
export function expandMatrix(axes: readonly MatrixAxis[]): MatrixCombination[] {
  if (axes.length === 0) return [{ name: 'base', params: {}, picks: new Map() }];
  let combos: MatrixChoice[][] = [[]];
  for (const axis of axes) {
    const next: MatrixChoice[][] = [];
    for (const prefix of combos) for (const c of axis.choices) next.push([...prefix, c]);
    combos = next;
  }
  return combos.map((picks) => ({
    name: picks.map((c, i) => valueName(axes[i].key, c.value)).join('/'),
    params: Object.fromEntries(axes.map((a, i) => [a.key, picks[i].value])),
    picks: new Map(axes.map((a, i) => [a.key, picks[i]])),
  }));
}

/** Keys whose values say what they are (ids, enlightenment lists): named by the value alone. */
const SELF_NAMED_KEYS: readonly string[] = ['policy', 'cpu', 'enlightenments'];

/** A matrix value's part of a variant name: the value itself, or KEY=VALUE for a bare number or boolean. */
function valueName(key: string, value: MatrixValue): string {
  if (SELF_NAMED_KEYS.includes(key)) return String(value);
  const name = key.startsWith(MATRIX_TUNABLE_PREFIX) ? key.slice(MATRIX_TUNABLE_PREFIX.length) : key;
  return `${name}=${String(value)}`;
}

/** A variant name as it was before values were named KEY=VALUE: `cores=2/kvm_amd.avic=1` -> `2/1`. */
export function legacyVariantName(name: string): string {
  return name
    .split('/')
    .map((part) => part.replace(/^[A-Za-z0-9_.-]+=/, ''))
    .join('/');
}

/**
 * The variant a user meant by an old-style (bare-valued) name, when `written` names no variant but
 * is exactly one variant's legacy name: e.g. "1" for `kvm_amd.avic=1`. Undefined otherwise.
 */
export function renamedVariant(written: string, names: readonly string[]): string | undefined {
  if (names.includes(written)) return undefined;
  const hits = names.filter((n) => n !== legacyVariantName(n) && legacyVariantName(n) === written);
  return hits.length === 1 ? hits[0] : undefined;
}

/** The message for a variant name nobody has: "is now named ..." for an old-style name, else did-you-mean. */
export function unknownVariantMessage(written: string, names: readonly string[], where = ''): string {
  const renamed = renamedVariant(written, names);
  const head = `unknown variant ${JSON.stringify(written)}${where === '' ? '' : ` in ${where}`}`;
  if (renamed !== undefined)
    return `${head}: variant ${JSON.stringify(written)} is now named ${JSON.stringify(renamed)} (a matrix value that is a bare number or boolean is named KEY=VALUE)`;
  return `${head}${didYouMean(written, names)}`;
}
