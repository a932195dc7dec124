/** Helpers of the Grafana tests: walk a dashboard's panels and targets, fill in template variables. */
import { REGEXP_SPECIALS } from '../support/regex.js';

export interface PanelTarget {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
  readonly exemplar?: boolean;
  /** The template variable the panel repeats over, if any. */
  readonly repeat?: string;
  /** The panel's unit (fieldConfig.defaults.unit). */
  readonly unit?: string;
}
export interface QueryVariable {
  readonly name: string;
  readonly metric: string;
  readonly selector: string;
  readonly label: string;
  readonly description?: string;
  /** Grafana's VariableSort: 1 alphabetical ascending, 2 descending. */
  readonly sort?: number;
  readonly multi?: boolean;
  readonly includeAll?: boolean;
  readonly allValue?: string;
}

interface PanelJson {
  type?: string;
  title?: string;
  repeat?: string;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: { expr?: string; refId?: string; exemplar?: boolean }[];
  panels?: PanelJson[];
}
export interface DashboardJson {
  uid: string;
  title: string;
  panels?: PanelJson[];
  templating?: {
    list?: {
      type: string;
      name: string;
      query?: unknown;
      description?: string;
      sort?: number;
      multi?: boolean;
      includeAll?: boolean;
      allValue?: string;
    }[];
  };
}

/** Every panel (rows' nested panels included) with its Prometheus targets. */
export function panelTargets(d: DashboardJson): PanelTarget[] {
  const out: PanelTarget[] = [];
  const walk = (ps: PanelJson[] | undefined): void => {
    for (const p of ps ?? []) {
      for (const t of p.targets ?? [])
        if (t.expr)
          out.push({
            dashboard: d.uid,
            panel: p.title ?? '',
            refId: t.refId ?? '',
            expr: t.expr,
            ...(t.exemplar !== undefined ? { exemplar: t.exemplar } : {}),
            ...(p.repeat ? { repeat: p.repeat } : {}),
            ...(p.fieldConfig?.defaults?.unit ? { unit: p.fieldConfig.defaults.unit } : {}),
          });
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
      return {
        name: v.name,
        metric: m[1],
        selector: m[2] ?? '',
        label: m[3],
        ...(v.description !== undefined ? { description: v.description } : {}),
        ...(v.sort !== undefined ? { sort: v.sort } : {}),
        ...(v.multi !== undefined ? { multi: v.multi } : {}),
        ...(v.includeAll !== undefined ? { includeAll: v.includeAll } : {}),
        ...(v.allValue !== undefined ? { allValue: v.allValue } : {}),
      };
    });
}

/** Regex-escape a value for a PromQL =~ matcher (inside a double-quoted string), as Grafana does. */
export function promRegexEscape(v: string): string {
  return v.replace(REGEXP_SPECIALS, '\\\\$&');
}

/** A variable's value as Grafana interpolates it into a regex matcher: escaped, or the raw All value. */
export type VariableValue = string | { readonly raw: string };

/** Fill in Grafana's built-ins and the given variables ($name, ${name}, ${name:fmt}); throws on an unknown one. */
export function interpolate(
  expr: string,
  vars: Record<string, VariableValue>,
  builtins: Record<string, string> = { __rate_interval: '15s', __interval: '5s', __range: '5m' },
): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (_all, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    if (name in builtins) return builtins[name];
    if (name in vars) {
      const v = vars[name];
      return typeof v === 'string' ? promRegexEscape(v) : v.raw;
    }
    throw new Error(`unknown variable $${name} in ${expr}`);
  });
}

/**
 * The value Grafana gives a variable on a first load (no saved selection): All for a variable with
 * an All option, else the first of its values in the variable's sort order (1 ascending, 2 descending).
 */
export function defaultValue(v: QueryVariable, values: readonly string[]): VariableValue {
  if (v.includeAll) return { raw: v.allValue ?? '.*' };
  const sorted = [...values].sort();
  if (v.sort === 2) sorted.reverse();
  return sorted[0];
}
