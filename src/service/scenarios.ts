import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { REPO_ROOT } from '../model/data.js';
import { parseScenario, readScenarioText, type LoadOptions } from '../scenario/load.js';
import { ScenarioError, didYouMean } from '../input/diagnostics.js';
import { durationLimitNs, totalGuests, type Scenario } from '../scenario/types.js';
import { ApiError, diagnosticsOf, shown } from './errors.js';
import { OverCapError, checkCaps, type CapsContext } from './caps.js';

/** The scenarios shipped in scenarios/, by name: the path below scenarios/ without `.yaml` (e.g. `seed/win10-1909-cr8-exits`). */

const SCENARIOS_DIR = join(REPO_ROOT, 'scenarios');
const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

interface ScenarioSummary {
  readonly name: string;
  readonly scenario?: string;
  readonly description?: string;
  readonly variants?: readonly string[];
  readonly guests?: number;
  readonly durationSeconds?: number;
  readonly pace?: string;
  readonly valid: boolean;
  /** The caps of this service a POST of it is refused for (422 limit_exceeded); absent when none. */
  readonly overCaps?: readonly string[];
  readonly errors?: readonly string[];
}

/** The messages of the caps `scenario` is over, or undefined. */
function capsOver(scenario: Scenario, caps: CapsContext): string[] | undefined {
  try {
    checkCaps(scenario, caps);
    return undefined;
  } catch (e) {
    if (e instanceof OverCapError) return e.exceeded.map((x) => x.message);
    throw e;
  }
}

export interface LoadedScenario {
  readonly scenario: Scenario;
  readonly yaml: string;
  readonly name?: string;
}

/**
 * Characters of a scenario's name (its path below scenarios/) at most: a file name's usual limit.
 * A name of 1 MB was looked up, and its did-you-mean held the main thread 3.4 s.
 */
export const MAX_NAME_LENGTH = 255;

export function isScenarioName(s: string): boolean {
  return s.length <= MAX_NAME_LENGTH && NAME_RE.test(s) && !s.split('/').some((p) => p === '.' || p === '..');
}

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && e.name.endsWith('.yaml')) out.push(p);
  }
}

/** A file's identity for the cache: a changed file has another size or modification time. */
interface Loaded {
  readonly mtimeMs: number;
  readonly size: number;
  readonly loaded: LoadedScenario;
}

export class ScenarioCatalog {
  /**
   * Scenarios already parsed, by name: parsing runs on the main thread (5 - 35 ms each, 90 ms for
   * GET /api/scenarios' 16 files), so four clients polling the list held /healthz for up to 2 s.
   * A Scenario is deep-frozen, so runs can share it.
   */
  private readonly cache = new Map<string, Loaded>();

  constructor(readonly dir: string = SCENARIOS_DIR) {}

  names(): string[] {
    if (!existsSync(this.dir)) return [];
    const files: string[] = [];
    walk(this.dir, files);
    return files
      .map((f) =>
        relative(this.dir, f)
          .split(sep)
          .join('/')
          .replace(/\.yaml$/, ''),
      )
      .sort();
  }

  /** Load a named scenario; ApiError 404 when there is none, 400 with diagnostics when it is bad. */
  load(name: string): LoadedScenario {
    if (!isScenarioName(name))
      throw new ApiError(
        400,
        'unknown_scenario',
        `${shown(name)} is not a scenario name (a path below scenarios/ without .yaml, of at most ${MAX_NAME_LENGTH} characters, e.g. "default" or "seed/win10-1909-cr8-exits")`,
      );
    const file = join(this.dir, `${name}.yaml`);
    if (!existsSync(file) || !statSync(file).isFile()) {
      throw new ApiError(
        404,
        'unknown_scenario',
        `no scenario ${shown(name)} in scenarios/${didYouMean(name.replace(/\.ya?ml$/, ''), this.names())} (GET /api/scenarios lists them)`,
      );
    }
    const { mtimeMs, size } = statSync(file);
    const hit = this.cache.get(name);
    if (hit !== undefined && hit.mtimeMs === mtimeMs && hit.size === size) return hit.loaded;
    const shownAs = `scenarios/${name}.yaml`;
    const yaml = asApiError(() => readScenarioText(file, size, shownAs));
    const loaded = {
      scenario: parseOrThrow(yaml, shownAs, { workloadBaseDir: dirname(file) }),
      yaml,
      name,
    };
    // A guest read from a workload profile depends on another file too: such scenarios are read each
    // time (so are bad ones: they throw above).
    const readsProfiles = loaded.scenario.variants.some((v) => v.guests.some((g) => 'workload' in g && g.workload));
    if (!readsProfiles) this.cache.set(name, { mtimeMs, size, loaded });
    return loaded;
  }

  /**
   * Every scenario's summary; with `caps`, a valid one over them says so (`overCaps`): "valid" alone
   * read as runnable, and the full-size install (7,200 simulated s) was then refused with 422.
   */
  list(caps?: CapsContext): ScenarioSummary[] {
    return this.names().map((name) => {
      try {
        const { scenario: s } = this.load(name);
        const limit = durationLimitNs(s);
        const over = caps === undefined ? undefined : capsOver(s, caps);
        return {
          name,
          scenario: s.name,
          description: s.description,
          variants: s.variants.map((v) => v.name),
          guests: totalGuests(s),
          durationSeconds: limit / 1e9,
          pace: s.pace,
          valid: true,
          ...(over !== undefined ? { overCaps: over } : {}),
        };
      } catch (e) {
        const errors =
          e instanceof ApiError && e.extra.diagnostics
            ? e.extra.diagnostics.map((d) => d.text)
            : [(e as Error).message];
        return { name, valid: false, errors };
      }
    });
  }
}

/** parseScenario, with a bad scenario as ApiError 400 carrying file:line:col diagnostics. */
export function parseOrThrow(yaml: string, file: string, options: LoadOptions = {}): Scenario {
  return asApiError(() => parseScenario(yaml, file, options));
}

/** `f()`, its ScenarioError answered as 400 invalid_scenario with the diagnostics. */
function asApiError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ScenarioError) {
      const diagnostics = diagnosticsOf(e.diagnostics);
      throw new ApiError(400, 'invalid_scenario', diagnostics.map((d) => d.text).join('\n'), { diagnostics });
    }
    throw e;
  }
}
