/** The overview dashboard: one scenario's variants, exits, interrupts, time, runs, and an A/B pair. */
import {
  type DashboardBuilder,
  RowBuilder,
  type Dashboard,
  MappingType,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import {
  StackingConfigBuilder,
  StackingMode,
  ReduceDataOptionsBuilder,
  BigValueColorMode,
  BigValueGraphMode,
} from '@grafana/grafana-foundation-sdk/common';
import {
  CPUS,
  CR8_REASONS,
  DATASOURCE,
  INFO,
  RANGE,
  RATE,
  TPR_BELOW_REASONS,
  VARIANT_KEY,
  cr8VsTprBelowPanel,
  dashboardLinks,
  labelVariable,
  deliveryPathsPanel,
  latencyHeatmap,
  latencyPercentilesPanel,
  latencyQuantiles,
  perSimSecond,
  sel,
  target,
  timeseries as ts,
  violationsPanel,
  vmexitLabDashboard,
} from './common.js';

export const OVERVIEW_UID = 'vmexit-lab-overview';

const VSEL = sel({ job: '$job', scenario: '$scenario', variant: '$variant' });
const SSEL = sel({ job: '$job', scenario: '$scenario' });
const PER_SIM = 'per simulated second';

/** The A/B pair: the same panel for variant $a (left) and $b (right). */
function abPair(row: DashboardBuilder, make: (vsel: string, side: string) => TimeseriesPanel): void {
  for (const side of ['a', 'b'])
    row.withPanel(make(sel({ job: '$job', scenario: '$scenario', variant: `$${side}` }), side.toUpperCase()));
}

/**
 * Host seconds in exits, guest CPU seconds and the device model's host seconds outside any exit,
 * per simulated second, in CPUs (A: host in exits, B: guest, C: device model). The three add up to
 * the VM process's CPU, as results.json's host_cpu_fraction counts it.
 */
function hostVsGuest(p: TimeseriesPanel, vsel: string, legend: string): TimeseriesPanel {
  return p
    .withTarget(
      target(perSimSecond('vmexit_lab_exit_handling_seconds_total', vsel, ['variant']), `${legend}host in exits`, 'A'),
    )
    .withTarget(target(perSimSecond('vmexit_lab_guest_cpu_seconds_total', vsel, ['variant']), `${legend}guest`, 'B'))
    .withTarget(
      target(perSimSecond('vmexit_lab_device_model_seconds_total', vsel, ['variant']), `${legend}device model`, 'C'),
    );
}

export function overviewDashboard(): Dashboard {
  const d = vmexitLabDashboard(
    'vmexit-lab: overview',
    OVERVIEW_UID,
    'VM exits, interrupts and time of the emulated guests of one scenario, per simulated second; A/B comparison of two variants.',
  )
    .withVariable(
      labelVariable('variant', 'variant', INFO, SSEL, {
        description:
          'Variants of the scenario (one per matrix value): every panel keeps them apart; the heatmap repeats per variant.',
      }),
    )
    .withVariable(
      labelVariable('a', 'variant', INFO, SSEL, {
        multi: false,
        title: 'A (baseline)',
        description: 'The baseline variant of the A/B row; defaults to the first variant in alphabetical order.',
      }),
    )
    .withVariable(
      labelVariable('b', 'variant', INFO, SSEL, {
        multi: false,
        title: 'B (candidate)',
        // Sorted the other way round, so that by default B is the last variant and A the first.
        sort: VariableSort.AlphabeticalDesc,
        description:
          'The candidate variant of the A/B row; defaults to the last variant in alphabetical order, so A and B differ.',
      }),
    )
    .link(dashboardLinks());

  // Summary stats.
  const stat = (title: string, description: string, expr: string, legend: string, unit: string): StatPanel =>
    new StatPanel()
      .title(title)
      .description(description)
      .datasource(DATASOURCE)
      .unit(unit)
      .height(5)
      .span(6)
      .graphMode(BigValueGraphMode.Area)
      .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']))
      .withTarget(target(expr, legend));
  d.withRow(new RowBuilder('Summary'))
    .withPanel(
      stat(
        'Exits per simulated second',
        'All VM exits of each variant per simulated second of the variant, over the rate window (no value between runs).',
        perSimSecond('vmexit_lab_vm_exits_total', VSEL, ['variant']),
        '{{variant}}',
        'short',
      ),
    )
    .withPanel(
      stat(
        'Guests running',
        'Emulated guests running now, by variant.',
        `sum by (variant) (vmexit_lab_guests_running{${VSEL}})`,
        '{{variant}}',
        'none',
      ).decimals(0),
    )
    .withPanel(
      stat(
        'Invariant violations of the current run',
        "Invariant violations of each variant's latest run (the running one while one runs; vmexit_lab_run_invariant_violations), expected ones included: any the scenario does not expect is a bug in the emulated hypervisor policy. Where the service does not export that series yet, those counted during the dashboard's time range.",
        `sum by (variant) (vmexit_lab_run_invariant_violations{${VSEL}})\n  or sum by (variant) (increase(vmexit_lab_invariant_violations_total{${VSEL}}[${RANGE}]))`,
        '{{variant}}',
        'none',
      ).decimals(0),
    )
    .withPanel(
      stat(
        'Thresholds passed',
        'Thresholds of the latest completed run: 1 passed, 0 failed (variant * for cross-variant ratios).',
        `min by (variant, threshold) (vmexit_lab_threshold_passed{${SSEL}})`,
        '{{variant}} {{threshold}}',
        'bool_yes_no',
      ),
    )
    .withPanel(
      stat(
        'Latest run verdict',
        "The exit status `vmexit-lab run` would give the scenario's latest finished run (vmexit_lab_run_last_exit_status): passed (0) in green; a failed threshold (1), an unexpected invariant violation, a failed VM entry or a failed or partial run (3) in red, never a green 'completed'. A shard's run (`run --shard I/N`, N > 1; vmexit_lab_run_last_not_judged) judges no threshold: shown as not judged (-1), not passed, unless it failed (3); `vmexit-lab merge` judges the whole run. Where the service does not export the exit status yet: 1 when a threshold of the latest completed run failed, else 0.",
        [
          `max by (scenario) (vmexit_lab_run_last_exit_status{${SSEL}}) > 0`,
          `(max by (scenario) (vmexit_lab_run_last_not_judged{${SSEL}}) * 0) - 1`,
          `max by (scenario) (vmexit_lab_run_last_exit_status{${SSEL}})`,
          `(1 - min by (scenario) (vmexit_lab_threshold_passed{${SSEL}}))`,
        ].join('\n  or '),
        '{{scenario}}',
        'none',
      )
        .colorMode(BigValueColorMode.Background)
        .graphMode(BigValueGraphMode.None)
        .mappings([
          {
            type: MappingType.ValueToText,
            options: {
              '-1': { text: 'not judged (a shard: merge judges)', color: 'blue', index: 4 },
              '0': { text: 'passed', color: 'green', index: 0 },
              '1': { text: 'threshold failed', color: 'red', index: 1 },
              '2': { text: 'bad input', color: 'red', index: 2 },
              '3': { text: 'violation, failed entry or partial run', color: 'red', index: 3 },
            },
          },
        ]),
    );

  d.withRow(new RowBuilder('VM exits'))
    .withPanel(
      ts(
        'Exits per simulated second by reason',
        "rate(vmexit_lab_vm_exits_total) / rate(vmexit_lab_simulated_seconds_total), by variant and exit reason (the manual's name).",
        'short',
        PER_SIM,
      )
        .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
        .withTarget(
          target(perSimSecond('vmexit_lab_vm_exits_total', VSEL, ['variant', 'reason']), '{{variant}} {{reason}}'),
        ),
    )
    .withPanel(
      cr8VsTprBelowPanel(
        '%cr8 exits vs TPR-below-threshold exits',
        `%cr8 exits (${CR8_REASONS}) against ${TPR_BELOW_REASONS} exits, per simulated second: the TPR-shadowing trade.`,
        VSEL,
      ),
    )
    .withPanel(
      hostVsGuest(
        ts(
          'Host time in exits vs guest CPU',
          "Host seconds handling the variant's exits, its guests' CPU seconds and the device model's host seconds outside any exit (the emulated platform timer of a Windows guest under KVM), per simulated second: the number of CPUs busy on average (all hosts and vCPUs of the variant; 1 = one CPU). Their sum is the VM processes' CPU.",
          CPUS,
          'CPUs busy',
        ),
        VSEL,
        '{{variant}} ',
      ),
    )
    .withPanel(
      ts(
        'TPR accesses per simulated second by kind',
        'Guest task-priority accesses: cr8_read, cr8_write, mmio_write (xAPIC), msr_write (x2APIC).',
        'short',
        PER_SIM,
      ).withTarget(
        target(perSimSecond('vmexit_lab_tpr_accesses_total', VSEL, ['variant', 'kind']), '{{variant}} {{kind}}'),
      ),
    );

  d.withRow(new RowBuilder('Interrupts'))
    .withPanel(
      ts(
        'Interrupts raised / delivered per simulated second by source',
        'Interrupts by source (timer, device, ipi) and outcome (raised, delivered).',
        'short',
        PER_SIM,
      ).withTarget(
        target(
          perSimSecond('vmexit_lab_interrupts_total', VSEL, ['variant', 'source', 'outcome']),
          '{{variant}} {{source}} {{outcome}}',
        ),
      ),
    )
    .withPanel(deliveryPathsPanel(VSEL))
    .withPanel(latencyPercentilesPanel(VSEL))
    .withPanel(
      latencyHeatmap(
        sel({ job: '$job', scenario: '$scenario', variant: '$variant' }),
        'Latency buckets (simulated seconds) of one variant, deliveries per simulated second; one heatmap per variant (the panel repeats for each selected variant).',
      ),
    );

  // KVM halt polling: what a kvm.halt_poll_ns matrix trades (kvm_main.c kvm_vcpu_block; docs/MODEL.md
  // section 5): halts woken inside the poll window skip the block and wake-up path, at the price of
  // host CPU spent polling. KVM variants only: bhyve's vm_handle_hlt never polls (no series).
  const KVM_NOTE = 'KVM variants only (bhyve never polls: no series).';
  d.withRow(new RowBuilder('KVM halt polling (kvm.halt_poll_ns)'))
    .withPanel(
      ts(
        'KVM halts per simulated second: woken while polling, or slept',
        `Halts of each variant's vCPUs per simulated second, by what KVM's vCPU thread did: woken while polling (halt_successful_poll: no sleep, no wake-up cost), polled and then slept (a failed poll), and slept then woken (halt_wakeup: failed polls included, and halts that did not poll). Woken while polling and slept, then woken do not overlap: together, the halts that waited for a wake-up. ${KVM_NOTE}`,
        'short',
        PER_SIM,
      )
        .span(8)
        .withTarget(
          target(
            perSimSecond('vmexit_lab_kvm_halt_polls_total', VSEL, ['variant'], ['outcome="successful"']),
            '{{variant}} woken while polling',
            'A',
          ),
        )
        .withTarget(
          target(
            perSimSecond('vmexit_lab_kvm_halt_polls_total', VSEL, ['variant'], ['outcome="failed"']),
            '{{variant}} polled, then slept',
            'B',
          ),
        )
        .withTarget(
          target(
            perSimSecond('vmexit_lab_kvm_halt_wakeups_total', VSEL, ['variant']),
            '{{variant}} slept, then woken',
            'C',
          ),
        ),
    )
    .withPanel(
      ts(
        'KVM halt polls that succeeded',
        `Of the halts whose vCPU thread polled in the rate window, the share woken while polling (halt_successful_poll / halt_attempted_poll, a ratio of two counts). No value where no halt polled (kvm.halt_poll_ns 0, or every halt longer than the window). ${KVM_NOTE}`,
        'percentunit',
        'share of polls',
      )
        .span(8)
        .max(1)
        .withTarget(
          target(
            `sum by (variant) (\n  sum by (${VARIANT_KEY}) (rate(vmexit_lab_kvm_halt_polls_total{${VSEL}, outcome="successful"}[${RATE}]))\n  / on (${VARIANT_KEY})\n  (sum by (${VARIANT_KEY}) (rate(vmexit_lab_kvm_halt_polls_total{${VSEL}}[${RATE}])) > 0)\n)`,
            '{{variant}}',
          ),
        ),
    )
    .withPanel(
      ts(
        'KVM host CPU spent halt polling',
        `Host seconds the vCPU threads spent polling (halt_poll_success_ns + halt_poll_fail_ns), beside all the host seconds of HLT exits (polling included: do not add them), per simulated second: CPUs busy. ${KVM_NOTE}`,
        CPUS,
        'CPUs busy',
      )
        .span(8)
        .withTarget(
          target(perSimSecond('vmexit_lab_kvm_halt_poll_seconds_total', VSEL, ['variant']), '{{variant}} polling', 'A'),
        )
        .withTarget(
          target(
            `${perSimSecond('vmexit_lab_exit_handling_seconds_total', VSEL, ['variant'], ['reason=~"HLT|VMEXIT_HLT"'])}\n  and on (variant) sum by (variant) (vmexit_lab_kvm_halt_wakeups_total{${VSEL}})`,
            '{{variant}} HLT exits in all',
            'B',
          ),
        ),
    );

  d.withRow(new RowBuilder('Runs and invariants'))
    .withPanel(
      ts(
        'Phase completion time (mean over guests)',
        "Simulated seconds the guests needed to finish each work-bound phase (install, build, disk-benchmark): vmexit_lab_phase_duration_seconds_total / vmexit_lab_phase_completions_total, over every run of the variant (runs of one scenario and seed take the same time), of the guests that finished it only: see the guests that had not, beside. Compare variants: the seed's 2280 s vs 370 s install.",
        's',
        'simulated seconds',
      ).withTarget(
        target(
          `sum by (variant, phase) (vmexit_lab_phase_duration_seconds_total{${VSEL}})\n  / (sum by (variant, phase) (vmexit_lab_phase_completions_total{${VSEL}}) > 0)`,
          '{{variant}} {{phase}}',
        ),
      ),
    )
    .withPanel(
      // The completion time beside it counts the guests that finished only (results.json phaseSeconds
      // and phaseUnfinished, docs/RESULTS.md): this says how many did not, so a fast mean is not read
      // as the phase's time.
      ts(
        'Guests that had not finished a work-bound phase',
        "Guests of each variant's latest run that had not finished the phase (vmexit_lab_run_phase_unfinished_guests): once the run ended, those it ended first (a fixed duration or maxDuration reached, a stopped guest; results.json totals.phaseUnfinished). The completion time beside is the mean of the guests that finished only, so above 0 it reads faster than the phase was, and a threshold on the phase's time fails. While a run goes on, the guests not finished yet: it falls to 0 as they finish. No series for a variant without a work-bound phase.",
        'none',
        'guests',
      )
        .decimals(0)
        .withTarget(
          target(`sum by (variant, phase) (vmexit_lab_run_phase_unfinished_guests{${VSEL}})`, '{{variant}} {{phase}}'),
        ),
    )
    .withPanel(
      ts(
        'Simulated seconds of the current run',
        "How far each variant's latest run (the running one while one runs) has advanced in simulated time (vmexit_lab_run_simulated_seconds); the slope is the pace (1 at realtime). Where the service does not export that series yet, the advance since the left edge of the time range (vmexit_lab_simulated_seconds_total minus its value there).",
        's',
        'simulated seconds',
      ).withTarget(
        target(
          `sum by (variant) (vmexit_lab_run_simulated_seconds{${VSEL}})\n  or (sum by (variant) (vmexit_lab_simulated_seconds_total{${VSEL}}) - sum by (variant) (vmexit_lab_simulated_seconds_total{${VSEL}} @ start()))\n  or sum by (variant) (vmexit_lab_simulated_seconds_total{${VSEL}})`,
          '{{variant}}',
        ),
      ),
    )
    .withPanel(
      new StateTimelinePanel()
        .title('Latest run state')
        .description(
          "vmexit_lab_run_state: the state of the scenario's latest run (queued, running, completed, cancelled, failed, interrupted).",
        )
        .datasource(DATASOURCE)
        .height(9)
        .span(12)
        .withTarget(target(`max by (state) (vmexit_lab_run_state{${SSEL}}) == 1`, '{{state}}')),
    )
    .withPanel(
      violationsPanel(
        VSEL,
        'Violations per rate window by variant and check (every check is pre-created at 0), expected ones included.',
      ),
    )
    .withPanel(
      // The service's one lag gauge (src/metrics/catalogue.ts vmexit_lab_realtime_lag_seconds, no
      // variant label): whether the realtime runs keep pace with the wall clock (docs/PERF.md).
      ts(
        'Realtime lag of the service',
        "Simulated seconds the service's realtime runs are behind the wall clock (vmexit_lab_realtime_lag_seconds: the largest over their running tasks; 0 when every task is on time or none runs). Above 1 s the fleet does not keep up at pace realtime: its rates still hold per simulated second, but it runs slower than real time. Pace-max runs are not realtime: always 0 for them.",
        's',
        'simulated seconds behind',
      ).withTarget(target(`max by (job) (vmexit_lab_realtime_lag_seconds{job=~"$job"})`, 'lag ({{job}})')),
    )
    .withPanel(
      ts('VM entry failures', 'Failed VM entries (VMCS checks) per rate window, by variant.', 'none', 'entries')
        .decimals(0)
        .withTarget(
          target(`sum by (variant) (increase(vmexit_lab_vm_entry_failures_total{${VSEL}}[${RATE}]))`, '{{variant}}'),
        ),
    );

  const ab = d.withRow(new RowBuilder('A/B: $a vs $b'));
  abPair(ab, (v, s) =>
    ts(
      `${s}: exits per simulated second by reason ($${s.toLowerCase()})`,
      `Variant ${s}, exits per simulated second by reason.`,
      'short',
      PER_SIM,
    )
      .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
      .withTarget(target(perSimSecond('vmexit_lab_vm_exits_total', v, ['variant', 'reason']), '{{reason}}')),
  );
  abPair(ab, (v, s) =>
    hostVsGuest(
      ts(
        `${s}: host time in exits vs guest CPU ($${s.toLowerCase()})`,
        `Variant ${s}: CPUs busy in exits (host), running guest code, and in the device model outside any exit (the VMM's emulated platform timer; 0 under bhyve), per simulated second; their sum is the VM processes' CPU.`,
        CPUS,
        'CPUs busy',
      ),
      v,
      '',
    ),
  );
  abPair(ab, (v, s) => {
    const p = ts(
      `${s}: interrupt latency percentiles ($${s.toLowerCase()})`,
      `Variant ${s}, simulated seconds; exemplars carry replay handles.`,
      's',
      'simulated seconds',
    );
    for (const t of latencyQuantiles(v, '')) p.withTarget(t);
    return p;
  });
  return d.build();
}
