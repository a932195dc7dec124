/**
 * docs/GRAFANA.md against what grafana/ ships (the dashboards' JSON is the generator's output:
 * test/grafana/dashboards.test.ts): the "Panels" section names every row and every panel of both
 * dashboards by its title (the A/B panels by what follows "A: "), and the "Template variables" and
 * "Prometheus rules" tables list exactly the dashboards' variables and the rule file's recording
 * rules and alerts, so a renamed or added panel, variable or rule cannot leave the page behind.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';

const DOC = readFileSync(join(REPO_ROOT, 'docs', 'GRAFANA.md'), 'utf8');
const DASHBOARDS = ['overview', 'drilldown'].map(
  (f) =>
    JSON.parse(readFileSync(join(REPO_ROOT, 'grafana', 'dashboards', 'vmexit-lab', `${f}.json`), 'utf8')) as {
      uid: string;
      panels: { type: string; title: string; panels?: { title: string }[] }[];
      templating: { list: { name: string }[] };
    },
);
const RULES = readFileSync(
  join(REPO_ROOT, 'grafana', 'provisioning', 'prometheus', 'rules', 'vmexit-lab.rules.yml'),
  'utf8',
);

/** A `## ` section of the page, up to the next one. */
function section(heading: string): string {
  const start = DOC.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/GRAFANA.md has "## ${heading}"`);
  const rest = DOC.slice(start + heading.length + 5);
  const end = rest.search(/^## /m);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The backquoted names in the first column of a section's table. */
function firstColumn(text: string): string[] {
  return [...text.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1].matchAll(/`([^`]+)`/g)].map((n) => n[1]));
}

/** A dashboard's part of the "Panels" section: from its uid to the next dashboard's. */
function partOf(panels: string, uid: string): string {
  const start = panels.indexOf(`(uid \`${uid}\`)`);
  assert.ok(start >= 0, `"Panels" has a part for ${uid}`);
  const next = panels.indexOf('(uid `', start + 1);
  return panels.slice(start, next < 0 ? undefined : next);
}

/**
 * The titles of a dashboard's rows and panels its part of "Panels" does not name; an A/B panel
 * ("A: SUBJECT ($a)") by its subject, in the A/B row's line.
 */
export function unnamedPanels(panels: string, dashboards: typeof DASHBOARDS): string[] {
  const missing: string[] = [];
  for (const d of dashboards) {
    const part = partOf(panels, d.uid);
    const abRow = part.split('\n').find((l) => l.startsWith('| A/B')) ?? '';
    for (const p of d.panels.flatMap((p) => [p, ...(p.panels ?? [])])) {
      const ab = /^[AB]: (.*) \(\$[ab]\)$/.exec(p.title);
      const named = ab ? abRow.toLowerCase().includes(ab[1].toLowerCase()) : part.includes(p.title);
      if (!named) missing.push(`${d.uid}: ${p.title}`);
    }
  }
  return missing;
}

test('"Panels" names every row and panel of both dashboards by its title', () => {
  const panels = section('Panels');
  const count = DASHBOARDS.reduce((n, d) => n + d.panels.length, 0);
  assert.ok(count >= 30, `only ${count} panels and rows`);
  assert.deepEqual(unnamedPanels(panels, DASHBOARDS), []);
  // The check itself: a panel whose title the page does not write is caught.
  const renamed = DASHBOARDS.map((d) => ({
    ...d,
    panels: d.panels.map((p) => (p.title === 'Guests running' ? { ...p, title: 'Guests up' } : p)),
  }));
  assert.deepEqual(unnamedPanels(panels, renamed), ['vmexit-lab-overview: Guests up']);
});

test('"Template variables" lists exactly the variables of the dashboards', () => {
  const written = new Set(firstColumn(section('Template variables')));
  const used = new Set(DASHBOARDS.flatMap((d) => d.templating.list.map((v) => v.name)));
  assert.ok(used.size >= 8, [...used].join(' '));
  assert.deepEqual([...written].sort(), [...used].sort());
});

test('"Prometheus rules" lists exactly the recording rules and alerts of the shipped rule file', () => {
  const written = firstColumn(section('Prometheus rules'));
  const shipped = [...RULES.matchAll(/^\s*- (?:record|alert): (\S+)$/gm)].map((m) => m[1]);
  assert.ok(shipped.length >= 8, shipped.join(' '));
  assert.deepEqual([...written].sort(), [...shipped].sort());
});
