/**
 * The CPU catalog: every data/cpus/*.yaml file, parsed and validated by parseProfileYaml().
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CpuProfile } from '../core/cpu/profile.js';
import { editDistance } from '../input/diagnostics.js';
import { readInputText } from '../input/readBounded.js';
import { parseProfileYaml } from './serialize.js';

export class CpuCatalogError extends Error {
  override readonly name = 'CpuCatalogError';
}

export class CpuProfileNotFoundError extends Error {
  override readonly name = 'CpuProfileNotFoundError';
  constructor(
    readonly query: string,
    readonly knownIds: readonly string[],
    readonly suggestion: string | undefined,
  ) {
    super(
      // Worded as a scenario's other unknown names (`unknown policy "kvmm" (did you mean "kvm"?)
      // (expected one of ...)`): a scenario's `host: cpu:` reports this message at its line and column.
      `unknown CPU profile "${query}"` +
        (suggestion !== undefined ? ` (did you mean "${suggestion}"?)` : '') +
        ` (expected one of ${knownIds.join(', ')})`,
    );
  }
}

/**
 * data/cpus relative to this module. Compiled, this file is dist/src/profiles/catalog.js, so the
 * repository root is three levels up; when run from source (src/profiles/catalog.ts) it is two.
 */
export function defaultCatalogDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const candidate = resolve(here, up, 'data', 'cpus');
    if (existsSync(candidate)) return candidate;
  }
  return resolve(here, '../../..', 'data', 'cpus');
}

/** Bytes of one CPU profile file: a real one is a few KB; the limit keeps a device or FIFO named *.yaml from hanging the load. */
export const MAX_CPU_PROFILE_BYTES = 1024 * 1024;

function readProfileText(path: string, file: string): string {
  try {
    return readInputText(path, MAX_CPU_PROFILE_BYTES);
  } catch (e) {
    throw new CpuCatalogError(`${file}: cannot read it: ${(e as Error).message}`);
  }
}

/** Load and validate every *.yaml profile in `dir` (default: the repository's data/cpus), sorted by id. */
export function loadCpuCatalog(dir: string = defaultCatalogDir()): CpuProfile[] {
  if (!existsSync(dir)) throw new CpuCatalogError(`CPU catalog directory not found: ${dir}`);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  const byId = new Map<string, { profile: CpuProfile; file: string }>();
  for (const name of files) {
    // Every error names the file by its path in the directory given (`cpus --dir DIR`, `validate
    // --cpus DIR`), so that it can be opened as written; the bare name left the directory to guess.
    const file = join(dir, name);
    const profile = parseProfileYaml(readProfileText(file, file), file);
    const stem = basename(name).replace(/\.ya?ml$/, '');
    if (stem.toLowerCase() !== profile.id.toLowerCase()) {
      throw new CpuCatalogError(
        `${file}: file name must be the profile id in lower case ("${profile.id.toLowerCase()}.yaml")`,
      );
    }
    const key = profile.id.toLowerCase();
    const clash = byId.get(key);
    if (clash) throw new CpuCatalogError(`${file}: duplicate profile id "${profile.id}" (also in ${clash.file})`);
    byId.set(key, { profile, file });
  }
  return [...byId.values()].map((v) => v.profile).sort((a, b) => a.id.localeCompare(b.id));
}

/** The last catalog read per directory, with the listing it was read from. */
const CACHED = new Map<string, { signature: string; catalog: readonly CpuProfile[] }>();

/** What the catalog's content depends on: every profile file's name, size and modification time. */
function catalogSignature(dir: string): string {
  if (!existsSync(dir)) return '';
  const parts: string[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.yaml') && !file.endsWith('.yml')) continue;
    try {
      const st = statSync(join(dir, file));
      parts.push(`${file}:${st.size}:${st.mtimeMs}`);
    } catch {
      parts.push(`${file}:?`);
    }
  }
  return parts.join('/');
}

/**
 * loadCpuCatalog(dir), read again only when a profile file is added, removed or changed. Parsing the
 * catalog is ~7 ms (twenty-odd YAML files), which every scenario load without a catalog of its own paid
 * (the service parses one per POST /api/runs; a scenario itself is ~1 ms); a listing and a stat per
 * file is what is left. The array is frozen: callers share it.
 */
export function cachedCpuCatalog(dir: string = defaultCatalogDir()): readonly CpuProfile[] {
  const signature = catalogSignature(dir);
  const hit = CACHED.get(dir);
  if (hit !== undefined && hit.signature === signature && signature !== '') return hit.catalog;
  const catalog = Object.freeze(loadCpuCatalog(dir));
  CACHED.set(dir, { signature, catalog });
  return catalog;
}

/** Lower-case, drop vendor/marketing words and punctuation: "Intel(R) Xeon(R) CPU E5-2667 v4" -> "xeone52667v4". */
function normalizeCpuName(s: string): string {
  return s
    .toLowerCase()
    .replace(/@.*$/, '')
    .replace(/\((?:r|tm)\)/g, ' ')
    .replace(/\b\d+-core\b/g, ' ')
    .replace(/\b(?:intel|amd|cpu|processor|core)\b/g, ' ')
    .replace(/[^a-z0-9]/g, '');
}

/** Names a profile answers to: its id, its id without a "xeon-" prefix, and its brand string. */
function profileAliases(p: CpuProfile): string[] {
  const keys = new Set<string>([normalizeCpuName(p.id), normalizeCpuName(p.model)]);
  if (/^xeon-/i.test(p.id)) keys.add(normalizeCpuName(p.id.replace(/^xeon-/i, '')));
  const brandNoXeon = p.model.replace(/\bXeon\b/gi, '');
  keys.add(normalizeCpuName(brandNoXeon));
  keys.delete('');
  return [...keys];
}

/**
 * Find a profile by id (case-insensitive) or a natural alias ("E5-2667 v4", "Xeon Silver 4110",
 * "Core i7-6700K", the full brand string). Throws CpuProfileNotFoundError listing the known ids
 * and the closest one.
 */
export function findCpuProfile(catalog: readonly CpuProfile[], id: string): CpuProfile {
  const exact = catalog.find((p) => p.id.toLowerCase() === id.trim().toLowerCase());
  if (exact) return exact;
  const q = normalizeCpuName(id);
  if (q.length > 0) {
    const hits = catalog.filter((p) => profileAliases(p).includes(q));
    if (hits.length === 1) return hits[0];
  }
  let best: { id: string; d: number } | undefined;
  for (const p of catalog) {
    for (const alias of profileAliases(p)) {
      const d = editDistance(q, alias);
      if (best === undefined || d < best.d) best = { id: p.id, d };
    }
  }
  const suggestion = best !== undefined && best.d <= Math.max(3, Math.ceil(q.length / 2)) ? best.id : undefined;
  throw new CpuProfileNotFoundError(
    id,
    catalog.map((p) => p.id),
    suggestion,
  );
}
