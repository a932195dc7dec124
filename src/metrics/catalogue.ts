/**
 * The metric catalogue: every metric vmexit-lab exports, its name, type, labels, help and the
 * function that reads its samples from the MetricsHub at scrape time (docs/SERVICE.md lists them
 * with their series counts). registry.ts makes prom-client metrics of them for /metrics and
 * Pushgateway pushes, openmetrics.ts the history of `run --openmetrics`: no metric object is
 * touched while guests run, and a scrape costs one pass over per-variant sums.
 */
import type { MetricsHub } from './hub.js';
import type { Sample } from './series.js';
import * as S from './samples.js';

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  /** Only exported when per-guest metrics are on. */
  readonly perGuest?: boolean;
  /**
   * A metric of the service process (history, pool, queue, HTTP): not in a CLI run's Pushgateway
   * push nor in its OpenMetrics history.
   */
  readonly serviceOnly?: boolean;
  /** Series on KVM variants only (KVM's halt-poll statistics: bhyve never polls); none for bhyve. */
  readonly kvmOnly?: boolean;
  /** Series only for the phases a variant's guests have bound by work (cardinality.ts workPhasesOf); none without. */
  readonly workPhasesOnly?: boolean;
  readonly collect: (hub: MetricsHub, name: string) => Sample[];
}

const V = ['scenario', 'variant', 'cpu', 'policy'] as const;

export const METRICS: readonly MetricDef[] = [
  {
    name: 'vmexit_lab_build_info',
    type: 'gauge',
    labels: ['version', 'model_version', 'node_version'],
    help: 'Build of this vmexit-lab (value 1).',
    collect: (h) => h.buildInfo(),
  },
  {
    name: 'vmexit_lab_scenario_info',
    type: 'gauge',
    labels: [...V, 'hosts', 'cores', 'seed', 'pace'],
    help: 'Scenario variants this process has run or is running (value 1).',
    collect: (h) => S.scenarioInfo(h),
  },
  {
    name: 'vmexit_lab_vm_exits_total',
    type: 'counter',
    labels: [...V, 'os', 'reason'],
    help: "VM exits of the simulated guests, by guest OS and the manual's exit reason (VT-x basic exit reason or SVM exit code name).",
    collect: (h) => S.exits(h, 'count'),
  },
  {
    name: 'vmexit_lab_exit_handling_seconds_total',
    type: 'counter',
    labels: [...V, 'reason'],
    help: 'Simulated host seconds spent handling VM exits (round trip plus handler, from the cost model), by exit reason.',
    collect: (h) => S.exits(h, 'seconds'),
  },
  {
    name: 'vmexit_lab_interrupts_total',
    type: 'counter',
    labels: [...V, 'source', 'outcome'],
    help: 'Guest interrupts by source (timer, device, ipi) and outcome (raised, delivered).',
    collect: (h) => S.interrupts(h),
  },
  {
    name: 'vmexit_lab_interrupt_deliveries_total',
    type: 'counter',
    labels: [...V, 'path'],
    help: 'Interrupt deliveries by path: injected by the hypervisor, virtual (APICv/AVIC virtual interrupt delivery), posted.',
    collect: (h) => S.deliveryPaths(h),
  },
  {
    name: 'vmexit_lab_tpr_accesses_total',
    type: 'counter',
    labels: [...V, 'kind'],
    help: 'Guest task-priority accesses by kind: cr8_read, cr8_write, mmio_write (xAPIC TPR), msr_write (x2APIC TPR).',
    collect: (h) => S.tprAccesses(h),
  },
  {
    name: 'vmexit_lab_interrupt_latency_seconds',
    type: 'histogram',
    labels: [...V],
    help: 'Interrupt latency in simulated seconds, from arrival to the start of the guest ISR.',
    collect: (h, n) => S.latency(h, n),
  },
  {
    name: 'vmexit_lab_phase_completions_total',
    type: 'counter',
    labels: [...V, 'phase'],
    help: 'Guests that completed a work-bound phase (install, build, disk-benchmark); every phase pre-created at 0.',
    collect: (h) => S.phases(h, 'count'),
  },
  {
    name: 'vmexit_lab_phase_duration_seconds_total',
    type: 'counter',
    labels: [...V, 'phase'],
    help: 'Simulated seconds the guests needed to complete a work-bound phase, summed over guests (divide by vmexit_lab_phase_completions_total for the mean).',
    collect: (h) => S.phases(h, 'seconds'),
  },
  {
    name: 'vmexit_lab_guest_cpu_seconds_total',
    type: 'counter',
    labels: [...V],
    help: 'Simulated CPU seconds the guests spent running their own work.',
    collect: (h) => S.guestCpuSeconds(h),
  },
  {
    name: 'vmexit_lab_device_model_seconds_total',
    type: 'counter',
    labels: [...V],
    help: 'Simulated host seconds the VMM spent outside any exit running its emulated platform timer (a Windows clock on an RTC or HPET under KVM: QEMU main-loop time per period, cost-model deviceModelTickNs); add it to guest CPU and exit handling for the VM process CPU.',
    collect: (h) => S.deviceModelSeconds(h),
  },
  {
    name: 'vmexit_lab_kvm_halt_polls_total',
    type: 'counter',
    kvmOnly: true,
    labels: [...V, 'outcome'],
    help: "KVM variants: halts whose vCPU thread polled, by outcome - successful (woken while polling: KVM's halt_successful_poll) or failed (polled, then slept); their sum is halt_attempted_poll.",
    collect: (h) => S.haltPolls(h),
  },
  {
    name: 'vmexit_lab_kvm_halt_wakeups_total',
    type: 'counter',
    kvmOnly: true,
    labels: [...V],
    help: "KVM variants: halts that slept and were woken (KVM's halt_wakeup).",
    collect: (h) => S.haltWakeups(h),
  },
  {
    name: 'vmexit_lab_kvm_halt_poll_seconds_total',
    type: 'counter',
    kvmOnly: true,
    labels: [...V],
    help: 'KVM variants: simulated host seconds the vCPU threads spent halt polling (halt_poll_success_ns + halt_poll_fail_ns); part of the HLT exit handling seconds.',
    collect: (h) => S.haltPollSeconds(h),
  },
  {
    name: 'vmexit_lab_guest_simulated_seconds_total',
    type: 'counter',
    labels: [...V],
    help: 'Sum over guests of the simulated seconds each ran: the denominator of per-guest rates.',
    collect: (h) => S.guestSimulatedSeconds(h),
  },
  {
    name: 'vmexit_lab_simulated_seconds_total',
    type: 'counter',
    labels: [...V],
    help: "Simulated seconds the variant's hosts advanced (the longest host of each run).",
    collect: (h) => S.simulatedSeconds(h),
  },
  {
    name: 'vmexit_lab_engine_events_total',
    type: 'counter',
    labels: [...V],
    help: 'Events the simulation engine executed one by one.',
    collect: (h) => S.events(h),
  },
  {
    name: 'vmexit_lab_vcpu_simulated_seconds_total',
    type: 'counter',
    labels: [...V],
    help: 'Sum over vCPUs of the simulated seconds each ran: the denominator of per-vCPU shares (guest CPU or host time in exits as a fraction of the vCPUs).',
    collect: (h) => S.vcpuSimulatedSeconds(h),
  },
  {
    name: 'vmexit_lab_run_simulated_seconds',
    type: 'gauge',
    labels: [...V],
    help: "Simulated seconds the variant's latest run has advanced (the running one while one runs): the current run's progress.",
    collect: (h) => S.runSimulatedSeconds(h),
  },
  {
    name: 'vmexit_lab_run_phase_unfinished_guests',
    type: 'gauge',
    workPhasesOnly: true,
    labels: [...V, 'phase'],
    help: "Guests of the variant's latest run that had not finished a work-bound phase: once the run ended, those it ended before they finished (results.json totals.phaseUnfinished; vmexit_lab_phase_duration_seconds_total and vmexit_lab_phase_completions_total count only the guests that finished); while it runs, those not finished yet. One series per phase the variant's guests have bound by work.",
    collect: (h) => S.runPhaseUnfinished(h),
  },
  {
    name: 'vmexit_lab_run_invariant_violations',
    type: 'gauge',
    labels: [...V, 'check', 'expected'],
    help: 'Invariant violations of the variant\'s latest run (the running one while one runs) by check; expected="true" for checks the scenario lists under expect.violations.',
    collect: (h) => S.runViolations(h),
  },
  {
    name: 'vmexit_lab_guests_running',
    type: 'gauge',
    labels: [...V, 'os'],
    help: 'Simulated guests currently running, by guest OS.',
    collect: (h) => S.runningGuests(h),
  },
  {
    name: 'vmexit_lab_realtime_lag_seconds',
    type: 'gauge',
    labels: [],
    help: 'Simulated seconds the realtime runs are behind the wall clock: the largest lag of their running tasks, measured when each reaches a simulated second or while its next one is overdue (0 on time or when none runs).',
    collect: (h) => h.realtimeLag(),
  },
  {
    name: 'vmexit_lab_invariant_violations_total',
    type: 'counter',
    labels: [...V, 'check'],
    help: "Invariant violations (e.g. bhyve's isrvec_stk checks) by check.",
    collect: (h) => S.violations(h),
  },
  {
    name: 'vmexit_lab_vm_entry_failures_total',
    type: 'counter',
    labels: [...V],
    help: 'Failed VM entries (VMCS checks).',
    collect: (h) => S.entryFailures(h),
  },
  {
    name: 'vmexit_lab_runs',
    serviceOnly: true,
    type: 'gauge',
    labels: ['state'],
    help: 'Runs in the history by state.',
    collect: (h) => h.runs(),
  },
  {
    name: 'vmexit_lab_run_state',
    type: 'gauge',
    labels: ['scenario', 'state'],
    help: 'State of the latest run of each scenario (1 for the current state, 0 for the others).',
    collect: (h) => h.runState(),
  },
  {
    name: 'vmexit_lab_threshold_passed',
    type: 'gauge',
    labels: ['scenario', 'variant', 'threshold'],
    help: 'Threshold outcomes of the latest finished run of each scenario (1 passed, 0 failed); variant "*" for cross-variant ratios.',
    collect: (h) => h.thresholdPassed(),
  },
  {
    name: 'vmexit_lab_run_last_finish_timestamp_seconds',
    type: 'gauge',
    labels: ['scenario'],
    help: 'When the latest run of each scenario finished (Unix time).',
    collect: (h) => h.lastFinishTimestamp(),
  },
  {
    name: 'vmexit_lab_run_started_timestamp_seconds',
    type: 'gauge',
    labels: ['scenario'],
    help: 'When the latest run of each scenario started (Unix time).',
    collect: (h) => h.startedTimestamp(),
  },
  {
    name: 'vmexit_lab_run_last_exit_status',
    type: 'gauge',
    labels: ['scenario'],
    help: 'Exit status of the latest finished run of each scenario, as vmexit-lab run would exit: 0 passed, 1 a threshold failed, 3 an unexpected violation, a failed entry, or a run that failed or was stopped (partial).',
    collect: (h) => h.lastExitStatus(),
  },
  {
    name: 'vmexit_lab_run_last_not_judged',
    type: 'gauge',
    labels: ['scenario'],
    help: "Present (value 1) when the latest finished run of the scenario judged no threshold: a shard's (run --shard I/N, N > 1), whose thresholds vmexit-lab merge judges; its exit status 0 is not a pass.",
    collect: (h) => h.lastNotJudged(),
  },
  {
    name: 'vmexit_lab_invariant_violation_expected',
    type: 'gauge',
    labels: ['scenario', 'check'],
    help: 'Checks the scenario expects to be violated (its expect.violations), value 1: alerts on vmexit_lab_invariant_violations_total leave them out.',
    collect: (h) => h.expectedViolations(),
  },
  {
    name: 'vmexit_lab_run_last_wall_seconds',
    type: 'gauge',
    labels: ['scenario'],
    help: 'Wall-clock seconds the latest finished run of each scenario took.',
    collect: (h) => h.lastWallSeconds(),
  },
  {
    name: 'vmexit_lab_series_budget',
    type: 'gauge',
    labels: ['scenario'],
    help: "The scenario's cardinalityBudget: most /metrics series it may create.",
    collect: (h) => h.seriesBudget('budget'),
  },
  {
    name: 'vmexit_lab_series_expected',
    type: 'gauge',
    labels: ['scenario'],
    help: 'Series the scenario creates, computed before it runs (an upper bound with per-guest metrics).',
    collect: (h) => h.seriesBudget('expected'),
  },
  {
    name: 'vmexit_lab_pool_workers',
    serviceOnly: true,
    type: 'gauge',
    labels: [],
    help: 'Worker threads of the simulation pool.',
    collect: (h) => h.pool('workers'),
  },
  {
    name: 'vmexit_lab_pool_queued_tasks',
    serviceOnly: true,
    type: 'gauge',
    labels: [],
    help: 'Simulation tasks waiting for a worker.',
    collect: (h) => h.pool('queued'),
  },
  {
    name: 'vmexit_lab_pool_task_failures_total',
    serviceOnly: true,
    type: 'counter',
    labels: [],
    help: 'Simulation tasks that failed because their worker threw or died.',
    collect: (h) => h.pool('failures'),
  },
  {
    name: 'vmexit_lab_series_ceiling',
    serviceOnly: true,
    type: 'gauge',
    labels: [],
    help: 'Most scenario series this service exports at once (serve --max-series); runs wait queued for room under it.',
    collect: (h) => h.seriesCeiling('ceiling'),
  },
  {
    name: 'vmexit_lab_series_in_use',
    serviceOnly: true,
    type: 'gauge',
    labels: [],
    help: 'Scenario series exported now (every scenario label kept, live or not yet retired), counted as the ceiling counts them.',
    collect: (h) => h.seriesCeiling('in_use'),
  },
  {
    name: 'vmexit_lab_series_retirements_total',
    serviceOnly: true,
    type: 'counter',
    labels: [],
    help: 'Scenario labels whose series were retired from /metrics (their schedule, or room for a new run).',
    collect: (h) => h.seriesCeiling('retired'),
  },
  {
    name: 'vmexit_lab_runs_started_total',
    serviceOnly: true,
    type: 'counter',
    labels: ['lane'],
    help: 'Runs started, by lane (max, realtime, continuous).',
    collect: (h) => h.stats.started.samples(),
  },
  {
    name: 'vmexit_lab_runs_finished_total',
    serviceOnly: true,
    type: 'counter',
    labels: ['lane', 'state'],
    help: 'Runs finished, by lane and final state (completed, cancelled, failed).',
    collect: (h) => h.stats.finished.samples(),
  },
  {
    name: 'vmexit_lab_run_submissions_total',
    serviceOnly: true,
    type: 'counter',
    labels: ['outcome'],
    help: 'POST /api/runs by outcome: accepted, or the error code the run was refused with (limit_exceeded, too_complex, ...).',
    collect: (h) => h.stats.submissions.samples(),
  },
  {
    name: 'vmexit_lab_runs_queued',
    serviceOnly: true,
    type: 'gauge',
    labels: ['lane'],
    help: 'Runs waiting in the queue, by lane.',
    collect: (h) => h.stats.queue('queued'),
  },
  {
    name: 'vmexit_lab_runs_in_progress',
    serviceOnly: true,
    type: 'gauge',
    labels: ['lane'],
    help: 'Runs running now, by lane.',
    collect: (h) => h.stats.queue('running'),
  },
  {
    name: 'vmexit_lab_http_request_duration_seconds',
    serviceOnly: true,
    type: 'histogram',
    labels: ['route', 'method', 'code'],
    help: 'HTTP requests to the service by route pattern, method and status code: wall seconds from arrival to the last byte of the answer.',
    collect: (h, n) => h.stats.http.samples(n),
  },
  {
    name: 'vmexit_lab_metrics_render_seconds',
    serviceOnly: true,
    type: 'histogram',
    labels: ['format'],
    help: 'Wall seconds to render /metrics (format text or openmetrics); the current scrape is in the next.',
    collect: (h, n) => h.stats.render.samples(n),
  },
  // Per-guest series: opt-in (--per-guest-metrics); one series per guest and reason.
  {
    name: 'vmexit_lab_per_guest_vm_exits_total',
    type: 'counter',
    perGuest: true,
    labels: [...V, 'host', 'guest', 'os', 'reason'],
    help: 'VM exits per simulated guest and exit reason (opt-in).',
    collect: (h) => S.guestExits(h),
  },
  {
    name: 'vmexit_lab_per_guest_cr8_accesses_total',
    type: 'counter',
    perGuest: true,
    labels: [...V, 'host', 'guest', 'os'],
    help: '%cr8 reads and writes per simulated guest (opt-in).',
    collect: (h) => S.guestValue(h, (g) => g.cr8),
  },
  {
    name: 'vmexit_lab_per_guest_interrupts_delivered_total',
    type: 'counter',
    perGuest: true,
    labels: [...V, 'host', 'guest', 'os'],
    help: 'Interrupts delivered per simulated guest (opt-in).',
    collect: (h) => S.guestValue(h, (g) => g.delivered),
  },
  {
    name: 'vmexit_lab_per_guest_cpu_seconds_total',
    type: 'counter',
    perGuest: true,
    labels: [...V, 'host', 'guest', 'os'],
    help: 'Simulated CPU seconds per guest (opt-in).',
    collect: (h) => S.guestValue(h, (g) => g.cpuSeconds),
  },
];
