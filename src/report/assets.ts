import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * What the HTML report and the service pages inline, so each page is one self-contained file that
 * opens without network access: the report's own style and browser scripts (src/report/assets/,
 * which `npm run build` copies next to the compiled module), and the chart library.
 *
 * The chart library: Chart.js (MIT), read from the installed `chart.js`
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

/** The report's own style and browser scripts, as the pages inline them. */
interface ReportAssets {
  /** The page style (report.css). */
  readonly css: string;
  /** Draws the charts from their JSON specs (charts.js). */
  readonly charts: string;
  /** The service's runs index, live (runs.js with live.js). */
  readonly runsPage: string;
  /** A run's page while the run is live (run.js with live.js). */
  readonly runPage: string;
}

let assets: ReportAssets | undefined;

/** An asset file's text without its leading comment (what the file says about itself is not shipped in pages). */
function readAsset(name: string): string {
  const text = readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8');
  return text.replace(/^\/\*[\s\S]*?\*\/\n/, '');
}

/** The files of src/report/assets/ (read once per process). */
export function reportAssets(): ReportAssets {
  if (assets) return assets;
  const live = readAsset('live.js');
  const withLive = (js: string): string => js.replace('  /* @include live.js */\n', `\n${live}\n`);
  assets = {
    css: readAsset('report.css'),
    charts: readAsset('charts.js').replace(/\n$/, ''),
    runsPage: withLive(readAsset('runs.js')).replace(/\n$/, ''),
    runPage: withLive(readAsset('run.js')).replace(/\n$/, ''),
  };
  return assets;
}
