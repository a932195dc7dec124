import type { YAMLMap } from 'yaml';
import { DiagnosticSink, ScenarioError } from './diagnostics.js';
import { Reader } from './reader.js';
import { parseYamlChecked } from './yaml.js';

/**
 * How a YAML input opens, in one place for every kind (a workload profile, a validation case):
 * bounded in size, in nesting (src/input/depth.ts) and in alias expansions, parsed with positions.
 */

/** What an input kind allows before its own keys are read. */
export interface YamlInputKind {
  /** How diagnostics name it: "workload profile", "validation case". */
  readonly noun: string;
  readonly maxBytes: number;
  readonly maxAliases: number;
}

/** An opened input: its root mapping, and the reader and sink that report problems with positions. */
export interface OpenedYaml {
  readonly sink: DiagnosticSink;
  readonly r: Reader;
  readonly root: YAMLMap;
}

/**
 * Open `text` (named `file` in diagnostics) as an input of `kind` whose root is a mapping: too large,
 * too deep, YAML errors, not a mapping, or empty each throw a ScenarioError with the position.
 */
export function openYamlMapping(text: string, file: string, kind: YamlInputKind): OpenedYaml {
  const sink = new DiagnosticSink(file);
  if (Buffer.byteLength(text, 'utf8') > kind.maxBytes) {
    sink.add(1, 1, `${kind.noun} is too large`, `at most ${kind.maxBytes} bytes`);
    sink.throwIfAny();
  }
  const { doc, lc, aliases } = parseYamlChecked(text, sink, kind.maxAliases);
  const r = new Reader(sink, lc, aliases);
  const root = r.map({ node: doc.contents ?? null }, `the ${kind.noun}`);
  if (root === undefined) {
    sink.throwIfAny();
    throw new ScenarioError([{ file, line: 1, column: 1, message: `empty ${kind.noun}` }]);
  }
  return { sink, r, root };
}
