/** Helpers of the Grafana tests: walk a dashboard's panels and targets, fill in template variables. */

export interface PanelTarget {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
}
export interface QueryVariable {
  readonly name: string;
  readonly metric: string;
  readonly selector: string;
  readonly label: string;
}

interface PanelJson {
  type?: string;
  title?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: PanelJson[];
}
export interface DashboardJson {
  uid: string;
  title: string;
  panels?: PanelJson[];
  templating?: { list?: { type: string; name: string; query?: unknown }[] };
}

/** Every panel (rows' nested panels included) with its Prometheus targets. */
export function panelTargets(d: DashboardJson): PanelTarget[] {
  const out: PanelTarget[] = [];
  const walk = (ps: PanelJson[] | undefined): void => {
    for (const p of ps ?? []) {
      for (const t of p.targets ?? [])
        if (t.expr) out.push({ dashboard: d.uid, panel: p.title ?? '', refId: t.refId ?? '', expr: t.expr });
      walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

/** Non-row panels (rows' nested panels included). */
export function allPanels(d: DashboardJson): PanelJson[] {
  const out: PanelJson[] = [];
  const walk = (ps: PanelJson[] | undefined): void => {
    for (const p of ps ?? []) {
      if (p.type !== 'row') out.push(p);
      walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

/** The query variables, parsed from `label_values(metric{selector}, label)`, in dashboard order. */
export function queryVariables(d: DashboardJson): QueryVariable[] {
  return (d.templating?.list ?? [])
    .filter((v) => v.type === 'query')
    .map((v) => {
      const m = /^label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?,\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(
        String(v.query),
      );
      if (!m)
        throw new Error(
          `${d.uid}: variable ${v.name}: not a label_values(metric{...}, label) query: ${String(v.query)}`,
        );
      return { name: v.name, metric: m[1], selector: m[2] ?? '', label: m[3] };
    });
}

/** Regex-escape a value for a PromQL =~ matcher (inside a double-quoted string), as Grafana does. */
export function promRegexEscape(v: string): string {
  return v.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&');
}

/** Fill in Grafana's built-ins and the given variables ($name, ${name}, ${name:fmt}); throws on an unknown one. */
export function interpolate(
  expr: string,
  vars: Record<string, string>,
  builtins: Record<string, string> = { __rate_interval: '15s', __interval: '5s', __range: '5m' },
): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (_all, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    if (name in builtins) return builtins[name];
    if (name in vars) return promRegexEscape(vars[name]);
    throw new Error(`unknown variable $${name} in ${expr}`);
  });
}
