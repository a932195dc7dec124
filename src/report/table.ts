/**
 * Plain-text tables for terminals and CI logs: each column as wide as its widest cell, two spaces
 * between columns, trailing blanks trimmed, and a dashed rule under the header when asked.
 */
export function textTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  options: { readonly rightAligned?: (column: number) => boolean; readonly rule?: boolean } = {},
): string[] {
  const right = options.rightAligned ?? ((): boolean => false);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (right(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [
    line(header),
    ...(options.rule === true ? [widths.map((w) => '-'.repeat(w)).join('  ')] : []),
    ...rows.map(line),
  ];
}
