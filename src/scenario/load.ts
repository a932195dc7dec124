/**
 * Scenario loader: YAML text -> a validated, immutable Scenario (src/scenario/types.ts).
 *
 * Loading either returns a complete Scenario or throws a ScenarioError listing every problem
 * found (up to MAX_DIAGNOSTICS), each with file:line:col, expected and found. Nothing is
 * half-loaded and nothing unknown is ignored: unknown keys are errors with a did-you-mean.
 *
 * The format, every key with its values, default and where it applies, and the limits:
 * docs/SCENARIOS.md (test/cli/scenariosDoc.test.ts keeps it in step with ACCEPTED_KEYS and runs its
 * examples); scenarios/scenario.schema.json says the same for editors (test/scenario/schema*.test.ts).
 *
 * A value set by the matrix must not also be set outside it (host.cpu and matrix.cpu, ...): one of
 * them would be silently ignored. A tunable must be known to the policy of every variant.
 */
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { isMap, isScalar } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import type { CpuProfile } from '../core/cpu/profile.js';
import { POLICY_NAMES, type PolicyName } from '../core/hypervisor/policy.js';
import { cachedCpuCatalog } from '../profiles/catalog.js';
import { DiagnosticSink, ScenarioError } from '../input/diagnostics.js';
import { Reader, optional, type Val } from '../input/reader.js';
import { parseYamlChecked } from '../input/yaml.js';
import { GUEST_KEYS, isWindowsGuest, parseGuests } from './guests.js';
import { PHASE_KEYS } from './phases.js';
import { HOST_KEYS, parseHost } from './host.js';
import { parseDuration } from './duration.js';
import { readAtMost } from '../input/readBounded.js';
import { notUtf8 } from '../input/utf8.js';
import {
  DEFAULT_CARDINALITY_BUDGET,
  MAX_ALIAS_COUNT,
  MAX_CARDINALITY_BUDGET,
  MAX_FILE_BYTES,
  MAX_NAME_LENGTH,
  SCENARIO_NAME_RE,
} from './limits.js';
import {
  MATRIX_TUNABLE_PREFIX,
  checkTunableName,
  parseMatrix,
  setTwice,
  tunableValue,
  type MatrixAxis,
} from './matrix.js';
import { parseThresholds } from './thresholdChecks.js';
import { VIOLATION_CHECKS } from './thresholds.js';
import { VMCS_KEYS, VMCS_WORD_KEYS, parseVmcs } from './vmcs.js';
import { scenarioVariants, type TunableEntry } from './variants.js';
import type { Scenario, ScenarioVariant, ThresholdSpec } from './types.js';

/** Every key the loader accepts, by place in the document (the schema test compares these). */
export const ACCEPTED_KEYS = {
  root: [
    'name',
    'description',
    'seed',
    'host',
    'hypervisor',
    'guests',
    'duration',
    'maxDuration',
    'pace',
    'debug',
    'matrix',
    'expect',
    'thresholds',
    'cardinalityBudget',
  ],
  host: HOST_KEYS,
  hypervisor: ['policy', 'tunables', 'vmcs'],
  vmcs: VMCS_KEYS,
  vmcsWord: VMCS_WORD_KEYS,
  guest: GUEST_KEYS,
  phase: PHASE_KEYS,
  expect: ['violations'],
} as const;

/**
 * Where each accepted key belongs, by the place's name as a user reads it: an unknown key that is at
 * home elsewhere is told where (src/input/reader.ts Reader.keyHomes), e.g. `tunables` at the top level
 * goes under hypervisor, `vcpus` under a guest. Built from ACCEPTED_KEYS, so it cannot drift.
 */
export const KEY_HOMES: ReadonlyMap<string, readonly string[]> = (() => {
  const places: readonly (readonly [keyof typeof ACCEPTED_KEYS, string])[] = [
    ['root', "the scenario's top level"],
    ['host', 'host'],
    ['hypervisor', 'hypervisor'],
    ['vmcs', 'hypervisor.vmcs'],
    ['vmcsWord', 'a word of hypervisor.vmcs (e.g. procBased2)'],
    ['guest', 'a guest (an item of guests)'],
    ['phase', "a phase (an item of a guest's phases)"],
    ['expect', 'expect'],
  ];
  const homes = new Map<string, string[]>();
  for (const [place, shown] of places) {
    for (const key of ACCEPTED_KEYS[place]) {
      const list = homes.get(key) ?? [];
      list.push(shown);
      homes.set(key, list);
    }
  }
  return homes;
})();

export interface LoadOptions {
  /** CPU profiles to resolve host.cpu against; default: cachedCpuCatalog() (data/cpus, read again when it changes). */
  readonly cpuCatalog?: readonly CpuProfile[];
  /**
   * Directory that `workload:` profile paths are relative to; default: the scenario file's
   * directory. null forbids profile files (scenarios posted to the service must not read the
   * server's files).
   */
  readonly workloadBaseDir?: string | null;
}

/** Read and load a scenario file. Throws ScenarioError (with positions) on any problem. */
export function loadScenarioFile(path: string, options: LoadOptions = {}): Scenario {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new ScenarioError([
      { file: path, line: 0, column: 0, message: `cannot read the file: ${(e as Error).message}` },
    ]);
  }
  if (statSync(path).isDirectory())
    throw new ScenarioError([
      {
        file: path,
        line: 0,
        column: 0,
        message: 'is a directory, not a scenario file',
        expected: `its files, e.g. ${path.replace(/\/$/, '')}/*.yaml`,
      },
    ]);
  return parseScenario(readScenarioText(path, size), path, options);
}

/**
 * A scenario file's text, as every reader of scenario files takes it (the CLI, the service's
 * scenarios/ catalogue): a file over MAX_FILE_BYTES is refused by its size before it is read, and
 * one byte past the limit is read so that parseScenario refuses a device or pipe that is over it. A
 * UTF-8 byte order mark (Windows editors write one) is no character of the text: kept, it made every
 * column of line 1 one more than the editor's (`1:2: unknown key`); the service's decoder drops it
 * from posted bodies too. `shownAs` names the file in the diagnostics. Throws ScenarioError.
 */
export function readScenarioText(path: string, size: number, shownAs = path): string {
  if (size > MAX_FILE_BYTES) throw tooLarge(shownAs, size);
  let bytes: Buffer;
  try {
    bytes = readAtMost(path, MAX_FILE_BYTES + 1);
  } catch (e) {
    throw new ScenarioError([
      { file: shownAs, line: 0, column: 0, message: `cannot read the file: ${(e as Error).message}` },
    ]);
  }
  // Bytes that are not UTF-8 were read as U+FFFD, silently (the service refuses such a body).
  const bad = notUtf8(bytes);
  if (bad !== undefined) throw new ScenarioError([{ file: shownAs, message: 'the file is not UTF-8 text', ...bad }]);
  return bytes.toString('utf8').replace(/^\uFEFF/, '');
}

function tooLarge(file: string, bytes: number): ScenarioError {
  return new ScenarioError([
    {
      file,
      line: 1,
      column: 1,
      message: 'file is too large',
      expected: `at most ${MAX_FILE_BYTES} bytes (1 MiB)`,
      found: `${bytes} bytes`,
    },
  ]);
}

/** Load a scenario from YAML text; `file` names it in diagnostics. Throws ScenarioError. */
export function parseScenario(text: string, file: string, options: LoadOptions = {}): Scenario {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_FILE_BYTES) throw tooLarge(file, bytes);

  const sink = new DiagnosticSink(file);
  const { doc, lc, aliases } = parseYamlChecked(text, sink, MAX_ALIAS_COUNT);

  const r = new Reader(sink, lc, aliases);
  r.keyHomes = KEY_HOMES;
  const loader = new Loader(r, file, options);
  const scenario = loader.load(doc.contents);
  sink.throwIfAny();
  if (scenario === undefined) throw new ScenarioError([{ file, line: 1, column: 1, message: 'invalid scenario' }]);
  return deepFreeze(scenario, new Set<unknown>(scenario.variants.map((v) => v.host.cpu)));
}

/**
 * Load a scenario embedded in a larger YAML document (a validation case's `scenario:` mapping,
 * src/validation/load.ts): problems go to the caller's sink with their positions in that document.
 * Undefined when anything in the sink is an error (the caller throws).
 */
export function scenarioFromNode(
  r: Reader,
  node: YamlNode | null,
  file: string,
  options: LoadOptions = {},
): Scenario | undefined {
  const scenario = new Loader(r, file, options).load(node);
  if (scenario === undefined) return undefined;
  return deepFreeze(scenario, new Set<unknown>(scenario.variants.map((v) => v.host.cpu)));
}

function deepFreeze<T>(value: T, skip: ReadonlySet<unknown> = new Set()): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || skip.has(value)) return value;
  const s = skip as Set<unknown>;
  for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v, s);
  return Object.freeze(value);
}

class Loader {
  private catalog: readonly CpuProfile[] | undefined;

  constructor(
    private readonly r: Reader,
    private readonly file: string,
    private readonly options: LoadOptions,
  ) {}

  /** Where `workload:` profile paths are relative to: the option, else the scenario's directory. */
  private workloadBase(): string | null {
    return this.options.workloadBaseDir === undefined ? dirname(this.file) : this.options.workloadBaseDir;
  }

  /** The catalog, loaded on first use. */
  private cpuCatalog(): readonly CpuProfile[] {
    this.catalog ??= this.options.cpuCatalog ?? cachedCpuCatalog();
    return this.catalog;
  }

  load(root: YamlNode | null): Scenario | undefined {
    const r = this.r;
    const rootVal: Val = { node: root };
    const m = r.resolve(root);
    if (!isMap(m)) {
      // Only name and guests are required (host.cpu and hypervisor.policy may come from the
      // matrix); an empty document is most often a file saved empty or all comments.
      r.error(
        rootVal,
        'a scenario file must be a mapping',
        'a mapping with at least name and guests (docs/SCENARIOS.md has every key)',
        m === null ? 'nothing: the file is empty or holds only comments' : r.describe(root),
      );
      return undefined;
    }
    // A workload profile where a scenario belongs ('validate PROFILE.yaml'): one answer saying what
    // it is and where it goes, not an unknown-key error for each of its keys.
    const profileKey = m.items.find((p) => isScalar(p.key) && p.key.value === 'workloadProfile')?.key;
    if (profileKey !== undefined) {
      r.error(
        profileKey as YamlNode,
        'this is a workload profile (workloadProfile:), not a scenario',
        'a scenario naming it as a guest, guests: [{ workload: FILE }], or vmexit-lab what-if FILE',
      );
      return undefined;
    }
    const f = r.fields(m, 'the scenario', ACCEPTED_KEYS.root, ['name', 'guests']);

    // The matrix first: it decides which base values are required and which must not be set.
    const matrixField = f.get('matrix');
    const axes: MatrixAxis[] | undefined =
      matrixField === undefined ? [] : parseMatrix(r, matrixField, this.cpuCatalog());
    const inMatrix = (key: string): MatrixAxis | undefined => axes?.find((a) => a.key === key);

    const name = optional(f, 'name', (v) =>
      r.str(
        v,
        'name',
        SCENARIO_NAME_RE,
        `a name of 1 to ${MAX_NAME_LENGTH} lower-case letters, digits, ".", "_" or "-"`,
      ),
    );
    const description = optional(f, 'description', (v) => r.str(v, 'description')) ?? '';
    const seed = optional(f, 'seed', (v) => r.int(v, 'seed', 0, 0xffffffff, 'an integer 0..4294967295')) ?? 1;
    const pace = optional(f, 'pace', (v) => r.oneOf(v, 'pace', ['max', 'realtime'] as const)) ?? 'max';
    const debugChecks = optional(f, 'debug', (v) => r.bool(v, 'debug')) ?? false;
    const cardinalityBudget =
      optional(f, 'cardinalityBudget', (v) =>
        r.int(
          v,
          'cardinalityBudget',
          1,
          MAX_CARDINALITY_BUDGET,
          `an integer 1..${MAX_CARDINALITY_BUDGET} (metric series)`,
        ),
      ) ?? DEFAULT_CARDINALITY_BUDGET;
    const duration = parseDuration(this.r, f);
    const expectViolations = optional(f, 'expect', (v) => this.expect(v)) ?? [];

    // Host.
    const host = parseHost(r, f, m, axes, () => this.cpuCatalog());
    const { hostCount } = host;

    // Hypervisor.
    const hvField = f.get('hypervisor');
    const hvMap = hvField === undefined ? undefined : r.map(hvField, 'hypervisor');
    const vf = hvMap === undefined ? undefined : r.fields(hvMap, 'hypervisor', ACCEPTED_KEYS.hypervisor);
    const policyField = vf?.get('policy');
    let basePolicy: PolicyName | undefined;
    if (policyField !== undefined) {
      if (inMatrix('policy')) setTwice(r, policyField, 'hypervisor.policy', 'matrix.policy');
      else basePolicy = r.oneOf(policyField, 'hypervisor.policy', POLICY_NAMES, 'policy');
    } else if (axes !== undefined && !inMatrix('policy')) {
      if (hvMap !== undefined && !vf!.mentions('policy'))
        r.error(
          hvMap,
          'missing required key "policy" in hypervisor',
          `one of ${POLICY_NAMES.join(', ')}, or matrix.policy: [A, B] to compare policies`,
        );
      else if (!f.mentions('hypervisor'))
        r.error(
          m,
          'missing required key "hypervisor" in the scenario',
          `hypervisor: { policy: <one of ${POLICY_NAMES.join(', ')}> }, or matrix.policy: [A, B] to compare policies`,
        );
    }
    const baseTunables = this.tunables(vf?.get('tunables'), axes ?? []);
    const vmcsField = vf?.get('vmcs');
    const vmcs = vmcsField === undefined ? undefined : parseVmcs(r, vmcsField);

    // Guests.
    const guestsField = f.get('guests');
    const x2apicAxis = inMatrix('x2apic');
    const enlAxis = inMatrix('enlightenments');
    const guests =
      guestsField === undefined
        ? undefined
        : parseGuests(r, guestsField, hostCount, x2apicAxis, this.workloadBase(), enlAxis);
    if (enlAxis !== undefined && guests !== undefined && !guests.some(isWindowsGuest))
      r.error(enlAxis.keyNode, 'matrix.enlightenments applies to Windows guests; this scenario has none');

    // Variants.
    let variants: ScenarioVariant[] | undefined;
    if (axes !== undefined && guests !== undefined && baseTunables !== undefined) {
      variants = scenarioVariants(r, axes, {
        ...host,
        basePolicy,
        baseTunables,
        vmcs,
        vmcsField,
        guests,
      });
    }

    // Duration vs. work.
    if (duration !== undefined && duration.value.kind === 'until-complete' && guests !== undefined) {
      const bounded = guests.some((g) => g.spec.kind === 'scripted' || g.spec.phases.some((p) => p.work !== undefined));
      if (!bounded) {
        r.error(
          duration.field,
          'duration: until-complete needs a guest with a work-bound phase (work: ...) or a script',
          'a fixed duration such as "60s"',
        );
      }
    }

    // Thresholds (after the variants: they name variants and phases).
    let thresholds: ThresholdSpec[] = [];
    const thField = f.get('thresholds');
    if (thField !== undefined) {
      const workPhases =
        guests === undefined
          ? undefined
          : new Set(
              guests.flatMap((g) =>
                g.spec.kind === 'modelled' ? g.spec.phases.filter((p) => p.work !== undefined).map((p) => p.phase) : [],
              ),
            );
      thresholds = parseThresholds(r, thField, this.file, {
        variants: variants?.map((v) => ({ name: v.name, vendor: v.host.cpu.vendor })),
        workPhases,
      });
    }

    if (r.sink.size > 0 || name === undefined || duration === undefined || variants === undefined) return undefined;
    return {
      name,
      description,
      file: this.file,
      seed,
      duration: duration.value,
      pace,
      variants,
      thresholds,
      expectViolations,
      debugChecks,
      cardinalityBudget,
    };
  }

  private expect(v: Val): string[] | undefined {
    const r = this.r;
    const m = r.map(v, 'expect');
    if (m === undefined) return undefined;
    const f = r.fields(m, 'expect', ACCEPTED_KEYS.expect);
    const vf = f.get('violations');
    if (vf === undefined) return [];
    const items = r.seq(vf, 'expect.violations', 'a list of check names');
    if (items === undefined) return undefined;
    const out: string[] = [];
    items.forEach((item, i) => {
      const c = r.oneOf(item, `expect.violations[${i}]`, VIOLATION_CHECKS, 'violation check');
      if (c !== undefined) out.push(c);
    });
    return out.length === items.length ? out : undefined;
  }

  private tunables(v: Val | undefined, axes: readonly MatrixAxis[]): TunableEntry[] | undefined {
    const r = this.r;
    const out: TunableEntry[] = [];
    let ok = true;
    if (v !== undefined) {
      const m = r.map(v, 'hypervisor.tunables');
      if (m === undefined) return undefined;
      const f = r.fields(m, 'hypervisor.tunables', () => true);
      for (const field of f) {
        const spec = checkTunableName(r, field.key, field.name);
        if (spec === undefined) {
          ok = false;
          continue;
        }
        const axis = axes.find((a) => a.key === `${MATRIX_TUNABLE_PREFIX}${field.name}`);
        if (axis !== undefined) {
          setTwice(r, field, `hypervisor.tunables.${field.name}`, `matrix.${axis.key}`);
          ok = false;
          continue;
        }
        const value = tunableValue(r, field, `hypervisor.tunables.${field.name}`, spec);
        if (value === undefined) ok = false;
        else out.push({ name: field.name, value, spec, keyNode: field.key, fromMatrix: false });
      }
    }
    return ok ? out : undefined;
  }
}
