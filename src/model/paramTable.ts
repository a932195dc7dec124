import type { ParamRecord } from './data.js';

export const TABLE_BEGIN = '<!-- BEGIN GENERATED PARAMETER TABLE (npm run docs:params) -->';
export const TABLE_END = '<!-- END GENERATED PARAMETER TABLE -->';

function cell(s: unknown): string {
  const text =
    typeof s === 'number' ? (Number.isInteger(s) && s > 255 ? s.toLocaleString('en-US') : String(s)) : String(s);
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
}

/** Markdown table of every model constant with its provenance (docs/MODEL.md, generated). */
export function renderParamTable(params: readonly ParamRecord[]): string {
  const rows = params.map((p) => {
    const kind = p.source === 'calibrated' ? '**calibrated**' : p.source === 'estimated' ? 'estimated' : 'sourced';
    const why =
      p.source === 'calibrated' ? `fitted to: ${p.fittedTo}` : p.source === 'estimated' ? p.reasoning : p.source;
    return `| \`${p.path}\` | ${cell(Array.isArray(p.value) ? p.value.join('-') : p.value)}${p.unit ? ` ${cell(p.unit)}` : ''} | ${kind} | ${cell(why)} |`;
  });
  return [
    TABLE_BEGIN,
    '',
    '| parameter | value | kind | source / reasoning / figure fitted to |',
    '|---|---|---|---|',
    ...rows,
    '',
    TABLE_END,
  ].join('\n');
}
