/**
 * The one YAML parser of the input files: parseYaml reads the text into a document with positions
 * (every loader starts there: scenarios, workload profiles, CPU profiles, validation cases), and
 * parseYamlChecked adds what a loader refuses before it reads a value: syntax errors, unresolved
 * aliases, alias bombs. The typed values are read from the document by the Reader (reader.ts); the
 * CPU profile loader (src/profiles/serialize.ts) reads the document its own way.
 */
import { Composer, Document, LineCounter, YAMLParseError, isAlias, isCollection, isPair, visit } from 'yaml';
import type { Alias, ScalarTag, Tags, Node as YamlNode } from 'yaml';
import { MAX_YAML_DEPTH, TOO_DEEP, parseCst } from './depth.js';
import type { DiagnosticSink } from './diagnostics.js';

/** A 1-based line and column. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/** Aliases resolved to their anchors in document order; unresolved aliases reported. */
function resolveAliases(doc: Document, lc: LineCounter, sink: DiagnosticSink): Map<Alias, YamlNode> {
  const anchors = new Map<string, YamlNode>();
  const out = new Map<Alias, YamlNode>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (target === undefined) {
          const p = lc.linePos(node.range?.[0] ?? 0);
          sink.add(
            p.line,
            p.col,
            `alias *${node.source} refers to no anchor defined before it`,
            `an anchor &${node.source} earlier in the file`,
            'none',
          );
        } else {
          out.set(node, target);
        }
        return;
      }
      const anchor = (node as { anchor?: string }).anchor;
      if (anchor !== undefined) anchors.set(anchor, node);
    },
  });
  return out;
}

/**
 * A problem found in the text, where it is: one of yaml's (`syntax`, the first line of its
 * message), or the text nested too deeply to be parsed (what was expected given).
 */
interface YamlProblem extends Position {
  readonly message: string;
  readonly warning: boolean;
  readonly syntax: boolean;
  readonly expected?: string;
  readonly found?: string;
}

/** A YAML 1.2 document with its line counter, and yaml's errors then warnings. */
interface YamlText {
  readonly doc: Document;
  readonly lc: LineCounter;
  readonly problems: readonly YamlProblem[];
}

/**
 * Parse YAML text with positions, as yaml's parseDocument does, but refused before it is composed
 * when it nests more than MAX_YAML_DEPTH levels deep (src/input/depth.ts): then the document is
 * empty and the one problem says so. `uniqueKeys`: a repeated key is one of yaml's errors (else
 * the caller checks).
 */
export function parseYaml(source: string, options: { readonly uniqueKeys: boolean }): YamlText {
  const text = withLineFeeds(source);
  const lc = lineCounterOf(text);
  const cst = parseCst(text, () => {});
  if (cst.tooDeep !== undefined) {
    const at = positionAt(lc, cst.tooDeep.offset);
    return { doc: new Document(), lc, problems: [{ ...at, ...TOO_DEEP, warning: false, syntax: false }] };
  }
  const composer = new Composer({
    lineCounter: lc,
    prettyErrors: false,
    uniqueKeys: options.uniqueKeys,
    version: '1.2',
    // Tags: YAML 1.2's core ones, each value checked against its tag (TAGS_READ); yaml's known
    // YAML 1.1 types (!!binary, !!timestamp, !!set, ...) give values the Reader names and refuses.
    customTags: checkedCoreTags,
  });
  // As parseDocument: the first document, and an error where a second one starts.
  let doc: Document | undefined;
  for (const d of composer.compose(cst.tokens, true, text.length)) {
    if (doc === undefined) doc = d;
    else {
      doc.errors.push(new YAMLParseError([d.range[0], d.range[1]], 'MULTIPLE_DOCS', 'a second document'));
      break;
    }
  }
  if (doc === undefined) throw new Error('yaml composed no document'); // compose(..., true) always gives one
  const problem = (e: { pos: [number, number]; message: string; code?: string }, warning: boolean): YamlProblem => {
    if (e.code === 'TAG_RESOLVE_FAILED' || e.code === 'BAD_COLLECTION_TYPE')
      return { ...positionAt(lc, e.pos[0]), ...tagProblem(text.slice(e.pos[0], e.pos[1]), e.message) };
    const expected = syntaxExpected(e.code, e.message);
    return {
      ...positionAt(lc, syntaxOffset(text, e)),
      // yaml's own words for a second document name its API (parseAllDocuments), not what to do.
      message:
        e.code === 'MULTIPLE_DOCS'
          ? 'a second YAML document starts here; the file must hold one (remove the "---" line or split the file)'
          : e.message.split('\n')[0],
      warning,
      syntax: true,
      ...(expected === undefined ? {} : { expected }),
    };
  };
  // A key indented deeper than the key above it is one slip that yaml reports twice at the
  // key above (BLOCK_AS_IMPLICIT_KEY, then MULTILINE_IMPLICIT_KEY): the second one says it.
  const errors = doc.errors.filter(
    (e, i) =>
      !(
        e.code === 'BLOCK_AS_IMPLICIT_KEY' &&
        doc.errors.some((o, j) => j !== i && o.code === 'MULTILINE_IMPLICIT_KEY' && o.pos[0] === e.pos[0])
      ),
  );
  return {
    doc,
    lc,
    problems: [...errors.map((e) => problem(e, false)), ...doc.warnings.map((e) => problem(e, true))],
  };
}

/**
 * The tags a document may carry: YAML 1.2's core schema (10.3; `!` alone is the non-specific tag,
 * a string), read where the value they give fits the key as any untagged value is, so
 * `count: !!int 3` is 3 and `description: !!str 2019` a string. No key takes any other tag: a
 * Python or CloudFormation tag is refused at it; YAML 1.1's `!!binary`, `!!timestamp`, `!!set`,
 * which yaml reads, give values no key takes, refused by the key as what they are (Reader.describe).
 */
const CORE_TAG_VALUES: Readonly<Record<string, string>> = {
  str: 'a string',
  int: 'an integer (3, -3, 0x1F, 0o17)',
  float: 'a number (2, 2.5, 1e-3)',
  bool: 'true or false',
  null: 'nothing, ~ or null',
  map: 'a mapping',
  seq: 'a list',
};
const TAGS_READ = Object.keys(CORE_TAG_VALUES)
  .map((t) => `!!${t}`)
  .join(', ');
const CORE_TAG = 'tag:yaml.org,2002:';

/** A core tag's value that does not fit it, as one of yaml's messages (read back by tagProblem). */
const MISFIT = '\u0000misfit:';

/**
 * The schema's tags, plus one for each core scalar tag written explicitly (`!!int x`): yaml said
 * "Unresolved tag: tag:yaml.org,2002:int" of a value that does not fit it, the tag's URI and no
 * value, and refused `!!float 2`, which YAML 1.2's float form matches (10.3.2). Not `default`:
 * untagged values resolve as before.
 */
function checkedCoreTags(tags: Tags): Tags {
  const checked = ['null', 'bool', 'int', 'float'].map((name): ScalarTag => {
    const forms = tags.filter(
      (t): t is ScalarTag => typeof t === 'object' && t.tag === CORE_TAG + name && !('collection' in t && t.collection),
    );
    return {
      tag: CORE_TAG + name,
      default: false,
      resolve(source, onError, options) {
        const form = forms.find((f) => f.test?.test(source) === true);
        if (form !== undefined) return form.resolve(source, onError, options);
        if (name === 'float' && /^[-+]?[0-9]+$/.test(source)) return Number(source);
        onError(`${MISFIT}${name}:${source}`);
        return source;
      },
    };
  });
  return [...tags, ...checked];
}

/** A tag as a message shows it: cut to 40 characters. */
function tagText(written: string): string {
  return written.length > 40 ? `${written.slice(0, 40)}...` : written;
}

/** The problem of a tag yaml could not resolve (`written` as in the text), or of a value that does not fit its tag. */
function tagProblem(written: string, message: string): Omit<YamlProblem, 'line' | 'column'> {
  const misfit = message.startsWith(MISFIT) ? /^([a-z]+):([\s\S]*)$/.exec(message.slice(MISFIT.length)) : null;
  const core = /^!(?:!|<tag:yaml\.org,2002:)([a-z]+)>?$/.exec(written)?.[1];
  const name = misfit?.[1] ?? (core !== undefined && core in CORE_TAG_VALUES ? core : undefined);
  if (name === undefined)
    return {
      message: `unknown YAML tag ${tagText(written)}`,
      expected:
        `the value without it (a string needs no tag: quote it, "3", where it would read as a number or ` +
        `true/false); the only tags read are YAML 1.2's core ones, where the value fits: ${TAGS_READ}`,
      warning: false,
      syntax: false,
    };
  const found = misfit?.[2];
  return {
    message: `the YAML tag !!${name} does not fit its value`,
    expected: `${CORE_TAG_VALUES[name]} after !!${name}, or the value without the tag`,
    ...(found === undefined
      ? {}
      : { found: found === '' ? 'nothing' : JSON.stringify(found.length > 60 ? `${found.slice(0, 60)}...` : found) }),
    warning: false,
    syntax: false,
  };
}

/**
 * Where a syntax error is: yaml's offset, except for a key that runs over several lines (a line
 * indented deeper than the key above it, or a key without its colon), which yaml reports where
 * that key starts: the slip is on its last line, at that line's first character.
 */
function syntaxOffset(text: string, e: { pos: [number, number]; code?: string }): number {
  const firstOnLine = (from: number): number => {
    let at = from;
    while (text[at] === ' ' || text[at] === '\t') at++;
    return at;
  };
  // A line indented less than its mapping: yaml points at the line's start, the key is further on.
  if (e.code === 'BAD_INDENT' && (e.pos[0] === 0 || text[e.pos[0] - 1] === '\n')) return firstOnLine(e.pos[0]);
  if (e.code !== 'MULTILINE_IMPLICIT_KEY') return e.pos[0];
  const nl = text.lastIndexOf('\n', Math.max(e.pos[0], e.pos[1] - 1));
  if (nl < e.pos[0]) return e.pos[0];
  // A key that starts its line is one written without its ": " (`cpu i7-6700K`): the slip is
  // there. One after a key's colon is that key's value continued by a deeper line: the slip is there.
  const lineStart = text.lastIndexOf('\n', e.pos[0] - 1) + 1;
  if (/^[\s-]*$/.test(text.slice(lineStart, e.pos[0]))) return e.pos[0];
  return firstOnLine(nl + 1);
}

/** What yaml expected, for the indentation slips a newcomer makes (yaml's messages say what is wrong only). */
function syntaxExpected(code: string | undefined, message: string): string | undefined {
  switch (code) {
    case 'BAD_INDENT':
      if (message.startsWith('All mapping items'))
        return 'this key at the same column as the key above it: the keys of one mapping line up, indented with spaces';
      if (message.startsWith('All sequence items'))
        return 'this "-" item at the same column as the item above it: the items of one list line up, indented with spaces';
      return undefined;
    case 'MULTILINE_IMPLICIT_KEY':
    case 'BLOCK_AS_IMPLICIT_KEY':
      return (
        'the keys of one mapping at the same column: a line indented deeper than the key above it is read as ' +
        'part of that key; indent it as the key above, and give each key ": " after it'
      );
    case 'TAB_AS_INDENT':
      return 'spaces for indentation: YAML does not take tabs there';
    default:
      return undefined;
  }
}

/**
 * Where the text holds a character YAML does not allow in a stream (YAML 1.2 c-printable: no C0
 * control but tab, LF and CR, no DEL, no C1 control but NEL, no U+FFFE or U+FFFF), or undefined.
 * yaml reads them: a NUL in a description ran, and went on into results and reports (polish40).
 */
function controlCharacter(text: string): number | undefined {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const at = text.search(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u0084\u0086-\u009f\ufffe\uffff]/);
  return at < 0 ? undefined : at;
}

/**
 * YAML 1.2 (5.4, b-break) ends a line at a carriage return alone too (old Mac line ends); yaml's
 * lexer does not, and read such a file as one line of errors. A lone CR becomes a LF: the same
 * length, so every offset and column stays the text's own.
 */
function withLineFeeds(text: string): string {
  return text.includes('\r') ? text.replace(/\r(?!\n)/g, '\n') : text;
}

/**
 * The line counter of `text` (after withLineFeeds), from the text itself: yaml's parser reports the
 * line breaks it reads, but not those inside the tokens it skips while recovering from an error,
 * which put a later error on the line before it (a '\n' ends a line for yaml; its lexer takes
 * "\r\n" as one break).
 */
function lineCounterOf(text: string): LineCounter {
  const lc = new LineCounter();
  lc.addNewLine(0);
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lc.addNewLine(at + 1);
  return lc;
}

/** The 1-based line and column of a character offset. */
export function positionAt(lc: LineCounter, offset: number): Position {
  const p = lc.linePos(offset);
  return { line: p.line, column: p.col };
}

/**
 * Parse YAML text for a loader: syntax errors, unresolved aliases and alias bombs are reported to
 * `sink` with their positions (and thrown as a ScenarioError by sink.throwIfAny).
 */
export function parseYamlChecked(
  text: string,
  sink: DiagnosticSink,
  maxAliasCount: number,
): { doc: Document; lc: LineCounter; aliases: Map<Alias, YamlNode> } {
  const control = controlCharacter(text);
  if (control !== undefined) {
    const p = positionAt(lineCounterOf(withLineFeeds(text)), control);
    const code = `U+${text.charCodeAt(control).toString(16).toUpperCase().padStart(4, '0')}`;
    sink.add(
      p.line,
      p.column,
      `a control character (${code}) in the text`,
      'printable text: YAML takes tab, line feed and carriage return, no other control character (is it a binary file, or one damaged?)',
    );
    sink.throwIfAny();
  }
  const { doc, lc, problems } = parseYaml(text, { uniqueKeys: false });
  for (const p of problems) {
    if (p.syntax) sink.add(p.line, p.column, `YAML syntax error: ${p.message}`, p.expected);
    else sink.add(p.line, p.column, p.message, p.expected, p.found);
  }
  sink.throwIfAny();
  const aliases = resolveAliases(doc, lc, sink);
  sink.throwIfAny();
  checkAliasBomb(doc, lc, aliases, sink, maxAliasCount);
  sink.throwIfAny();
  checkExpansion(doc, lc, aliases, sink);
  sink.throwIfAny();
  return { doc, lc, aliases };
}

/**
 * YAML nodes (each key, value and list item) the aliases of a document may repeat in all, merge
 * keys' included. The alias count alone does not bound what the loaders read: yaml counts an alias
 * of a flat 20,000-key mapping as one, so 900 guests that were `*big` or `<<: *big` had the Reader
 * go through 18 million keys (a 260 KB file: minutes, then out of memory). Shipped scenarios
 * repeat a few dozen nodes.
 */
export const MAX_ALIAS_NODES = 100_000;

/**
 * Refuse a document whose aliases repeat more than MAX_ALIAS_NODES nodes, or nest it deeper than
 * MAX_YAML_DEPTH once expanded (a chain of anchors, each nesting the one before: the Reader and
 * yaml's toJS recurse through them), at the alias that crosses the bound. One pass, children before
 * their parent: an anchor precedes its aliases, so a node an alias names is measured before the
 * alias unless it contains it (a recursive node, measured as one: the Reader reads it to a bounded
 * depth and refuses it there).
 */
function checkExpansion(
  doc: Document,
  lc: LineCounter,
  aliases: ReadonlyMap<Alias, YamlNode>,
  sink: DiagnosticSink,
): void {
  if (aliases.size === 0) return;
  const measured = new Map<unknown, { nodes: number; depth: number }>();
  let repeated = 0;
  let refused = false;
  const refuse = (at: Alias, message: string, expected: string): void => {
    refused = true;
    const p = lc.linePos(at.range?.[0] ?? 0);
    sink.add(p.line, p.col, message, expected);
  };
  // Recursion as deep as the document's nesting, which parseYaml bounds (MAX_YAML_DEPTH).
  const measure = (node: unknown): { nodes: number; depth: number } => {
    if (refused || node === null || node === undefined) return { nodes: 0, depth: 0 };
    if (isAlias(node)) {
      const target = aliases.get(node);
      const m = target === undefined ? undefined : measured.get(target);
      if (m === undefined) return { nodes: 1, depth: 1 };
      repeated += m.nodes;
      if (repeated > MAX_ALIAS_NODES)
        refuse(
          node,
          `the aliases repeat too much: *${node.source} repeats ${m.nodes} YAML nodes, ${repeated} by the aliases up to here`,
          `aliases (merge keys included) that repeat at most ${MAX_ALIAS_NODES} nodes in all (each key, value and list item is a node)`,
        );
      else if (m.depth > MAX_YAML_DEPTH)
        refuse(
          node,
          `YAML nested too deeply once its aliases are expanded: *${node.source} reaches ${m.depth} levels`,
          `collections nested at most ${MAX_YAML_DEPTH} levels deep with the aliases expanded: an anchor's node that holds an alias of the one before, repeated, nests them all`,
        );
      return m;
    }
    let nodes = 1;
    let depth = 0;
    if (isCollection(node)) {
      for (const item of node.items) {
        const parts = isPair(item) ? [item.key, item.value] : [item];
        for (const part of parts) {
          const m = measure(part);
          nodes += m.nodes;
          if (m.depth > depth) depth = m.depth;
        }
      }
      depth += 1;
    }
    const m = { nodes, depth };
    measured.set(node, m);
    return m;
  };
  measure(doc.contents);
}

/** Reject alias bombs: yaml's maxAliasCount check during conversion, reported at the first nested alias. */
function checkAliasBomb(
  doc: Document,
  lc: LineCounter,
  aliases: ReadonlyMap<Alias, YamlNode>,
  sink: DiagnosticSink,
  maxAliasCount: number,
): void {
  if (aliases.size === 0) return;
  try {
    doc.toJS({ maxAliasCount: maxAliasCount });
  } catch (e) {
    if (!(e instanceof ReferenceError)) throw e;
    let first: Alias | undefined;
    let nested: Alias | undefined;
    visit(doc, {
      Alias(_k, node) {
        first ??= node;
        if (nested !== undefined) return;
        const target = aliases.get(node);
        let inner = false;
        if (target !== undefined) {
          visit(target, {
            Alias() {
              inner = true;
              return visit.BREAK;
            },
          });
        }
        if (inner) nested = node;
      },
    });
    const at = nested ?? first;
    const p = lc.linePos(at?.range?.[0] ?? 0);
    sink.add(
      p.line,
      p.col,
      `too many YAML alias expansions (alias bomb?): ${e.message}`,
      `at most ${maxAliasCount} alias expansions`,
    );
  }
}
