/**
 * How deeply a YAML text nests, found before it is composed: the one depth check of every YAML
 * input (scenario files and posted scenarios, workload profiles, validation cases, CPU profiles),
 * run by parseYaml (src/input/yaml.ts).
 *
 * Why: yaml's composer (and then toJS, visit, our Reader) recurses once per nested collection.
 * Near the end of the stack V8 may abort the whole process instead of throwing a RangeError: it
 * recompiled a regular expression of the parser there, "FATAL ERROR: RegExpCompiler Allocation
 * failed - process out of memory", which no try/catch and no worker limit catches. yaml's lexer
 * and parser do not recurse: the parser keeps the open collections of its concrete syntax tree on
 * an explicit stack. So the text is lexed and parsed first, the stack watched after each token,
 * and a text whose stack holds more than MAX_YAML_DEPTH collections is refused there, before the
 * composer runs. The tree that passes is the one parseDocument would build (parseYaml composes it),
 * so the check costs nothing beyond the parse it precedes, and stops early on a deep text (a
 * 100,000-level `[[[[...` is refused after its first 201 brackets).
 *
 * What counts as a level is what the parser nests: a flow sequence or mapping (`[`, `{`), a
 * block mapping, a block sequence (`- `). Quoted and block scalars, comments and plain text count
 * nothing, whatever brackets they hold. A text scan counting brackets and indentation cannot say
 * the same on bad input: yaml recovers from errors by nesting (`a: b: c` on one line is two
 * mappings; `: - -\na:\n` repeated nests one mapping more each time at indentation 0; `[ "]" `
 * repeated is a `[` each time, its `]` quoted), and a scan that missed such a level once missed
 * it 5,000 times in a 45 KB document.
 */
import { Lexer, Parser, type CST } from 'yaml';

/** Levels of nesting parsed at most. Scenarios, profiles and validation cases nest under 10. */
export const MAX_YAML_DEPTH = 200;

/** The words of the refusal, at the position of the collection that opened level MAX_YAML_DEPTH + 1. */
export const TOO_DEEP = {
  message: `YAML nested too deeply: a collection ${MAX_YAML_DEPTH + 1} levels deep opens here (nothing else was checked)`,
  expected: `collections nested at most ${MAX_YAML_DEPTH} levels deep (each [ or {, block mapping and block sequence is a level; scenarios and profiles need under 10): flatten it, or look for brackets left open`,
} as const;

function isCollection(t: CST.Token): boolean {
  return t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection';
}

/** The offset of the innermost collection when the parser holds more than MAX_YAML_DEPTH open. */
function tooDeep(parser: Parser): number | undefined {
  const stack = parser.stack;
  // The stack holds a document under its collections, and a scalar may sit on top.
  if (stack.length <= MAX_YAML_DEPTH + 1) return undefined;
  let open = 0;
  let innermost = 0;
  for (const t of stack) {
    if (!isCollection(t)) continue;
    open++;
    innermost = t.offset;
  }
  return open > MAX_YAML_DEPTH ? innermost : undefined;
}

/** yaml's concrete syntax tree of a text (what Composer composes), or where it nests too deep. */
export type CstOrTooDeep =
  | { readonly tokens: CST.Token[]; readonly tooDeep?: undefined }
  | {
      readonly tooDeep: {
        /** Offset of the collection that opened the level past the limit. */
        readonly offset: number;
      };
    };

/**
 * Lex and parse `text` as Parser.parse does (onNewLine as Parser's), refusing it at the first
 * token that leaves more than MAX_YAML_DEPTH collections open.
 */
export function parseCst(text: string, onNewLine: (offset: number) => void): CstOrTooDeep {
  const parser = new Parser(onNewLine);
  const tokens: CST.Token[] = [];
  onNewLine(0);
  for (const lexeme of new Lexer().lex(text, false)) {
    for (const token of parser.next(lexeme)) tokens.push(token);
    const offset = tooDeep(parser);
    if (offset !== undefined) return { tooDeep: { offset } };
  }
  for (const token of parser.end()) tokens.push(token);
  return { tokens };
}

/**
 * The same check over the first `maxLexemes` lexemes of `text` only: the offset of the collection
 * that opens level MAX_YAML_DEPTH + 1 there, or undefined (not too deep within them; the rest is
 * not looked at). Exact for what it looks at: the lexer and parser are the ones parseCst runs, and
 * their state after a lexeme does not depend on what follows it, so a text refused here is refused
 * by parseCst at the same offset, and parseYaml then says so. Its cost is bounded by `maxLexemes`
 * whatever the text's size: the service runs it on its main thread before a validation thread is
 * asked (src/service/scenarioValidator.ts), where a whole parse (up to 0.3 s for 100 KB) may not
 * run.
 */
export function tooDeepWithin(
  text: string,
  maxLexemes: number,
  onNewLine: (offset: number) => void,
): number | undefined {
  const parser = new Parser(onNewLine);
  onNewLine(0);
  let n = 0;
  for (const lexeme of new Lexer().lex(text, false)) {
    if (n++ >= maxLexemes) return undefined;
    // The tokens are not kept: only the parser's stack of open collections is looked at.
    for (const token of parser.next(lexeme)) void token;
    const offset = tooDeep(parser);
    if (offset !== undefined) return offset;
  }
  return undefined;
}
