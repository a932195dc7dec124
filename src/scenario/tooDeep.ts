import { ScenarioError } from '../input/diagnostics.js';

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
