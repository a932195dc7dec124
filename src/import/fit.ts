/**
 * Fit a workload profile (src/scenario/workload.ts) to measured exit rates: find the instruction and
 * event rates whose simulation, under the CPU profile and policy the measurement came from,
 * reproduces the measured exits per second of each reason.
 *
 * Each exit reason is assigned one "driver" — the profile rate that causes it (CR_ACCESS <- %cr8
 * writes, HLT <- hlts, EPT_VIOLATION and KVM's EPT_MISCONFIG <- MMIO stores, APIC_ACCESS <- interrupts
 * (their EOIs), ...), or an opaque rate when the model has no cause for it. The drivers are then
 * adjusted by fixed-point iteration on the real engine: rate <- rate x measured / simulated, every
 * iteration with the same seed (common random numbers: the iteration sees no sampling noise). Reasons
 * interact (an interrupt adds its EOI exit, a HLT waits for an interrupt), which is why the fit
 * simulates instead of inverting a table. A reason whose driver turns out not to cause it under this
 * configuration (e.g. %cr8 writes when the TPR is shadowed: CR_ACCESS is then CR0/CR4 traffic) is
 * refitted as opaque.
 *
 * Pure apart from the CPU it burns: no I/O.
 */
import type { CpuProfile } from '../core/cpu/profile.js';
import type { PolicyName, Tunables } from '../core/hypervisor/policy.js';
import { EXIT_KINDS, exitKindByName } from '../core/vcpu/exits.js';
import type { ModelData } from '../model/data.js';
import { roundSignificant } from '../results/figures.js';
import { MAX_RATE_PER_SECOND } from '../scenario/workload.js';
import {
  WORKLOAD_RATE_NAMES,
  type GuestOsName,
  type WorkloadProfile,
  type WorkloadRateName,
} from '../scenario/types.js';
import { DRIVERS, driverName, readValue, valueIn, writeValue, type Driver, type DriverState } from './drivers.js';
import { hostOsOf } from './hostTick.js';
import { simulateProfile } from './simulateProfile.js';

interface FitConfig {
  readonly name: string;
  readonly os: GuestOsName;
  readonly vcpus: number;
  readonly x2apic: boolean;
  readonly cpu: CpuProfile;
  readonly policy: PolicyName;
  readonly tunables: Tunables;
  /** The measured host's tick (Hz), when stated (import --host-tick-hz); absent: its OS's default. */
  readonly hostTickHz?: number;
  /** Simulated seconds per fit iteration. */
  readonly simSeconds: number;
  readonly seed: number;
  readonly maxIterations: number;
  /** Device interrupts per vCPU per second, pinned; default: fitted, starting at 2 x the HLT rate (see fitWorkload). */
  readonly interruptsPerSecond?: number;
  readonly data: ModelData;
  readonly source?: Readonly<Record<string, unknown>>;
  /** The report's time per exit to carry into the profile (import --carry-exit-times). */
  readonly measuredTimePerExit?: WorkloadProfile['measuredTimePerExit'];
}

interface FitRow {
  readonly reason: string;
  /** What was fitted to it: a profile rate, "interrupts", "opaque", or "-" (not driven: a consequence of others). */
  readonly driver: string;
  /** Exits per vCPU per second. */
  readonly measured: number;
  readonly simulated: number;
  /** (simulated - measured) / measured x 100; null when nothing was measured. */
  readonly errorPercent: number | null;
}

export interface FitResult {
  readonly profile: WorkloadProfile;
  readonly rows: readonly FitRow[];
  readonly iterations: number;
  /** Measured reasons the model has no exit kind for (not simulated). */
  readonly unmodelled: readonly { readonly reason: string; readonly perSecond: number }[];
  /** What the fit assumed beyond the report (e.g. the %cr8 prior), in words. */
  readonly notes: readonly string[];
  /** The largest |error| in % over the fitted reasons (what --max-error judges; rows with errorPercent). */
  readonly worstErrorPercent: number;
  /** Why the best in-range fit misses the report, in words (empty when it reaches it); see MISS_PERCENT. */
  readonly misses: readonly string[];
  /**
   * The largest |error| in % over the reasons in `misses` (0 when none): what the fit misses by, where
   * worstErrorPercent may be a reason inside its sampling noise (one exit of a rare reason not drawn).
   */
  readonly worstMissPercent: number;
}

/**
 * The largest rate the workload-profile reader accepts, per vCPU per second (1 per 10 ns). Every
 * fitted rate stays at or below it, so whatever import writes, the reader accepts
 * (test/import/profileRange.test.ts).
 */
export const MAX_PROFILE_RATE = MAX_RATE_PER_SECOND;

/**
 * A fitted reason missed by more than this is a miss the fit reports (import's default --max-error,
 * and its warning): the model cannot reproduce the report under the measured configuration.
 */
export const MISS_PERCENT = 5;

/**
 * The least share of time a vCPU runs, for the fit's interrupt floor. A vCPU that halts H times a
 * wall second on I wake-up interrupts a second runs a share of about 1 - H/I of the time (it sleeps
 * 1/I after each HLT), so with I down to H it never runs and every per-guest-second rate needed to
 * reproduce the report grows without bound (the fit diverged so: docs/IMPORT.md "When the fit cannot reach the report").
 * 1 % keeps the fitted rates within 100x the measured wall rates; a measured share below it is not
 * reproduced (judgement).
 */
const MIN_RUNNING_SHARE = 0.01;

/** Measured exits per vCPU per second, by exit name (names as in EXIT_KINDS; others are unmodelled). */
type MeasuredRates = ReadonlyMap<string, number>;

function buildProfile(
  config: FitConfig,
  rates: Record<string, number>,
  opaque: Record<string, number>,
  irq: number,
): WorkloadProfile {
  const per: Record<string, number> = {};
  for (const k of WORKLOAD_RATE_NAMES) per[k] = inRange(rates[k]);
  if (per.cr8Writes > 0) per.cr8Writes = 2 * Math.round(per.cr8Writes / 2); // raise/lower pairs
  const op: Record<string, number> = {};
  for (const [k, v] of Object.entries(opaque)) if (v > 0) op[k] = inRange(v);
  return Object.freeze({
    name: config.name,
    os: config.os,
    vcpus: config.vcpus,
    x2apic: config.x2apic,
    perGuestSecond: Object.freeze(per as Record<WorkloadRateName, number>),
    interruptsPerSecond: inRange(irq),
    opaquePerGuestSecond: Object.freeze(op),
    ...(config.measuredTimePerExit ? { measuredTimePerExit: config.measuredTimePerExit } : {}),
    ...(config.source ? { source: config.source } : {}),
  });
}

/** A rate as the profile holds it: 6 significant digits, within the reader's range 0..MAX_PROFILE_RATE. */
function inRange(x: number): number {
  return Math.min(MAX_PROFILE_RATE, Math.max(0, sixDigits(x)));
}

/** Rates are written with 6 significant digits: the profile file is the fit's output, read by people. */
export function sixDigits(x: number): number {
  return Number.isFinite(x) ? roundSignificant(x, 6) : 0;
}

/** Exits a %cr8 write causes when the TPR is not shadowed (Intel MOV-to-CR8 exiting; SVM CR8 write intercept). */
const CR8_EXIT_NAMES = ['CR_ACCESS', 'VMEXIT_CR8_WRITE'];

/**
 * Windows raises and lowers IRQL through %cr8 tens of thousands of times a second (KfRaiseIrql /
 * KeLowerIrql; docs/MODEL.md §4). A report from a host that shadows the TPR has no exit for any
 * of it, so the fit alone would give the profile no %cr8 traffic and every target without a TPR
 * shadow would be predicted to take none. For a Windows guest whose report shows (almost) no CR8
 * exits, the guest model's own steady-state rate is taken instead - its `idle` phase, per busy
 * guest-second, the unit of the profile's rates - as a prior, not fitted (nothing in the report
 * constrains it), and the fit says so. A raise/lower pair is a read and two writes.
 */
function cr8Prior(
  measured: MeasuredRates,
  config: FitConfig,
): { readonly writes: number; readonly reads: number; readonly note: string } | undefined {
  const model = config.data.guestModels.get(config.os);
  if (model === undefined || !model.usesCr8) return undefined;
  const perBusySecond = model.phases.idle.cr8PerBusySecond;
  const writes = (2 / 3) * perBusySecond;
  let cr8Exits = 0;
  for (const n of CR8_EXIT_NAMES) cr8Exits += measured.get(n) ?? 0;
  // The report's CR8 exits cover less than 1 % of the writes the model expects: the host shadowed the TPR.
  if (writes <= 0 || cr8Exits >= 0.01 * writes) return undefined;
  // ... unless the configuration the report is fitted on does not: then its writes would all exit,
  // the prior could not be reproduced (the fit chased it into nonsense), and the report's few CR8
  // exits say the guest wrote %cr8 rarely there, or that --cpu / --policy is not the measured host.
  if (cr8WritesExit(config, writes)) return { writes: 0, reads: 0, note: cr8ConflictNote(config) };
  return {
    writes,
    reads: perBusySecond / 3,
    note:
      `%cr8 prior: the report has ${cr8Exits > 0 ? 'almost ' : ''}no CR8 exits, so the measured host shadowed ` +
      `the TPR; the profile takes the ${config.os} guest model's %cr8 traffic (${sixDigits(perBusySecond)} ` +
      'accesses per busy guest-second, its idle phase) instead of fitting it: a target without a TPR shadow ' +
      'then exits on each write, as the seed measured (docs/IMPORT.md)',
  };
}

/** Whether `writes` %cr8 writes per guest-second exit under the fit's configuration (a short probe run). */
function cr8WritesExit(config: FitConfig, writes: number): boolean {
  const rates: Record<string, number> = {};
  for (const k of WORKLOAD_RATE_NAMES) rates[k] = 0;
  rates.cr8Writes = writes;
  const probe = buildProfile(config, rates, {}, 0);
  const sim = simulateProfile(
    probe,
    config.cpu,
    config.policy,
    config.tunables,
    0.1,
    config.seed,
    config.data,
    config.hostTickHz,
  );
  let exits = 0;
  for (const n of CR8_EXIT_NAMES) {
    const kind = exitKindByName(n);
    if (kind !== undefined && kind.vendor === config.cpu.vendor) exits += sim.perSecond[kind.slot];
  }
  return exits >= 0.01 * writes;
}

function cr8ConflictNote(config: FitConfig): string {
  return (
    `no %cr8 prior: the report has (almost) no CR8 exits, but ${config.cpu.id} under ${config.policy} ` +
    `exits on every %cr8 write, so the ${config.os} guest model's %cr8 traffic cannot be taken as the ` +
    'prior (it would exit); %cr8 writes are fitted to the CR8 exits the report has. If the measured host ' +
    'shadowed the TPR, choose its --cpu/--policy (docs/IMPORT.md)'
  );
}

/** Fit a profile to measured rates (per vCPU per second, by exit name). */
export function fitWorkload(measured: MeasuredRates, config: FitConfig): FitResult {
  const vendor = config.cpu.vendor;
  const unmodelled: { reason: string; perSecond: number }[] = [];
  const drivers: DriverState[] = [];
  const taken = new Set<string>();
  // Larger reasons first pick their driver; a driver serves one reason, the others become opaque.
  const entries = [...measured.entries()]
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const found = cr8Prior(measured, config);
  const prior = found !== undefined && found.writes > 0 ? found : undefined;
  const notes: string[] = found === undefined ? [] : [found.note];
  for (const [reason, perSecond] of entries) {
    const kind = exitKindByName(reason);
    if (kind === undefined || kind.vendor !== vendor) {
      unmodelled.push({ reason, perSecond });
      continue;
    }
    let driver: Driver = DRIVERS[reason] ?? { kind: 'opaque' };
    // With the prior the %cr8 rates are given, not fitted: CR8 exits of the report are other CR traffic.
    if (prior !== undefined && driver.kind === 'rate' && (driver.name === 'cr8Writes' || driver.name === 'cr8Reads'))
      driver = { kind: 'opaque' };
    if (driver.kind === 'rate' && driver.name === 'ipis' && config.vcpus < 2) driver = { kind: 'opaque' };
    const key = driverName(driver);
    if (driver.kind !== 'opaque' && taken.has(key)) driver = { kind: 'opaque' };
    if (driver.kind !== 'opaque') taken.add(key);
    drivers.push({ slot: kind.slot, reason, driver, measured: perSecond });
  }
  const rates: Record<string, number> = {};
  for (const k of WORKLOAD_RATE_NAMES) rates[k] = 0;
  const opaque: Record<string, number> = {};
  const irq = { v: 0 };
  for (const d of drivers) writeValue(d, d.measured, rates, opaque);
  if (prior !== undefined) {
    rates.cr8Writes = prior.writes;
    rates.cr8Reads = prior.reads;
  }
  // No exit counts interrupts directly: start at two per HLT (each HLT needs a wake-up), unless given.
  irq.v = config.interruptsPerSecond ?? 2 * rates.hlts;

  const irqPinned = config.interruptsPerSecond !== undefined;
  // The reason the HLT rate drives, found once: its measured rate sets the wake-up floor, the share fit
  // works through it, and the best iterate's running share is read from it.
  const hltDriver = drivers.find((d) => drives(d, 'hlts'));
  const hltMeasured = hltDriver?.measured ?? 0;
  // Lowered no further than this: below it the vCPU would (almost) never run (MIN_RUNNING_SHARE).
  const irqFloor = hltMeasured / (1 - MIN_RUNNING_SHARE);
  if (!irqPinned) irq.v = Math.min(MAX_PROFILE_RATE, Math.max(irq.v, irqFloor));
  // The host's timer ticks land on a vCPU in guest mode only (docs/MODEL.md section 3), so its
  // host-interrupt exits are the ticks per guest-second times the share of time it runs. When they
  // overshoot with their own driver at (almost) nothing, that share is what fits them: it is read from
  // each simulation and set through the wake-up interrupt rate I (a vCPU halting H times a second runs
  // 1 - H/I of the time), up or down, never above where I started (shareFit).
  const irqStart = irq.v;
  const hostIrq = drivers.find((d) => drives(d, 'hostInterrupts'));
  let shareFitting = false;
  let iterations = 0;
  const silent = new Map<DriverState, number>();
  const countScale = config.simSeconds * config.vcpus;
  // Every iterate (the profile exactly as simulated, and its exits); the fit keeps the best
  // (bestIterate): least worst relative error over the measured reasons - what the fit is judged by
  // (import --max-error), so a small reason is not given up for a few more exits of a big one.
  type Iterate = {
    profile: WorkloadProfile;
    sim: Float64Array;
    worst: number;
    worstFree: number;
    miss: number;
    drivers: Driver[];
    stuck: number[];
  };
  const iterates: Iterate[] = [];
  for (let it = 0; it < config.maxIterations; it++) {
    iterations = it + 1;
    const profile = buildProfile(config, rates, opaque, irq.v);
    const simulated = simulateProfile(
      profile,
      config.cpu,
      config.policy,
      config.tunables,
      config.simSeconds,
      config.seed,
      config.data,
      config.hostTickHz,
    );
    const sim = simulated.perSecond;
    let worst = 0;
    let worstFree = 0;
    let miss = 0;
    const stuck: number[] = [];
    for (const d of drivers) {
      const got = sim[d.slot];
      miss += Math.abs(got - d.measured);
      // Converged when within 0.1 %, or within one exit of the measured count (rare reasons).
      const err =
        got <= 0
          ? Infinity
          : Math.abs(got - d.measured) * countScale <= 1.5
            ? 0
            : Math.abs(got - d.measured) / d.measured;
      if (err > worst) worst = err;
      // A reason that overshoots with its driver down to (almost) nothing is out of the fit's reach
      // (others cause it: missReasons); the best iterate is the one that fits the rest best.
      if (err > MISS_PERCENT / 100 && got > d.measured && readValue(d, rates, opaque) <= 0.01 * d.measured)
        stuck.push(d.slot);
      else if (err > worstFree) worstFree = err;
    }
    iterates.push({ profile, sim, worst, worstFree, miss, drivers: drivers.map((d) => d.driver), stuck });
    if (worst < 1e-3) break;
    // Interrupts cause exits of other reasons (the host's kick, the EOI). If a reason overshoots
    // although its own driver is down to nothing, and no exit pins the interrupt rate, lower the
    // interrupt rate towards the HLT rate (every HLT needs a wake-up): fewer wake-ups, fewer of
    // those exits, and longer idle periods (host timer ticks hit running vCPUs only).
    const canFitShare = hostIrq !== undefined && hltDriver !== undefined && !irqPinned && hltMeasured > 0;
    let irqFactor = 1;
    for (const d of drivers) {
      const got = sim[d.slot];
      if (d === hostIrq && canFitShare) {
        if (got > d.measured && readValue(d, rates, opaque) <= 0.01 * d.measured) shareFitting = true;
        continue;
      }
      if (got > d.measured && readValue(d, rates, opaque) < 0.01 * d.measured && !irqPinned && hltMeasured > 0)
        irqFactor = Math.min(irqFactor, Math.max(0.25, d.measured / got));
    }
    let nextIrq = irq.v;
    // Whether the share sets I this time and holds the host interrupts' own driver where it went.
    let shareHolds = false;
    let shareWanted = 0;
    // Rates per second of guest execution give the measured wall rates at the share they were fitted
    // at; the next simulation runs at the wanted share, so they are scaled by the ratio.
    let shareScale = 1;
    if (shareFitting) {
      shareWanted = shareFor(hostIrq!, hltDriver!, sim, profile);
      shareScale = sim[hltDriver!.slot] / profile.perGuestSecond.hlts / shareWanted;
      const wanted = irqForShare(hltDriver!, sim, profile, irq.v, hltMeasured, shareWanted);
      nextIrq = Math.min(irqStart, Math.max(irqFloor, wanted));
      shareHolds = sim[hostIrq!.slot] > hostIrq!.measured || wanted < irqStart;
    }
    if (irqFactor < 1) {
      const lowered = Math.max(irqFloor, hltMeasured + (irq.v - hltMeasured) * irqFactor);
      if (lowered < nextIrq) {
        nextIrq = lowered;
        shareHolds = false;
      }
    }
    for (const d of drivers) {
      const got = sim[d.slot];
      const value = readValue(d, rates, opaque);
      if (shareHolds && d === hostIrq) continue;
      // The share is the HLTs per wall second over the HLTs per second of guest execution: the wanted
      // share sets the latter, and the HLTs per wall second are met through I (irqForShare).
      if (shareHolds && d === hltDriver) {
        writeValue(d, Math.min(MAX_PROFILE_RATE, hltMeasured / shareWanted), rates, opaque);
        continue;
      }
      if (got <= 0) {
        if (shareHolds) writeValue(d, Math.min(MAX_PROFILE_RATE, value * shareScale), rates, opaque);
        // The driver does not cause this exit here: after a second try, carry the reason as opaque.
        const n = (silent.get(d) ?? 0) + 1;
        silent.set(d, n);
        if (n >= 2 && d.driver.kind !== 'opaque') {
          writeValue(d, 0, rates, opaque);
          d.driver = { kind: 'opaque' };
          writeValue(d, d.measured, rates, opaque);
        }
        continue;
      }
      // Next value: a secant step on this reason's last two iterates (exits are roughly linear in
      // the driver's rate, plus what other drivers add to the same reason), else proportional.
      // Damped: never below a quarter, never above four times the rate plus a quarter of the
      // measured rate (so a driver pushed to ~0 can come back).
      let next = value * (d.measured / got);
      if (
        d.prevValue !== undefined &&
        d.prevGot !== undefined &&
        Math.abs(value - d.prevValue) > 1e-9 * Math.max(value, 1e-9)
      ) {
        const slope = (got - d.prevGot) / (value - d.prevValue);
        if (slope > 0) next = value + (d.measured - got) / slope;
      }
      next = Math.min(4 * value + 0.25 * d.measured, Math.max(0.25 * value, next));
      if (shareHolds) next *= shareScale;
      // Held at the reader's bound (the reasons a driver is pushed there: missReasons).
      next = Math.min(MAX_PROFILE_RATE, next);
      d.prevValue = value;
      d.prevGot = got;
      writeValue(d, next, rates, opaque);
    }
    irq.v = nextIrq;
  }
  const best = bestIterate(iterates);
  const { profile, sim } = best;
  drivers.forEach((d, i) => {
    d.driver = best.drivers[i];
  });
  const rows: FitRow[] = [];
  for (const d of drivers) {
    rows.push({
      reason: d.reason,
      driver: driverName(d.driver),
      measured: d.measured,
      simulated: sim[d.slot],
      errorPercent: ((sim[d.slot] - d.measured) / d.measured) * 100,
    });
  }
  for (const k of EXIT_KINDS) {
    if (k.vendor !== vendor || sim[k.slot] === 0 || drivers.some((d) => d.slot === k.slot)) continue;
    rows.push({ reason: k.name, driver: '-', measured: 0, simulated: sim[k.slot], errorPercent: null });
  }
  const fitted = rows.filter((r) => r.errorPercent !== null);
  const worstErrorPercent = Math.max(0, ...fitted.map((r) => Math.abs(r.errorPercent!)));
  const missed: FitRow[] = [];
  // Under the best iterate's drivers: one the fit carried as opaque after it caused no HLT gives no share.
  const misses = missReasons(fitted, drivers, profile, {
    runningShare:
      drives(hltDriver, 'hlts') && profile.perGuestSecond.hlts > 0
        ? sim[hltDriver.slot] / profile.perGuestSecond.hlts
        : 1,
    irqFloor: irqPinned ? 0 : irqFloor,
    hltMeasured,
    config,
    countScale,
    missed,
  });
  const worstMissPercent = Math.max(0, ...missed.map((r) => Math.abs(r.errorPercent!)));
  return { profile, rows, iterations, unmodelled, notes, worstErrorPercent, misses, worstMissPercent };
}

/**
 * The share of the time a vCPU must run for its host-interrupt exits to reach their measured rate. The
 * simulation ran it a share equal to its HLTs per wall second over the profile's HLTs per second of
 * guest execution; what landed on it per second of guest execution is its exits over that share
 * (host ticks in guest mode), so the share wanted is the measured rate over that, kept within
 * [MIN_RUNNING_SHARE, 1 - MIN_RUNNING_SHARE].
 */
function shareFor(hostIrq: DriverState, hlt: DriverState, sim: Float64Array, profile: WorkloadProfile): number {
  const got = sim[hostIrq.slot];
  const shareGot = sim[hlt.slot] / profile.perGuestSecond.hlts;
  const share = got > 0 && shareGot > 0 ? (hostIrq.measured * shareGot) / got : 1 - MIN_RUNNING_SHARE;
  return Math.min(1 - MIN_RUNNING_SHARE, Math.max(MIN_RUNNING_SHARE, share));
}

/**
 * The wake-up interrupt rate I at which the vCPU halts as often as measured while it runs the wanted
 * share of the time. Its mean halt, (1 - share) / HLTs per wall second, shrinks as wake-ups come
 * faster: I is scaled by the simulated mean halt over the one the measured HLT rate and the wanted
 * share need.
 */
function irqForShare(
  hlt: DriverState,
  sim: Float64Array,
  profile: WorkloadProfile,
  irq: number,
  hltMeasured: number,
  share: number,
): number {
  const haltsGot = sim[hlt.slot];
  const shareGot = haltsGot / profile.perGuestSecond.hlts;
  if (!(haltsGot > 0) || !(shareGot > 0) || !(shareGot < 1)) return irq;
  const haltGot = (1 - shareGot) / haltsGot;
  const haltWanted = (1 - share) / hltMeasured;
  return (irq * haltGot) / haltWanted;
}

/**
 * The iterate the fit keeps: the least worst relative error (what --max-error judges), then the
 * least total absolute error. When even that one has reasons out of reach (overshooting with their
 * driver at (almost) zero: others cause them), the iterate among those where the same reasons are
 * out of reach that fits the rest best: one infeasible reason does not cost the others their fit.
 */
function bestIterate<T extends { worst: number; worstFree: number; miss: number; stuck: number[] }>(all: T[]): T {
  const byWorst = (a: T, b: T) => a.worst - b.worst || a.miss - b.miss;
  const first = all.reduce((b, x) => (byWorst(x, b) < 0 ? x : b));
  if (first.stuck.length === 0) return first;
  const same = all.filter((x) => first.stuck.every((slot) => x.stuck.includes(slot)));
  return same.reduce((b, x) => ((x.worstFree - b.worstFree || byWorst(x, b)) < 0 ? x : b));
}

/**
 * Whether `d` drives the profile's rate `name`: at most one reason does (fitWorkload's `taken`), and
 * only at the start - the fit may later carry it as opaque, never give it another rate.
 */
function drives(d: DriverState | undefined, name: WorkloadRateName): d is DriverState {
  return d !== undefined && d.driver.kind === 'rate' && d.driver.name === name;
}

/** The host tick (Hz) the fit simulates: the one stated, else the model's for the policy's host OS. */
function tickOf(config: FitConfig): number {
  return config.hostTickHz ?? config.data.costModel.hostTickHz[hostOsOf(config.policy)];
}

/**
 * Why the best in-range fit still misses reasons by more than MISS_PERCENT (and more than sampling
 * noise), one sentence each, naming the reason and the bound it hit: a driver held at the reader's
 * largest rate, or a reason that overshoots with its own driver at (almost) zero because the
 * configuration makes that exit from other causes: the wake-up interrupts the HLTs need (at their
 * floor) and their EOIs, or the host's own timer ticks.
 */
function missReasons(
  rows: readonly FitRow[],
  drivers: readonly DriverState[],
  profile: WorkloadProfile,
  ctx: {
    /** The share of the time the best iterate's vCPU ran (its HLTs per wall second over those per guest second). */
    runningShare: number;
    irqFloor: number;
    hltMeasured: number;
    config: FitConfig;
    countScale: number;
    missed: FitRow[];
  },
): string[] {
  const out: string[] = [];
  const where = `${ctx.config.cpu.id} / ${ctx.config.policy}`;
  const irq = profile.interruptsPerSecond;
  const irqAtFloor = ctx.irqFloor > 0 && irq <= ctx.irqFloor * 1.001;
  const check = 'the report is infeasible for this configuration: check --cpu, --policy, --tunable and --x2apic';
  for (const r of rows) {
    // A miss is beyond the sampling noise of the fit's span too: three Poisson standard deviations of
    // the measured count, plus two exits (a short --sim-seconds fit of a small reason misses by more
    // than MISS_PERCENT by chance alone; the seed is fixed, so the fit cannot average it away).
    const count = r.measured * ctx.countScale;
    const noise = 3 * Math.sqrt(Math.max(count, 1)) + 2;
    if (Math.abs(r.errorPercent!) <= MISS_PERCENT || Math.abs(r.simulated - r.measured) * ctx.countScale <= noise)
      continue;
    ctx.missed.push(r);
    const d = drivers.find((x) => x.reason === r.reason);
    const value = d === undefined ? 0 : valueIn(profile, d);
    const name = d === undefined ? '' : `${driverName(d.driver)} `;
    const at = `${r.reason} is simulated at ${sixDigits(r.simulated)}/s per vCPU against ${sixDigits(r.measured)}/s measured (${r.errorPercent! >= 0 ? '+' : ''}${r.errorPercent!.toFixed(2)} %)`;
    if (value >= MAX_PROFILE_RATE) {
      const why = drives(d, 'hlts')
        ? `each HLT waits for a wake-up interrupt, and at ${sixDigits(irq)}/s${irqAtFloor ? ' (the floor)' : ''} there are too few`
        : 'the vCPU runs too little of the time to produce it';
      out.push(
        `${at}: its driver ${name}reached the largest rate a profile may hold ` +
          `(${MAX_PROFILE_RATE.toExponential(0)} per vCPU-second): ${why}`,
      );
    } else if (r.errorPercent! > 0 && value <= 0.01 * r.measured) {
      const hostInterrupt = r.reason === 'EXTERNAL_INTERRUPT' || r.reason === 'VMEXIT_INTR';
      if (hostInterrupt && ctx.runningShare <= MIN_RUNNING_SHARE * 1.05) {
        out.push(
          `${at} although its driver ${name}is (almost) zero: the vCPU runs ${(100 * ctx.runningShare).toFixed(1)} % ` +
            `of the time here, the least a fitted profile may (below it the rates per second of guest execution ` +
            `grow without bound), and the host's own timer ticks in that time alone exceed it under ${where}: the ` +
            `measured vCPU ran less, or on a host with a slower tick than the ${tickOf(ctx.config)} Hz simulated ` +
            `(give the measured host's: import --host-tick-hz)`,
        );
        continue;
      }
      const cause =
        irqAtFloor && !hostInterrupt
          ? `the report's ${sixDigits(ctx.hltMeasured)} HLTs per vCPU-second need at least as many wake-up interrupts ` +
            `(${sixDigits(irq)}/s here, the floor), and under ${where} each causes ${r.reason} exits (its EOI)`
          : hostInterrupt
            ? `the host's own timer ticks while the vCPU runs and the kicks of its interrupts (docs/MODEL.md §3) alone exceed it under ${where}`
            : `the interrupts and the other fitted rates cause that many under ${where}`;
      out.push(`${at} although its driver ${name}is (almost) zero: ${cause}; ${check}`);
    } else if (r.simulated === 0) {
      out.push(`${at}: ${where} does not take this exit at all (a feature the measured host had? see the notes)`);
    } else {
      out.push(`${at}: the model cannot reproduce it under ${where} with the other reasons fitted`);
    }
  }
  return out;
}
