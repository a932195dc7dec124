/**
 * `hypervisor.vmcs`: expert overrides of the VMCS controls the policy sets (Intel CPUs only), by
 * control name of each control word (src/core/vmx/controls.ts CONTROL_NAMES), and the TPR
 * threshold. Part of the scenario loader (src/scenario/load.ts).
 */
import type { Node as YamlNode } from 'yaml';
import type { VmcsOverrides } from '../core/vcpu/machine.js';
import { CONTROL_NAMES, type ControlWord } from '../core/vmx/controls.js';
import { didYouMean } from '../input/diagnostics.js';
import type { Reader, Val } from '../input/reader.js';

export const VMCS_KEYS = ['pinBased', 'procBased', 'procBased2', 'exit', 'tprThreshold'] as const;
export const VMCS_WORD_KEYS = ['set', 'clear'] as const;

const VMCS_WORDS: readonly ControlWord[] = ['pinBased', 'procBased', 'procBased2', 'exit'];
const VMCS_FIELDS: Readonly<Record<ControlWord, readonly [keyof VmcsOverrides, keyof VmcsOverrides]>> = {
  pinBased: ['pinSet', 'pinClear'],
  procBased: ['procSet', 'procClear'],
  procBased2: ['proc2Set', 'proc2Clear'],
  exit: ['exitSet', 'exitClear'],
};

/** Read `hypervisor.vmcs`; undefined when anything is wrong (reported). */
export function parseVmcs(r: Reader, v: Val): VmcsOverrides | undefined {
  const m = r.map(v, 'hypervisor.vmcs');
  if (m === undefined) return undefined;
  const f = r.fields(m, 'hypervisor.vmcs', VMCS_KEYS);
  const out: Record<string, number> = {};
  let ok = true;
  for (const word of VMCS_WORDS) {
    const wf = f.get(word);
    if (wf === undefined) continue;
    const wm = r.map(wf, `hypervisor.vmcs.${word}`);
    if (wm === undefined) {
      ok = false;
      continue;
    }
    const sf = r.fields(wm, `hypervisor.vmcs.${word}`, VMCS_WORD_KEYS);
    const names = CONTROL_NAMES[word];
    const bitsOf: Record<string, { bits: number; seen: Map<string, YamlNode | null> }> = {};
    for (const part of ['set', 'clear'] as const) {
      const pf = sf.get(part);
      if (pf === undefined) continue;
      const items = r.seq(pf, `hypervisor.vmcs.${word}.${part}`, `a list of ${word} control names`);
      if (items === undefined) {
        ok = false;
        continue;
      }
      let bits = 0;
      const seen = new Map<string, YamlNode | null>();
      for (const item of items) {
        const s = r.scalar(item);
        if (s === undefined || typeof s.value !== 'string') {
          r.error(
            item,
            `wrong type for hypervisor.vmcs.${word}.${part}`,
            `a ${word} control name`,
            r.describe(item.node),
          );
          ok = false;
          continue;
        }
        const bit = names[s.value];
        if (bit === undefined) {
          const other = VMCS_WORDS.find((w) => w !== word && CONTROL_NAMES[w][s.value as string] !== undefined);
          const hint = other !== undefined ? ` (it is a ${other} control)` : didYouMean(s.value, Object.keys(names));
          r.error(item, `unknown ${word} control "${s.value}"${hint}`, `one of ${Object.keys(names).join(', ')}`);
          ok = false;
          continue;
        }
        bits = (bits | bit) >>> 0;
        seen.set(s.value, item.node);
      }
      bitsOf[part] = { bits, seen };
      out[VMCS_FIELDS[word][part === 'set' ? 0 : 1]] = bits;
    }
    const set = bitsOf['set'];
    const clear = bitsOf['clear'];
    if (set !== undefined && clear !== undefined) {
      for (const [n, node] of clear.seen) {
        if (set.seen.has(n)) {
          r.error({ node }, `control ${n} is both set and cleared in hypervisor.vmcs.${word}`);
          ok = false;
        }
      }
    }
  }
  const tf = f.get('tprThreshold');
  if (tf !== undefined) {
    const t = r.int(tf, 'hypervisor.vmcs.tprThreshold', 0, 15, 'a TPR threshold 0..15');
    if (t === undefined) ok = false;
    else out['tprThreshold'] = t;
  }
  return ok ? out : undefined;
}
