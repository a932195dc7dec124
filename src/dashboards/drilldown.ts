/** The drill-down dashboard: one scenario narrowed to guest OS, CPU profile and policy, variant by variant. */
import { RowBuilder, type Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { StackingConfigBuilder, StackingMode } from '@grafana/grafana-foundation-sdk/common';
import {
  CPUS,
  CR8_REASONS,
  INFO,
  TPR_BELOW_REASONS,
  cr8VsTprBelowPanel,
  dashboardLinks,
  labelVariable,
  deliveryPathsPanel,
  latencyHeatmap,
  latencyPercentilesPanel,
  perSimSecond,
  sel,
  target,
  timeseries as ts,
  violationsPanel,
  vmexitLabDashboard,
} from './common.js';

export const DRILLDOWN_UID = 'vmexit-lab-drilldown';

const VSEL = sel({ job: '$job', scenario: '$scenario', variant: '$variant', cpu: '$cpu', policy: '$policy' });
const OS = 'os=~"$os"';
const PER_SIM = 'per simulated second';

export function drilldownDashboard(): Dashboard {
  const d = vmexitLabDashboard(
    'vmexit-lab: drill-down by OS / CPU / policy',
    DRILLDOWN_UID,
    'One scenario narrowed to guest OSes, CPU profiles and hypervisor policies, per simulated second; every series is one variant (variants that differ only in a tunable share CPU and policy).',
  )
    .withVariable(
      labelVariable('cpu', 'cpu', INFO, sel({ job: '$job', scenario: '$scenario' }), {
        title: 'CPU',
        description: 'CPU profiles (vmexit-lab list cpus) of the variants to show.',
      }),
    )
    .withVariable(
      labelVariable('policy', 'policy', INFO, sel({ job: '$job', scenario: '$scenario', cpu: '$cpu' }), {
        description: 'Hypervisor policies of the variants to show.',
      }),
    )
    .withVariable(
      labelVariable(
        'variant',
        'variant',
        INFO,
        sel({ job: '$job', scenario: '$scenario', cpu: '$cpu', policy: '$policy' }),
        {
          description:
            'Variants with the selected CPUs and policies (a matrix over tunables gives several per CPU and policy); the heatmap repeats per variant.',
        },
      ),
    )
    .withVariable(
      labelVariable('os', 'os', 'vmexit_lab_guests_running', VSEL, {
        title: 'guest OS',
        description:
          'Guest OSes of the first row (only vmexit_lab_vm_exits_total and the running gauge have an os label).',
      }),
    )
    .link(dashboardLinks());

  d.withRow(new RowBuilder('Guests of $os'))
    .withPanel(
      ts(
        'Exits per simulated second by reason ($os)',
        'Exits of the selected guest OSes by exit reason, per simulated second of the variant.',
        'short',
        PER_SIM,
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
      ts(
        'Exits per simulated second by guest OS',
        'All exits per guest OS and variant, per simulated second.',
        'short',
        PER_SIM,
      ).withTarget(
        target(perSimSecond('vmexit_lab_vm_exits_total', VSEL, ['variant', 'os'], [OS]), '{{variant}} {{os}}'),
      ),
    )
    .withPanel(
      cr8VsTprBelowPanel(
        '%cr8 vs TPR-below-threshold exits by guest OS',
        `%cr8 exits (${CR8_REASONS}) and ${TPR_BELOW_REASONS} exits per simulated second.`,
        VSEL,
        OS,
      ),
    )
    .withPanel(
      ts('Guests running by OS', 'vmexit_lab_guests_running of the selected guest OSes, by variant.', 'none', 'guests')
        .decimals(0)
        .withTarget(target(`sum by (variant, os) (vmexit_lab_guests_running{${VSEL}, ${OS}})`, '{{variant}} {{os}}')),
    );

  d.withRow(new RowBuilder('CPU $cpu, policy $policy'))
    .withPanel(
      ts(
        'Exits per simulated second by variant',
        'Exits of the selected guest OSes, per simulated second of each selected variant (its CPU profile and policy in the legend).',
        'short',
        PER_SIM,
      ).withTarget(
        target(
          perSimSecond('vmexit_lab_vm_exits_total', VSEL, ['variant', 'cpu', 'policy'], [OS]),
          '{{variant}} ({{cpu}}, {{policy}})',
        ),
      ),
    )
    .withPanel(
      ts(
        'Host time in exits by reason',
        'Host seconds handling exits per simulated second, by variant and reason: CPUs busy in exits (all guest OSes: the metric has no os label).',
        CPUS,
        'CPUs busy',
      )
        .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
        .withTarget(
          target(
            perSimSecond('vmexit_lab_exit_handling_seconds_total', VSEL, ['variant', 'reason']),
            '{{variant}} {{reason}}',
          ),
        ),
    )
    .withPanel(
      ts(
        'Guest CPU per simulated second',
        "Guest CPU seconds per simulated second of each variant: the CPUs its guests keep busy on average (all the variant's vCPUs, so it can exceed 1).",
        CPUS,
        'CPUs busy',
      ).withTarget(
        target(
          perSimSecond('vmexit_lab_guest_cpu_seconds_total', VSEL, ['variant', 'cpu', 'policy']),
          '{{variant}} ({{cpu}}, {{policy}})',
        ),
      ),
    )
    .withPanel(
      ts(
        'Share of vCPU time: guest work and exit handling',
        "Guest CPU seconds and host seconds in exits, each divided by vmexit_lab_vcpu_simulated_seconds_total: the share of the variant's vCPU time (simulated) its guests work and its exits cost, 0-100 % per vCPU whatever the fleet's size.",
        'percentunit',
        'share of vCPU time',
      )
        .withTarget(
          target(
            perSimSecond(
              'vmexit_lab_guest_cpu_seconds_total',
              VSEL,
              ['variant', 'cpu', 'policy'],
              [],
              'vmexit_lab_vcpu_simulated_seconds_total',
            ),
            'guest work: {{variant}} ({{cpu}}, {{policy}})',
          ),
        )
        .withTarget(
          target(
            perSimSecond(
              'vmexit_lab_exit_handling_seconds_total',
              VSEL,
              ['variant', 'cpu', 'policy'],
              [],
              'vmexit_lab_vcpu_simulated_seconds_total',
            ),
            'exit handling: {{variant}} ({{cpu}}, {{policy}})',
            'B',
          ),
        ),
    )
    .withPanel(
      ts(
        'Exits per guest-second',
        'All exits divided by vmexit_lab_guest_simulated_seconds_total: the exit rate of an average guest of the variant.',
        'short',
        'per guest and simulated second',
      ).withTarget(
        target(
          perSimSecond(
            'vmexit_lab_vm_exits_total',
            VSEL,
            ['variant', 'cpu', 'policy'],
            [],
            'vmexit_lab_guest_simulated_seconds_total',
          ),
          '{{variant}} ({{cpu}}, {{policy}})',
        ),
      ),
    )
    .withPanel(
      ts(
        'TPR accesses per simulated second by kind',
        'cr8_read, cr8_write, mmio_write, msr_write, by variant.',
        'short',
        PER_SIM,
      ).withTarget(
        target(perSimSecond('vmexit_lab_tpr_accesses_total', VSEL, ['variant', 'kind']), '{{variant}} {{kind}}'),
      ),
    )
    .withPanel(deliveryPathsPanel(VSEL))
    .withPanel(latencyPercentilesPanel(VSEL))
    .withPanel(
      latencyHeatmap(
        sel({ job: '$job', scenario: '$scenario', variant: '$variant' }),
        'Latency buckets of one variant (simulated seconds), deliveries per simulated second; one heatmap per selected variant.',
      ),
    )
    .withPanel(
      violationsPanel(
        VSEL,
        'Violations per rate window by variant and check, expected ones included; any the scenario does not expect is a bug of the emulated policy.',
      ),
    );
  return d.build();
}
