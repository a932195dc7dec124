/**
 * Scenario loader: YAML text -> a validated, immutable Scenario (src/scenario/types.ts).
 *
 * Loading either returns a complete Scenario or throws a ScenarioError listing every problem
 * found (up to MAX_DIAGNOSTICS), each with file:line:col, expected and found. Nothing is
 * half-loaded and nothing unknown is ignored: unknown keys are errors with a did-you-mean.
 *
 * The format (scenarios/scenario.schema.json describes the same for editors):
 *
 *   # yaml-language-server: $schema=../scenarios/scenario.schema.json
 *   name: win10-install-i7-2620m          # required, [a-z0-9._-]+
 *   description: Windows 10 1909 install   # optional
 *   seed: 1                                # default 1, integer 0..2^32-1
 *   host: { cpu: i7-2620M, cores: 4, count: 1 }
 *                                          # cpu: profile id (data/cpus), required unless matrix.cpu;
 *                                          # cores 1..1024, default = the profile's threads;
 *                                          # count 1..10000 identical hosts, default 1
 *   hypervisor:
 *     policy: bhyve-tpr-v3                 # POLICY_NAMES; required unless matrix.policy
 *     tunables: { hw.vmm.vmx.use_tpr_shadowing: 1 }
 *                                          # TUNABLES known to the policy, not read-only, min..max
 *     vmcs:                                # optional expert overrides (Intel CPUs only)
 *       procBased: { set: [UseTprShadow], clear: [Cr8LoadExiting] }   # CONTROL_NAMES of the word
 *       procBased2: { set: [VirtualInterruptDelivery] }
 *       pinBased: { clear: [ExternalInterruptExiting] }
 *       exit: { set: [AcknowledgeInterruptOnExit] }
 *       tprThreshold: 3                    # 0..15
 *   guests:                                # required, at least one
 *     - os: windows-10-1909                # GUEST_OS_NAMES, or `scripted`
 *       name: win10                        # optional label, default = os; unique
 *       count: 1                           # default 1
 *       vcpus: 2                           # 1..64, default 1
 *       memory: 4GiB                       # default 2GiB
 *       x2apic: false                      # default false
 *       phases:                            # default: one idle phase until the end
 *         - { phase: boot, duration: 30s } # boot/idle: duration only (the last idle may omit it: until the end)
 *         - { phase: install, work: 370s } # install/build: work = guest CPU time, or a duration
 *         - { phase: disk-benchmark, work: 4GiB }   # disk-benchmark: work = bytes of I/O, or a duration
 *     - os: scripted                       # runs a script once: no count > 1, no phases, no memory
 *       vcpus: 2
 *       script:                            # see src/scenario/script.ts
 *         - write_cr8: 2
 *         - { eoi: null, cpu: 1 }
 *   duration: 60s                          # or `until-complete` (every work-bound phase done), default 60s
 *   maxDuration: 4h                        # cap for until-complete only, default 4h
 *   pace: max                              # max | realtime, default max
 *   debug: false                           # consistency checks after every guest operation
 *   matrix:                                # optional, see src/scenario/matrix.ts (<= 64 variants)
 *     policy: [bhyve-12.1, bhyve-tpr-v1]
 *   expect:
 *     violations: [isr_isrvec_stk_out_of_sync]
 *   thresholds:                            # see src/scenario/thresholds.ts for the grammar
 *     exits_per_second{reason="CR_ACCESS"}: ["< 1000"]
 *
 * Limits: file size 1 MiB; YAML alias expansions MAX_ALIAS_COUNT; total guests (hosts x guests per
 * host) 100000; vCPUs per guest 1..64; host cores 1..1024; host count 1..10000; every duration
 * <= 30 days simulated; script length <= 100000 ops; matrix variants <= 64.
 *
 * A value set by the matrix must not also be set outside it (host.cpu and matrix.cpu, ...): one of
 * them would be silently ignored. A tunable must be known to the policy of every variant.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { isMap } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import type { CpuProfile } from '../core/cpu/profile.js';
import { POLICY_NAMES, TUNABLES, type PolicyName, type TunableSpec } from '../core/hypervisor/policy.js';
import type { VmcsOverrides } from '../core/vcpu/machine.js';
import { CONTROL_NAMES, type ControlWord } from '../core/vmx/controls.js';
import { loadCpuCatalog } from '../profiles/catalog.js';
import { DiagnosticSink, ScenarioError, didYouMean } from '../input/diagnostics.js';
import {
  MATRIX_TUNABLE_PREFIX,
  MAX_HOST_CORES,
  checkTunableName,
  expandMatrix,
  lookupCpu,
  parseMatrix,
  tunableValue,
  type MatrixAxis,
} from './matrix.js';
import { parseScript } from './script.js';
import { parseWorkloadProfile } from './workload.js';
import { VIOLATION_CHECKS, parseThresholds } from './thresholds.js';
import {
  GUEST_OS_NAMES,
  PHASE_NAMES,
  type GuestSpec,
  type ModelledGuestSpec,
  type PhaseName,
  type PhaseSpec,
  type Scenario,
  type ScenarioVariant,
  type ScriptedGuestSpec,
  type ThresholdSpec,
  type WorkloadProfile,
} from './types.js';
import { Reader, parseYamlChecked, type Field, type Fields, type Val } from '../input/yaml.js';

export const MAX_FILE_BYTES = 1024 * 1024;
/** yaml's maxAliasCount: alias expansions allowed before the document counts as an alias bomb. */
const MAX_ALIAS_COUNT = 1000;
const MAX_TOTAL_GUESTS = 100_000;
const MAX_VCPUS = 64;
const MAX_HOST_COUNT = 10_000;
const MAX_DURATION_NS = 30 * 86_400 * 1e9;
const MAX_MEMORY_BYTES = 16 * 1024 ** 4;
const DEFAULT_DURATION_NS = 60e9;
const DEFAULT_MAX_DURATION_NS = 4 * 3600e9;
export const DEFAULT_MEMORY_BYTES = 2 * 1024 ** 3;
/** `cardinalityBudget` (metric series a scenario may create): default and cap. */
export const DEFAULT_CARDINALITY_BUDGET = 10_000;
const MAX_CARDINALITY_BUDGET = 10_000_000;

const NAME_RE = /^[a-z0-9._-]+$/;
const GUEST_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

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
  host: ['cpu', 'cores', 'count'],
  hypervisor: ['policy', 'tunables', 'vmcs'],
  vmcs: ['pinBased', 'procBased', 'procBased2', 'exit', 'tprThreshold'],
  vmcsWord: ['set', 'clear'],
  guest: ['os', 'name', 'count', 'vcpus', 'memory', 'x2apic', 'phases', 'script', 'workload'],
  phase: ['phase', 'duration', 'work'],
  expect: ['violations'],
} as const;

const WORK_PHASES: readonly PhaseName[] = ['install', 'build', 'disk-benchmark'];
const VMCS_WORDS: readonly ControlWord[] = ['pinBased', 'procBased', 'procBased2', 'exit'];
const VMCS_FIELDS: Readonly<Record<ControlWord, readonly [keyof VmcsOverrides, keyof VmcsOverrides]>> = {
  pinBased: ['pinSet', 'pinClear'],
  procBased: ['procSet', 'procClear'],
  procBased2: ['proc2Set', 'proc2Clear'],
  exit: ['exitSet', 'exitClear'],
};

export interface LoadOptions {
  /** CPU profiles to resolve host.cpu against; default: loadCpuCatalog() (data/cpus). */
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
  if (size > MAX_FILE_BYTES) throw tooLarge(path, size);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ScenarioError([
      { file: path, line: 0, column: 0, message: `cannot read the file: ${(e as Error).message}` },
    ]);
  }
  return parseScenario(text, path, options);
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
  const loader = new Loader(r, file, options);
  const scenario = loader.load(doc.contents);
  sink.throwIfAny();
  if (scenario === undefined) throw new ScenarioError([{ file, line: 1, column: 1, message: 'invalid scenario' }]);
  return deepFreeze(scenario, new Set<unknown>(scenario.variants.map((v) => v.host.cpu)));
}

function deepFreeze<T>(value: T, skip: ReadonlySet<unknown> = new Set()): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || skip.has(value)) return value;
  const s = skip as Set<unknown>;
  for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v, s);
  return Object.freeze(value);
}

interface TunableEntry {
  readonly name: string;
  readonly value: number;
  readonly spec: TunableSpec;
  readonly keyNode: YamlNode;
  readonly fromMatrix: boolean;
}

interface GuestDraft {
  readonly spec: GuestSpec;
  readonly x2apicSet: boolean;
  readonly nameNode: YamlNode;
}

class Loader {
  private catalog: readonly CpuProfile[] | undefined;

  constructor(
    private readonly r: Reader,
    private readonly file: string,
    private readonly options: LoadOptions,
  ) {}

  /** The catalog, loaded on first use. */
  private cpuCatalog(): readonly CpuProfile[] {
    this.catalog ??= this.options.cpuCatalog ?? loadCpuCatalog();
    return this.catalog;
  }

  load(root: YamlNode | null): Scenario | undefined {
    const r = this.r;
    const rootVal: Val = { node: root };
    const m = r.resolve(root);
    if (!isMap(m)) {
      r.error(
        rootVal,
        'a scenario file must be a mapping',
        'a mapping with name, host, hypervisor and guests',
        r.describe(root),
      );
      return undefined;
    }
    const f = r.fields(m, 'the scenario', ACCEPTED_KEYS.root, ['name', 'guests']);

    // The matrix first: it decides which base values are required and which must not be set.
    const matrixField = f.get('matrix');
    const axes: MatrixAxis[] | undefined =
      matrixField === undefined ? [] : parseMatrix(r, matrixField, this.cpuCatalog());
    const inMatrix = (key: string): MatrixAxis | undefined => axes?.find((a) => a.key === key);

    const name = opt(f, 'name', (v) =>
      r.str(v, 'name', NAME_RE, 'a name of lower-case letters, digits, ".", "_" or "-"'),
    );
    const description = opt(f, 'description', (v) => r.str(v, 'description')) ?? '';
    const seed = opt(f, 'seed', (v) => r.int(v, 'seed', 0, 0xffffffff, 'an integer 0..4294967295')) ?? 1;
    const pace = opt(f, 'pace', (v) => r.oneOf(v, 'pace', ['max', 'realtime'] as const)) ?? 'max';
    const debugChecks = opt(f, 'debug', (v) => r.bool(v, 'debug')) ?? false;
    const cardinalityBudget =
      opt(f, 'cardinalityBudget', (v) =>
        r.int(
          v,
          'cardinalityBudget',
          1,
          MAX_CARDINALITY_BUDGET,
          `an integer 1..${MAX_CARDINALITY_BUDGET} (metric series)`,
        ),
      ) ?? DEFAULT_CARDINALITY_BUDGET;
    const duration = this.duration(f);
    const expectViolations = opt(f, 'expect', (v) => this.expect(v)) ?? [];

    // Host.
    const hostField = f.get('host');
    const hostMap = hostField === undefined ? undefined : r.map(hostField, 'host');
    const hf = hostMap === undefined ? undefined : r.fields(hostMap, 'host', ACCEPTED_KEYS.host);
    let baseCpu: CpuProfile | undefined;
    const cpuField = hf?.get('cpu');
    if (cpuField !== undefined) {
      if (inMatrix('cpu')) this.conflict(cpuField, 'host.cpu', 'matrix.cpu');
      else baseCpu = lookupCpu(r, cpuField, 'host.cpu', this.cpuCatalog());
    } else if (
      axes !== undefined &&
      !inMatrix('cpu') &&
      hostField !== undefined &&
      hostMap !== undefined &&
      !hf!.mentions('cpu')
    ) {
      r.error(hostMap, 'missing required key "cpu" in host', 'a CPU profile id such as "i7-2620M"');
    } else if (axes !== undefined && !inMatrix('cpu') && !f.mentions('host')) {
      r.error(m, 'missing required key "host" in the scenario', 'host: { cpu: <profile id> }');
    }
    const coresField = hf?.get('cores');
    let baseCores: number | undefined;
    if (coresField !== undefined) {
      if (inMatrix('cores')) this.conflict(coresField, 'host.cores', 'matrix.cores');
      else baseCores = r.int(coresField, 'host.cores', 1, MAX_HOST_CORES);
    }
    const hostCount = opt(hf, 'count', (v) => r.int(v, 'host.count', 1, MAX_HOST_COUNT)) ?? 1;

    // Hypervisor.
    const hvField = f.get('hypervisor');
    const hvMap = hvField === undefined ? undefined : r.map(hvField, 'hypervisor');
    const vf = hvMap === undefined ? undefined : r.fields(hvMap, 'hypervisor', ACCEPTED_KEYS.hypervisor);
    const policyField = vf?.get('policy');
    let basePolicy: PolicyName | undefined;
    if (policyField !== undefined) {
      if (inMatrix('policy')) this.conflict(policyField, 'hypervisor.policy', 'matrix.policy');
      else basePolicy = r.oneOf(policyField, 'hypervisor.policy', POLICY_NAMES, 'policy');
    } else if (axes !== undefined && !inMatrix('policy')) {
      if (hvMap !== undefined && !vf!.mentions('policy'))
        r.error(hvMap, 'missing required key "policy" in hypervisor', `one of ${POLICY_NAMES.join(', ')}`);
      else if (!f.mentions('hypervisor'))
        r.error(
          m,
          'missing required key "hypervisor" in the scenario',
          `hypervisor: { policy: <one of ${POLICY_NAMES.join(', ')}> }`,
        );
    }
    const baseTunables = this.tunables(vf?.get('tunables'), axes ?? []);
    const vmcsField = vf?.get('vmcs');
    const vmcs = vmcsField === undefined ? undefined : this.vmcs(vmcsField);

    // Guests.
    const guestsField = f.get('guests');
    const x2apicAxis = inMatrix('x2apic');
    const guests = guestsField === undefined ? undefined : this.guests(guestsField, hostCount, x2apicAxis);

    // Variants.
    let variants: ScenarioVariant[] | undefined;
    if (axes !== undefined && guests !== undefined && baseTunables !== undefined) {
      variants = this.variants(axes, {
        baseCpu,
        baseCores,
        hostCount,
        basePolicy,
        baseTunables,
        vmcs,
        vmcsField,
        guests: guests.map((g) => g.spec),
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

  private conflict(field: Field, here: string, there: string): void {
    this.r.error(field.key, `${here} is also set by ${there}; remove one of them`);
  }

  private duration(f: Fields): { value: Scenario['duration']; field: Val } | undefined {
    const r = this.r;
    const df = f.get('duration');
    const mf = f.get('maxDuration');
    const max = '30 days';
    let untilComplete = false;
    let ns: number | undefined = DEFAULT_DURATION_NS;
    if (df !== undefined) {
      const s = r.scalar(df);
      if (s !== undefined && s.value === 'until-complete') untilComplete = true;
      else {
        const str = s !== undefined && typeof s.value === 'string' ? s.value : undefined;
        if (str !== undefined && /^[a-z-]+$/.test(str)) {
          r.error(
            df,
            `invalid duration for duration: "${str}"${didYouMean(str, ['until-complete'])}`,
            'a duration such as "60s" or until-complete',
          );
          ns = undefined;
        } else ns = r.duration(df, 'duration', 1, MAX_DURATION_NS, max);
      }
    }
    let maxNs: number | undefined = DEFAULT_MAX_DURATION_NS;
    if (mf !== undefined) {
      if (!untilComplete) {
        r.error(
          mf.key,
          'maxDuration only applies with duration: until-complete',
          'duration: until-complete, or no maxDuration',
        );
        maxNs = undefined;
      } else maxNs = r.duration(mf, 'maxDuration', 1, MAX_DURATION_NS, max);
    }
    const field: Val = df ?? { node: f.map };
    if (untilComplete) return maxNs === undefined ? undefined : { value: { kind: 'until-complete', maxNs }, field };
    return ns === undefined ? undefined : { value: { kind: 'fixed', ns }, field };
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
          this.conflict(field, `hypervisor.tunables.${field.name}`, `matrix.${axis.key}`);
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

  private vmcs(v: Val): VmcsOverrides | undefined {
    const r = this.r;
    const m = r.map(v, 'hypervisor.vmcs');
    if (m === undefined) return undefined;
    const f = r.fields(m, 'hypervisor.vmcs', ACCEPTED_KEYS.vmcs);
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
      const sf = r.fields(wm, `hypervisor.vmcs.${word}`, ACCEPTED_KEYS.vmcsWord);
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

  private guests(v: Val, hostCount: number, x2apicAxis: MatrixAxis | undefined): GuestDraft[] | undefined {
    const r = this.r;
    const items = r.seq(v, 'guests', 'a list of guests');
    if (items === undefined) return undefined;
    if (items.length === 0) {
      r.error(v, 'guests is empty', 'at least one guest', 'an empty list');
      return undefined;
    }
    const out: GuestDraft[] = [];
    let ok = true;
    for (let i = 0; i < items.length; i++) {
      const g = this.guest(items[i], `guests[${i}]`, x2apicAxis);
      if (g === undefined) ok = false;
      else out.push(g);
    }
    if (!ok) return undefined;
    const names = new Map<string, GuestDraft>();
    for (const g of out) {
      const first = names.get(g.spec.name);
      if (first !== undefined) {
        const p = r.positionOf(first.nameNode);
        r.error(
          g.nameNode,
          `guest name "${g.spec.name}" is used twice (first at line ${p.line}); give each guest a distinct "name"`,
        );
        ok = false;
      } else names.set(g.spec.name, g);
    }
    const perHost = out.reduce((n, g) => n + (g.spec.kind === 'modelled' ? g.spec.count : 1), 0);
    const total = perHost * hostCount;
    if (total > MAX_TOTAL_GUESTS) {
      r.errorAt(
        r.positionOf(v.key ?? v.node),
        `too many guests: ${total} in total (${perHost} per host x ${hostCount} host${hostCount === 1 ? '' : 's'})`,
        `at most ${MAX_TOTAL_GUESTS} guests in total`,
        String(total),
      );
      ok = false;
    }
    return ok ? out : undefined;
  }

  private guest(v: Val, what: string, x2apicAxis: MatrixAxis | undefined): GuestDraft | undefined {
    const r = this.r;
    const m = r.map(v, what);
    if (m === undefined) return undefined;
    const f = r.fields(m, what, ACCEPTED_KEYS.guest, m.has('workload') ? [] : ['os']);
    const workloadField = f.get('workload');
    if (workloadField !== undefined) return this.workloadGuest(f, workloadField, what, x2apicAxis);
    const osField = f.get('os');
    if (osField === undefined) return undefined;
    const os = r.oneOf(osField, `${what}.os`, [...GUEST_OS_NAMES, 'scripted'] as const, 'os');
    const nameField = f.get('name');
    const name =
      nameField === undefined
        ? (os ?? 'guest')
        : r.str(nameField, `${what}.name`, GUEST_NAME_RE, 'a name of letters, digits, ".", "_" or "-"');
    const vcpusField = f.get('vcpus');
    const vcpus =
      vcpusField === undefined ? 1 : r.int(vcpusField, `${what}.vcpus`, 1, MAX_VCPUS, `an integer 1..${MAX_VCPUS}`);
    const x2apicField = f.get('x2apic');
    let x2apic: boolean | undefined = false;
    if (x2apicField !== undefined) {
      if (x2apicAxis !== undefined) {
        this.conflict(x2apicField, `${what}.x2apic`, 'matrix.x2apic');
        x2apic = undefined;
      } else x2apic = r.bool(x2apicField, `${what}.x2apic`);
    }
    const nameNode = nameField?.node ?? osField.key;

    if (os === 'scripted') {
      let ok = true;
      const countField = f.get('count');
      if (countField !== undefined) {
        const c = r.int(countField, `${what}.count`, 1, MAX_TOTAL_GUESTS);
        if (c !== undefined && c > 1) {
          r.error(countField, `a scripted guest runs its script once: ${what}.count must be 1`, '1', String(c));
          ok = false;
        } else if (c === undefined) ok = false;
      }
      for (const k of ['phases', 'memory'] as const) {
        const kf = f.get(k);
        if (kf !== undefined) {
          r.error(kf.key, `"${k}" does not apply to a scripted guest (it runs its script, nothing else)`);
          ok = false;
        }
      }
      const scriptField = f.get('script');
      if (scriptField === undefined) {
        if (!f.mentions('script'))
          r.error(m, `a scripted guest needs a script (${what} has no "script" key)`, 'script: [ ... operations ... ]');
        return undefined;
      }
      const script = parseScript(r, scriptField, `${what}.script`, vcpus, MAX_VCPUS);
      if (!ok || script === undefined || vcpus === undefined || x2apic === undefined || name === undefined)
        return undefined;
      const spec: ScriptedGuestSpec = { kind: 'scripted', name, vcpus, x2apic, script };
      return { spec, x2apicSet: x2apicField !== undefined, nameNode };
    }

    const scriptField = f.get('script');
    if (scriptField !== undefined && os !== undefined) {
      r.error(scriptField.key, `"script" is only for guests with os: scripted (this guest runs ${os})`);
    }
    const count = opt(f, 'count', (cv) => r.int(cv, `${what}.count`, 1, MAX_TOTAL_GUESTS)) ?? 1;
    const memoryField = f.get('memory');
    const memoryBytes =
      memoryField === undefined
        ? DEFAULT_MEMORY_BYTES
        : r.size(memoryField, `${what}.memory`, 1, MAX_MEMORY_BYTES, '16TiB');
    const phasesField = f.get('phases');
    const phases: readonly PhaseSpec[] | undefined =
      phasesField === undefined ? [{ phase: 'idle' }] : this.phases(phasesField, `${what}.phases`);
    if (
      os === undefined ||
      scriptField !== undefined ||
      name === undefined ||
      vcpus === undefined ||
      x2apic === undefined ||
      memoryBytes === undefined ||
      phases === undefined
    ) {
      return undefined;
    }
    const spec: ModelledGuestSpec = { kind: 'modelled', os: os, count, vcpus, memoryBytes, x2apic, phases, name };
    return { spec, x2apicSet: x2apicField !== undefined, nameNode };
  }

  /** A workload-profile guest: `workload: FILE` (src/scenario/workload.ts) plus name, count, vcpus, x2apic. */
  private workloadGuest(
    f: Fields,
    wf: Field,
    what: string,
    x2apicAxis: MatrixAxis | undefined,
  ): GuestDraft | undefined {
    const r = this.r;
    let ok = true;
    for (const k of ['os', 'phases', 'memory', 'script'] as const) {
      const kf = f.get(k);
      if (kf !== undefined) {
        r.error(kf.key, `"${k}" does not apply to a workload-profile guest (the profile gives its OS and behaviour)`);
        ok = false;
      }
    }
    const path = r.str(
      wf,
      `${what}.workload`,
      /\.ya?ml$/,
      'the path of a workload profile (.yaml), relative to this scenario',
    );
    if (path === undefined) return undefined;
    const base = this.options.workloadBaseDir === undefined ? dirname(this.file) : this.options.workloadBaseDir;
    if (base === null) {
      r.error(
        wf,
        `${what}.workload: profile files cannot be read here (scenarios posted to the service must be self-contained)`,
        'a scenario without workload files, or run it with the CLI',
      );
      return undefined;
    }
    const file = isAbsolute(path) ? path : join(base, path);
    let profile: WorkloadProfile;
    try {
      profile = parseWorkloadProfile(readFileSync(file, 'utf8'), file);
    } catch (e) {
      const detail = e instanceof ScenarioError ? e.message : `cannot read it: ${(e as Error).message}`;
      r.error(wf, `${what}.workload: invalid workload profile ${path}:\n${detail}`);
      return undefined;
    }
    const nameField = f.get('name');
    const name =
      nameField === undefined
        ? profile.name
        : r.str(nameField, `${what}.name`, GUEST_NAME_RE, 'a name of letters, digits, ".", "_" or "-"');
    const count = opt(f, 'count', (cv) => r.int(cv, `${what}.count`, 1, MAX_TOTAL_GUESTS)) ?? 1;
    const vcpusField = f.get('vcpus');
    const vcpus =
      vcpusField === undefined
        ? profile.vcpus
        : r.int(vcpusField, `${what}.vcpus`, 1, MAX_VCPUS, `an integer 1..${MAX_VCPUS}`);
    const x2apicField = f.get('x2apic');
    let x2apic: boolean | undefined = profile.x2apic;
    if (x2apicField !== undefined) {
      if (x2apicAxis !== undefined) {
        this.conflict(x2apicField, `${what}.x2apic`, 'matrix.x2apic');
        x2apic = undefined;
      } else x2apic = r.bool(x2apicField, `${what}.x2apic`);
    }
    if (!ok || name === undefined || vcpus === undefined || x2apic === undefined) return undefined;
    if (vcpus === 1 && profile.perGuestSecond.ipis > 0) {
      r.error(
        vcpusField ?? wf,
        `${what}: the profile sends IPIs (${profile.perGuestSecond.ipis}/s), which needs at least 2 vCPUs`,
        'vcpus >= 2',
        '1',
      );
      return undefined;
    }
    const spec: ModelledGuestSpec = {
      kind: 'modelled',
      os: profile.os,
      count,
      vcpus,
      memoryBytes: DEFAULT_MEMORY_BYTES,
      x2apic,
      phases: [{ phase: 'idle' }],
      name,
      workload: profile,
    };
    return { spec, x2apicSet: x2apicField !== undefined, nameNode: nameField?.node ?? wf.key };
  }

  private phases(v: Val, what: string): PhaseSpec[] | undefined {
    const r = this.r;
    const items = r.seq(v, what, 'a list of phases');
    if (items === undefined) return undefined;
    if (items.length === 0) {
      r.error(v, `${what} is empty`, 'at least one phase (or leave phases out: idle until the end)', 'an empty list');
      return undefined;
    }
    const out: PhaseSpec[] = [];
    let ok = true;
    items.forEach((item, i) => {
      const pw = `${what}[${i}]`;
      const m = r.map(item, pw);
      if (m === undefined) {
        ok = false;
        return;
      }
      const f = r.fields(m, pw, ACCEPTED_KEYS.phase, ['phase']);
      const pf = f.get('phase');
      if (pf === undefined) {
        ok = false;
        return;
      }
      const phase = r.oneOf(pf, `${pw}.phase`, PHASE_NAMES, 'phase');
      if (phase === undefined) {
        ok = false;
        return;
      }
      const df = f.get('duration');
      const wf = f.get('work');
      const isLast = i === items.length - 1;
      const workBound = WORK_PHASES.includes(phase);
      if (!workBound && wf !== undefined) {
        r.error(wf.key, `phase ${phase} takes no "work" (only ${WORK_PHASES.join(', ')} do); give it a duration`);
        ok = false;
        return;
      }
      if (df !== undefined && wf !== undefined) {
        r.error(wf.key, `phase ${phase} has both "duration" and "work"; give exactly one`);
        ok = false;
        return;
      }
      if (df === undefined && wf === undefined) {
        if (f.mentions('duration') || f.mentions('work')) {
          ok = false;
          return;
        }
        if (phase === 'idle' && isLast) {
          out.push({ phase });
          return;
        }
        const need = workBound
          ? `"work" (${phase === 'disk-benchmark' ? 'bytes of I/O, e.g. 4GiB' : 'guest CPU time, e.g. 370s'}) or "duration"`
          : `"duration" (only a last idle phase may leave it out: it then runs until the end)`;
        r.error(m, `phase ${phase} needs ${need}`);
        ok = false;
        return;
      }
      if (df !== undefined) {
        const ns = r.duration(df, `${pw}.duration`, 1, MAX_DURATION_NS, '30 days');
        if (ns === undefined) ok = false;
        else out.push({ phase, durationNs: ns });
        return;
      }
      const work =
        phase === 'disk-benchmark'
          ? r.size(wf!, `${pw}.work`, 1, 2 ** 53 - 1, '2^53 bytes')
          : r.duration(wf!, `${pw}.work`, 1, MAX_DURATION_NS, '30 days of guest CPU time');
      if (work === undefined) ok = false;
      else out.push({ phase, work });
    });
    return ok ? out : undefined;
  }

  private variants(
    axes: readonly MatrixAxis[],
    base: {
      baseCpu: CpuProfile | undefined;
      baseCores: number | undefined;
      hostCount: number;
      basePolicy: PolicyName | undefined;
      baseTunables: readonly TunableEntry[];
      vmcs: VmcsOverrides | undefined;
      vmcsField: Field | undefined;
      guests: readonly GuestSpec[];
    },
  ): ScenarioVariant[] | undefined {
    const r = this.r;
    const combos = expandMatrix(axes);
    const out: ScenarioVariant[] = [];
    let ok = true;
    const names = new Set<string>();
    // Problems that depend on the combination are reported once, naming the variants they hit.
    const problems = new Map<string, { node: YamlNode; message: string; variants: string[] }>();
    const problem = (node: YamlNode, message: string, variant: string): void => {
      const key = `${node.range?.[0] ?? 0}:${message}`;
      const p = problems.get(key) ?? { node, message, variants: [] };
      p.variants.push(variant);
      problems.set(key, p);
    };
    for (const c of combos) {
      if (names.has(c.name)) {
        r.error(axes[0].keyNode, `two matrix combinations are both named "${c.name}"`);
        ok = false;
        continue;
      }
      names.add(c.name);
      const cpu = c.picks.get('cpu')?.profile ?? base.baseCpu;
      const policy = (c.picks.get('policy')?.value as PolicyName | undefined) ?? base.basePolicy;
      const coresPick = c.picks.get('cores')?.value as number | undefined;
      if (cpu === undefined || policy === undefined) {
        ok = false;
        continue;
      }
      const cores = coresPick ?? base.baseCores ?? cpu.threads;
      const tunables: Record<string, number> = {};
      const entries: TunableEntry[] = [...base.baseTunables];
      for (const axis of axes) {
        if (!axis.key.startsWith(MATRIX_TUNABLE_PREFIX)) continue;
        const tname = axis.key.slice(MATRIX_TUNABLE_PREFIX.length);
        const spec = TUNABLES.find((t) => t.name === tname)!;
        entries.push({
          name: tname,
          value: c.picks.get(axis.key)!.value as number,
          spec,
          keyNode: axis.keyNode,
          fromMatrix: true,
        });
      }
      for (const t of entries) {
        if (!t.spec.policies.includes(policy)) {
          problem(
            t.keyNode,
            `tunable "${t.name}" does not apply to policy ${policy}; it is a tunable of ${t.spec.policies.join(', ')}`,
            c.name,
          );
          ok = false;
          continue;
        }
        tunables[t.name] = t.value;
      }
      if (base.vmcs !== undefined && cpu.vendor !== 'intel') {
        problem(
          base.vmcsField!.key,
          `hypervisor.vmcs overrides VMX controls, but ${cpu.id} is an AMD CPU (SVM)`,
          c.name,
        );
        ok = false;
      }
      const x2apic = c.picks.get('x2apic')?.value as boolean | undefined;
      const guests = x2apic === undefined ? base.guests : base.guests.map((g) => ({ ...g, x2apic }));
      out.push({
        name: c.name,
        params: c.params,
        host: { cpu, cores, count: base.hostCount },
        hypervisor: { policy, tunables, ...(base.vmcs !== undefined ? { vmcs: base.vmcs } : {}) },
        guests,
      });
    }
    for (const p of problems.values()) {
      const which =
        axes.length === 0
          ? ''
          : ` (variant${p.variants.length === 1 ? '' : 's'} ${p.variants.map((v) => `"${v}"`).join(', ')})`;
      r.error(p.node, `${p.message}${which}`);
    }
    return ok ? out : undefined;
  }
}

/** Read an optional field with `read`; undefined when absent or invalid. */
function opt<T>(f: Fields | undefined, key: string, read: (v: Field) => T | undefined): T | undefined {
  const field = f?.get(key);
  return field === undefined ? undefined : read(field);
}
