/**
 * CPU profiles <-> YAML (data/cpus/*.yaml).
 *
 * Masks are written as hex integers (`allowed1: 0xfff9fffe`), which YAML 1.2's core schema reads
 * back as integers. parseProfileYaml() reads the text with the input files' YAML reader
 * (src/input/yaml.ts), validates every field and rejects unknown keys; it stops at the first
 * problem, naming the file, line and column, the field, and what was expected vs found.
 */
import { Document, isMap, isScalar, isSeq } from 'yaml';
import type { LineCounter, Node as YamlNode, Pair, YAMLMap } from 'yaml';
import { parseYaml, positionAt } from '../input/yaml.js';
import { problemText, quoted } from '../input/diagnostics.js';
import { nonFiniteProblem } from '../input/units.js';
import type { AllowedSettings, CpuProfile, SvmCapabilities, Vendor, VmxCapabilities } from '../core/cpu/profile.js';
import { ProcBased } from '../core/vmx/controls.js';

export class ProfileYamlError extends Error {
  override readonly name = 'ProfileYamlError';
  constructor(
    readonly fileName: string,
    readonly line: number,
    readonly column: number,
    /** Dotted path of the offending field, e.g. `vmx.pinBased.allowed1`. */
    readonly field: string,
    readonly expected: string,
    readonly found: string,
    /** The whole sentence after the position, when `expected ..., found ...` does not say it. */
    problem?: string,
  ) {
    super(
      `${fileName}:${line}:${column}: ${problem ?? `${field === '' ? 'document' : field}: expected ${expected}, found ${found}`}`,
    );
  }
}

const WORDS = ['pinBased', 'procBased', 'procBased2', 'exit'] as const;
const TOP_KEYS = [
  'id',
  'model',
  'vendor',
  'microarchitecture',
  'baseClockMHz',
  'cores',
  'threads',
  'vmx',
  'svm',
  'sources',
  'notes',
] as const;
const REQUIRED_KEYS = TOP_KEYS.filter((k) => k !== 'vmx' && k !== 'svm' && k !== 'notes');
const VMX_KEYS = ['trueControls', ...WORDS] as const;
const SVM_KEYS = [
  'avic',
  'x2avic',
  'nestedPaging',
  'nripSave',
  'decodeAssists',
  'pauseFilter',
  'pauseFilterThreshold',
] as const;

/** Serialize a profile. Field order follows CpuProfile; masks are hex. */
export function profileToYaml(p: CpuProfile): string {
  const plain: Record<string, unknown> = {
    id: p.id,
    model: p.model,
    vendor: p.vendor,
    microarchitecture: p.microarchitecture,
    baseClockMHz: p.baseClockMHz,
    cores: p.cores,
    threads: p.threads,
  };
  if (p.vmx) {
    plain.vmx = {
      trueControls: p.vmx.trueControls,
      ...Object.fromEntries(
        WORDS.map((w) => [w, { allowed0: p.vmx![w].allowed0 >>> 0, allowed1: p.vmx![w].allowed1 >>> 0 }]),
      ),
    };
  }
  if (p.svm) {
    plain.svm = Object.fromEntries(SVM_KEYS.map((k) => [k, p.svm![k]]));
  }
  plain.sources = [...p.sources];
  if (p.notes !== undefined) plain.notes = p.notes;

  const doc = new Document(plain);
  if (p.vmx) {
    for (const w of WORDS) {
      for (const half of ['allowed0', 'allowed1'] as const) {
        const node = doc.getIn(['vmx', w, half], true);
        if (isScalar(node)) node.format = 'HEX';
      }
    }
  }
  return doc.toString({ lineWidth: 0 });
}

interface Ctx {
  readonly fileName: string;
  readonly lc: LineCounter;
}

/** A mapping value plus where to point at when it is wrong (the value, or its key when the value is empty). */
interface Entry {
  readonly node: YamlNode | null;
  readonly at: number;
}

function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a sequence';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return `string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v)}`;
    if (typeof v === 'number') return `${Number.isInteger(v) ? 'integer' : 'number'} ${node.source ?? String(v)}`;
    return `${typeof v} ${JSON.stringify(v)}`;
  }
  return 'an unsupported YAML node';
}

function err(
  ctx: Ctx,
  node: YamlNode | Pair | null | undefined,
  fallbackOffset: number,
  field: string,
  expected: string,
  found: string,
): never {
  const range = node && 'range' in node && node.range ? node.range : undefined;
  const keyRange =
    node && 'key' in node && node.key && typeof node.key === 'object' && 'range' in node.key
      ? (node.key as YamlNode).range
      : undefined;
  const pos = positionAt(ctx.lc, range?.[0] ?? keyRange?.[0] ?? fallbackOffset);
  throw new ProfileYamlError(ctx.fileName, pos.line, pos.column, field, expected, found);
}

/** Check the keys of a mapping: unknown keys and duplicates are errors; returns key -> value node. */
function mapFields(
  ctx: Ctx,
  node: YAMLMap,
  path: string,
  allowed: readonly string[],
  required: readonly string[],
): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const pair of node.items) {
    const key = pair.key;
    const keyName = isScalar(key) && typeof key.value === 'string' ? key.value : undefined;
    const field = path === '' ? String(keyName ?? '?') : `${path}.${String(keyName ?? '?')}`;
    if (keyName === undefined) err(ctx, key as YamlNode, node.range?.[0] ?? 0, path, 'a string key', describe(key));
    if (!allowed.includes(keyName)) {
      err(
        ctx,
        key as YamlNode,
        node.range?.[0] ?? 0,
        field,
        `one of the keys ${allowed.join(', ')}`,
        `unknown key ${quoted(keyName)}`,
      );
    }
    if (out.has(keyName)) err(ctx, key as YamlNode, node.range?.[0] ?? 0, field, 'each key once', 'a duplicate key');
    const value = (pair.value as YamlNode | null) ?? null;
    // Point at a scalar value itself; at the key for empty values and for mappings/sequences.
    const keyAt = (key as YamlNode).range?.[0] ?? 0;
    out.set(keyName, { node: value, at: isScalar(value) ? (value.range?.[0] ?? keyAt) : keyAt });
  }
  for (const r of required) {
    if (!out.has(r)) {
      err(
        ctx,
        null,
        node.range?.[0] ?? 0,
        path === '' ? r : `${path}.${r}`,
        `a "${r}" key in ${path === '' ? 'the profile' : path}`,
        'none',
      );
    }
  }
  return out;
}

const NONE: Entry = { node: null, at: 0 };

function scalarOf(ctx: Ctx, e: Entry, field: string, expected: string): unknown {
  if (!isScalar(e.node)) err(ctx, e.node, e.at, field, expected, describe(e.node));
  return (e.node as { value: unknown }).value;
}

/**
 * A number YAML reads as NaN or an infinity (`.nan`, `.inf`, `1e400`) refused as a scenario's
 * numbers are (src/input/units.ts nonFiniteProblem): `cores is not a number (expected ..., found .nan)`.
 */
function finite(ctx: Ctx, e: Entry, field: string, expected: string): void {
  const node = e.node;
  if (!isScalar(node) || typeof node.value !== 'number') return;
  const p = nonFiniteProblem(field, node.value, node.source, expected);
  if (p === undefined) return;
  const pos = positionAt(ctx.lc, node.range?.[0] ?? e.at);
  throw new ProfileYamlError(
    ctx.fileName,
    pos.line,
    pos.column,
    field,
    p.expected,
    p.found,
    problemText(p.message, p.expected, p.found),
  );
}

function str(ctx: Ctx, e: Entry = NONE, field: string, pattern?: RegExp, patternText?: string): string {
  const v = scalarOf(ctx, e, field, 'a non-empty string');
  if (typeof v !== 'string' || v.trim() === '') err(ctx, e.node, e.at, field, 'a non-empty string', describe(e.node));
  if (pattern && !pattern.test(v))
    err(ctx, e.node, e.at, field, patternText ?? `a string matching ${pattern}`, describe(e.node));
  return v;
}

function bool(ctx: Ctx, e: Entry = NONE, field: string): boolean {
  const v = scalarOf(ctx, e, field, 'true or false');
  if (typeof v !== 'boolean') err(ctx, e.node, e.at, field, 'true or false', describe(e.node));
  return v;
}

function posInt(ctx: Ctx, e: Entry = NONE, field: string): number {
  const v = scalarOf(ctx, e, field, 'a positive integer');
  finite(ctx, e, field, 'a positive integer');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    err(ctx, e.node, e.at, field, 'a positive integer', describe(e.node));
  return v;
}

function mask(ctx: Ctx, e: Entry = NONE, field: string): number {
  const v = scalarOf(ctx, e, field, 'a 32-bit mask (integer, e.g. 0x16)');
  finite(ctx, e, field, 'a 32-bit mask (integer 0..0xffffffff, e.g. 0x16)');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    err(ctx, e.node, e.at, field, 'a 32-bit mask (integer 0..0xffffffff, e.g. 0x16)', describe(e.node));
  }
  return v >>> 0;
}

function asMap(ctx: Ctx, e: Entry = NONE, field: string): YAMLMap {
  if (!isMap(e.node)) err(ctx, e.node, e.at, field, 'a mapping', describe(e.node));
  return e.node;
}

/** Parse and validate one profile YAML document. Throws ProfileYamlError with file:line:col. */
export function parseProfileYaml(text: string, fileName: string): CpuProfile {
  const { doc, lc, problems } = parseYaml(text, { uniqueKeys: true });
  const ctx: Ctx = { fileName, lc };
  const syntax = problems.find((p) => !p.warning);
  // Nested too deeply to parse (src/input/depth.ts), a tag not read: what is wrong, the bound and
  // what to do, as the CLI's loaders say it; "expected valid YAML" said none of it.
  if (syntax && !syntax.syntax) {
    const detail =
      syntax.expected !== undefined && syntax.found !== undefined
        ? ` (expected ${syntax.expected}, found ${syntax.found})`
        : syntax.expected !== undefined
          ? ` (expected ${syntax.expected})`
          : '';
    throw new ProfileYamlError(
      fileName,
      syntax.line,
      syntax.column,
      '',
      syntax.expected ?? 'valid YAML',
      syntax.found ?? syntax.message,
      `${syntax.message}${detail}`,
    );
  }
  if (syntax) throw new ProfileYamlError(fileName, syntax.line, syntax.column, '', 'valid YAML', syntax.message);
  const root = doc.contents;
  if (!isMap(root)) err(ctx, root, 0, '', 'a mapping with the profile fields', describe(root));
  const f = mapFields(ctx, root, '', TOP_KEYS, REQUIRED_KEYS);

  const id = str(ctx, f.get('id'), 'id', /^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'an id of letters, digits, ".", "_" or "-"');
  const model = str(ctx, f.get('model'), 'model');
  const vendor = str(ctx, f.get('vendor'), 'vendor', /^(intel|amd)$/, '"intel" or "amd"') as Vendor;
  const microarchitecture = str(
    ctx,
    f.get('microarchitecture'),
    'microarchitecture',
    /^[a-z0-9][a-z0-9-]*$/,
    'a lower-case key such as "sandy-bridge" or "zen2"',
  );
  const clockEntry = f.get('baseClockMHz') ?? NONE;
  const clock = scalarOf(ctx, clockEntry, 'baseClockMHz', 'a positive number of MHz');
  finite(ctx, clockEntry, 'baseClockMHz', 'a positive number of MHz');
  if (typeof clock !== 'number' || !(clock > 0) || !Number.isFinite(clock)) {
    err(ctx, clockEntry.node, clockEntry.at, 'baseClockMHz', 'a positive number of MHz', describe(clockEntry.node));
  }
  const cores = posInt(ctx, f.get('cores'), 'cores');
  const threadsEntry = f.get('threads') ?? NONE;
  const threads = posInt(ctx, threadsEntry, 'threads');
  if (threads < cores)
    err(ctx, threadsEntry.node, threadsEntry.at, 'threads', `at least cores (${cores})`, `integer ${threads}`);

  let vmx: VmxCapabilities | undefined;
  let svm: SvmCapabilities | undefined;
  const vmxEntry = f.get('vmx');
  const svmEntry = f.get('svm');
  const vendorAt = f.get('vendor')!.at;
  if (vendor === 'intel') {
    if (svmEntry !== undefined)
      err(ctx, null, svmEntry.at, 'svm', 'no "svm" block for an Intel profile', describe(svmEntry.node));
    if (vmxEntry === undefined) err(ctx, null, vendorAt, 'vmx', 'a "vmx" block for an Intel profile', 'none');
    vmx = parseVmx(ctx, vmxEntry);
  } else {
    if (vmxEntry !== undefined)
      err(ctx, null, vmxEntry.at, 'vmx', 'no "vmx" block for an AMD profile', describe(vmxEntry.node));
    if (svmEntry === undefined) err(ctx, null, vendorAt, 'svm', 'an "svm" block for an AMD profile', 'none');
    svm = parseSvm(ctx, svmEntry);
  }

  const sourcesEntry = f.get('sources') ?? NONE;
  const seq = sourcesEntry.node;
  if (!isSeq(seq) || seq.items.length === 0)
    err(ctx, seq, sourcesEntry.at, 'sources', 'a non-empty list of strings', describe(seq));
  const sources = (seq as unknown as { items: unknown[] }).items.map((item, i) => {
    const node = item as YamlNode | null;
    return str(ctx, { node, at: node?.range?.[0] ?? sourcesEntry.at }, `sources[${i}]`);
  });
  const notesEntry = f.get('notes');
  const notes = notesEntry === undefined ? undefined : str(ctx, notesEntry, 'notes');

  const profile: CpuProfile = {
    id,
    model,
    vendor,
    microarchitecture,
    baseClockMHz: clock,
    cores,
    threads,
    ...(vmx ? { vmx } : {}),
    ...(svm ? { svm } : {}),
    sources,
    ...(notes !== undefined ? { notes } : {}),
  };
  return profile;
}

function parseVmx(ctx: Ctx, entry: Entry): VmxCapabilities {
  const m = asMap(ctx, entry, 'vmx');
  const f = mapFields(ctx, m, 'vmx', VMX_KEYS, VMX_KEYS);
  const words = {} as Record<(typeof WORDS)[number], AllowedSettings>;
  for (const w of WORDS) {
    const wm = asMap(ctx, f.get(w), `vmx.${w}`);
    const wf = mapFields(ctx, wm, `vmx.${w}`, ['allowed0', 'allowed1'], ['allowed0', 'allowed1']);
    const allowed0 = mask(ctx, wf.get('allowed0'), `vmx.${w}.allowed0`);
    const allowed1 = mask(ctx, wf.get('allowed1'), `vmx.${w}.allowed1`);
    if ((allowed0 & ~allowed1) >>> 0 !== 0) {
      err(
        ctx,
        null,
        wf.get('allowed0')!.at,
        `vmx.${w}.allowed0`,
        `a subset of allowed1 (0x${allowed1.toString(16)}): a must-be-1 bit has to be allowed-1`,
        `extra bits 0x${((allowed0 & ~allowed1) >>> 0).toString(16)}`,
      );
    }
    words[w] = { allowed0, allowed1 };
  }
  if (words.procBased2.allowed1 !== 0 && (words.procBased.allowed1 & ProcBased.ActivateSecondaryControls) === 0) {
    err(
      ctx,
      null,
      f.get('procBased2')!.at,
      'vmx.procBased2.allowed1',
      '0 because procBased bit 31 (activate secondary controls) is not allowed-1',
      `0x${words.procBased2.allowed1.toString(16)}`,
    );
  }
  return { trueControls: bool(ctx, f.get('trueControls'), 'vmx.trueControls'), ...words };
}

function parseSvm(ctx: Ctx, entry: Entry): SvmCapabilities {
  const m = asMap(ctx, entry, 'svm');
  const f = mapFields(ctx, m, 'svm', SVM_KEYS, SVM_KEYS);
  const svm: SvmCapabilities = {
    avic: bool(ctx, f.get('avic'), 'svm.avic'),
    x2avic: bool(ctx, f.get('x2avic'), 'svm.x2avic'),
    nestedPaging: bool(ctx, f.get('nestedPaging'), 'svm.nestedPaging'),
    nripSave: bool(ctx, f.get('nripSave'), 'svm.nripSave'),
    decodeAssists: bool(ctx, f.get('decodeAssists'), 'svm.decodeAssists'),
    pauseFilter: bool(ctx, f.get('pauseFilter'), 'svm.pauseFilter'),
    pauseFilterThreshold: bool(ctx, f.get('pauseFilterThreshold'), 'svm.pauseFilterThreshold'),
  };
  if (svm.x2avic && !svm.avic)
    err(ctx, null, f.get('x2avic')!.at, 'svm.x2avic', 'false when avic is false (x2AVIC extends AVIC)', 'true');
  return svm;
}
