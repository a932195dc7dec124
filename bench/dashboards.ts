/** `npm run dashboards`: regenerate grafana/dashboards/ from src/dashboards/. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../src/model/data.js';
import { buildDashboards, renderDashboard } from '../src/dashboards/index.js';

for (const { file, dashboard } of buildDashboards()) {
  const path = join(REPO_ROOT, 'grafana', 'dashboards', file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderDashboard(dashboard));
  process.stdout.write(`wrote grafana/dashboards/${file}\n`);
}
