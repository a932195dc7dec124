/**
 * Shared pieces of the Grafana dashboards: PromQL helpers, the datasource reference, the template
 * variables and the run annotations. Pure: builds JSON with @grafana/grafana-foundation-sdk,
 * touches no file.
 *
 * Rates are per **simulated** second: a counter's rate() is divided by the rate() of
 * vmexit_lab_simulated_seconds_total of the same variant, so a run at pace `max` (many simulated
 * seconds per wall second) and one at pace `realtime` read the same. Per-guest figures divide by
 * vmexit_lab_guest_simulated_seconds_total instead (the sum of every guest's simulated seconds).
 * Every divisor is guarded (`> 0`): between runs a ratio has no value rather than NaN.
 * Every aggregation keeps `variant` (and the job and scenario) apart: variants that differ only
 * in a tunable have the same cpu and policy labels.
 */
import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import {
  LegendDisplayMode,
  LegendPlacement,
  VizLegendOptionsBuilder,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import {
  PanelBuilder as HeatmapPanel,
  HeatmapColorOptionsBuilder,
  HeatmapColorMode,
  HeatmapColorScale,
  YAxisConfigBuilder,
} from '@grafana/grafana-foundation-sdk/heatmap';

const DS_VAR = 'DS_PROMETHEUS';
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: `\${${DS_VAR}}` };
export const RATE = '$__rate_interval';
/** The dashboard's time range: counts of rare events (violations, entry failures) over what is shown. */
export const RANGE = '$__range';
/** CPU seconds per simulated second: how many CPUs are busy on average (a custom Grafana unit). */
export const CPUS = 'suffix:CPUs';

/** Label values of a variant's series (vmexit_lab_scenario_info always carries them). */
export const INFO = 'vmexit_lab_scenario_info';

/** Exit reasons that are %cr8 accesses: VT-x CR_ACCESS (the sim's only CR exits are CR8), SVM CR8 read/write. */
export const CR8_REASONS = 'CR_ACCESS|VMEXIT_CR8_READ|VMEXIT_CR8_WRITE';
/** VT-x TPR-below-threshold exits (TPR shadowing); AMD has no such exit. */
export const TPR_BELOW_REASONS = 'TPR_BELOW_THRESHOLD';

/** Labels of every per-variant series, as in src/metrics/catalogue.ts (its `V`: scenario, variant, cpu, policy) plus the scrape job. */
export const VARIANT_KEY = 'job, scenario, variant, cpu, policy';
const VARIANT_LABELS = VARIANT_KEY.split(', ');

/** A label matcher list, e.g. sel({job: '$job'}) -> job=~"$job". Regex matchers so "All" (.+) and multi-values work. */
export function sel(matchers: Record<string, string>, extra: string[] = []): string {
  return [...Object.entries(matchers).map(([k, v]) => `${k}=~"${v}"`), ...extra].join(', ');
}

/**
 * rate() of a counter per simulated second: summed by the variant labels plus `by`, divided by the
 * rate of vmexit_lab_simulated_seconds_total of the same variant (only where it is > 0: no NaN
 * between runs), then summed by `by` only. `by` must name `variant` so variants stay apart.
 * `vsel` selects variants (it must only name variant labels, as the denominator has no others);
 * `extra` adds matchers on the counter's own labels (os, reason, ...).
 */
export function perSimSecond(
  metric: string,
  vsel: string,
  by: string[],
  extra: string[] = [],
  denominator = 'vmexit_lab_simulated_seconds_total',
): string {
  if (!by.includes('variant')) throw new Error(`perSimSecond(${metric}): aggregate by variant, not only ${by.join()}`);
  const inner = [...VARIANT_LABELS, ...by.filter((l) => !VARIANT_LABELS.includes(l))].join(', ');
  const selector = [vsel, ...extra].filter((x) => x !== '').join(', ');
  const num = `sum by (${inner}) (rate(${metric}{${selector}}[${RATE}]))`;
  const den = `sum by (${VARIANT_KEY}) (rate(${denominator}{${vsel}}[${RATE}])) > 0`;
  // `group_left ()`: an empty label list, so the parenthesised divisor is not read as one.
  return `sum by (${by.join(', ')}) (\n  ${num}\n  / on (${VARIANT_KEY}) group_left ()\n  (${den})\n)`;
}

/** The variants of `vsel` with interrupt deliveries in the rate window (guards a quantile against NaN). */
function latencyObserved(vsel: string): string {
  return `sum by (job, scenario, variant) (rate(vmexit_lab_interrupt_latency_seconds_count{${vsel}}[${RATE}])) > 0`;
}

/**
 * p50, p90, p99 of the latency histogram per variant, with exemplars (the replay handles of
 * docs/REPLAY.md); only for variants with deliveries in the window.
 */
export function latencyQuantiles(vsel: string, legendPrefix: string): DataqueryBuilder[] {
  return [0.5, 0.9, 0.99].map((q, i) =>
    target(
      `histogram_quantile(${q}, sum by (job, scenario, variant, le) (rate(vmexit_lab_interrupt_latency_seconds_bucket{${vsel}}[${RATE}])))\n  and on (job, scenario, variant) (${latencyObserved(vsel)})`,
      `${legendPrefix}p${Math.round(q * 100)}`,
      String.fromCharCode(65 + i),
    ).exemplar(true),
  );
}

/** Interrupt deliveries by path, per variant: the same panel on the overview and the drill-down. */
export function deliveryPathsPanel(vsel: string): TimeseriesPanel {
  return timeseries(
    'Interrupt deliveries per simulated second by path',
    'injected by the hypervisor, virtual (APICv/AVIC virtual interrupt delivery), posted (posted-interrupt notifications, a subset of virtual).',
    'short',
    'per simulated second',
  ).withTarget(
    target(perSimSecond('vmexit_lab_interrupt_deliveries_total', vsel, ['variant', 'path']), '{{variant}} {{path}}'),
  );
}

/**
 * %cr8 exits (CR8_REASONS) against TPR_BELOW_REASONS exits per simulated second, the TPR-shadowing
 * trade: the overview's by variant, the drill-down's by variant and guest OS (`os`, its matcher).
 */
export function cr8VsTprBelowPanel(title: string, description: string, vsel: string, os?: string): TimeseriesPanel {
  const by = os !== undefined ? ['variant', 'os'] : ['variant'];
  const extra = os !== undefined ? [os] : [];
  const legend = os !== undefined ? '{{variant}} {{os}} ' : '{{variant}} ';
  return timeseries(title, description, 'short', 'per simulated second')
    .withTarget(
      target(
        perSimSecond('vmexit_lab_vm_exits_total', vsel, by, [...extra, `reason=~"${CR8_REASONS}"`]),
        `${legend}%cr8`,
        'A',
      ),
    )
    .withTarget(
      target(
        perSimSecond('vmexit_lab_vm_exits_total', vsel, by, [...extra, `reason=~"${TPR_BELOW_REASONS}"`]),
        `${legend}TPR below threshold`,
        'B',
      ),
    );
}

/** p50, p90, p99 of the interrupt latency per variant, exemplars on: the overview's and the drill-down's. */
export function latencyPercentilesPanel(vsel: string): TimeseriesPanel {
  const p = timeseries(
    'Interrupt latency percentiles',
    'Arrival to guest ISR, in simulated seconds: p50, p90, p99 of vmexit_lab_interrupt_latency_seconds per variant. Exemplars (points) carry the replay handle {seed, guest, sim_time} of docs/REPLAY.md.',
    's',
    'simulated seconds',
  );
  for (const t of latencyQuantiles(vsel, '{{variant}} ')) p.withTarget(t);
  return p;
}

/**
 * Invariant violations per rate window by variant and check, expected ones included: the same panel
 * on the overview and the drill-down, each with its own description.
 */
export function violationsPanel(vsel: string, description: string): TimeseriesPanel {
  return timeseries('Invariant violations by check', description, 'none', 'violations')
    .decimals(0)
    .withTarget(
      target(
        `sum by (variant, check) (increase(vmexit_lab_invariant_violations_total{${vsel}}[${RATE}]))`,
        '{{variant}} {{check}}',
      ),
    );
}

/**
 * The latency heatmap of one variant (the panel repeats per value of $variant, so variants are
 * never merged): each bucket's deliveries per simulated second of the variant. Exemplars on.
 */
export function latencyHeatmap(vsel: string, description: string): HeatmapPanel {
  const buckets = `sum by (le) (rate(vmexit_lab_interrupt_latency_seconds_bucket{${vsel}}[${RATE}]))`;
  const simulated = `sum (rate(vmexit_lab_simulated_seconds_total{${vsel}}[${RATE}])) > 0`;
  return new HeatmapPanel()
    .title('Interrupt latency heatmap: $variant')
    .description(description)
    .datasource(DATASOURCE)
    .height(9)
    .span(24)
    .repeat('variant')
    .repeatDirection('h')
    .maxPerRow(2)
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
      target(`${buckets}\n  / on () group_left ()\n  (${simulated})`, '{{le}}')
        .format(PromQueryFormat.Heatmap)
        .exemplar(true),
    );
}

export function target(expr: string, legend: string, refId = 'A'): DataqueryBuilder {
  return new DataqueryBuilder().expr(expr).legendFormat(legend).refId(refId).range();
}

export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder(DS_VAR)
    .label('Prometheus')
    .description('The Prometheus that scrapes the vmexit-lab service (job and rules: grafana/provisioning/prometheus).')
    .type('prometheus');
}

/** A label_values() query variable, multi-valued with All (= .+), with a description. */
export function labelVariable(
  name: string,
  label: string,
  metric: string,
  filter: string,
  opts: { multi?: boolean; title?: string; description: string; sort?: VariableSort },
): QueryVariableBuilder {
  const query = `label_values(${metric}{${filter}}, ${label})`.replace('{}', '');
  const v = new QueryVariableBuilder(name)
    .label(opts.title ?? name)
    .description(opts.description)
    .datasource(DATASOURCE)
    .query(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(opts.sort ?? VariableSort.AlphabeticalAsc);
  if (opts.multi !== false) v.multi(true).includeAll(true).allValue('.+');
  return v;
}

/** A dropdown of the other vmexit-lab dashboards (tag vmexit-lab), keeping the time range and variables. */
export function dashboardLinks(): DashboardLinkBuilder {
  return new DashboardLinkBuilder('vmexit-lab')
    .type(DashboardLinkType.Dashboards)
    .tags(['vmexit-lab'])
    .asDropdown(true)
    .includeVars(true)
    .keepTime(true)
    .targetBlank(false)
    .icon('external link')
    .tooltip('');
}

/**
 * A time-series panel as both dashboards draw them: half width, from 0, legend table with mean and
 * last; `axis` names what the y axis counts (e.g. "per simulated second").
 */
export function timeseries(title: string, description: string, unit: string, axis?: string): TimeseriesPanel {
  const p = new TimeseriesPanel()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .min(0)
    .height(9)
    .span(12)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.Table)
        .placement(LegendPlacement.Right)
        .calcs(['mean', 'lastNotNull']),
    );
  if (axis !== undefined) p.axisLabel(axis);
  return p;
}

/**
 * Run annotations: "Runs" marks where the scenario's latest run was `running` (vmexit_lab_run_state;
 * regions at the query step, so a run at pace max that ends between two scrapes may not show),
 * "Run starts" and "Run ends" the exact start and finish of each run
 * (vmexit_lab_run_started_timestamp_seconds, vmexit_lab_run_last_finish_timestamp_seconds; the
 * value used as the time). Both series are exported (src/metrics/catalogue.ts; docs/GRAFANA.md
 * "Series added for the dashboards").
 */
export function runAnnotations(): AnnotationQueryBuilder[] {
  const s = sel({ job: '$job', scenario: '$scenario' });
  return [
    new AnnotationQueryBuilder()
      .name('Runs')
      .datasource(DATASOURCE)
      .enable(true)
      .iconColor('rgba(0, 211, 255, 0.4)')
      .target(
        new DataqueryBuilder()
          .expr(`max by (job, scenario) (vmexit_lab_run_state{${s}, state="running"})`)
          .refId('Anno')
          .interval('15s'),
      )
      .titleFormat('run of {{scenario}}')
      .textFormat('the latest run of {{scenario}} is running (vmexit_lab_run_state)')
      .tagKeys('scenario'),
    new AnnotationQueryBuilder()
      .name('Run starts')
      .datasource(DATASOURCE)
      .enable(true)
      .iconColor('rgba(115, 191, 105, 1)')
      .target(
        new DataqueryBuilder()
          .expr(`max by (job, scenario) (vmexit_lab_run_started_timestamp_seconds{${s}}) * 1000`)
          .refId('Anno')
          .interval('15s'),
      )
      .useValueForTime(true)
      .titleFormat('{{scenario}}: run started')
      .textFormat('vmexit_lab_run_started_timestamp_seconds')
      .tagKeys('scenario'),
    new AnnotationQueryBuilder()
      .name('Run ends')
      .datasource(DATASOURCE)
      .enable(true)
      .iconColor('rgba(255, 152, 48, 1)')
      .target(
        new DataqueryBuilder()
          .expr(`max by (job, scenario) (vmexit_lab_run_last_finish_timestamp_seconds{${s}}) * 1000`)
          .refId('Anno')
          .interval('15s'),
      )
      .useValueForTime(true)
      .titleFormat('{{scenario}}: run finished')
      .textFormat('vmexit_lab_run_last_finish_timestamp_seconds')
      .tagKeys('scenario'),
  ];
}

/**
 * A vmexit-lab dashboard with the common settings and the datasource, job and scenario variables:
 * shared crosshair across panels, run annotations.
 */
export function vmexitLabDashboard(title: string, uid: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['vmexit-lab'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('10s')
    .time({ from: 'now-15m', to: 'now' })
    .timezone('browser')
    .annotations(runAnnotations())
    .withVariable(datasourceVariable())
    .withVariable(
      labelVariable('job', 'job', 'vmexit_lab_build_info', '', {
        multi: false,
        description: 'The Prometheus scrape job of the vmexit-lab service (vmexit_lab_build_info).',
      }),
    )
    .withVariable(
      labelVariable('scenario', 'scenario', INFO, sel({ job: '$job' }), {
        multi: false,
        description: 'The scenario whose variants are shown (vmexit_lab_scenario_info).',
      }),
    );
}
