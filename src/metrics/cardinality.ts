import { EXIT_KINDS, SVM_PAUSE_SLOT, type ExitKind } from '../core/vcpu/exits.js';
import { LATENCY_BOUNDS_NS, PHASE_ORDER } from '../core/engine/host.js';
import { RUN_STATES } from '../history/records.js';
import { VIOLATION_CHECKS, INTERRUPT_SOURCES } from '../scenario/thresholds.js';
import type { Scenario, ScenarioVariant } from '../scenario/types.js';
import { hypervisorOf } from '../core/hypervisor/policy.js';

/**
 * Cardinality budget (docs/BEYOND.md): the number of /metrics series a scenario creates, computed
 * from the scenario alone before anything runs, so a scenario over its `cardinalityBudget` is
 * refused (CLI `run`/`validate`: exit 2; service: 422) instead of flooding a Prometheus.
 *
 * Counted: every series with the scenario's `scenario` label (the metric table of docs/SERVICE.md).
 * Per variant, with R the exit reasons its series carry (carriesReason below: the CPU vendor's modelled
 * kinds, and the opaque ones its guests can cause), O the modelled guest OSes and C the violation checks:
 *   1 (scenario_info) + R*O' (vm_exits_total by os; O' = O plus "scripted" with scripted guests)
 *   + R (exit_handling_seconds) + 6 (interrupts: 3 sources x 2 outcomes) + 3 (delivery paths)
 *   + 4 (tpr access kinds) + (B+1)+2 (latency histogram: B bounds, +Inf, _sum, _count)
 *   + 7 (guest_cpu, device_model, guest_simulated, vcpu_simulated, simulated seconds, engine events,
 *   entry failures)
 *   + 2*P (phase completions and durations) + O (guests_running) + C (violations)
 *   + K (KVM variants only: 4 halt-poll series - polls by 2 outcomes, wake-ups, polled seconds)
 *   + 1 + C (the run-scoped run_simulated_seconds and run_invariant_violations by check)
 *   + W (run_phase_unfinished_guests: one per phase some guest's plan has bound by work, workPhasesOf)
 * Per scenario: 6 (run_state) + T (threshold outcomes) + 4 (last finish, last wall seconds, last exit
 *   status, run start) + 2 (series budget and expected) + E (invariant_violation_expected: the
 *   checks of `expect.violations`). A shard's run (`run --shard I/N`, N > 1) exports no threshold
 *   outcome and one vmexit_lab_run_last_not_judged instead: at most one series more, with T = 0.
 * With per-guest metrics each modelled guest adds 3 series plus one per exit reason it had:
 * at most R, which is what the budget counts (the exact number is known only after the run).
 */

interface SeriesContributor {
  /** What the series are, e.g. `variant bhyve-12.1: vm_exits_total (15 reasons x 4 OSes)`. */
  readonly what: string;
  readonly series: number;
}

interface SeriesEstimate {
  /** Series with the scenario's label: exact without per-guest metrics, an upper bound with them. */
  readonly total: number;
  /** False when per-guest exit series are counted at their upper bound. */
  readonly exact: boolean;
  /** Every contribution, biggest first. */
  readonly contributors: readonly SeriesContributor[];
}

/** A KVM variant's halt-poll series (samples.ts haltPolls, haltWakeups, haltPollSeconds). */
const KVM_HALT_POLL_SERIES = 4;

/** Per-scenario series that are not per variant. */
const PER_SCENARIO = RUN_STATES.length + 4 + 2;

/**
 * Which exit reasons a variant's series carry, the one home of that rule (samples.ts exports them,
 * this file counts them): its vendor's kinds that guest models cause (`modelled`), every opaque kind
 * when it has workload-profile guests (their imported exits), and SVM's #VMEXIT_PAUSE when a guest runs
 * the lock-spin phase - opaque for imported profiles, but the pause filter intercepts the spin loop
 * (AMD APM vol. 2 15.14.4; src/core/guests/spin.ts). The others are exported only once counted.
 */
export interface ReasonSet {
  readonly vendor: string;
  /** The variant has workload-profile guests. */
  readonly opaque: boolean;
  /** A guest runs the lock-spin phase. */
  readonly spins: boolean;
}

export function carriesReason(k: ExitKind, set: ReasonSet): boolean {
  return k.vendor === set.vendor && (k.modelled || set.opaque || (set.spins && k.slot === SVM_PAUSE_SLOT));
}

/** The reason set of a scenario variant (see carriesReason). */
export function reasonSetOf(v: ScenarioVariant): ReasonSet {
  let opaque = false;
  let spins = false;
  for (const g of v.guests) {
    if (g.kind !== 'modelled') continue;
    if (g.workload !== undefined) opaque = true;
    if (g.phases.some((p) => p.phase === 'lock-spin')) spins = true;
  }
  return { vendor: v.host.cpu.vendor, opaque, spins };
}

/**
 * The phases some modelled guest of the variant has bound by work (`work:`), in PHASE_ORDER: the ones
 * whose unfinished guests src/run/simulate.ts addHost counts (totals.phaseUnfinished), and so the
 * phases of the run-scoped vmexit_lab_run_phase_unfinished_guests series. A variant without any has
 * none of those series (its phase completions are 0 for ever).
 */
export function workPhasesOf(v: ScenarioVariant): string[] {
  return PHASE_ORDER.filter((p) =>
    v.guests.some((g) => g.kind === 'modelled' && g.phases.some((x) => x.work !== undefined && x.phase === p)),
  );
}

/** How many exit reasons have series for a reason set (see carriesReason). */
export function reasonsOf(set: ReasonSet): number {
  return EXIT_KINDS.filter((k) => carriesReason(k, set)).length;
}

/** Threshold outcomes (vmexit_lab_threshold_passed series): per variant a threshold applies to, one per ratio. */
function thresholdOutcomes(scenario: Scenario): number {
  let n = 0;
  for (const t of scenario.thresholds) {
    const p = t.parsed;
    if (p === undefined || p.kind === 'ratio') n += 1;
    else n += p.variant !== undefined ? 1 : scenario.variants.length;
  }
  return n;
}

export function expectedSeries(scenario: Scenario, options: { readonly perGuest?: boolean } = {}): SeriesEstimate {
  const contributors: SeriesContributor[] = [];
  for (const v of scenario.variants) {
    const R = reasonsOf(reasonSetOf(v));
    const oses = new Set<string>();
    let scripted = false;
    let modelledGuests = 0;
    for (const g of v.guests) {
      if (g.kind === 'modelled') {
        oses.add(g.os);
        modelledGuests += g.count;
      } else scripted = true;
    }
    const O = oses.size;
    const exitOses = O + (scripted ? 1 : 0);
    const latency = LATENCY_BOUNDS_NS.length + 1 + 2;
    const rest =
      1 +
      R +
      INTERRUPT_SOURCES.length * 2 +
      3 +
      4 +
      latency +
      7 +
      2 * PHASE_ORDER.length +
      O +
      VIOLATION_CHECKS.length +
      1 +
      VIOLATION_CHECKS.length +
      workPhasesOf(v).length +
      (hypervisorOf(v.hypervisor.policy) === 'kvm' ? KVM_HALT_POLL_SERIES : 0);
    contributors.push({
      what: `variant ${v.name}: vm_exits_total (${R} reasons x ${exitOses} guest OS${exitOses === 1 ? '' : 'es'})`,
      series: R * exitOses,
    });
    contributors.push({ what: `variant ${v.name}: the other per-variant series`, series: rest });
    if (options.perGuest) {
      const guests = modelledGuests * v.host.count;
      contributors.push({
        what: `variant ${v.name}: per-guest series (${guests} guests x (3 + up to ${R} reasons))`,
        series: guests * (3 + R),
      });
    }
  }
  const T = thresholdOutcomes(scenario);
  const E = new Set(scenario.expectViolations).size;
  contributors.push({
    what: `scenario: run state, last run, series budget (${PER_SCENARIO}), threshold outcomes (${T}) and expected violations (${E})`,
    series: PER_SCENARIO + T + E,
  });
  contributors.sort((a, b) => b.series - a.series);
  return { total: contributors.reduce((a, c) => a + c.series, 0), exact: options.perGuest !== true, contributors };
}

/** The refusal message of a scenario over its budget, or undefined when it fits. */
export function overBudget(scenario: Scenario, options: { readonly perGuest?: boolean } = {}): string | undefined {
  const e = expectedSeries(scenario, options);
  if (e.total <= scenario.cardinalityBudget) return undefined;
  const top = e.contributors
    .slice(0, 3)
    .map((c) => `${c.what}: ${c.series}`)
    .join('; ');
  return `scenario ${scenario.name} would create ${e.exact ? '' : 'up to '}${e.total} metric series, over its cardinalityBudget of ${scenario.cardinalityBudget}; biggest: ${top}. Raise cardinalityBudget in the scenario${options.perGuest ? ', turn per-guest metrics off,' : ''} or run fewer variants or guest OSes`;
}
