/**
 * Scripts of `os: scripted` guests: a YAML list of operations, each either a bare op name (for
 * operations without arguments) or a one-op mapping with an optional sibling `cpu` key:
 *
 *   - read_cr8                          # bare: read_cr8, eoi, iret, sti, cli, hlt, cpuid
 *   - write_cr8: 2                      # 0..15
 *   - interrupt: 0x51                   # vector 16..255, or { vector: 0x51, level: true }
 *   - write_apic: { reg: tpr, value: 0x30 }   # reg: a name of APIC_REGISTER_BY_NAME or an offset 0..0x3F0, multiple of 0x10
 *   - read_apic: ppr                    # or { reg: ppr }
 *   - wrmsr: { msr: 0x808, value: 0x20 }      # value up to 64 bits, split into low/high halves
 *   - rdmsr: 0x80a                      # or { msr: 0x80a }
 *   - ipi: { to: 1, vector: 0xf0 }      # to: a vCPU index of this guest; vector 0..255
 *   - io: 0x70                          # or { port: 0x70 }
 *   - { eoi: null, cpu: 1 }             # cpu: vCPU index (default 0), allowed on every op
 */
import { isMap, isScalar } from 'yaml';
import { APIC_REGISTER_BY_NAME } from '../core/apic/registers.js';
import { SCRIPT_OP_NAMES, type ScriptOp, type ScriptOpName } from '../core/script/ops.js';
import { didYouMean } from '../input/diagnostics.js';
import type { Reader, Val } from '../input/reader.js';

export const MAX_SCRIPT_OPS = 100_000;

/** Operations that take no argument (may be written as a bare string). */
export const SCRIPT_OPS_WITHOUT_ARGS: readonly ScriptOpName[] = [
  'read_cr8',
  'eoi',
  'iret',
  'sti',
  'cli',
  'hlt',
  'cpuid',
];

const APIC_REG_NAMES = Object.keys(APIC_REGISTER_BY_NAME);
const MAX_APIC_OFFSET = 0x3f0;

/** How each op is written, for messages. */
const OP_SYNTAX: Readonly<Record<ScriptOpName, string>> = {
  write_cr8: 'write_cr8: <0..15>',
  read_cr8: 'read_cr8',
  interrupt: 'interrupt: <vector 16..255> or interrupt: { vector, level }',
  eoi: 'eoi',
  iret: 'iret',
  write_apic: 'write_apic: { reg, value }',
  read_apic: 'read_apic: <reg> or read_apic: { reg }',
  wrmsr: 'wrmsr: { msr, value }',
  rdmsr: 'rdmsr: <msr> or rdmsr: { msr }',
  sti: 'sti',
  cli: 'cli',
  hlt: 'hlt',
  ipi: 'ipi: { to, vector }',
  io: 'io: <port> or io: { port }',
  cpuid: 'cpuid',
};

/**
 * Parse a script. `vcpus` is the guest's vCPU count (undefined when it was itself invalid: the
 * vCPU-index checks then use the largest allowed guest). Returns undefined after reporting.
 */
export function parseScript(
  r: Reader,
  v: Val,
  what: string,
  vcpus: number | undefined,
  maxVcpus: number,
): ScriptOp[] | undefined {
  const items = r.seq(v, what, 'a list of script operations');
  if (items === undefined) return undefined;
  if (items.length === 0) return r.error(v, `${what} is empty`, 'at least one operation', 'an empty list');
  if (items.length > MAX_SCRIPT_OPS) {
    return r.error(v, `${what} has ${items.length} operations; the limit is ${MAX_SCRIPT_OPS}`);
  }
  const ops: ScriptOp[] = [];
  let ok = true;
  for (let i = 0; i < items.length; i++) {
    const op = parseOp(r, items[i], `${what}[${i}]`, vcpus, maxVcpus);
    if (op === undefined) ok = false;
    else ops.push(op);
  }
  return ok ? ops : undefined;
}

function cpuIndex(r: Reader, v: Val, what: string, vcpus: number | undefined, maxVcpus: number): number | undefined {
  const n = vcpus ?? maxVcpus;
  const expected =
    vcpus === undefined
      ? `a vCPU index 0..${n - 1}`
      : `a vCPU index 0..${n - 1} (the guest has ${n} vCPU${n === 1 ? '' : 's'})`;
  return r.int(v, what, 0, n - 1, expected);
}

function parseOp(
  r: Reader,
  item: Val,
  what: string,
  vcpus: number | undefined,
  maxVcpus: number,
): ScriptOp | undefined {
  const node = r.resolve(item.node);
  if (isScalar(node) && typeof node.value === 'string') {
    const name = node.value;
    if (!(SCRIPT_OP_NAMES as readonly string[]).includes(name)) {
      return r.error(
        item,
        `unknown script op "${name}"${didYouMean(name, SCRIPT_OP_NAMES)}`,
        `one of ${SCRIPT_OP_NAMES.join(', ')}`,
      );
    }
    if (!SCRIPT_OPS_WITHOUT_ARGS.includes(name as ScriptOpName)) {
      return r.error(item, `script op "${name}" needs an argument`, OP_SYNTAX[name as ScriptOpName], `bare "${name}"`);
    }
    return { op: name as 'read_cr8', cpu: 0 };
  }
  if (!isMap(node)) {
    return r.error(
      item,
      `wrong type for ${what}`,
      'an op name such as "eoi" or a mapping such as { write_cr8: 2 }',
      r.describe(item.node),
    );
  }
  const f = r.fields(node, what, [...SCRIPT_OP_NAMES, 'cpu']);
  const opFields = [...f].filter((x) => x.name !== 'cpu');
  if (opFields.length === 0) {
    if (f.entries.size === node.items.length)
      return r.error(node, `${what} has no operation`, `one of ${SCRIPT_OP_NAMES.join(', ')}`);
    return undefined;
  }
  if (opFields.length > 1) {
    return r.error(
      opFields[1].key,
      `${what} has more than one operation (${opFields.map((x) => x.name).join(', ')}); write one operation per list item`,
    );
  }
  const cpuField = f.get('cpu');
  const cpu = cpuField === undefined ? 0 : cpuIndex(r, cpuField, `${what}.cpu`, vcpus, maxVcpus);
  const opField = opFields[0];
  const name = opField.name as ScriptOpName;
  const args = parseArgs(r, name, opField, `${what}.${name}`, vcpus, maxVcpus);
  if (cpu === undefined || args === undefined) return undefined;
  return { op: name, cpu, ...args } as ScriptOp;
}

/** Either a bare value or a mapping holding `key`. */
function shorthand(r: Reader, v: Val, what: string, key: string): Val | undefined {
  const n = r.resolve(v.node);
  if (!isMap(n)) return v;
  const f = r.fields(n, what, [key], [key]);
  return f.get(key);
}

function parseArgs(
  r: Reader,
  name: ScriptOpName,
  v: Val,
  what: string,
  vcpus: number | undefined,
  maxVcpus: number,
): Record<string, unknown> | undefined {
  switch (name) {
    case 'read_cr8':
    case 'eoi':
    case 'iret':
    case 'sti':
    case 'cli':
    case 'hlt':
    case 'cpuid': {
      const s = r.scalar(v);
      if (s === undefined || s.value !== null)
        return r.error(
          v,
          `script op "${name}" takes no argument`,
          `"${name}" or { ${name}: null }`,
          r.describe(v.node),
        );
      return {};
    }
    case 'write_cr8': {
      const value = r.int(v, `${what} value`, 0, 15, 'a CR8 value 0..15');
      return value === undefined ? undefined : { value };
    }
    case 'interrupt': {
      const n = r.resolve(v.node);
      if (isMap(n)) {
        const f = r.fields(n, what, ['vector', 'level'], ['vector']);
        const vf = f.get('vector');
        const vector =
          vf === undefined
            ? undefined
            : r.int(vf, `${what}.vector`, 16, 255, 'an interrupt vector 16..255 (0x10..0xFF)');
        const lf = f.get('level');
        const level = lf === undefined ? false : r.bool(lf, `${what}.level`);
        return vector === undefined || level === undefined ? undefined : { vector, level };
      }
      const vector = r.int(v, `${what} vector`, 16, 255, 'an interrupt vector 16..255 (0x10..0xFF)');
      return vector === undefined ? undefined : { vector, level: false };
    }
    case 'write_apic': {
      const m = r.map(v, what);
      if (m === undefined) return undefined;
      const f = r.fields(m, what, ['reg', 'value'], ['reg', 'value']);
      const rf = f.get('reg');
      const offset = rf === undefined ? undefined : apicReg(r, rf, `${what}.reg`);
      const vf = f.get('value');
      const value =
        vf === undefined ? undefined : r.int(vf, `${what}.value`, 0, 0xffffffff, 'a 32-bit value 0..0xFFFFFFFF');
      return offset === undefined || value === undefined ? undefined : { offset, value };
    }
    case 'read_apic': {
      const rv = shorthand(r, v, what, 'reg');
      const offset = rv === undefined ? undefined : apicReg(r, rv, `${what}.reg`);
      return offset === undefined ? undefined : { offset };
    }
    case 'wrmsr': {
      const m = r.map(v, what);
      if (m === undefined) return undefined;
      const f = r.fields(m, what, ['msr', 'value'], ['msr', 'value']);
      const mf = f.get('msr');
      const msr = mf === undefined ? undefined : msrIndex(r, mf, `${what}.msr`);
      const vf = f.get('value');
      const value = vf === undefined ? undefined : u64(r, vf, `${what}.value`);
      if (msr === undefined || value === undefined) return undefined;
      return { msr, low: Number(value & 0xffffffffn), high: Number(value >> 32n) };
    }
    case 'rdmsr': {
      const mv = shorthand(r, v, what, 'msr');
      const msr = mv === undefined ? undefined : msrIndex(r, mv, `${what}.msr`);
      return msr === undefined ? undefined : { msr };
    }
    case 'ipi': {
      const m = r.map(v, what);
      if (m === undefined) return undefined;
      const f = r.fields(m, what, ['to', 'vector'], ['to', 'vector']);
      const tf = f.get('to');
      const to = tf === undefined ? undefined : cpuIndex(r, tf, `${what}.to`, vcpus, maxVcpus);
      const vf = f.get('vector');
      const vector = vf === undefined ? undefined : r.int(vf, `${what}.vector`, 0, 255, 'a vector 0..255 (0x00..0xFF)');
      return to === undefined || vector === undefined ? undefined : { to, vector };
    }
    case 'io': {
      const pv = shorthand(r, v, what, 'port');
      const port = pv === undefined ? undefined : r.int(pv, `${what}.port`, 0, 0xffff, 'an I/O port 0..0xFFFF');
      return port === undefined ? undefined : { port };
    }
  }
}

function apicReg(r: Reader, v: Val, what: string): number | undefined {
  const s = r.scalar(v);
  const expected = `an APIC register name (${APIC_REG_NAMES.join(', ')}) or an offset 0..0x3F0, multiple of 0x10`;
  if (s !== undefined && typeof s.value === 'string') {
    const offset = APIC_REGISTER_BY_NAME[s.value.toLowerCase()];
    if (offset === undefined) {
      return r.error(v, `unknown APIC register "${s.value}"${didYouMean(s.value, APIC_REG_NAMES)}`, expected);
    }
    return offset;
  }
  if (s !== undefined && typeof s.value === 'number') {
    if (!Number.isInteger(s.value) || s.value < 0 || s.value > MAX_APIC_OFFSET || s.value % 0x10 !== 0) {
      return r.error(v, `invalid APIC register offset for ${what}`, expected, r.describe(v.node));
    }
    return s.value;
  }
  return r.error(v, `wrong type for ${what}`, expected, r.describe(v.node));
}

/** An MSR index (RDMSR and WRMSR take ECX, a 32-bit value: SDM Vol. 2B "RDMSR", "WRMSR"). */
function msrIndex(r: Reader, v: Val, what: string): number | undefined {
  return r.int(v, what, 0, 0xffffffff, 'an MSR index 0..0xFFFFFFFF');
}

/** A 64-bit unsigned integer, exact even beyond 2^53 (read from the YAML source text). */
function u64(r: Reader, v: Val, what: string): bigint | undefined {
  const expected = 'a 64-bit value 0..0xFFFFFFFFFFFFFFFF';
  const s = r.scalar(v);
  if (s === undefined || typeof s.value !== 'number' || !Number.isInteger(s.value)) {
    return r.error(v, `wrong type for ${what}`, expected, r.describe(v.node));
  }
  const src = (s.node as { source?: string } | null)?.source?.replace(/^\+/, '');
  const exact = src !== undefined && /^(?:0x[0-9a-fA-F]+|0o[0-7]+|\d+)$/.test(src);
  if (!exact && !Number.isSafeInteger(s.value)) {
    return r.error(
      v,
      `${what} cannot be represented exactly`,
      'an integer literal (write large values in hex)',
      r.describe(v.node),
    );
  }
  const big = exact ? BigInt(src) : BigInt(s.value);
  if (big < 0n || big > 0xffffffffffffffffn) return r.error(v, `${what} out of range`, expected, r.describe(v.node));
  return big;
}
