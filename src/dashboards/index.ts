/**
 * The Grafana dashboards of vmexit-lab as code. `npm run dashboards` writes them to
 * grafana/dashboards/vmexit-lab/; test/grafana/ checks the files are up to date.
 */
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { overviewDashboard } from './overview.js';
import { drilldownDashboard } from './drilldown.js';

export { OVERVIEW_UID } from './overview.js';
export { DRILLDOWN_UID } from './drilldown.js';

/** Folder below grafana/dashboards/ (the provider maps folders from the file structure). */
const DASHBOARD_FOLDER = 'vmexit-lab';

interface DashboardFile {
  /** Path relative to grafana/dashboards/. */
  readonly file: string;
  readonly dashboard: Dashboard;
}

export function buildDashboards(): DashboardFile[] {
  return [
    { file: `${DASHBOARD_FOLDER}/overview.json`, dashboard: overviewDashboard() },
    { file: `${DASHBOARD_FOLDER}/drilldown.json`, dashboard: drilldownDashboard() },
  ];
}

/** The checked-in text of a dashboard: 2-space JSON with a final newline; panel ids numbered in order. */
export function renderDashboard(d: Dashboard): string {
  let id = 0;
  const panels = (d.panels ?? []).map((p) => ({ ...p, id: ++id }));
  return `${JSON.stringify({ ...d, panels }, null, 2)}\n`;
}
