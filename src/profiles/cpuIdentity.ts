/** What a CPU is: its CPUID signature decoded, its microarchitecture, a profile id from its brand string. */
import type { Vendor } from '../core/cpu/profile.js';

/** CPUID leaf 1 EAX -> display family/model/stepping (Intel SDM vol. 2, CPUID; AMD uses the same rule). */
export function decodeCpuidSignature(sig: number): { family: number; model: number; stepping: number } {
  const baseFamily = (sig >>> 8) & 0xf;
  const baseModel = (sig >>> 4) & 0xf;
  const extFamily = (sig >>> 20) & 0xff;
  const extModel = (sig >>> 16) & 0xf;
  const family = baseFamily === 0xf ? baseFamily + extFamily : baseFamily;
  const model = baseFamily === 0x6 || baseFamily === 0xf ? (extModel << 4) | baseModel : baseModel;
  return { family, model, stepping: sig & 0xf };
}

/**
 * Intel family-6 models (Linux arch/x86/include/asm/intel-family.h) and AMD Zen generations
 * (FreeBSD sys/x86/x86/identcpu.c `zen_idents[]`) mapped to this project's microarchitecture keys.
 */
const INTEL_MODELS: ReadonlyArray<readonly [number, string]> = [
  [0x2a, 'sandy-bridge'],
  [0x2d, 'sandy-bridge'],
  [0x3a, 'ivy-bridge'],
  [0x3e, 'ivy-bridge'],
  [0x3c, 'haswell'],
  [0x3f, 'haswell'],
  [0x45, 'haswell'],
  [0x46, 'haswell'],
  [0x3d, 'broadwell'],
  [0x47, 'broadwell'],
  [0x4f, 'broadwell'],
  [0x56, 'broadwell'],
  [0x4e, 'skylake'],
  [0x5e, 'skylake'],
  [0x55, 'skylake-sp'], // stepping 5-7 Cascade Lake, 10-11 Cooper Lake: handled below
  [0x8e, 'kaby-lake'],
  [0x9e, 'kaby-lake'], // stepping >= 10: Coffee/Whiskey/Amber Lake, handled below
  [0xa5, 'comet-lake'],
  [0xa6, 'comet-lake'],
  [0x7d, 'ice-lake'],
  [0x7e, 'ice-lake'],
  [0x6a, 'ice-lake-sp'],
  [0x6c, 'ice-lake-sp'],
  [0x8c, 'tiger-lake'],
  [0x8d, 'tiger-lake'],
  [0x97, 'alder-lake'],
  [0x9a, 'alder-lake'],
  [0xb7, 'raptor-lake'],
  [0xba, 'raptor-lake'],
  [0xbf, 'raptor-lake'],
  [0x8f, 'sapphire-rapids'],
  [0xcf, 'emerald-rapids'],
  [0xaa, 'meteor-lake'],
];

const AMD_ZEN: ReadonlyArray<readonly [number, number, number, string]> = [
  [0x17, 0x00, 0x2f, 'zen'],
  [0x17, 0x50, 0x5f, 'zen'],
  [0x17, 0x30, 0x4f, 'zen2'],
  [0x17, 0x60, 0x7f, 'zen2'],
  [0x17, 0x90, 0x91, 'zen2'],
  [0x17, 0xa0, 0xaf, 'zen2'],
  [0x19, 0x00, 0x0f, 'zen3'],
  [0x19, 0x20, 0x5f, 'zen3'],
  [0x19, 0x10, 0x1f, 'zen4'],
  [0x19, 0x60, 0xaf, 'zen4'],
  [0x1a, 0x00, 0x2f, 'zen5'],
  [0x1a, 0x40, 0x4f, 'zen5'],
  [0x1a, 0x60, 0x7f, 'zen5'],
];

export function inferMicroarchitecture(cpu: {
  vendor: Vendor;
  family?: number | undefined;
  model?: number | undefined;
  stepping?: number | undefined;
  brand: string;
}): string {
  const { vendor, family, model, stepping } = cpu;
  if (vendor === 'intel' && family === 6 && model !== undefined) {
    const hit = INTEL_MODELS.find(([m]) => m === model)?.[1];
    if (hit === 'skylake-sp' && stepping !== undefined) {
      if (stepping >= 10) return 'cooper-lake';
      if (stepping >= 5) return 'cascade-lake';
    }
    if (hit === 'kaby-lake' && stepping !== undefined && stepping >= 10) return 'coffee-lake';
    if (hit) return hit;
  }
  if (vendor === 'amd' && family !== undefined && model !== undefined) {
    const hit = AMD_ZEN.find(([f, lo, hi]) => f === family && model >= lo && model <= hi)?.[3];
    if (hit) return hit;
  }
  return inferMicroarchitectureFromBrand(cpu.brand) ?? 'unknown';
}

/** Fallback when family/model are missing: Intel brand-string numbering conventions. */
function inferMicroarchitectureFromBrand(brand: string): string | undefined {
  const core = /\bi[3579]-(\d)\d{2,3}[A-Z]*\b/.exec(brand);
  if (core) {
    return (
      {
        '2': 'sandy-bridge',
        '3': 'ivy-bridge',
        '4': 'haswell',
        '5': 'broadwell',
        '6': 'skylake',
        '7': 'kaby-lake',
      } as Record<string, string>
    )[core[1]];
  }
  const e5 = /\bE[57]-\d{4}[A-Z]?\s*(?:0\s*)?(v(\d))?\b/.exec(brand);
  if (e5) {
    const v = e5[2];
    return v === undefined
      ? 'sandy-bridge'
      : ({ '2': 'ivy-bridge', '3': 'haswell', '4': 'broadwell' } as Record<string, string>)[v];
  }
  const scalable = /\b(?:Bronze|Silver|Gold|Platinum)\s+\d(\d)\d{2}[A-Z]*\b/.exec(brand);
  if (scalable)
    return ({ '1': 'skylake-sp', '2': 'cascade-lake', '3': 'ice-lake-sp' } as Record<string, string>)[scalable[1]];
  return undefined;
}

/**
 * Profile id from a brand string:
 *   "Intel(R) Core(TM) i7-2620M CPU @ 2.70GHz"        -> "i7-2620M"
 *   "Intel(R) Xeon(R) CPU E5-2667 v4 @ 3.20GHz"        -> "xeon-e5-2667v4"
 *   "Intel(R) Xeon(R) Silver 4110 CPU @ 2.10GHz"       -> "xeon-silver-4110"
 *   "AMD EPYC 7281 16-Core Processor"                 -> "epyc-7281"
 *   "AMD Ryzen 5 3600X 6-Core Processor"              -> "ryzen-5-3600x"
 */
export function deriveProfileId(brand: string): string {
  const clean = brand
    .replace(/\((?:R|TM|tm|r)\)/g, ' ')
    .replace(/@.*$/, ' ')
    .replace(/\b\d+-Core\b/gi, ' ')
    .replace(/\b(?:w\/|with)\s+Radeon.*$/i, ' ')
    .replace(/\b(?:CPU|Processor|Intel|AMD)\b/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const core = /\b(i[3579]-\w+)\b/.exec(clean);
  if (core) return core[1];
  const e = /\bXeon\s+(E[357]-\w+)(?:\s+(v\d))?/i.exec(clean);
  if (e) return `xeon-${e[1].toLowerCase()}${e[2] ? e[2].toLowerCase() : ''}`;
  const slug = clean
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.length > 0 ? slug : 'unknown-cpu';
}
