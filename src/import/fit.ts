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
import { EXIT_KINDS, exitKindByName } from '../core/vcpu/exits.js';
import { WORKLOAD_RATE_NAMES, type WorkloadProfile } from '../scenario/types.js';
import { bestIterate } from './bestIterate.js';
import { cr8Prior } from './cr8Prior.js';
import { DRIVERS, driverName, drives, readValue, writeValue, type Driver, type DriverState } from './drivers.js';
import { buildProfile, MAX_PROFILE_RATE } from './fittedProfile.js';
import type { FitConfig, FitResult, FitRow, MeasuredRates } from './fitTypes.js';
import { MISS_PERCENT, missReasons } from './missReasons.js';
import { irqForShare, MIN_RUNNING_SHARE, shareFor } from './runningShare.js';
import { simulateProfile } from './simulateProfile.js';

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
    config.onIteration?.(iterations, worst * 100);
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
