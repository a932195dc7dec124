/** The overview dashboard: one scenario's variants, exits, interrupts, time, runs, and an A/B pair. */
import { type DashboardBuilder, RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import type { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as HeatmapPanel } from '@grafana/grafana-foundation-sdk/heatmap';
import { PanelBuilder as StateTimelinePanel } from '@grafana/grafana-foundation-sdk/statetimeline';
import { PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import {
  StackingConfigBuilder,
  StackingMode,
  ReduceDataOptionsBuilder,
  BigValueGraphMode,
} from '@grafana/grafana-foundation-sdk/common';
import {
  HeatmapColorOptionsBuilder,
  HeatmapColorMode,
  HeatmapColorScale,
  YAxisConfigBuilder,
} from '@grafana/grafana-foundation-sdk/heatmap';
import {
  CR8_REASONS,
  DATASOURCE,
  INFO,
  RATE,
  TPR_BELOW_REASONS,
  dashboardLinks,
  labelVariable,
  perSimSecond,
  sel,
  target,
  timeseries as ts,
  vmexitLabDashboard,
} from './common.js';

export const OVERVIEW_UID = 'vmexit-lab-overview';
export const DRILLDOWN_UID = 'vmexit-lab-drilldown';

const VSEL = sel({ job: '$job', scenario: '$scenario', variant: '$variant' });
const SSEL = sel({ job: '$job', scenario: '$scenario' });

export function latencyQuantiles(vsel: string, legendPrefix: string): ReturnType<typeof target>[] {
  return [0.5, 0.9, 0.99].map((q, i) =>
    target(
      `histogram_quantile(${q}, sum by (job, scenario, variant, le) (rate(vmexit_lab_interrupt_latency_seconds_bucket{${vsel}}[${RATE}])))`,
      `${legendPrefix}p${Math.round(q * 100)}`,
      String.fromCharCode(65 + i),
    ),
  );
}

/** The A/B pair: the same panel for variant $a (left) and $b (right). */
function abPair(row: DashboardBuilder, make: (vsel: string, side: string) => TimeseriesPanel): void {
  for (const side of ['a', 'b'])
    row.withPanel(make(sel({ job: '$job', scenario: '$scenario', variant: `$${side}` }), side.toUpperCase()));
}

export function overviewDashboard(): Dashboard {
  const d = vmexitLabDashboard(
    'vmexit-lab: overview',
    OVERVIEW_UID,
    'VM exits, interrupts and time of the emulated guests of one scenario, per simulated second; A/B comparison of two variants.',
  )
    .withVariable(labelVariable('variant', 'variant', INFO, SSEL))
    .withVariable(labelVariable('a', 'variant', INFO, SSEL, { multi: false, title: 'A (baseline)' }))
    .withVariable(labelVariable('b', 'variant', INFO, SSEL, { multi: false, title: 'B (candidate)' }))
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
        'All VM exits of each variant per simulated second of the variant.',
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
      ),
    )
    .withPanel(
      stat(
        'Invariant violations',
        'Invariant violations counted so far (any > 0 is a bug in the emulated hypervisor policy).',
        `sum by (variant) (vmexit_lab_invariant_violations_total{${VSEL}})`,
        '{{variant}}',
        'none',
      ),
    )
    .withPanel(
      stat(
        'Thresholds passed',
        'Thresholds of the latest completed run: 1 passed, 0 failed (variant * for cross-variant ratios).',
        `min by (variant, threshold) (vmexit_lab_threshold_passed{${SSEL}})`,
        '{{variant}} {{threshold}}',
        'bool_yes_no',
      ),
    );

  d.withRow(new RowBuilder('VM exits'))
    .withPanel(
      ts(
        'Exits per simulated second by reason',
        "rate(vmexit_lab_vm_exits_total) / rate(vmexit_lab_simulated_seconds_total), by variant and exit reason (the manual's name).",
        'short',
      )
        .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
        .withTarget(
          target(perSimSecond('vmexit_lab_vm_exits_total', VSEL, ['variant', 'reason']), '{{variant}} {{reason}}'),
        ),
    )
    .withPanel(
      ts(
        '%cr8 exits vs TPR-below-threshold exits',
        `%cr8 exits (${CR8_REASONS}) against ${TPR_BELOW_REASONS} exits, per simulated second: the TPR-shadowing trade.`,
        'short',
      )
        .withTarget(
          target(
            perSimSecond('vmexit_lab_vm_exits_total', VSEL, ['variant'], [`reason=~"${CR8_REASONS}"`]),
            '{{variant}} %cr8',
            'A',
          ),
        )
        .withTarget(
          target(
            perSimSecond('vmexit_lab_vm_exits_total', VSEL, ['variant'], [`reason=~"${TPR_BELOW_REASONS}"`]),
            '{{variant}} TPR below threshold',
            'B',
          ),
        ),
    )
    .withPanel(
      ts(
        'Host time in exits vs guest time',
        'Host seconds handling exits and guest CPU seconds, per simulated second (1 = one CPU busy).',
        'percentunit',
      )
        .withTarget(
          target(
            perSimSecond('vmexit_lab_exit_handling_seconds_total', VSEL, ['variant']),
            '{{variant}} host in exits',
            'A',
          ),
        )
        .withTarget(
          target(perSimSecond('vmexit_lab_guest_cpu_seconds_total', VSEL, ['variant']), '{{variant}} guest', 'B'),
        ),
    )
    .withPanel(
      ts(
        'TPR accesses per simulated second by kind',
        'Guest task-priority accesses: cr8_read, cr8_write, mmio_write (xAPIC), msr_write (x2APIC).',
        'short',
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
      ).withTarget(
        target(
          perSimSecond('vmexit_lab_interrupts_total', VSEL, ['variant', 'source', 'outcome']),
          '{{variant}} {{source}} {{outcome}}',
        ),
      ),
    )
    .withPanel(
      ts(
        'Interrupt deliveries per simulated second by path',
        'injected by the hypervisor, virtual (APICv/AVIC virtual interrupt delivery), posted.',
        'short',
      ).withTarget(
        target(
          perSimSecond('vmexit_lab_interrupt_deliveries_total', VSEL, ['variant', 'path']),
          '{{variant}} {{path}}',
        ),
      ),
    )
    .withPanel(
      ts(
        'Interrupt latency percentiles',
        'Arrival to guest ISR, in simulated seconds: p50, p90, p99 of vmexit_lab_interrupt_latency_seconds.',
        's',
      )
        .withTarget(latencyQuantiles(VSEL, '{{variant}} ')[0])
        .withTarget(latencyQuantiles(VSEL, '{{variant}} ')[1])
        .withTarget(latencyQuantiles(VSEL, '{{variant}} ')[2]),
    )
    .withPanel(
      new HeatmapPanel()
        .title('Interrupt latency heatmap')
        .description('Latency buckets (simulated seconds) of the selected variants, interrupts per wall second.')
        .datasource(DATASOURCE)
        .height(9)
        .span(12)
        .calculate(false)
        .color(
          new HeatmapColorOptionsBuilder()
            .mode(HeatmapColorMode.Scheme)
            .scheme('Oranges')
            .scale(HeatmapColorScale.Exponential)
            .exponent(0.5),
        )
        .yAxis(new YAxisConfigBuilder().unit('s'))
        .withTarget(
          target(`sum by (le) (rate(vmexit_lab_interrupt_latency_seconds_bucket{${VSEL}}[${RATE}]))`, '{{le}}').format(
            PromQueryFormat.Heatmap,
          ),
        ),
    );

  d.withRow(new RowBuilder('Runs and invariants'))
    .withPanel(
      ts(
        'Phase completion time (mean over guests)',
        "Simulated seconds the guests needed to finish each work-bound phase (install, build, disk-benchmark): vmexit_lab_phase_duration_seconds_total / vmexit_lab_phase_completions_total. Compare variants: the seed's 2280 s vs 370 s install.",
        's',
      ).withTarget(
        target(
          `sum by (variant, phase) (vmexit_lab_phase_duration_seconds_total{${VSEL}}) / sum by (variant, phase) (vmexit_lab_phase_completions_total{${VSEL}})`,
          '{{variant}} {{phase}}',
        ),
      ),
    )
    .withPanel(
      ts(
        'Run progress: simulated seconds advanced',
        'vmexit_lab_simulated_seconds_total per variant: each run adds its duration; a flat line is a finished or stalled run.',
        's',
      ).withTarget(target(`sum by (variant) (vmexit_lab_simulated_seconds_total{${VSEL}})`, '{{variant}}')),
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
      ts(
        'Invariant violations by check',
        'vmexit_lab_invariant_violations_total by check (every check is pre-created at 0).',
        'none',
      ).withTarget(
        target(`sum by (variant, check) (vmexit_lab_invariant_violations_total{${VSEL}})`, '{{variant}} {{check}}'),
      ),
    )
    .withPanel(
      ts('VM entry failures', 'Failed VM entries (VMCS checks), by variant.', 'none').withTarget(
        target(`sum by (variant) (vmexit_lab_vm_entry_failures_total{${VSEL}})`, '{{variant}}'),
      ),
    );

  const ab = d.withRow(new RowBuilder('A/B: $a vs $b'));
  abPair(ab, (v, s) =>
    ts(
      `${s}: exits per simulated second by reason ($${s.toLowerCase()})`,
      `Variant ${s}, exits per simulated second by reason.`,
      'short',
    )
      .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
      .withTarget(target(perSimSecond('vmexit_lab_vm_exits_total', v, ['variant', 'reason']), '{{reason}}')),
  );
  abPair(ab, (v, s) =>
    ts(
      `${s}: host time in exits vs guest time ($${s.toLowerCase()})`,
      `Variant ${s}, per simulated second.`,
      'percentunit',
    )
      .withTarget(target(perSimSecond('vmexit_lab_exit_handling_seconds_total', v, ['variant']), 'host in exits', 'A'))
      .withTarget(target(perSimSecond('vmexit_lab_guest_cpu_seconds_total', v, ['variant']), 'guest', 'B')),
  );
  abPair(ab, (v, s) => {
    const p = ts(`${s}: interrupt latency percentiles ($${s.toLowerCase()})`, `Variant ${s}, simulated seconds.`, 's');
    for (const t of latencyQuantiles(v, '')) p.withTarget(t);
    return p;
  });
  return d.build();
}
