/**
 * Mutations of a text input for the property tests of test/fuzz: what a careless edit, a copy from
 * a web page or a mail, or another editor does to a file (a line deleted, duplicated, swapped or cut
 * short; a number replaced; CR LF line ends, a byte order mark, tabs for spaces, a non-ASCII
 * character). Each mutation says where it struck so a property can check what the reader made of it.
 */
import fc from 'fast-check';

/** One edit of a text and, when it replaced a number, the line (1-based) and the text put there. */
export interface Mutated {
  readonly text: string;
  readonly what: string;
  /** The number edit: its 1-based line, the old and new token, and the text before the edit. */
  readonly number?: {
    readonly line: number;
    /** 0-based column of the token in its line. */
    readonly index: number;
    readonly old: string;
    readonly now: string;
    readonly before: string;
  };
}

/** Replacements for a number: the ones no tool prints, and a few plain numbers of another size. */
export const ODD_NUMBERS = ['-1', 'NaN', '1e400', '1,234', 'Infinity', '0x10', '', '00', '1.5'] as const;

/** A digit run (with an optional fraction) not inside a word: the numbers of a report line. */
const NUMBER = /(?<![\w.])\d+(?:\.\d+)?(?![\w.])/g;

function numbersIn(line: string): { index: number; token: string }[] {
  return [...line.matchAll(NUMBER)].map((m) => ({ index: m.index, token: m[0] }));
}

const NON_ASCII = ['\u00e9', '\u00a0', '\u2014', '\u4e2d', '\u{1f600}', '\u200b', '\u00b5'];

/** The line-level mutations of `text` (split on LF, as written). */
export function mutations(text: string): fc.Arbitrary<Mutated> {
  const lines = text.split('\n');
  const n = lines.length;
  const at = fc.nat({ max: n - 1 });
  const join = (ls: readonly string[]): string => ls.join('\n');
  const withNumbers = lines.flatMap((l, i) => numbersIn(l).map((m) => ({ i, ...m })));
  const arbs: fc.Arbitrary<Mutated>[] = [
    at.map((i) => ({ text: join(lines.filter((_, k) => k !== i)), what: `line ${i + 1} deleted` })),
    at.map((i) => ({ text: join([...lines.slice(0, i + 1), ...lines.slice(i)]), what: `line ${i + 1} duplicated` })),
    fc.tuple(at, at).map(([i, j]) => {
      const ls = [...lines];
      [ls[i], ls[j]] = [ls[j], ls[i]];
      return { text: join(ls), what: `lines ${i + 1} and ${j + 1} swapped` };
    }),
    fc.tuple(at, fc.nat()).map(([i, k]) => {
      const ls = [...lines];
      ls[i] = ls[i].slice(0, ls[i].length === 0 ? 0 : k % ls[i].length);
      return { text: join(ls), what: `line ${i + 1} cut to ${ls[i].length} characters` };
    }),
    fc.constant({ text: text.replace(/\n/g, '\r\n'), what: 'CR LF line ends' }),
    fc.constant({ text: `\uFEFF${text}`, what: 'a byte order mark' }),
    fc.constant({ text: text.replace(/ {2,}/g, (s) => '\t'.repeat(Math.ceil(s.length / 8))), what: 'tabs for spaces' }),
    fc.tuple(at, fc.nat(), fc.constantFrom(...NON_ASCII)).map(([i, k, c]) => {
      const ls = [...lines];
      const cut = ls[i].length === 0 ? 0 : k % ls[i].length;
      ls[i] = ls[i].slice(0, cut) + c + ls[i].slice(cut);
      return { text: join(ls), what: `${JSON.stringify(c)} inserted in line ${i + 1} at column ${cut + 1}` };
    }),
  ];
  if (withNumbers.length > 0) {
    const replace = (p: { i: number; index: number; token: string }, now: string): Mutated => {
      const ls = [...lines];
      ls[p.i] = ls[p.i].slice(0, p.index) + now + ls[p.i].slice(p.index + p.token.length);
      return {
        text: join(ls),
        what: `${p.token} in line ${p.i + 1} replaced by ${JSON.stringify(now)}`,
        number: { line: p.i + 1, index: p.index, old: p.token, now, before: text },
      };
    };
    const pick = fc.constantFrom(...withNumbers);
    arbs.push(fc.tuple(pick, fc.constantFrom(...ODD_NUMBERS)).map(([p, now]) => replace(p, now)));
    // Another plain number of the same form (an integer stays an integer, a fraction keeps its digits).
    arbs.push(
      fc.tuple(pick, fc.integer({ min: 1, max: 99_999 })).map(([p, v]) => {
        const dot = p.token.indexOf('.');
        const now = dot < 0 ? String(v) : `${v}.${p.token.slice(dot + 1).replace(/\d/g, '7')}`;
        return replace(p, now === p.token ? `${now}1` : now);
      }),
    );
  }
  return fc.oneof(...arbs);
}

/** A text after one to three mutations (the number edit, if any, is the last one's). */
export function mutated(text: string): fc.Arbitrary<Mutated> {
  return mutations(text).chain((m) =>
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(m) },
      { weight: 1, arbitrary: mutations(m.text).map((m2) => ({ ...m2, what: `${m.what}; ${m2.what}` })) },
    ),
  );
}

/** Arbitrary text: unicode strings, and lines of report-like tokens. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc
    .array(
      fc
        .array(
          fc.oneof(
            fc.constantFrom(
              'vcpu0',
              'stats:',
              'Total',
              'Samples:',
              '%',
              'us',
              '(',
              '+-',
              ')',
              'kvm_exit',
              'VM-EXIT',
              '#',
              '$',
            ),
            fc.integer().map(String),
            fc.double().map(String),
            fc.string({ maxLength: 8 }),
          ),
          { maxLength: 10 },
        )
        .map((ws) => ws.join(' ')),
      { maxLength: 30 },
    )
    .map((ls) => ls.join('\n')),
);

/** A key line of a block mapping or sequence item: indentation, `- `, key, the value after `:`. */
const KEY_LINE = /^(\s*)((?:- )?)([A-Za-z_][\w.-]*):(?: (.*))?$/;

/** Values of another type, out of range, or of YAML's rarer forms. */
export const ODD_VALUES = [
  '[1, 2]',
  '{ a: 1 }',
  'true',
  '"text"',
  '-1',
  '1e400',
  '.nan',
  '-.inf',
  '99999999999999999999',
  '0x10',
  'null',
  '~',
  '!!binary aGVsbG8=',
  '!!timestamp 2001-12-14',
  '!!str 5',
  '!custom 1',
  '*nowhere',
  '&a 1',
  "'x'",
  '1.5',
  '0',
  '"\\u0000"',
  '>-\n  folded',
  `"${'x'.repeat(70_000)}"`,
] as const;

/** YAML-level edits of a YAML document (on top of the line-level ones of `mutations`). */
export function yamlMutations(text: string): fc.Arbitrary<Mutated> {
  const lines = text.split('\n');
  const keyLines = lines.flatMap((l, i) => {
    const m = KEY_LINE.exec(l);
    return m ? [{ i, indent: m[1], dash: m[2], key: m[3], value: m[4] ?? '' }] : [];
  });
  const join = (ls: readonly string[]): string => ls.join('\n');
  if (keyLines.length === 0) return mutations(text);
  const pick = fc.constantFrom(...keyLines);
  type K = (typeof keyLines)[number];
  /** The lines of k's block value (deeper than k), which a new scalar value replaces. */
  const blockEnd = (k: K): number => {
    const depth = k.indent.length + k.dash.length;
    let j = k.i + 1;
    while (j < lines.length && (lines[j].trim() === '' || lines[j].search(/\S/) > depth)) j++;
    return j;
  };
  const setValue = (k: K, value: string, key = k.key): string[] => {
    const ls = [...lines];
    ls.splice(k.i, (k.value === '' ? blockEnd(k) : k.i + 1) - k.i, `${k.indent}${k.dash}${key}: ${value}`);
    return ls;
  };
  const sibling = (k: K): string => `${k.indent}${k.dash === '' ? '' : '  '}`;
  return fc.oneof(
    { weight: 2, arbitrary: mutations(text) },
    {
      weight: 3,
      arbitrary: fc.tuple(pick, fc.constantFrom(...ODD_VALUES)).map(([k, v]) => ({
        text: join(setValue(k, v)),
        what: `${k.key} (line ${k.i + 1}) set to ${v.length > 40 ? `${v.slice(0, 20)}... (${v.length} characters)` : v}`,
      })),
    },
    fc.tuple(pick, fc.constantFrom('x', 'S', '_', '-old')).map(([k, s]) => {
      const ls = [...lines];
      ls[k.i] = ls[k.i].replace(`${k.key}:`, `${k.key}${s}:`);
      return { text: join(ls), what: `${k.key} (line ${k.i + 1}) renamed ${k.key}${s}` };
    }),
    // The same key twice in one mapping, the second with the first's value.
    pick.map((k) => {
      const ls = [...lines];
      const end = k.value === '' ? blockEnd(k) : k.i + 1;
      ls.splice(end, 0, ...lines.slice(k.i, end).map((l, n) => (n === 0 && k.dash ? l.replace('- ', '  ') : l)));
      return { text: join(ls), what: `${k.key} (line ${k.i + 1}) twice` };
    }),
    // An anchor on one value and an alias to it as another's.
    // (the anchor first, as YAML wants it; an alias inside its own anchor's block is an edit too).
    fc.tuple(pick, pick).map(([x, y]) => {
      const [a, b] = x.i <= y.i ? [x, y] : [y, x];
      const ls = [...lines];
      ls[a.i] = `${a.indent}${a.dash}${a.key}: &anchor${a.value === '' ? '' : ` ${a.value}`}`;
      if (b.i === a.i) return { text: join(ls), what: `an anchor on ${a.key} (line ${a.i + 1})` };
      ls.splice(b.i, (b.value === '' ? blockEnd(b) : b.i + 1) - b.i, `${b.indent}${b.dash}${b.key}: *anchor`);
      return { text: join(ls), what: `${b.key} (line ${b.i + 1}) an alias of ${a.key} (line ${a.i + 1})` };
    }),
    // A merge key beside a key, of a flow mapping or of an anchored value.
    fc.tuple(pick, fc.constantFrom('{ x: 1 }', '{}', '[]', '*anchor', '1')).map(([k, v]) => {
      const ls = [...lines];
      ls.splice(k.i + (k.dash ? 1 : 0), 0, `${sibling(k)}<<: ${v}`);
      return { text: join(ls), what: `<<: ${v} beside ${k.key} (line ${k.i + 1})` };
    }),
    // A list where a map is: the block's keys as items.
    pick
      .filter((k) => k.value === '' && blockEnd(k) > k.i + 1)
      .map((k) => {
        const ls = [...lines];
        for (let j = k.i + 1; j < blockEnd(k); j++)
          if (lines[j].trim() !== '' && !lines[j].trimStart().startsWith('- '))
            ls[j] = lines[j].replace(/^(\s*)/, '$1- ');
        return { text: join(ls), what: `${k.key} (line ${k.i + 1}): its block as a list` };
      }),
  );
}
