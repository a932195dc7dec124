import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { CpuProfile } from '../core/cpu/profile.js';
import type { GuestModel, HostModel, PhaseBehaviour } from '../core/guests/model.js';
import { DEFAULT_HOST_OS, HOST_OS_NAMES, type HostOs } from './hostOs.js';
export { DEFAULT_HOST_OS, HOST_OS_NAMES, HOST_OS_OF, type HostOs } from './hostOs.js';
import { EXIT_KINDS, EXIT_SLOT_COUNT } from '../core/vcpu/exits.js';

/**
 * Loads the model data files (data/cost-model.yaml, data/guest-models.yaml) into typed,
 * frozen objects for the core. Every leaf parameter must carry its provenance: a citation, or
 * `estimated` + reasoning, or `calibrated` + fittedTo. This is the only place that reads them.
 */

/** Repository root: compiled to dist/src/model/data.js, three levels below it. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DATA_DIR = join(REPO_ROOT, 'data');

export class ModelDataError extends Error {}

export interface Param {
  readonly value: unknown;
  readonly unit?: string;
  readonly source: string;
  readonly reasoning?: string;
  readonly fittedTo?: string;
}

/** Every parameter with its dotted path, for reports and the provenance test. */
export interface ParamRecord extends Param {
  readonly path: string;
}

type Tree = Record<string, unknown>;

function isObject(x: unknown): x is Tree {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isParam(x: unknown): x is Param {
  return isObject(x) && 'value' in x;
}

function checkProvenance(p: Param, path: string): void {
  if (typeof p.source !== 'string' || p.source.length === 0)
    throw new ModelDataError(`${path}: parameter has no source`);
  if (p.source === 'estimated' && (typeof p.reasoning !== 'string' || p.reasoning.length === 0)) {
    throw new ModelDataError(`${path}: "estimated" needs a reasoning`);
  }
  if (p.source === 'calibrated' && (typeof p.fittedTo !== 'string' || p.fittedTo.length === 0)) {
    throw new ModelDataError(`${path}: "calibrated" needs fittedTo (the figure it was fitted to)`);
  }
}

/** Walk a tree and return every parameter leaf, checking provenance. */
export function collectParams(tree: unknown, path = ''): ParamRecord[] {
  const out: ParamRecord[] = [];
  if (isParam(tree)) {
    checkProvenance(tree, path);
    out.push({ ...tree, path });
    return out;
  }
  if (isObject(tree)) {
    for (const [k, v] of Object.entries(tree)) {
      if (k === 'schemaVersion' || k === 'extends' || k === 'notes' || k === 'family') continue;
      out.push(...collectParams(v, path ? `${path}.${k}` : k));
    }
  }
  return out;
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (isParam(over) || !isObject(over) || !isObject(base) || isParam(base)) return over;
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

function readYaml(file: string): Tree {
  const doc: unknown = parse(readFileSync(file, 'utf8'), { merge: true });
  if (!isObject(doc)) throw new ModelDataError(`${file}: expected a mapping at the top level`);
  return doc;
}

function num(tree: Tree, key: string, path: string): number {
  const p = tree[key];
  if (!isParam(p) || typeof p.value !== 'number' || !Number.isFinite(p.value))
    throw new ModelDataError(`${path}.${key}: expected a numeric parameter`);
  return p.value;
}

/** A numeric parameter that counts cycles: a number >= 0. */
function cycleCount(tree: Tree, key: string, path: string): number {
  const n = num(tree, key, path);
  if (n < 0) throw new ModelDataError(`${path}.${key}: expected a cycle count >= 0, got ${n}`);
  return n;
}

function bool(tree: Tree, key: string, path: string): boolean {
  const p = tree[key];
  if (!isParam(p) || typeof p.value !== 'boolean')
    throw new ModelDataError(`${path}.${key}: expected a boolean parameter`);
  return p.value;
}

function sub(tree: Tree, key: string, path: string): Tree {
  const s = tree[key];
  if (!isObject(s)) throw new ModelDataError(`${path}.${key}: expected a mapping`);
  return s;
}

/** A phase's clock-read rate: its own `clockReadsPerBusySecond` if the data gives one, else the model's. */
function clockReads(tree: Tree, path: string, modelRate: number): number {
  return tree.clockReadsPerBusySecond === undefined ? modelRate : num(tree, 'clockReadsPerBusySecond', path);
}

function phase(tree: Tree, path: string, modelReads: number): PhaseBehaviour {
  return Object.freeze({
    busyFraction: num(tree, 'busyFraction', path),
    burstNs: num(tree, 'burstNs', path),
    cr8PerBusySecond: num(tree, 'cr8PerBusySecond', path),
    ioPerBusySecond: num(tree, 'ioPerBusySecond', path),
    ipiPerBusySecond: num(tree, 'ipiPerBusySecond', path),
    clockReadsPerBusySecond: clockReads(tree, path, modelReads),
  });
}

/**
 * A compute phase's behaviour: its vCPUs run flat out (src/core/guests/bursts.ts isAlwaysBusy), so
 * it has no busy fraction or bursts of its own in the data - busy all the time, one endless burst.
 */
function computePhase(tree: Tree, path: string, modelReads: number): PhaseBehaviour {
  return Object.freeze({
    busyFraction: 1,
    burstNs: Infinity,
    cr8PerBusySecond: num(tree, 'cr8PerBusySecond', path),
    ioPerBusySecond: num(tree, 'ioPerBusySecond', path),
    ipiPerBusySecond: num(tree, 'ipiPerBusySecond', path),
    clockReadsPerBusySecond: clockReads(tree, path, modelReads),
  });
}

function resolveModel(name: string, models: Tree, bases: Tree, seen: string[] = []): Tree {
  const own = (models[name] ?? bases[name]) as Tree | undefined;
  if (!isObject(own)) throw new ModelDataError(`guest model "${name}" is not defined`);
  if (seen.includes(name)) throw new ModelDataError(`guest model "${name}": extends cycle ${seen.join(' -> ')}`);
  const parent = typeof own.extends === 'string' ? resolveModel(own.extends, models, bases, [...seen, name]) : {};
  return deepMerge(parent, own) as Tree;
}

export function buildGuestModel(os: string, t: Tree): GuestModel {
  const p = `models.${os}`;
  const timer = sub(t, 'timer', p);
  const phases = sub(t, 'phases', p);
  const install = sub(t, 'install', p);
  const disk = sub(t, 'diskBenchmark', p);
  const clock = sub(t, 'clock', p);
  const reads = num(clock, 'readsPerBusySecond', `${p}.clock`);
  const idle = phase(sub(phases, 'idle', `${p}.phases`), `${p}.phases.idle`, reads);
  const compute = computePhase(sub(phases, 'compute', `${p}.phases`), `${p}.phases.compute`, reads);
  const family = t.family;
  if (family !== 'windows' && family !== 'linux' && family !== 'freebsd')
    throw new ModelDataError(`${p}.family: expected windows, linux or freebsd`);
  return Object.freeze({
    os,
    family,
    usesX2apicWhenOffered: bool(t, 'usesX2apicWhenOffered', p),
    usesCr8: bool(t, 'usesCr8', p),
    raisedCr8: num(t, 'raisedCr8', p),
    raisedFraction: num(t, 'raisedFraction', p),
    raisedHoldNs: num(t, 'raisedHoldNs', p),
    timer: Object.freeze({
      hz: num(timer, 'hz', `${p}.timer`),
      vector: num(timer, 'vector', `${p}.timer`),
      tickless: bool(timer, 'tickless', `${p}.timer`),
      clockOwnerTicksWhenIdle: bool(timer, 'clockOwnerTicksWhenIdle', `${p}.timer`),
      oneShotRearm: bool(timer, 'oneShotRearm', `${p}.timer`),
      tscDeadline: bool(timer, 'tscDeadline', `${p}.timer`),
    }),
    deviceVector: num(t, 'deviceVector', p),
    completionIpiVector: num(t, 'completionIpiVector', p),
    ipiVector: num(t, 'ipiVector', p),
    clockIpiVector: num(t, 'clockIpiVector', p),
    isrNs: num(t, 'isrNs', p),
    timerIsrNs: num(t, 'timerIsrNs', p),
    clock: Object.freeze({
      readsPerBusySecond: reads,
      readsPerOwnerTick: num(clock, 'readsPerOwnerTick', `${p}.clock`),
      platformTimerHz: num(clock, 'platformTimerHz', `${p}.clock`),
    }),
    phases: Object.freeze({
      boot: phase(sub(phases, 'boot', `${p}.phases`), `${p}.phases.boot`, reads),
      idle,
      install: phase(sub(phases, 'install', `${p}.phases`), `${p}.phases.install`, reads),
      build: phase(sub(phases, 'build', `${p}.phases`), `${p}.phases.build`, reads),
      'disk-benchmark': phase(sub(phases, 'disk-benchmark', `${p}.phases`), `${p}.phases.disk-benchmark`, reads),
      compute,
      // A spinning vCPU is a compute vCPU executing a PAUSE loop (src/core/guests/spin.ts).
      'lock-spin': compute,
      // Between its hops a ping-pong vCPU is idle (src/core/guests/pingPong.ts); the processes that
      // pass the message do no I/O and send no IPI but the message's, so the idle phase's background
      // rates, per second of running time, would charge the hops with a daemon's I/O: none here
      // (the idle wake-ups' own share of it, busyFraction x rate, is below one a second).
      'ping-pong': Object.freeze({ ...idle, ioPerBusySecond: 0, ipiPerBusySecond: 0 }),
    }),
    install: Object.freeze({
      steps: num(install, 'steps', `${p}.install`),
      cpuWorkNs: num(install, 'cpuWorkNs', `${p}.install`),
      deviceServiceNs: num(install, 'deviceServiceNs', `${p}.install`),
    }),
    diskBenchmark: Object.freeze({
      requestBytes: num(disk, 'requestBytes', `${p}.diskBenchmark`),
      deviceBytesPerSecond: num(disk, 'deviceBytesPerSecond', `${p}.diskBenchmark`),
      deviceLatencyNs: num(disk, 'deviceLatencyNs', `${p}.diskBenchmark`),
      cpuPerRequestNs: num(disk, 'cpuPerRequestNs', `${p}.diskBenchmark`),
    }),
  });
}

export interface ModelData {
  readonly guestModels: ReadonlyMap<string, GuestModel>;
  readonly costModel: CostModel;
  /** Every parameter of both files with its provenance. */
  readonly params: readonly ParamRecord[];
}

export interface CostModel {
  readonly exitRoundTripCycles: Readonly<Record<string, number>>;
  readonly handlerCycles: Readonly<Record<'bhyve' | 'kvm', Readonly<Record<string, number>>>>;
  /** The in-the-field part of an exit's host time, ns per exit name (data/cost-model.yaml fieldNs). */
  readonly fieldNs: Readonly<Record<'bhyve' | 'kvm', Readonly<Record<string, number>>>>;
  /**
   * The field part of an MSR-write exit to an x2APIC register other than the timer's initial count
   * (cost-model.yaml apicMsrWriteFieldNs), per hypervisor; absent: the MSR-write slot's own.
   */
  readonly apicMsrWriteFieldNs: Readonly<Partial<Record<'bhyve' | 'kvm', number>>>;
  /**
   * The waker's share of waking a vCPU blocked in HLT, charged to the sender's exit (cost-model.yaml
   * wakeupWakerNs), per hypervisor; absent: none.
   */
  readonly wakeupWakerNs: Readonly<Partial<Record<'bhyve' | 'kvm', number>>>;
  /** The host kernel's clock tick rate, by host OS (cost-model.yaml hostTickHz). */
  readonly hostTickHz: Readonly<Record<HostOs, number>>;
  /** Whether the host OS ticks on every busy CPU (false: one CPU runs the clock; cost-model.yaml hostTickOnEveryCpu). */
  readonly hostTickOnEveryCpu: Readonly<Record<HostOs, boolean>>;
  readonly haltWakeupNs: number;
  /** The part of a HLT exit's round trip paid after the wake-up, host TSC cycles (cost-model.yaml haltResumeCycles). */
  readonly haltResumeCycles: number;
  readonly ipiLatencyNs: number;
  /** VMM host ns outside any exit per platform-timer period (cost-model.yaml deviceModelTickNs). */
  readonly deviceModelTickNs: Readonly<Record<'bhyve' | 'kvm', number>>;
  /** TSC ticks between two PAUSEs of a guest spin loop, by microarchitecture (cost-model.yaml pauseLoopIntervalTsc). */
  readonly pauseLoopIntervalTsc: Readonly<Record<string, number>>;
}

let cached: ModelData | undefined;

/** Load and validate both data files (cached per process). */
export function loadModelData(dir: string = DATA_DIR): ModelData {
  if (cached && dir === DATA_DIR) return cached;
  const cost = readYaml(join(dir, 'cost-model.yaml'));
  const guests = readYaml(join(dir, 'guest-models.yaml'));
  const params = [
    ...collectParams(cost).map((p) => ({ ...p, path: `cost-model.${p.path}` })),
    ...collectParams(guests).map((p) => ({ ...p, path: `guest-models.${p.path}` })),
  ];
  const models = sub(guests, 'models', 'guest-models');
  const bases = sub(guests, 'bases', 'guest-models');
  const guestModels = new Map<string, GuestModel>();
  for (const name of Object.keys(models))
    guestModels.set(name, buildGuestModel(name, resolveModel(name, models, bases)));

  const rt = sub(cost, 'exitRoundTripCycles', 'cost-model');
  const exitRoundTripCycles: Record<string, number> = {};
  for (const k of Object.keys(rt)) exitRoundTripCycles[k] = num(rt, k, 'cost-model.exitRoundTripCycles');
  const hc = sub(cost, 'handlerCycles', 'cost-model');
  const handlerCycles = { bhyve: {} as Record<string, number>, kvm: {} as Record<string, number> };
  for (const hv of ['bhyve', 'kvm'] as const) {
    const t = sub(hc, hv, 'cost-model.handlerCycles');
    for (const k of Object.keys(t))
      if (isParam(t[k])) handlerCycles[hv][k] = num(t, k, `cost-model.handlerCycles.${hv}`);
  }
  const fc = sub(cost, 'fieldNs', 'cost-model');
  const fieldNs = { bhyve: {} as Record<string, number>, kvm: {} as Record<string, number> };
  for (const hv of ['bhyve', 'kvm'] as const) {
    const t = sub(fc, hv, 'cost-model.fieldNs');
    for (const k of Object.keys(t)) {
      if (!EXIT_KINDS.some((e) => e.name === k))
        throw new ModelDataError(`cost-model.fieldNs.${hv}.${k}: no such exit`);
      fieldNs[hv][k] = num(t, k, `cost-model.fieldNs.${hv}`);
    }
  }
  const tick = sub(cost, 'hostTickHz', 'cost-model');
  const tickEvery = sub(cost, 'hostTickOnEveryCpu', 'cost-model');
  const apicField = sub(cost, 'apicMsrWriteFieldNs', 'cost-model');
  const deviceModel = sub(cost, 'deviceModelTickNs', 'cost-model');
  const apicMsrWriteFieldNs: Partial<Record<'bhyve' | 'kvm', number>> = {};
  for (const hv of ['bhyve', 'kvm'] as const)
    if (apicField[hv] !== undefined) apicMsrWriteFieldNs[hv] = num(apicField, hv, 'cost-model.apicMsrWriteFieldNs');
  const waker = sub(cost, 'wakeupWakerNs', 'cost-model');
  const wakeupWakerNs: Partial<Record<'bhyve' | 'kvm', number>> = {};
  for (const hv of ['bhyve', 'kvm'] as const)
    if (waker[hv] !== undefined) wakeupWakerNs[hv] = num(waker, hv, 'cost-model.wakeupWakerNs');
  const pl = sub(cost, 'pauseLoopIntervalTsc', 'cost-model');
  const pauseLoopIntervalTsc: Record<string, number> = {};
  for (const k of Object.keys(pl)) pauseLoopIntervalTsc[k] = num(pl, k, 'cost-model.pauseLoopIntervalTsc');
  const costModel: CostModel = Object.freeze({
    exitRoundTripCycles: Object.freeze(exitRoundTripCycles),
    handlerCycles: Object.freeze({ bhyve: Object.freeze(handlerCycles.bhyve), kvm: Object.freeze(handlerCycles.kvm) }),
    fieldNs: Object.freeze({ bhyve: Object.freeze(fieldNs.bhyve), kvm: Object.freeze(fieldNs.kvm) }),
    apicMsrWriteFieldNs: Object.freeze(apicMsrWriteFieldNs),
    wakeupWakerNs: Object.freeze(wakeupWakerNs),
    hostTickHz: Object.freeze(
      Object.fromEntries(HOST_OS_NAMES.map((os) => [os, num(tick, os, 'cost-model.hostTickHz')])) as Record<
        HostOs,
        number
      >,
    ),
    hostTickOnEveryCpu: Object.freeze(
      Object.fromEntries(
        HOST_OS_NAMES.map((os) => [os, bool(tickEvery, os, 'cost-model.hostTickOnEveryCpu')]),
      ) as Record<HostOs, boolean>,
    ),
    haltWakeupNs: num(cost, 'haltWakeupNs', 'cost-model'),
    haltResumeCycles: cycleCount(cost, 'haltResumeCycles', 'cost-model'),
    ipiLatencyNs: num(cost, 'ipiDeliveryNs', 'cost-model'),
    deviceModelTickNs: Object.freeze({
      bhyve: num(deviceModel, 'bhyve', 'cost-model.deviceModelTickNs'),
      kvm: num(deviceModel, 'kvm', 'cost-model.deviceModelTickNs'),
    }),
    pauseLoopIntervalTsc: Object.freeze(pauseLoopIntervalTsc),
  });
  const data = Object.freeze({ guestModels, costModel, params: Object.freeze(params) });
  if (dir === DATA_DIR) cached = data;
  return data;
}

/**
 * Host ns per exit slot for a CPU and hypervisor: (hardware round trip + handler) cycles at the
 * profile's base clock, plus the in-the-field part (fieldNs: the host's work for that kind of exit).
 * Exits without a handler or field figure cost the round trip only.
 */
export function exitCostTable(cost: CostModel, profile: CpuProfile, hypervisor: 'bhyve' | 'kvm'): Float64Array {
  const table = new Float64Array(EXIT_SLOT_COUNT);
  const roundTrip = cost.exitRoundTripCycles[profile.microarchitecture];
  if (roundTrip === undefined)
    throw new ModelDataError(
      `cost model has no exit round trip for microarchitecture "${profile.microarchitecture}" (CPU ${profile.id})`,
    );
  const handlers = cost.handlerCycles[hypervisor];
  const field = cost.fieldNs[hypervisor];
  for (const kind of EXIT_KINDS) {
    const cycles = roundTrip + (handlers[kind.name] ?? 0);
    table[kind.slot] = Math.round((cycles * 1000) / profile.baseClockMHz) + (field[kind.name] ?? 0);
  }
  return table;
}

/**
 * Host ns of an MSR-write exit to an x2APIC register other than the timer's initial count (EOI,
 * ICR, ...): the MSR-write slot's round trip + handler with the apicMsrWriteFieldNs field part
 * instead of the slot's timer-arming one; -1 when the cost model gives the hypervisor none (the slot's
 * cost then applies: MachineCore.apicMsrWriteCostNs).
 */
export function apicMsrWriteCostNs(cost: CostModel, profile: CpuProfile, hypervisor: 'bhyve' | 'kvm'): number {
  const field = cost.apicMsrWriteFieldNs[hypervisor];
  if (field === undefined) return -1;
  const name = profile.vendor === 'intel' ? 'MSR_WRITE' : 'VMEXIT_MSR';
  const cycles = cost.exitRoundTripCycles[profile.microarchitecture] + (cost.handlerCycles[hypervisor][name] ?? 0);
  return Math.round((cycles * 1000) / profile.baseClockMHz) + field;
}

/**
 * TSC ticks between two PAUSEs of a guest's spin loop on this CPU (PAUSE-loop exiting compares it
 * with PLE_Gap, AMD's pause filter with its threshold); undefined where the microarchitecture has no figure.
 */
export function pauseLoopIntervalTsc(cost: CostModel, profile: CpuProfile): number | undefined {
  return cost.pauseLoopIntervalTsc[profile.microarchitecture];
}

/**
 * Host timer ticks per second a CPU running a vCPU thread takes: the OS's tick rate where every busy
 * CPU ticks; where one CPU runs the clock (illumos), the rate over the host's cores - the share of
 * time an unpinned vCPU thread spends on the clock CPU.
 */
export function hostTickRate(cost: CostModel, os: HostOs, cores: number, tickHz?: number): number {
  const hz = tickHz ?? cost.hostTickHz[os];
  return cost.hostTickOnEveryCpu[os] ? hz : hz / Math.max(1, cores);
}

export function hostModel(
  cost: CostModel,
  hypervisor: 'bhyve' | 'kvm',
  os: HostOs = DEFAULT_HOST_OS[hypervisor],
  cores = 1,
  tickHz?: number,
): HostModel {
  return Object.freeze({
    hostTickHz: hostTickRate(cost, os, cores, tickHz),
    ipiLatencyNs: cost.ipiLatencyNs,
    haltWakeupNs: cost.haltWakeupNs,
    wakeupWakerNs: cost.wakeupWakerNs[hypervisor] ?? 0,
    deviceModelTickNs: cost.deviceModelTickNs[hypervisor],
  });
}
