import type { GuestInstance, HostSimulation } from '../core/engine/host.js';
import { EXIT_KINDS } from '../core/vcpu/exits.js';
import { DeliveryVia, RecKind, type ExitRecorder } from '../core/vcpu/recorder.js';
import { exitCause, type Bulk } from './exitCause.js';

export { exitCause } from './exitCause.js';
import { durationLimitNs, type Scenario, type ScenarioVariant } from '../scenario/types.js';
import type { ModelData } from '../model/data.js';
import { formatSeconds } from '../input/units.js';
import { hostGuests, hostSimulations } from './simulate.js';
import { stepOneHost } from './stepOneHost.js';

/**
 * Replay: re-run exactly the one host a guest lives on (its guests share the host's cores, so they
 * all matter; hosts are independent, so the others do not), stepping it the way `runHosts` does
 * (one simulated second at a time; the same random streams, derived from the seed, host and global
 * guest index), and record that guest's exits with the machine's exit recorder. docs/REPLAY.md.
 */

interface ReplayRequest {
  readonly scenario: Scenario;
  readonly variantIndex: number;
  readonly data: ModelData;
  /** Global guest index (GuestInstance.index). */
  readonly guest: number;
  /** Stop right after the events at this simulated ns (the run is cut at atNs + 1, exclusive). */
  readonly atNs: number;
  /** Record from this simulated ns (records stamped earlier are dropped). Default atNs. */
  readonly fromNs?: number;
  /** Run only these guests of the host (global indices; must include `guest`). Default: all. */
  readonly onlyGuests?: readonly number[];
  /** Record exits (off for the shrinker, which only needs violations). Default true. */
  readonly record?: boolean;
  /**
   * Called after each simulated second with the ns reached and, for an until-complete scenario, the
   * host's work done (0..1, src/run/workShare.ts): the CLI's progress line.
   */
  readonly onStep?: (simNs: number, workDone: number | undefined) => void;
}

export type ReplayRecord =
  | {
      readonly kind: 'exit';
      readonly timeNs: number;
      readonly vcpu: number;
      readonly slot: number;
      readonly qualification: number;
      readonly count: number;
      readonly bulk?: Bulk;
      /** What caused it where reason and qualification do not say it (recorder.ts ExitWhy word), 0: nothing. */
      readonly why: number;
    }
  | {
      readonly kind: 'delivery';
      readonly timeNs: number;
      readonly vcpu: number;
      readonly vector: number;
      readonly latencyNs: number;
      /** How it reached the guest (recorder.ts DeliveryVia). */
      readonly via: DeliveryVia;
    };

export interface ReplayViolation {
  readonly check: string;
  readonly message: string;
  /** Global guest index of the guest that tripped it. */
  readonly guest: number;
  /** vCPU within that guest. */
  readonly vcpu: number;
  readonly simTimeNs: number;
  readonly step: number;
  readonly state: Readonly<Record<string, unknown>>;
}

interface ReplayResult {
  readonly host: number;
  readonly target: GuestInstance;
  readonly guests: readonly GuestInstance[];
  /** Where the host stopped (exclusive bound of the events processed). */
  readonly stopNs: number;
  /** True when the host ran to its end (duration, or its work done): the final checks ran. */
  readonly ended: boolean;
  readonly records: readonly ReplayRecord[];
  readonly violations: readonly ReplayViolation[];
}

/** Ring size of the recorder; doubled and the host re-run (deterministic) if one second overflows it. */
const INITIAL_CAPACITY = 1 << 16;
const MAX_CAPACITY = 1 << 24;

/** Record `i` of a machine's exit recorder (recorder.ts) as a replay record of vCPU `vcpu` of its guest. */
export function recorderRecord(r: Readonly<ExitRecorder>, i: number, vcpu: number): ReplayRecord {
  const timeNs = r.timeNs[i];
  const kind: RecKind = r.kind[i];
  if (kind === RecKind.DELIVERY)
    return { kind: 'delivery', timeNs, vcpu, vector: r.code[i], latencyNs: r.value[i], via: r.qual[i] };
  return {
    kind: 'exit',
    timeNs,
    vcpu,
    slot: r.code[i],
    qualification: r.qual[i],
    count: r.value[i],
    why: r.cause[i],
    ...(kind === RecKind.BULK_CR8_PAIRS
      ? { bulk: 'cr8_pairs' as const }
      : kind === RecKind.BULK_HOST_INTERRUPTS
        ? { bulk: 'host_interrupts' as const }
        : kind === RecKind.BULK_REPEATED
          ? { bulk: 'repeated' as const }
          : {}),
  };
}

/**
 * How an interrupt reached the guest, in the manuals' words (recorder.ts DeliveryVia): the `via` of
 * replay's delivery records, trace's steps and the timeline's delivery instants.
 */
export function deliveryViaName(via: DeliveryVia): string {
  switch (via) {
    case DeliveryVia.EVENT_INJECTION:
      return 'event injection';
    case DeliveryVia.EVENTINJ:
      return 'EVENTINJ';
    case DeliveryVia.VIRTUAL_INTERRUPT_DELIVERY:
      return 'virtual-interrupt delivery';
    case DeliveryVia.POSTED_INTERRUPT:
      return 'posted-interrupt processing';
    case DeliveryVia.AVIC:
      return 'AVIC';
    case DeliveryVia.PIR_MOVED_BY_HYPERVISOR:
      return 'virtual-interrupt delivery (PIR moved to the VIRR by the hypervisor before VM entry)';
    default:
      return '';
  }
}

export class ReplayError extends Error {}

/**
 * The simulation of a host running `guests`, and where guest `guest` sits in it: its instance,
 * its index among `guests` and its vCPUs [first, end) in the host's machine.
 */
export function guestSimulation(
  scenario: Scenario,
  variant: ScenarioVariant,
  data: ModelData,
  host: number,
  guests: readonly GuestInstance[],
  guest: number,
): { sim: HostSimulation; target: GuestInstance; targetIdx: number; first: number; end: number } {
  const targetIdx = guests.findIndex((g) => g.index === guest);
  const target = guests[targetIdx];
  const sim = hostSimulations(scenario, variant, data)(host, guests);
  let first = 0;
  for (let i = 0; i < targetIdx; i++) first += guests[i].vcpus;
  return { sim, target, targetIdx, first, end: first + target.vcpus };
}

/** Host index of a global guest index (hostGuests numbers guests host-major). */
export function hostOfGuest(
  scenario: Scenario,
  variantIndex: number,
  guest: number,
): { host: number; perHost: number } {
  const variant = scenario.variants[variantIndex];
  let perHost = 0;
  for (const g of variant.guests) if (g.kind === 'modelled') perHost += g.count;
  if (perHost === 0) throw new ReplayError(`variant "${variant.name}" has no modelled guests to replay`);
  const total = perHost * variant.host.count;
  if (!Number.isInteger(guest) || guest < 0 || guest >= total)
    throw new ReplayError(
      `guest ${guest} does not exist: variant "${variant.name}" has guests 0..${total - 1} (${perHost} per host)`,
    );
  return { host: Math.floor(guest / perHost), perHost };
}

export function replay(req: ReplayRequest): ReplayResult {
  for (let capacity = INITIAL_CAPACITY; ; capacity *= 2) {
    const r = replayOnce(req, capacity);
    if (r !== undefined) return r;
    if (capacity * 2 > MAX_CAPACITY)
      throw new ReplayError(
        `more than ${MAX_CAPACITY} records in one simulated second: replay a guest with less traffic or a shorter --window`,
      );
  }
}

function replayOnce(req: ReplayRequest, capacity: number): ReplayResult | undefined {
  const { scenario, data } = req;
  const variant = scenario.variants[req.variantIndex];
  const { host } = hostOfGuest(scenario, req.variantIndex, req.guest);
  const all = hostGuests(variant, data, host);
  let guests = all;
  if (req.onlyGuests) {
    const wanted = new Set(req.onlyGuests);
    for (const g of wanted) {
      if (!all.some((x) => x.index === g))
        throw new ReplayError(
          `--only-guests: guest ${g} is not on host ${host} (its guests are ${all[0].index}..${all[all.length - 1].index})`,
        );
    }
    if (!wanted.has(req.guest)) throw new ReplayError(`--only-guests must include the replayed guest ${req.guest}`);
    guests = all.filter((g) => wanted.has(g.index));
  }
  const { sim, target, first, end } = guestSimulation(scenario, variant, data, host, guests, req.guest);

  const stop = Math.min(durationLimitNs(scenario), req.atNs + 1);
  const fromNs = Math.min(req.fromNs ?? req.atNs, req.atNs);
  const record = req.record !== false;
  const m = sim.machine;
  const records: ReplayRecord[] = [];
  let drained = 0;
  const drain = (): boolean => {
    const r = m.recorded;
    if (r.written - drained > r.capacity) return false;
    for (; drained < r.written; drained++) {
      const i = drained % r.capacity;
      if (r.timeNs[i] < fromNs) continue;
      records.push(recorderRecord(r, i, r.vcpu[i] - first));
    }
    return true;
  };

  const steps = stepOneHost(
    sim,
    scenario,
    stop,
    // Record from the step whose events reach fromNs (a step's records are stamped after its start).
    (next) => {
      if (record && !m.recOn && next > fromNs) m.startRecorder(capacity, first, end);
    },
    () => (m.recOn && !drain() ? 'abort' : 'go'),
    req.onStep,
  );
  if (steps === undefined) return undefined;
  const { t, ended } = steps;
  if (ended) {
    sim.finalChecks();
    if (m.recOn && !drain()) return undefined;
  }

  // Violations of every guest that ran (a neighbour's may matter), with global indices.
  const violations: ReplayViolation[] = [];
  for (const viol of m.violations) {
    let rest = viol.vcpu;
    let gi = 0;
    while (gi < guests.length - 1 && rest >= guests[gi].vcpus) rest -= guests[gi++].vcpus;
    violations.push({
      check: viol.check,
      message: viol.message,
      guest: guests[gi].index,
      vcpu: rest,
      simTimeNs: sim.stoppedAtNs[gi] >= 0 ? sim.stoppedAtNs[gi] : t,
      step: viol.step,
      state: { ...viol.state },
    });
  }
  return { host, target, guests, stopNs: t, ended, records, violations };
}

/** The JSON Lines object of a record (the `trace` command's vocabulary: cpu, exits' reason/name/qualification). */
export function recordJson(r: ReplayRecord): Record<string, unknown> {
  const t = formatSeconds(r.timeNs);
  if (r.kind === 'delivery')
    return {
      t,
      tNs: r.timeNs,
      cpu: r.vcpu,
      delivered: r.vector,
      ...(r.latencyNs >= 0 ? { latencyNs: r.latencyNs } : {}),
      via: deliveryViaName(r.via),
    };
  const k = EXIT_KINDS[r.slot];
  const cause = exitCause(r.slot, r.qualification, r.bulk, r.why);
  return {
    t,
    tNs: r.timeNs,
    cpu: r.vcpu,
    exit: { reason: k.code, name: k.name, qualification: r.qualification },
    ...(r.bulk ? { count: r.count } : {}),
    ...(cause ? { cause } : {}),
  };
}
