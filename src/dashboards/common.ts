/**
 * Shared pieces of the Grafana dashboards: PromQL helpers, the datasource reference and the
 * template variables. Pure: builds JSON with @grafana/grafana-foundation-sdk, touches no file.
 *
 * Rates are per **simulated** second: a counter's rate() is divided by the rate() of
 * vmexit_lab_simulated_seconds_total of the same variant, so a run at pace `max` (many simulated
 * seconds per wall second) and one at pace `realtime` read the same. Per-guest figures divide by
 * vmexit_lab_guest_simulated_seconds_total instead (the sum of every guest's simulated seconds).
 */
import {
  DashboardBuilder,
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
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';

const DS_VAR = 'DS_PROMETHEUS';
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: `\${${DS_VAR}}` };
export const RATE = '$__rate_interval';

/** Label values of a variant's series (vmexit_lab_scenario_info always carries them). */
export const INFO = 'vmexit_lab_scenario_info';

/** Exit reasons that are %cr8 accesses: VT-x CR_ACCESS (the sim's only CR exits are CR8), SVM CR8 read/write. */
export const CR8_REASONS = 'CR_ACCESS|VMEXIT_CR8_READ|VMEXIT_CR8_WRITE';
/** VT-x TPR-below-threshold exits (TPR shadowing); AMD has no such exit. */
export const TPR_BELOW_REASONS = 'TPR_BELOW_THRESHOLD';

/** Labels of every per-variant series, as in src/metrics/hub.ts variantLabels, plus the scrape job. */
const VARIANT_KEY = 'job, scenario, variant, cpu, policy';

/** A label matcher list, e.g. sel({job: '$job'}) -> job=~"$job". Regex matchers so "All" (.+) and multi-values work. */
export function sel(matchers: Record<string, string>, extra: string[] = []): string {
  return [...Object.entries(matchers).map(([k, v]) => `${k}=~"${v}"`), ...extra].join(', ');
}

/**
 * rate() of a counter per simulated second: summed by the variant labels plus `by`, divided by the
 * rate of vmexit_lab_simulated_seconds_total of the same variant, then summed by `by` only.
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
  const inner = [...VARIANT_KEY.split(', '), ...by.filter((l) => !VARIANT_KEY.split(', ').includes(l))].join(', ');
  const selector = [vsel, ...extra].filter((x) => x !== '').join(', ');
  const num = `sum by (${inner}) (rate(${metric}{${selector}}[${RATE}]))`;
  const den = `sum by (${VARIANT_KEY}) (rate(${denominator}{${vsel}}[${RATE}]))`;
  return `sum by (${by.join(', ')}) (\n  ${num}\n  / on (${VARIANT_KEY}) group_left\n  ${den}\n)`;
}

export function target(expr: string, legend: string, refId = 'A'): DataqueryBuilder {
  return new DataqueryBuilder().expr(expr).legendFormat(legend).refId(refId).range();
}

function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder(DS_VAR).label('Prometheus').type('prometheus');
}

/** A label_values() query variable, multi-valued with All (= .+). */
export function labelVariable(
  name: string,
  label: string,
  metric: string,
  filter: string,
  opts: { multi?: boolean; title?: string } = {},
): QueryVariableBuilder {
  const query = `label_values(${metric}{${filter}}, ${label})`.replace('{}', '');
  const v = new QueryVariableBuilder(name)
    .label(opts.title ?? name)
    .datasource(DATASOURCE)
    .query(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc);
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

/** A time-series panel as both dashboards draw them: half width, from 0, legend table with mean and last. */
export function timeseries(title: string, description: string, unit: string): TimeseriesPanel {
  return new TimeseriesPanel()
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
}

/** A vmexit-lab dashboard with the common settings and the datasource, job and scenario variables. */
export function vmexitLabDashboard(title: string, uid: string, description: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['vmexit-lab'])
    .editable()
    .refresh('10s')
    .time({ from: 'now-15m', to: 'now' })
    .timezone('browser')
    .withVariable(datasourceVariable())
    .withVariable(labelVariable('job', 'job', 'vmexit_lab_build_info', '', { multi: false }))
    .withVariable(labelVariable('scenario', 'scenario', INFO, sel({ job: '$job' }), { multi: false }));
}
