/**
 * The Reader: a parsed YAML document's nodes read as typed values (mappings with their known keys,
 * strings, integers, durations, sizes, names from a list) for the scenario, workload-profile and
 * validation-case loaders. Every method reports a problem to the DiagnosticSink (at the offending
 * node, or at its key when the value is empty) and returns undefined, so the loader can go on and
 * collect further problems. The document comes from parseYamlChecked (yaml.ts).
 */
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Alias, LineCounter, Node as YamlNode, Scalar, YAMLMap } from 'yaml';
import { closest, didYouMean, quoted, type DiagnosticSink } from './diagnostics.js';
import { describeValue, nonFiniteProblem, parseDurationNs, parseSizeBytes } from './units.js';
import { positionAt, type Position } from './yaml.js';

/** A value and where to point when it is empty (its key). */
export interface Val {
  readonly node: YamlNode | null;
  readonly key?: YamlNode | null;
}

export interface Field extends Val {
  readonly name: string;
  readonly key: YamlNode;
}

/** The keys of a mapping, in the order written. */
export class Fields {
  constructor(
    readonly map: YAMLMap,
    readonly entries: ReadonlyMap<string, Field>,
    /** Known keys that an unknown key was taken for (did-you-mean): not reported missing again. */
    readonly suggested: ReadonlySet<string> = new Set(),
  ) {}

  /** The key is present, or a misspelling of it was already reported. */
  mentions(name: string): boolean {
    return this.entries.has(name) || this.suggested.has(name);
  }

  get(name: string): Field | undefined {
    return this.entries.get(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  [Symbol.iterator](): IterableIterator<Field> {
    return this.entries.values();
  }
}

/** What a merge key takes when it reaches its own mapping. */
const MERGE_NOT_ITSELF = 'an alias of another mapping (a mapping cannot merge itself, or a mapping that merges it)';

export class Reader {
  constructor(
    readonly sink: DiagnosticSink,
    private readonly lc: LineCounter,
    private readonly aliases: ReadonlyMap<Alias, YamlNode>,
  ) {}

  /** The mappings whose merged keys are being read (fields), outermost first: a merge of one is a cycle. */
  private readonly merging: YAMLMap[] = [];

  /**
   * Where each key of the document's schema belongs (key -> the places that accept it, as a user
   * reads them: "hypervisor", "a guest"), set by a loader that has one: an unknown key that another
   * place accepts as written is told where it goes ("tunables" written at the top level of a
   * scenario goes under hypervisor).
   */
  keyHomes: ReadonlyMap<string, readonly string[]> | undefined = undefined;

  /** The node an alias stands for; other nodes unchanged. */
  resolve(node: YamlNode | null | undefined): YamlNode | null {
    let n: YamlNode | null = node ?? null;
    for (let i = 0; i < 64 && n !== null && isAlias(n); i++) n = this.aliases.get(n) ?? null;
    return n;
  }

  positionOf(node: YamlNode | null | undefined): Position {
    return positionAt(this.lc, node?.range?.[0] ?? 0);
  }

  /** Where a value is, or its key when it is empty. */
  where(v: Val): Position {
    const n =
      v.node && !(isScalar(v.node) && v.node.value === null && v.node.range && v.node.range[0] === v.node.range[1])
        ? v.node
        : (v.key ?? v.node);
    return this.positionOf(n);
  }

  errorAt(pos: Position, message: string, expected?: string, found?: string): undefined {
    this.sink.add(pos.line, pos.column, message, expected, found);
    return undefined;
  }

  error(v: Val | YamlNode | null, message: string, expected?: string, found?: string): undefined {
    const pos = v !== null && 'node' in v && !('range' in v) ? this.where(v) : this.positionOf(v as YamlNode | null);
    return this.errorAt(pos, message, expected, found);
  }

  /** How a node looks in "found ..." text. */
  describe(node: YamlNode | null | undefined): string {
    const n = this.resolve(node);
    if (n === null) return 'nothing';
    if (isMap(n)) return 'a mapping';
    if (isSeq(n)) return 'a list';
    if (isScalar(n)) {
      const v = n.value;
      if (v === null) return 'nothing (null)';
      if (typeof v === 'string') return `string ${describeValue(v)}`;
      if (typeof v === 'number') return n.source !== undefined && n.source !== '' ? n.source : String(v);
      if (typeof v === 'boolean') return String(v);
      // The objects yaml makes of tagged scalars: "found a object value" said neither what nor why.
      // (A date is a timestamp under %YAML 1.1 or !!timestamp; YAML 1.2 reads it as a string.)
      if (v instanceof Date) return `a timestamp (${n.source ?? v.toISOString()})`;
      if (v instanceof Uint8Array) return 'binary data (!!binary)';
      return `a value of type ${typeof v}`;
    }
    return 'an unsupported YAML node';
  }

  /** The plain value of a scalar (null for empty), or undefined for collections. */
  scalar(v: Val): { value: unknown; node: Scalar | null } | undefined {
    const n = this.resolve(v.node);
    if (n === null) return { value: null, node: null };
    if (isScalar(n)) return { value: n.value, node: n };
    return undefined;
  }

  map(v: Val, what: string): YAMLMap | undefined {
    const n = this.resolve(v.node);
    if (isMap(n)) return n;
    return this.error(v, `wrong type for ${what}`, 'a mapping', this.describe(v.node));
  }

  seq(v: Val, what: string, expected = 'a list'): Val[] | undefined {
    const n = this.resolve(v.node);
    if (!isSeq(n)) return this.error(v, `wrong type for ${what}`, expected, this.describe(v.node));
    return n.items.map((item) => ({ node: (item as YamlNode | null) ?? null, key: n as YamlNode }));
  }

  /**
   * The keys of a mapping. Unknown keys (with a did-you-mean suggestion), duplicate keys,
   * non-string keys and missing required keys are reported. `allowed` may be a predicate for
   * open-ended key sets (tunables, thresholds); `known` then lists the names to suggest from, and
   * `knownText` says them in short where they are too many to list (an unknown key without a guess
   * said neither where it was nor what goes there: `unknown key "k0"` in a matrix).
   */
  fields(
    map: YAMLMap,
    what: string,
    allowed: readonly string[] | ((key: string) => boolean),
    required: readonly string[] = [],
    known?: readonly string[],
    knownText?: string,
    /** A key another tool's spelling of a known one (perf's `npf`): the known name, and why. */
    alias?: (key: string) => { readonly name: string; readonly why: string } | undefined,
  ): Fields {
    const entries = new Map<string, Field>();
    const suggested = new Set<string>();
    const accepts = typeof allowed === 'function' ? allowed : (k: string) => allowed.includes(k);
    const names = typeof allowed === 'function' ? (known ?? []) : allowed;
    const merged: { readonly map: YAMLMap; readonly at: YamlNode | null }[] = [];
    for (const pair of map.items) {
      const keyNode = this.resolve(pair.key as YamlNode | null);
      const valueNode = (pair.value as YamlNode | null) ?? null;
      if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
        this.error(keyNode ?? map, `wrong type for a key of ${what}`, 'a plain key name', this.describe(keyNode));
        continue;
      }
      const name = typeof keyNode.value === 'string' ? keyNode.value : JSON.stringify(keyNode.value);
      // A merge key (YAML 1.1's merge type, https://yaml.org/type/merge.html; not in YAML 1.2, which
      // the parser reads, but every YAML tool a user comes from takes it): its mappings' keys are
      // this mapping's too, after the keys written here. Plain only: "<<" quoted is a key like any.
      if (name === '<<' && keyNode.type === 'PLAIN') {
        const sources = this.mergeSources(valueNode, what);
        if (sources === undefined) continue;
        if (merged.length > 0) {
          this.error(keyNode, `duplicate merge key "<<" in ${what} (give one, with a list: <<: [*a, *b])`);
          continue;
        }
        merged.push(...sources);
        continue;
      }
      const first = entries.get(name);
      if (first !== undefined) {
        const p = this.positionOf(first.key);
        this.error(keyNode, `duplicate key ${quoted(name)} in ${what} (first defined at line ${p.line})`);
        continue;
      }
      if (!accepts(name)) {
        // Once the sink is full nothing more is shown: skip the did-you-mean search (an edit
        // distance per known key), which made a body of 100,000 unknown keys cost seconds.
        // No guess for a key without a letter or digit: "<<" was taken for "os".
        // A key that another place accepts as written is sent there: a better answer than the
        // nearest spelling here ("os" at the top level is a guest's or the host's, not "host").
        const homes = this.keyHomes?.get(name);
        const aka = this.sink.full ? undefined : alias?.(name);
        const near = this.sink.full || !/[\p{L}\p{N}]/u.test(name) ? undefined : (aka?.name ?? closest(name, names));
        // With a home elsewhere, a near name here is offered only when it is the key grown by a
        // letter or two ("phase" for a guest's "phases"), not any near spelling ("os" is not "host").
        const guess =
          homes === undefined
            ? near
            : near !== undefined && near.startsWith(name) && near.length - name.length <= 2
              ? near
              : undefined;
        if (guess !== undefined) suggested.add(guess);
        // `{cpu:i7-6700K}`: without the space after the colon YAML reads one key "cpu:i7-6700K".
        const colon = name.indexOf(':');
        const spaced = colon > 0 && names.includes(name.slice(0, colon)) ? name.slice(0, colon) : undefined;
        const hint =
          spaced !== undefined
            ? ` (YAML needs a space after the colon: write ${quoted(`${spaced}: ${name.slice(colon + 1)}`)})`
            : guess === undefined
              ? ''
              : ` (did you mean "${guess}"?${aka?.name === guess ? ` ${aka.why}` : ''})`;
        const home =
          homes === undefined || spaced !== undefined
            ? ''
            : ` in ${what}: ${guess === undefined ? 'it' : `${quoted(name)} itself`} goes under ${homes.join(' or under ')}`;
        const list =
          hint !== '' || home !== ''
            ? ''
            : knownText !== undefined
              ? ` in ${what} (known keys: ${knownText})`
              : names.length > 0 && names.length <= 16
                ? ` in ${what} (known keys: ${names.join(', ')})`
                : ` in ${what}`;
        this.error(keyNode, `unknown key ${quoted(name)}${hint}${home}${list}`);
        continue;
      }
      entries.set(name, { name, key: keyNode, node: valueNode });
    }
    // Merged keys, each where it is written; the first mapping that has a key gives it.
    // A merge of a mapping being read (`&g { <<: *g }`, or a chain back to it) would never end:
    // refused where the alias is written.
    if (merged.length > 0) {
      this.merging.push(map);
      try {
        for (const { map: source, at } of merged) {
          if (this.merging.includes(source)) {
            const name = at !== null && isAlias(at) ? ` (*${at.source})` : '';
            this.error(at, `the merge key "<<" of ${what} merges its own mapping${name}`, MERGE_NOT_ITSELF);
            continue;
          }
          const inner = this.fields(source, what, allowed, [], known, knownText, alias);
          for (const [name, field] of inner.entries) if (!entries.has(name)) entries.set(name, field);
          for (const g of inner.suggested) suggested.add(g);
        }
      } finally {
        this.merging.pop();
      }
    }
    for (const r of required) {
      if (!entries.has(r) && !suggested.has(r)) this.error(map, `missing required key "${r}" in ${what}`);
    }
    return new Fields(map, entries, suggested);
  }

  /**
   * The mappings a merge key's value names: a mapping, an alias of one, or a list of them (in
   * order: the first that has a key gives it). Undefined, with the error, for anything else. Each
   * alias was expanded once already within the document's alias bound (checkAliasBomb), so merges
   * cost no more than that.
   */
  private mergeSources(
    value: YamlNode | null,
    what: string,
  ): { readonly map: YAMLMap; readonly at: YamlNode | null }[] | undefined {
    const one = this.resolve(value);
    const written = isSeq(one) ? (one.items as (YamlNode | null)[]) : [value];
    const list = written.map((at) => ({ map: this.resolve(at), at }));
    if (list.length > 0 && list.every((m) => isMap(m.map))) return list as { map: YAMLMap; at: YamlNode | null }[];
    return this.error(
      value,
      `wrong type for the merge key "<<" of ${what}`,
      'a mapping, an alias of one (*name) or a list of them',
      this.describe(isSeq(one) ? (list.find((m) => !isMap(m.map))?.map ?? null) : value),
    );
  }

  str(v: Val, what: string, pattern?: RegExp, patternText?: string): string | undefined {
    const s = this.scalar(v);
    if (s === undefined || typeof s.value !== 'string') {
      return this.error(v, `wrong type for ${what}`, patternText ?? 'a string', this.describe(v.node));
    }
    if (pattern !== undefined && !pattern.test(s.value)) {
      return this.error(
        v,
        `invalid ${what}`,
        patternText ?? `a string matching ${String(pattern)}`,
        this.describe(v.node),
      );
    }
    return s.value;
  }

  bool(v: Val, what: string): boolean | undefined {
    const s = this.scalar(v);
    if (s === undefined || typeof s.value !== 'boolean')
      return this.error(v, `wrong type for ${what}`, 'true or false', this.describe(v.node));
    return s.value;
  }

  /**
   * True, with the error, when the value is a number YAML reads as NaN or an infinity (`.nan`,
   * `.inf`, `1e400`): said one way in every field that takes a number (units.ts nonFiniteProblem), what
   * the field takes expected and the number as written found.
   */
  refusedNonFinite(v: Val, what: string, expected: string): boolean {
    const s = this.scalar(v);
    if (s === undefined || typeof s.value !== 'number') return false;
    const problem = nonFiniteProblem(what, s.value, s.node?.source, expected);
    if (problem === undefined) return false;
    this.error(v, problem.message, problem.expected, this.describe(v.node));
    return true;
  }

  /** An integer in min..max (YAML hex 0x.. and octal 0o.. included). */
  int(v: Val, what: string, min: number, max: number, expected?: string): number | undefined {
    const exp = expected ?? `an integer ${fmtRange(min, max)}`;
    const s = this.scalar(v);
    if (s === undefined || typeof s.value !== 'number')
      return this.error(v, `wrong type for ${what}`, exp, this.describe(v.node));
    if (this.refusedNonFinite(v, what, exp)) return undefined;
    if (!Number.isInteger(s.value)) return this.error(v, `wrong type for ${what}`, exp, this.describe(v.node));
    if (s.value < min || s.value > max) return this.error(v, `${what} out of range`, exp, this.describe(v.node));
    return s.value;
  }

  /** One of a fixed set of names, with a did-you-mean suggestion. */
  oneOf<T extends string>(v: Val, what: string, options: readonly T[], label = what): T | undefined {
    const s = this.scalar(v);
    if (s === undefined || typeof s.value !== 'string') {
      return this.error(v, `wrong type for ${what}`, `one of ${options.join(', ')}`, this.describe(v.node));
    }
    if (!(options as readonly string[]).includes(s.value)) {
      return this.error(
        v,
        `unknown ${label} ${quoted(s.value)}${didYouMean(s.value, options)}`,
        `one of ${options.join(', ')}`,
      );
    }
    return s.value as T;
  }

  /** A duration in integer nanoseconds within min..max. */
  duration(v: Val, what: string, minNs: number, maxNs: number, maxText: string): number | undefined {
    const s = this.scalar(v);
    const r = parseDurationNs(s === undefined ? {} : s.value);
    if (!r.ok && this.refusedNonFinite(v, what, r.expected)) return undefined;
    if (!r.ok) {
      return this.error(
        v,
        `invalid duration for ${what}`,
        r.expected,
        s === undefined ? this.describe(v.node) : r.found,
      );
    }
    if (r.value < minNs)
      return this.error(v, `${what} must be greater than 0`, 'a positive duration', this.describe(v.node));
    if (r.value > maxNs) return this.error(v, `${what} is too long`, `at most ${maxText}`, this.describe(v.node));
    return r.value;
  }

  /** A size in integer bytes within min..max. */
  size(v: Val, what: string, min: number, max: number, maxText: string): number | undefined {
    const s = this.scalar(v);
    const r = parseSizeBytes(s === undefined ? {} : s.value);
    if (!r.ok && this.refusedNonFinite(v, what, r.expected)) return undefined;
    if (!r.ok)
      return this.error(v, `invalid size for ${what}`, r.expected, s === undefined ? this.describe(v.node) : r.found);
    if (r.value < min) return this.error(v, `${what} must be greater than 0`, 'a positive size', this.describe(v.node));
    if (r.value > max) return this.error(v, `${what} is too large`, `at most ${maxText}`, this.describe(v.node));
    return r.value;
  }
}

function fmtRange(min: number, max: number): string {
  const hex = max >= 0x100 && (max + 1) % 0x100 === 0;
  const f = (n: number): string => (hex && n > 9 ? `0x${n.toString(16).toUpperCase()}` : String(n));
  return `${f(min)}..${f(max)}`;
}

/** Read an optional field with `read`; undefined when absent or invalid. */
export function optional<T>(f: Fields | undefined, key: string, read: (v: Field) => T | undefined): T | undefined {
  const field = f?.get(key);
  return field === undefined ? undefined : read(field);
}
