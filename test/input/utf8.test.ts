/**
 * Input files are UTF-8 text, refused at their first byte that is not (src/input/utf8.ts): a
 * scenario saved as Latin-1, a UTF-16 file, a report with a damaged byte. They were read with every
 * such byte turned into U+FFFD, silently: the scenario ran with its description mangled, the perf
 * report was fitted with an unknown reason "HL\ufffd" and exit 0 (polish40).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstNonUtf8, notUtf8, NotUtf8Error } from '../../src/input/utf8.js';
import { readInputText } from '../../src/input/readBounded.js';
import { ScenarioError } from '../../src/input/diagnostics.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { unreadable } from '../../src/cli/importInputs.js';
import { SMALL_SCENARIO as SCENARIO } from './helpers.js';

test('firstNonUtf8 agrees with a fatal TextDecoder on what is UTF-8 (overlongs, surrogates, past U+10FFFF, cut sequences)', () => {
  const cases: number[][] = [
    [0x61, 0x62],
    [0xc3, 0xa9],
    [0xe2, 0x82, 0xac],
    [0xf0, 0x9f, 0x98, 0x80],
    [0xc0, 0xaf], // overlong '/'
    [0xe0, 0x80, 0xaf], // overlong
    [0xed, 0xa0, 0x80], // a surrogate
    [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
    [0xf5, 0x80, 0x80, 0x80],
    [0x61, 0xe2, 0x82], // cut at the end
    [0x80],
    [0xff, 0xfe, 0x61, 0x00],
  ];
  const fatal = new TextDecoder('utf-8', { fatal: true });
  for (const c of cases) {
    const bytes = Uint8Array.from(c);
    let ok = true;
    try {
      fatal.decode(bytes);
    } catch {
      ok = false;
    }
    assert.equal(firstNonUtf8(bytes) < 0, ok, c.map((b) => b.toString(16)).join(' '));
  }
  assert.equal(firstNonUtf8(Buffer.from('ab\ncaf\xe9', 'latin1')), 6);
});

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-utf8-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const FILES: readonly { what: string; bytes: Buffer; line: number; column: number; found: RegExp }[] = [
  {
    what: 'a description saved as Latin-1',
    bytes: Buffer.concat([Buffer.from(`${SCENARIO}description: caf`), Buffer.from([0xe9, 0x0a])]),
    line: 7,
    column: 17,
    found: /^the byte 0xE9, which is no UTF-8 character here$/,
  },
  {
    what: 'a byte past a character of two, after a byte order mark',
    bytes: Buffer.concat([
      Buffer.from(`\ufeffname: \u00e9`),
      Buffer.from([0xff]),
      Buffer.from(`\n${SCENARIO.slice(8)}`),
    ]),
    line: 1,
    column: 8,
    found: /^the byte 0xFF/,
  },
  {
    what: 'UTF-16 (a byte order mark FF FE)',
    bytes: Buffer.from(`\ufeff${SCENARIO}`, 'utf16le'),
    line: 1,
    column: 1,
    found: /^UTF-16 text/,
  },
];

for (const f of FILES) {
  test(`a scenario file that is not UTF-8 is refused at the byte, exit 2's ScenarioError: ${f.what}`, () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, f.bytes);
    assert.throws(
      () => loadScenarioFile(file),
      (e: unknown) => {
        assert.ok(e instanceof ScenarioError, String(e));
        const d = e.diagnostics[0];
        assert.equal(d.message, 'the file is not UTF-8 text');
        assert.deepEqual([d.line, d.column], [f.line, f.column]);
        assert.match(d.found ?? '', f.found);
        assert.match(d.expected ?? '', /^UTF-8 text/);
        return true;
      },
    );
  });
}

test('a report or profile that is not UTF-8 (readInputText) is refused with its line and column, and import and what-if say FILE:L:C (it was fitted with a reason "HL\\ufffd")', () => {
  const file = join(dir, 'report.txt');
  writeFileSync(
    file,
    Buffer.concat([Buffer.from('Analyze events for all VMs, all VCPUs:\n\n   HL'), Buffer.from([0xff, 0x20])]),
  );
  assert.throws(
    () => readInputText(file),
    (e: unknown) => {
      assert.ok(e instanceof NotUtf8Error);
      assert.deepEqual([e.where.line, e.where.column], [3, 6]);
      assert.equal(
        unreadable(file, e, 'report', 'a report'),
        `${file}:3:6: expected UTF-8 text (a Latin-1 or Windows-1252 file: iconv -f latin1 -t utf-8 FILE), found the byte 0xFF, which is no UTF-8 character here`,
      );
      return true;
    },
  );
});

test('UTF-8 text, with a byte order mark or CRLF, is read as before', () => {
  assert.equal(
    notUtf8(Buffer.from(`\ufeff${SCENARIO.replace(/\n/g, '\r\n')}description: caf\u00e9 \u{1f600}\n`)),
    undefined,
  );
  const file = join(dir, 'good.yaml');
  writeFileSync(file, `\ufeff${SCENARIO}description: caf\u00e9\n`);
  assert.equal(loadScenarioFile(file).description, 'caf\u00e9');
});

test('binary data with a NUL byte before its first byte that is not UTF-8 is left to the readers (perf.data: they say what it is)', () => {
  const file = join(dir, 'perf.data');
  writeFileSync(file, Buffer.concat([Buffer.from('PERFILE2'), Buffer.from([0x68, 0, 0, 0, 0xff, 0xfe])]));
  assert.ok(readInputText(file).startsWith('PERFILE2'));
});
