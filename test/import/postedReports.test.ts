/**
 * perf kvm stat tables as they are published in mails and archives, not as perf wrote them: wrapped
 * at ~72 columns by the mail client (the header's "Max" / "Time" and every row over two lines),
 * quoted with `> ` or `> > ` in a reply, cut to their top rows (with or without a `[..]` line), the
 * last row's ")" lost in the wrap. Each is read to the rows as published; the exits of rows not
 * shown become one row without a reason, and a Total that disagrees otherwise is still an error.
 * Fixtures: test/fixtures/reports/README.md ("Posted tables").
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';
import { parsePerfKvmStat } from '../../src/import/perfKvmStat.js';
import { NOT_SHOWN } from '../../src/import/perfLive.js';
import { ReportFormatError } from '../../src/import/report.js';
import { parseReport } from '../../src/import/index.js';

const DIR = join(REPO_ROOT, 'test/fixtures/reports');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');
const rows = (text: string): Array<[string, number | undefined, number, number | undefined]> =>
  parsePerfKvmStat(text, 'r.txt').rows.map((r) => [r.name, r.code, r.samples, r.avgNs]);

/** The error for `text`, or a failure. */
function errorOf(text: string): ReportFormatError {
  try {
    parsePerfKvmStat(text, 'r.txt');
  } catch (e) {
    if (e instanceof ReportFormatError) return e;
    throw e;
  }
  assert.fail('expected a ReportFormatError');
}

describe('perf kvm stat tables as posted to mailing lists', () => {
  it('a table wrapped by the mail client, cut before its last rows: the rows as published, the rest in one row', () => {
    const r = parsePerfKvmStat(read('perf-intel-wrapped-cut-liangli-2021.txt'), 'r.txt');
    assert.deepEqual(
      r.rows.map((x) => [x.name, x.code, x.samples, x.avgNs, x.maxNs]),
      [
        ['APIC_WRITE', 56, 200482, 1370, 49510],
        ['DR_ACCESS', 29, 24235, 810, 3650],
        ['EXTERNAL_INTERRUPT', 1, 17084, 3090, 56380],
        ['VMCALL', 18, 7124, 5540, 12390],
        ['EOI_INDUCED', 45, 5066, 1070, 2640],
        ['IO_INSTRUCTION', 30, 591, 8590, 673230],
        [NOT_SHOWN, undefined, 255363 - 254582, undefined, undefined],
      ],
    );
    assert.equal(r.totalSamples, 255363);
    assert.ok(
      r.notes.some((n) => /column header is wrapped over lines 3-4/.test(n)),
      r.notes.join('\n'),
    );
    assert.ok(r.notes.some((n) => /^6 row\(s\) wrapped/.test(n)));
    assert.ok(r.notes.some((n) => /cut when posted: its 6 row\(s\) add up to 254582 of Total Samples 255363/.test(n)));
  });

  it('the same with CRLF line ends and a shell prompt after it', () => {
    const text = read('perf-intel-wrapped-cut-liangli-2021.txt');
    assert.deepEqual(rows(`${text.replace(/\n/g, '\r\n')}$ \r\n`), rows(text));
  });

  it('quoted two replies deep, the last row without its ")": read as the unquoted table', () => {
    const r = parsePerfKvmStat(read('perf-intel-quoted-liangli-2021.txt'), 'r.txt');
    assert.deepEqual(
      r.rows.map((x) => [x.name, x.samples, x.avgNs, x.avgStddevPercent]),
      [
        ['MSR_WRITE', 924045, 1260, 0.07],
        ['DR_ACCESS', 44669, 760, 0.32],
        ['EXTERNAL_INTERRUPT', 29809, 3100, 0.54],
        ['VMCALL', 17819, 4200, 0.33],
        [NOT_SHOWN, 1027227 - 1016342, undefined, undefined],
      ],
    );
    assert.ok(
      r.notes.some((n) => /quoted as in a mail \('> >'/.test(n)),
      r.notes.join('\n'),
    );
    assert.ok(
      r.notes.some((n) => /line 11: the deviation's closing '\)' is missing/.test(n)),
      r.notes.join('\n'),
    );
  });

  it('the trailer wrapped after "Total events": joined as the rows are', () => {
    const text = read('perf-intel-wrapped-cut-liangli-2021.txt');
    const wrapped = text.replace(', Total events handled time:', ', Total events\nhandled time:');
    assert.notEqual(wrapped, text);
    const r = parsePerfKvmStat(wrapped, 'r.txt');
    assert.equal(r.totalSamples, 255363);
    assert.equal(r.totalTimeNs, 399954270);
    assert.deepEqual(rows(wrapped), rows(text));
  });

  it('a wrong token inside a quoted, wrapped row: FILE:LINE:COL of the file, not of the joined row', () => {
    const text = read('perf-intel-quoted-liangli-2021.txt').replace('> > 50.74us', '> > 50.7Xus');
    const e = errorOf(text);
    assert.equal(`${e.line}:${e.column}`, '8:5', e.message);
    assert.equal(text.split('\n')[e.line - 1].slice(e.column - 1, e.column + 6), '50.7Xus');
    assert.match(e.message, /expected a Max Time like 1106\.38us, found "50\.7Xus"$/);
  });

  it('rows elided with "[..]": read as a cut table (Senozhatsky, kvm@ 2021)', () => {
    const r = parsePerfKvmStat(read('perf-intel-elided-senozhatsky-2021.txt'), 'r.txt');
    assert.deepEqual(
      r.rows.map((x) => [x.name, x.samples]),
      [
        ['EPT_VIOLATION', 760998],
        ['MSR_WRITE', 170599],
        ['EXTERNAL_INTERRUPT', 159510],
        [NOT_SHOWN, 1387305 - 1091107],
      ],
    );
    assert.ok(
      r.notes.some((n) => /\(line 8 marks rows left out\)/.test(n)),
      r.notes.join('\n'),
    );
  });

  it('an AMD table from a quoted-printable mail, no-break spaces between the columns: SVM names, their codes', () => {
    const text = read('perf-amd-nbsp-kechenlu-2021.txt');
    assert.ok(text.includes('\u00a0'));
    const r = parsePerfKvmStat(text, 'r.txt');
    assert.equal(r.vendor, 'amd');
    assert.deepEqual(
      r.rows.map((x) => [x.name, x.code, x.samples]),
      [
        ['io', 0x7b, 575088],
        ['msr', 0x7c, 434530],
        ['hlt', 0x78, 308635],
        ['interrupt', 0x60, 4796],
        ['write_cr4', 0x14, 752],
        ['read_cr4', 0x04, 376],
        ['npf', 0x400, 85],
        ['pause', 0x77, 71],
        ['cpuid', 0x72, 50],
        ['hypercall', 0x81, 10],
        ['nmi', 0x61, 1],
      ],
    );
    assert.equal(r.totalSamples, 1324394);
  });

  it('rows left out with dots and no trailer: refused at the end, saying why', () => {
    const e = errorOf(read('malformed/perf-amd-elided-no-trailer-kechenlu-2021.txt'));
    assert.equal(`${e.line}:${e.column}`, '9:1');
    assert.match(
      e.message,
      /\(line 8 marks rows left out: without the trailer's total, the exits of those rows are unknown;/,
    );
  });

  it('a cut table without trailer: the error says which line to add by hand, and with it the table reads', () => {
    const text = read('malformed/perf-amd-elided-no-trailer-kechenlu-2021.txt');
    const e = errorOf(text);
    assert.match(
      e.message,
      /add it by hand after line 8 - 'Total Samples:<N>, Total events handled time:<T>us\.' \(N and T as the source gives them; T 0\.00 if it gives none\) - and import again/,
    );
    // Done as it says (N from the case's derivation, 344654 / 0.6829), the rows not shown are one row.
    const r = parsePerfKvmStat(`${text}\nTotal Samples:504692, Total events handled time:0.00us.\n`, 'r.txt');
    assert.equal(r.rows.at(-1)!.name, NOT_SHOWN);
    assert.equal(r.rows.at(-1)!.samples, 504692 - 344654 - 114046 - 19679 - 8186);
    // Cut with no dots: the top rows of a table whose Samples% add up to less than 100 %.
    const top = read('perf-intel-sysbench-2020.txt').split('\n');
    const rows = top.findIndex((l) => /^\s+\S+\s+\d+\s+\d/.test(l));
    const cut = errorOf(top.slice(0, rows + 2).join('\n'));
    assert.match(
      cut.message,
      /its 2 row\(s\) add up to [\d.]+ % of the exits: the table was cut;.*add it by hand after line/,
    );
    // A complete table without its trailer is not told to add one by hand.
    const whole = top
      .slice(
        0,
        top.findIndex((l) => l.startsWith('Total Samples')),
      )
      .join('\n');
    assert.doesNotMatch(errorOf(whole).message, /by hand/);
  });

  it('a Total that disagrees with complete rows (Samples% add up to 100 %) is still refused', () => {
    const e = errorOf(read('malformed/perf-sum-mismatch.txt'));
    assert.equal(`${e.line}:${e.column}`, '18:15');
    assert.match(e.message, /these add up to 100\.01 %\), found 25899$/);
    // Rows whose Samples% are those of a complete table are not a cut table, whatever the Total says.
    const over = read('perf-intel-sysbench-2020.txt').replace('Total Samples:25898', 'Total Samples:99999');
    assert.match(errorOf(over).message, /these add up to 100\.01 %\), found 99999$/);
  });
});

describe('kvm_stat and bhyvectl output quoted in a mail', () => {
  it('the 2012 kvm_stat screen as the thread quoted it ("> >> "), bhyvectl quoted once: as unquoted', () => {
    for (const [file, format] of [
      ['kvm_stat-screen-tracepoints-slaby-2012.txt', 'kvm-stat'],
      ['bhyvectl-intel-2vcpu-constructed.txt', 'bhyvectl'],
    ] as const) {
      const text = read(file);
      const mark = file.startsWith('kvm') ? '> >> ' : '> ';
      const quoted = text
        .split('\n')
        .map((l, k, all) => (k === all.length - 1 && l === '' ? l : `${mark}${l}`))
        .join('\n');
      const plain = parseReport(text, 'r.txt', format);
      const read2 = parseReport(quoted, 'r.txt', format);
      assert.deepEqual(
        read2.rows.map((r) => [r.name, r.samples, r.perSecond, r.source]),
        plain.rows.map((r) => [r.name, r.samples, r.perSecond, { ...r.source, column: r.source.column + mark.length }]),
        file,
      );
      assert.ok(
        read2.notes.some((n) => /quoted as in a mail/.test(n)),
        read2.notes.join('\n'),
      );
    }
  });
});

describe('perf kvm stat live redirected with 2>&1 (its screen clears among the lines)', () => {
  it('a line of ESC [H ESC [2J before the time of day and after the trailer reads as blank: the live table', () => {
    const text = read('perf-intel-live-leoyan-2023.txt').split('\n').slice(1).join('\n');
    const clear = '\x1b[H\x1b[2J\n';
    const r = parsePerfKvmStat(`${clear}${text}${clear}`, 'r.txt');
    assert.equal(r.live, true);
    assert.deepEqual(rows(`${clear}${text}${clear}`), rows(text));
    assert.ok(
      r.notes.some((n) => /^2 line\(s\) of terminal controls alone/.test(n)),
      r.notes.join('\n'),
    );
  });
});
