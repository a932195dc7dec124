import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Helpers for tests that need a Debian binary (promtool, prometheus-pushgateway). Missing, the test
 * is skipped with a loud notice; with CI=true it must run, so it fails instead (.ci/run installs
 * the packages).
 */

export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin'];
  for (const d of dirs) {
    if (!d) continue;
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      /* next */
    }
  }
  return undefined;
}

export interface Binary {
  readonly path: string | undefined;
  /** Test option: a skip message when missing outside CI; false otherwise (under CI a missing binary fails). */
  readonly skip: string | false;
  readonly missing: string;
}

export function systemBinary(name: string, debianPackage: string): Binary {
  const path = findBinary(name);
  const missing = `${name} not found: install the Debian package ${debianPackage} (apt-get install ${debianPackage}); .ci/run installs it`;
  if (path) return { path, skip: false, missing };
  if (process.env.CI === 'true') return { path, skip: false, missing: `CI=true requires ${missing}` };
  process.stderr.write(`\n${'!'.repeat(78)}\n!! SKIPPING: ${missing}\n${'!'.repeat(78)}\n\n`);
  return { path, skip: `SKIPPED (loud): ${missing}`, missing };
}

/** Exposition text -> Map of `name{labels}` -> value (comments and OpenMetrics exemplars skipped). */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*?\})? (\S+)(?: # \{[^}]*\} \S+(?: \S+)?)?$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

/** Sum of the samples of a metric whose label text contains every given `k="v"`. */
export function sumOf(series: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let n = 0;
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const [key, v] of series) {
    const brace = key.indexOf('{');
    const metric = brace < 0 ? key : key.slice(0, brace);
    if (metric !== name) continue;
    const rest = brace < 0 ? '' : key.slice(brace);
    if (
      want.every(
        (w) => rest.includes(`{${w},`) || rest.includes(`,${w},`) || rest.includes(`,${w}}`) || rest.includes(`{${w}}`),
      )
    )
      n += v;
  }
  return n;
}
