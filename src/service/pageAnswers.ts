// The pages' own answers: their Content-Security-Policy, the 404 page, a damaged run's page.
import { showInvisible } from '../input/diagnostics.js';
import { esc, note, page as htmlPage } from '../report/page.js';

/**
 * The pages inline their style, Chart.js and scripts (src/report/page.ts) and poll the runs API:
 * nothing else may load, nothing may be sent anywhere but this service, and no other site may
 * frame them.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths of the pages for people (a 404 there is a page for a browser that asks for one). */
export function isPagePath(path: string): boolean {
  return path !== '/metrics' && !path.startsWith('/api/');
}

/**
 * The 404 page: what was not found, and the way to the runs. The message names the path asked for:
 * escaped, and its invisible characters shown as escapes (a NUL or a right-to-left override in
 * the path was copied into the page as it was).
 */
export function notFoundPage(message: string): string {
  return htmlPage({
    title: 'vmexit-lab: not found',
    body: `<h1>Not found</h1>\n${note(showInvisible(message))}\n<p><a href="/">All runs</a></p>`,
    charts: [],
    nav: '<a href="/">all runs</a>',
  });
}

/** A run's page when its stored results.json cannot be shown: why, and where the record and the file are. */
export function damagedRunPage(id: string, message: string): string {
  const e = encodeURIComponent(id);
  return htmlPage({
    title: `vmexit-lab: run ${id}`,
    body: `<h1>Run ${esc(id)}</h1>\n${note(showInvisible(`its results.json could not be shown (${message}); it may be cut short or written by another version`))}\n<p><a href="/api/runs/${e}">the run's record</a> · <a href="/api/runs/${e}/results">its results.json</a> · <a href="/">all runs</a></p>`,
    charts: [],
    nav: '<a href="/">all runs</a>',
  });
}
