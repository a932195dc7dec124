/** The drill-down dashboard: one scenario narrowed to guest OS, CPU profile and policy. */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as HeatmapPanel } from '@grafana/grafana-foundation-sdk/heatmap';
import { PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { StackingConfigBuilder, StackingMode } from '@grafana/grafana-foundation-sdk/common';
import { YAxisConfigBuilder } from '@grafana/grafana-foundation-sdk/heatmap';
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
import { DRILLDOWN_UID, latencyQuantiles } from './overview.js';

const VSEL = sel({ job: '$job', scenario: '$scenario', variant: '$variant', cpu: '$cpu', policy: '$policy' });
const OS = 'os=~"$os"';

export function drilldownDashboard(): Dashboard {
  const d = vmexitLabDashboard(
    'vmexit-lab: drill-down by OS / CPU / policy',
    DRILLDOWN_UID,
    'One scenario narrowed to guest OSes, CPU profiles and hypervisor policies, per simulated second.',
  )
    .withVariable(labelVariable('cpu', 'cpu', INFO, sel({ job: '$job', scenario: '$scenario' }), { title: 'CPU' }))
    .withVariable(labelVariable('policy', 'policy', INFO, sel({ job: '$job', scenario: '$scenario', cpu: '$cpu' })))
    .withVariable(
      labelVariable(
        'variant',
        'variant',
        INFO,
        sel({ job: '$job', scenario: '$scenario', cpu: '$cpu', policy: '$policy' }),
      ),
    )
    .withVariable(labelVariable('os', 'os', 'vmexit_lab_guests_running', VSEL, { title: 'guest OS' }))
    .link(dashboardLinks());

  d.withRow(new RowBuilder('Guests of $os'))
    .withPanel(
      ts(
        'Exits per simulated second by reason ($os)',
        'Exits of the selected guest OSes by exit reason, per simulated second of the variant.',
        'short',
      )
        .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
        .withTarget(
          target(
            perSimSecond('vmexit_lab_vm_exits_total', VSEL, ['variant', 'os', 'reason'], [OS]),
            '{{variant}} {{os}} {{reason}}',
          ),
        ),
    )
    .withPanel(
      ts('Exits per simulated second by guest OS', 'All exits per guest OS, per simulated second.', 'short').withTarget(
        target(perSimSecond('vmexit_lab_vm_exits_total', VSEL, ['variant', 'os'], [OS]), '{{variant}} {{os}}'),
      ),
    )
    .withPanel(
      ts(
        '%cr8 vs TPR-below-threshold exits by guest OS',
        `%cr8 exits (${CR8_REASONS}) and ${TPR_BELOW_REASONS} exits per simulated second.`,
        'short',
      )
        .withTarget(
          target(
            perSimSecond('vmexit_lab_vm_exits_total', VSEL, ['variant', 'os'], [OS, `reason=~"${CR8_REASONS}"`]),
            '{{variant}} {{os}} %cr8',
            'A',
          ),
        )
        .withTarget(
          target(
            perSimSecond('vmexit_lab_vm_exits_total', VSEL, ['variant', 'os'], [OS, `reason=~"${TPR_BELOW_REASONS}"`]),
            '{{variant}} {{os}} TPR below threshold',
            'B',
          ),
        ),
    )
    .withPanel(
      ts('Guests running by OS', 'vmexit_lab_guests_running of the selected guest OSes.', 'none').withTarget(
        target(`sum by (variant, os) (vmexit_lab_guests_running{${VSEL}, ${OS}})`, '{{variant}} {{os}}'),
      ),
    );

  d.withRow(new RowBuilder('CPU $cpu, policy $policy'))
    .withPanel(
      ts(
        'Exits per simulated second by CPU and policy',
        'All exits of the selected variants, by CPU profile and policy.',
        'short',
      ).withTarget(
        target(perSimSecond('vmexit_lab_vm_exits_total', VSEL, ['cpu', 'policy'], [OS]), '{{cpu}} {{policy}}'),
      ),
    )
    .withPanel(
      ts(
        'Host time in exits by reason',
        'Host seconds handling exits per simulated second, by reason (all guest OSes: the metric has no os label).',
        'percentunit',
      )
        .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
        .withTarget(
          target(
            perSimSecond('vmexit_lab_exit_handling_seconds_total', VSEL, ['cpu', 'policy', 'reason']),
            '{{cpu}} {{policy}} {{reason}}',
          ),
        ),
    )
    .withPanel(
      ts(
        'Guest CPU per simulated second',
        'Guest CPU seconds per simulated second, by CPU profile and policy.',
        'percentunit',
      ).withTarget(
        target(perSimSecond('vmexit_lab_guest_cpu_seconds_total', VSEL, ['cpu', 'policy']), '{{cpu}} {{policy}}'),
      ),
    )
    .withPanel(
      ts(
        'Exits per guest-second',
        'All exits divided by vmexit_lab_guest_simulated_seconds_total: the exit rate of an average guest.',
        'short',
      ).withTarget(
        target(
          perSimSecond(
            'vmexit_lab_vm_exits_total',
            VSEL,
            ['cpu', 'policy'],
            [],
            'vmexit_lab_guest_simulated_seconds_total',
          ),
          '{{cpu}} {{policy}}',
        ),
      ),
    )
    .withPanel(
      ts(
        'TPR accesses per simulated second by kind',
        'cr8_read, cr8_write, mmio_write, msr_write.',
        'short',
      ).withTarget(
        target(
          perSimSecond('vmexit_lab_tpr_accesses_total', VSEL, ['cpu', 'policy', 'kind']),
          '{{cpu}} {{policy}} {{kind}}',
        ),
      ),
    )
    .withPanel(
      ts('Interrupt deliveries per simulated second by path', 'injected, virtual, posted.', 'short').withTarget(
        target(
          perSimSecond('vmexit_lab_interrupt_deliveries_total', VSEL, ['cpu', 'policy', 'path']),
          '{{cpu}} {{policy}} {{path}}',
        ),
      ),
    )
    .withPanel(
      (() => {
        const p = ts('Interrupt latency percentiles', 'p50, p90, p99 in simulated seconds.', 's');
        for (const t of latencyQuantiles(VSEL, '{{variant}} ')) p.withTarget(t);
        return p;
      })(),
    )
    .withPanel(
      new HeatmapPanel()
        .title('Interrupt latency heatmap')
        .description('Latency buckets of the selected variants.')
        .datasource(DATASOURCE)
        .height(9)
        .span(12)
        .calculate(false)
        .yAxis(new YAxisConfigBuilder().unit('s'))
        .withTarget(
          target(`sum by (le) (rate(vmexit_lab_interrupt_latency_seconds_bucket{${VSEL}}[${RATE}]))`, '{{le}}').format(
            PromQueryFormat.Heatmap,
          ),
        ),
    )
    .withPanel(
      ts('Invariant violations by check', 'Any value > 0 is a bug of the emulated policy.', 'none').withTarget(
        target(`sum by (policy, check) (vmexit_lab_invariant_violations_total{${VSEL}})`, '{{policy}} {{check}}'),
      ),
    );
  return d.build();
}
