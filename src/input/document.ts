import type { YAMLMap } from 'yaml';
import { DiagnosticSink, ScenarioError } from './diagnostics.js';
import { Reader, parseYamlChecked } from './yaml.js';

/**
 * How a YAML input opens, in one place for every kind (a scenario file, a workload profile, a
 * validation case): bounded in size and in alias expansions, parsed with positions, and a document
 * nested deeper than the parser's stack said as such.
 */

/** The YAML parser's own words when a document nests deeper than its stack (a RangeError it caught). */
const STACK_EXHAUSTED = /^YAML syntax error: Maximum call stack size exceeded$/;

/**
 * Parse with `parse`, saying what a document nested too deeply for the parser is: `[[[[...` a few
 * hundred levels deep was reported as "YAML syntax error: Maximum call stack size exceeded", with
 * nothing expected, at the column where the stack ran out.
 */
export function explainTooDeep<T>(parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof ScenarioError) || !e.diagnostics.some((d) => STACK_EXHAUSTED.test(d.message))) throw e;
    throw new ScenarioError(
      e.diagnostics.map((d) =>
        STACK_EXHAUSTED.test(d.message)
          ? {
              ...d,
              message: 'YAML nested too deeply to parse (the parser gave up here)',
              expected: 'collections nested a few levels deep (scenarios and profiles need under 10)',
            }
          : d,
      ),
      e.total,
    );
  }
}

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
 * YAML errors, too deep, not a mapping, or empty each throw a ScenarioError with the position.
 */
export function openYamlMapping(text: string, file: string, kind: YamlInputKind): OpenedYaml {
  const sink = new DiagnosticSink(file);
  if (Buffer.byteLength(text, 'utf8') > kind.maxBytes) {
    sink.add(1, 1, `${kind.noun} is too large`, `at most ${kind.maxBytes} bytes`);
    sink.throwIfAny();
  }
  const { doc, lc, aliases } = explainTooDeep(() => parseYamlChecked(text, sink, kind.maxAliases));
  const r = new Reader(sink, lc, aliases);
  const root = r.map({ node: doc.contents ?? null }, `the ${kind.noun}`);
  if (root === undefined) {
    sink.throwIfAny();
    throw new ScenarioError([{ file, line: 1, column: 1, message: `empty ${kind.noun}` }]);
  }
  return { sink, r, root };
}
