import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The chart library the HTML report inlines: Chart.js (MIT), read from the installed `chart.js`
 * package the first time a report is rendered and cached for the process. Inlining keeps a report
 * one self-contained file that opens without network access.
 *
 * Chart.js ships a single minified UMD bundle (`dist/chart.umd.min.js`, ~210 kB, with its one
 * dependency @kurkle/color compiled in) that defines `window.Chart`. Its `/*!` licence header is
 * kept, as the MIT licence asks.
 */

export interface InlineScript {
  /** The library's name and version, for the report's footer. */
  readonly name: string;
  readonly version: string;
  readonly license: string;
  /** JavaScript safe to place between <script> and </script>. */
  readonly source: string;
}

let cached: InlineScript | undefined;

/** Make script text safe inside an HTML <script> element (no "</script", no "<!--"). */
export function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** Chart.js's UMD bundle, loaded from node_modules (cached). */
export function chartJsAsset(): InlineScript {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  // The package's exports map does not list dist/ files; resolve its main entry and look beside it.
  const main = require.resolve('chart.js');
  const dist = dirname(main);
  const pkg = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as {
    version: string;
    license: string;
  };
  const raw = readFileSync(join(dist, 'chart.umd.min.js'), 'utf8');
  // The source map is not shipped with the report: drop the comment that points to it.
  const source = scriptSafe(raw.replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, '\n'));
  cached = { name: 'Chart.js', version: pkg.version, license: pkg.license, source };
  return cached;
}
