import { readFileSync } from 'node:fs';
import { isMap, isScalar } from 'yaml';
import { parseYaml, positionAt } from '../input/yaml.js';
import { formatSeconds } from '../input/units.js';
import { durationLimitNs, type Scenario } from '../scenario/types.js';

/**
 * Work-bound phases that cannot start: the duration-bound phases before them last the whole run
 * (`maxDuration: 10` read as 10 s, where 10 minutes was meant, after a 10 s boot). The run then stops
 * with the phase not done, and a threshold on its time says `no data`; nothing said why. One message
 * per guest and phase, as "the PHASE phase of guest NAME starts at S s".
 */
function workPhasesNeverStarting(s: Scenario): { phase: string; guest: string; startNs: number }[] {
  const limit = durationLimitNs(s);
  const seen = new Set<string>();
  const out: { phase: string; guest: string; startNs: number }[] = [];
  for (const v of s.variants)
    for (const g of v.guests) {
      if (g.kind !== 'modelled') continue;
      let startNs = 0;
      for (const p of g.phases) {
        if (p.work !== undefined) {
          const key = `${g.name}\0${p.phase}`;
          if (startNs >= limit && !seen.has(key)) {
            seen.add(key);
            out.push({ phase: p.phase, guest: g.name, startNs });
          }
          break;
        }
        // A phase without a duration lasts to the run's end: nothing after it starts either way.
        if (p.durationNs === undefined) break;
        startNs += p.durationNs;
      }
    }
  return out;
}

/**
 * "LINE:COL" of the key at `path` (e.g. hypervisor, vmcs) in the file's YAML, read with the loader's
 * parser (src/input/yaml.ts) so that a comment, a string or another mapping's key of the same name is
 * never taken for it; undefined when the file cannot be read or has no such key.
 */
export function keyPosition(file: string, path: readonly string[]): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const { doc, lc } = parseYaml(text, { uniqueKeys: false });
  let node: unknown = doc.contents;
  let keyOffset: number | undefined;
  for (const key of path) {
    if (!isMap(node)) return undefined;
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair === undefined || !isScalar(pair.key) || pair.key.range === undefined || pair.key.range === null)
      return undefined;
    keyOffset = pair.key.range[0];
    node = pair.value;
  }
  if (keyOffset === undefined) return undefined;
  const at = positionAt(lc, keyOffset);
  return `${at.line}:${at.column}`;
}

/** The value of the key at "LINE:COL" is a number without a unit (`maxDuration: 10`). */
function bareNumberAt(file: string, at: string): boolean {
  const [line, column] = at.split(':').map(Number);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  const rest = (text.split(/\r?\n/)[line - 1] ?? '').slice(column - 1);
  return /^[\w.]+[ \t]*:[ \t]*\d+(?:\.\d+)?[ \t]*(?:#.*)?$/.test(rest);
}

/**
 * `FILE:LINE:COL: warning: ...` for each work phase that cannot start (workPhasesNeverStarting), at
 * the duration or maxDuration key; `validate` prints them, and `run` before it runs.
 */
export function workPhaseWarnings(s: Scenario, file: string): string[] {
  const durationKey = s.duration.kind === 'fixed' ? 'duration' : 'maxDuration';
  const limitS = formatSeconds(durationLimitNs(s));
  return workPhasesNeverStarting(s).map((w) => {
    const at = keyPosition(file, [durationKey]);
    const bare = at !== undefined && bareNumberAt(file, at);
    return (
      `${file}${at !== undefined ? `:${at}` : ''}: warning: ${durationKey} (${limitS} s) ends before the ${w.phase} phase of guest ${w.guest} starts ` +
      `(the phases before it last ${formatSeconds(w.startNs)} s): the run stops with ${w.phase} not done, and a threshold on its time has no data` +
      (bare ? ` (a number without a unit is seconds: write ${limitS}m for minutes)` : '')
    );
  });
}
