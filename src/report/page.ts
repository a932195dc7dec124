/**
 * The page shell every HTML page of vmexit-lab shares (the report, the service's runs index and
 * run pages): one self-contained document with the style, the chart data, Chart.js and the page
 * scripts inline (src/report/assets.ts), and the text helpers the parts of a page use. Every
 * string that comes from a scenario or a run is escaped; data travels as JSON in a
 * <script type="application/json"> element.
 */
import { chartJsAsset, reportAssets, scriptSafe, type InlineScript } from './assets.js';
import type { ChartSpec } from './charts.js';

/** Escape text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
export const esc = escapeHtml;

/** JSON for a <script type="application/json"> element: no "<" survives, so no "</script". */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** "2026-11-25T06:00:00.000Z" -> "2026-11-25 06:00:00 UTC" (deterministic, no locale). */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z$/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

/** A highlighted remark in place of what has nothing to show. */
export function note(text: string): string {
  return `<p class="note">${esc(text)}</p>`;
}

/** What a page is made of. */
interface PageParts {
  readonly title: string;
  readonly body: string;
  readonly charts: readonly ChartSpec[];
  /** Extra inline script (live updates), run last. */
  readonly script?: string;
  /** JSON config for the extra script. */
  readonly live?: unknown;
  readonly nav?: string;
  readonly chartLibrary?: InlineScript;
}

export function page(p: PageParts): string {
  const lib = p.charts.length > 0 ? (p.chartLibrary ?? chartJsAsset()) : undefined;
  const out: string[] = [];
  out.push('<!DOCTYPE html>');
  out.push('<html lang="en">');
  out.push('<head>');
  out.push('<meta charset="utf-8">');
  out.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push('<meta name="generator" content="vmexit-lab">');
  // No favicon request (a server without one would log a 404 in the console).
  out.push('<link rel="icon" href="data:,">');
  out.push(`<title>${esc(p.title)}</title>`);
  out.push(`<style>\n${reportAssets().css}</style>`);
  out.push('</head>');
  out.push('<body>');
  out.push(`<header class="top"><span class="brand">vmexit-lab</span>${p.nav ?? ''}</header>`);
  out.push('<main>');
  out.push(p.body);
  out.push('</main>');
  out.push(
    `<footer>Made by vmexit-lab. Counts are exact and deterministic for the scenario and seed; rates are per guest and simulated second.${lib ? ` Charts drawn with ${esc(lib.name)} ${esc(lib.version)} (${esc(lib.license)} licence), included in this file.` : ''}</footer>`,
  );
  if (lib) {
    out.push(`<script>${lib.source}</script>`);
    out.push(`<script type="application/json" id="vmexit-lab-charts">${jsonForScript(p.charts)}</script>`);
    out.push(`<script>${scriptSafe(reportAssets().charts)}</script>`);
  }
  if (p.script) {
    if (p.live !== undefined)
      out.push(`<script type="application/json" id="vmexit-lab-live">${jsonForScript(p.live)}</script>`);
    out.push(`<script>${scriptSafe(p.script)}</script>`);
  }
  out.push('</body>');
  out.push('</html>');
  return `${out.join('\n')}\n`;
}
