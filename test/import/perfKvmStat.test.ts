import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { REPO_ROOT } from '../../src/model/data.js';
import { modelExitName, VMX_EXIT_NAMES } from '../../src/import/exitNames.js';
import { cFixed, parsePerfKvmStat, renderPerfKvmStat } from '../../src/import/perfKvmStat.js';
import { ReportFormatError, type ExitReportRow } from '../../src/import/report.js';
import { perfRowsFromModelTotals, readReport } from '../../src/import/index.js';

const DIR = join(REPO_ROOT, 'test/fixtures/reports');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');

/**
 * An independent reading of a sample, for the expectations: every line with "us ( +-" is a row
 * whose sample count is the first integer field after the name; the trailer's numbers by regex.
 */
function expectations(text: string): { rows: number[]; total: number; totalUs: number } {
  const rows: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('us ( +-')) continue;
    const fields = line.trim().split(/\s+/);
    const countIndex = fields.findIndex((f, i) => i > 0 && /^\d+$/.test(f) && /%$/.test(fields[i + 1] ?? ''));
    rows.push(Number(fields[countIndex]));
  }
  const m = /Total Samples:(\d+), Total events handled time:([\d.]+)us\./.exec(text)!;
  return { rows, total: Number(m[1]), totalUs: Number(m[2]) };
}

// [fixture, vendor, rows, first row name, notes that must be present]
const REAL: ReadonlyArray<readonly [string, 'intel' | 'amd' | 'unknown', number, string]> = [
  ['perf-intel-sysbench-2020.txt', 'intel', 9, 'MSR_WRITE'],
  ['perf-intel-stdio-leoyan-2023.txt', 'intel', 7, 'MSR_WRITE'],
  ['perf-intel-live-leoyan-2023.txt', 'intel', 5, 'MSR_WRITE'],
  ['perf-intel-live-sysperf-2020.txt', 'intel', 8, 'MSR_WRITE'],
  ['perf-intel-pvm-unknown-2024.txt', 'intel', 7, 'INVLPG'],
  ['perf-arm64-senozhatsky-2020.txt', 'unknown', 6, 'DABT_LOW'],
];

describe('parsePerfKvmStat: real published reports (test/fixtures/reports/README.md)', () => {
  for (const [file, vendor, nRows, first] of REAL) {
    it(`${file}: rows and totals agree with the text's own numbers`, () => {
      const text = read(file);
      const want = expectations(text);
      const r = parsePerfKvmStat(text, file);
      assert.equal(r.format, 'perf-kvm-stat');
      assert.equal(r.vendor, vendor);
      assert.equal(r.rows.length, nRows);
      assert.equal(r.rows.length, want.rows.length);
      assert.equal(r.rows[0].name, first);
      assert.deepEqual(
        r.rows.map((x) => x.samples),
        want.rows,
      );
      assert.equal(r.totalSamples, want.total);
      assert.equal(
        want.rows.reduce((a, b) => a + b, 0),
        want.total,
        'the sample itself is complete',
      );
      assert.equal(r.totalTimeNs, Math.round(want.totalUs * 1000));
      for (const row of r.rows) {
        const line = text.split('\n')[row.source.line - 1];
        assert.equal(line.slice(row.source.column - 1).startsWith(row.name), true, `source of ${row.name}`);
        assert.ok(Math.abs(row.samplesPercent! - (100 * row.samples) / want.total) <= 0.005 + 1e-9);
        assert.ok(row.minNs! <= row.avgNs! + 10 && row.avgNs! <= row.maxNs! + 10);
      }
    });
  }

  it("sysbench: codes and model kinds (EOI_INDUCED is the SDM's virtualized EOI; PREEMPTION_TIMER is the SDM VMX-preemption timer)", () => {
    const r = parsePerfKvmStat(read('perf-intel-sysbench-2020.txt'), 'x');
    const by = new Map(r.rows.map((x) => [x.name, x]));
    assert.equal(by.get('EOI_INDUCED')!.code, 45);
    assert.equal(modelExitName(by.get('EOI_INDUCED')!), 'VIRTUALIZED_EOI');
    assert.equal(modelExitName(by.get('PAUSE_INSTRUCTION')!), 'PAUSE');
    assert.equal(by.get('PREEMPTION_TIMER')!.code, 52);
    assert.equal(modelExitName(by.get('PREEMPTION_TIMER')!), 'VMX_PREEMPTION_TIMER');
    const hlt = by.get('HLT')!;
    assert.deepEqual(
      [hlt.minNs, hlt.maxNs, hlt.avgNs, hlt.avgStddevPercent, hlt.timePercent],
      [560, 1001118990, 30567940, 9.88, 99.92],
    );
    assert.match(r.notes.join('\n'), /1 line\(s\) before the report were ignored/);
  });

  it('PVM issue: UNKNOWN rows are kept with no code, and the undecoded codes from the interleaved stderr lines are noted', () => {
    const r = parsePerfKvmStat(read('perf-intel-pvm-unknown-2024.txt'), 'x');
    const unknown = r.rows.filter((x) => x.name === 'UNKNOWN');
    assert.equal(unknown.length, 5);
    assert.ok(unknown.every((x) => x.code === undefined && x.vendor === 'intel'));
    for (const c of ['131072', '327680', '196608', '262144', '65536'])
      assert.match(r.notes.join('\n'), new RegExp(`exit code ${c} on VMX`));
  });

  it('arm64: names outside both x86 tables give vendor unknown and no codes', () => {
    const r = parsePerfKvmStat(read('perf-arm64-senozhatsky-2020.txt'), 'x');
    assert.ok(r.rows.every((x) => x.code === undefined && x.vendor === 'unknown'));
    assert.match(r.notes.join('\n'), /DABT_LOW \(line 7\)/);
  });
});

describe('parsePerfKvmStat: constructed variants', () => {
  it('AMD names, a name wider than the 20-char column, a name with a space', () => {
    const r = parsePerfKvmStat(read('perf-amd-constructed.txt'), 'x');
    assert.equal(r.vendor, 'amd');
    const by = new Map(r.rows.map((x) => [x.name, x]));
    assert.equal(by.get('avic_unaccelerated_access')!.code, 0x402);
    assert.equal(by.get('avic_unaccelerated_access')!.samples, 733);
    assert.equal(by.get('PF excp')!.code, 0x4e);
    assert.equal(modelExitName(by.get('msr')!), 'VMEXIT_MSR');
    assert.deepEqual(r.notes, []);
  });

  it('the 2012 layout: no Min/Max columns, "Analyze events for all VCPUs:", PENDING_INTERRUPT', () => {
    const r = parsePerfKvmStat(read('perf-intel-2012-constructed.txt'), 'x');
    assert.equal(r.rows.length, 7);
    assert.ok(r.rows.every((x) => x.minNs === undefined && x.maxNs === undefined && x.avgNs !== undefined));
    const pend = r.rows.find((x) => x.name === 'PENDING_INTERRUPT')!;
    assert.equal(pend.code, 7);
    assert.equal(modelExitName(pend), 'INTERRUPT_WINDOW');
    assert.match(r.notes.join('\n'), /no Min\/Max Time columns/);
  });

  it('CRLF line ends, tabs and extra spaces, "Min time" spelling give the same rows', () => {
    const text = read('perf-intel-sysbench-2020.txt');
    const base = parsePerfKvmStat(text, 'x');
    const messy = text
      .replace(/Min Time/, 'Min time')
      .replace(/Max Time/, 'Max time')
      .split('\n')
      .map((l) => (l.trim() === '' ? l : `\t  ${l.replace(/ {2,}/g, '   ')}   `))
      .join('\r\n');
    const r = parsePerfKvmStat(messy, 'x');
    assert.deepEqual(
      r.rows.map((x) => [x.name, x.samples, x.avgNs, x.minNs, x.maxNs, x.avgStddevPercent]),
      base.rows.map((x) => [x.name, x.samples, x.avgNs, x.minNs, x.maxNs, x.avgStddevPercent]),
    );
    assert.equal(r.totalSamples, base.totalSamples);
  });

  it('"( +-1000.00% )" (the 7-wide field full, glued to "+-") and a nan deviation', () => {
    const text = renderPerfKvmStat({ rows: [row('HLT', 3, 1_000_000, 1000)] });
    assert.match(text, /\( \+-1000\.00% \)/);
    assert.equal(parsePerfKvmStat(text, 'x').rows[0].avgStddevPercent, 1000);
    const nan = text.replace('+-1000.00%', '+-    nan%');
    const r = parsePerfKvmStat(nan, 'x');
    assert.equal(r.rows[0].avgStddevPercent, undefined);
    assert.match(r.notes.join('\n'), /deviation nan ignored/);
  });

  it('one VCPU: vcpus = 1 and a note; live mode\'s "Lost events" is noted', () => {
    const text =
      renderPerfKvmStat({ rows: [row('HLT', 5, 2000, 0)] }, { scope: 'pid(s) 4242, VCPU 3' }) + '\nLost events: 17\n\n';
    const r = parsePerfKvmStat(text, 'x');
    assert.equal(r.vcpus, 1);
    assert.match(r.notes.join('\n'), /VCPU 3 only/);
    assert.match(r.notes.join('\n'), /pid\(s\) 4242 only/);
    assert.match(r.notes.join('\n'), /lost 17 events/);
  });

  it('readReport reads a file and dispatches on the format', () => {
    const r = readReport(join(DIR, 'perf-intel-stdio-leoyan-2023.txt'), 'perf-kvm-stat');
    assert.equal(r.totalSamples, 866);
  });
});

// [fixture, exact message]. Positions are 1-based line:column of the offending token.
const MALFORMED: ReadonlyArray<readonly [string, string]> = [
  [
    'perf-msr-table.txt',
    `:3:1: expected the VM-EXIT table (perf kvm stat report --event=vmexit); only the vmexit table is supported, found the "MSR Access" table`,
  ],
  [
    'perf-ioport-table.txt',
    `:5:7: expected the VM-EXIT table (perf kvm stat report --event=vmexit); only the vmexit table is supported, found the "IO Port Access" table`,
  ],
  ['perf-bad-samples-percent.txt', ':9:36: expected Samples% = 5877/25898 = 22.69% (within rounding), found 22.96%'],
  [
    'perf-sum-mismatch.txt',
    ':18:15: expected Total Samples equal to the sum of the rows (25898), or rows whose Samples% add up to less than 100 % (a table cut when posted; these add up to 100.01 %), found 25899',
  ],
  [
    'perf-no-trailer.txt',
    ":17:1: expected the trailer 'Total Samples:N, Total events handled time:X.XXus.', found end of input",
  ],
  [
    'perf-mixed-vendor.txt',
    ':12:16: expected exit reasons of one vendor (line 8 has the intel reason "MSR_WRITE"), found the amd reason "cpuid"',
  ],
  ['perf-bad-time.txt', ':12:69: expected a Max Time like 1106.38us, found "12.8Xus"'],
  [
    'perf-hists-layout.txt',
    ":1:1: expected the print_result() layout ('VM-EXIT  Samples  Samples%  Time%  Min Time  Max Time  Avg time'; run perf kvm stat report --stdio), found the 'Event name  Samples  Sample%  Time (ns) ...' layout",
  ],
  [
    'perf-not-a-report.txt',
    `:1:1: expected the 'Analyze events for ...:' line or the 'VM-EXIT  Samples  Samples%  Time% ...' column header of perf kvm stat report, found "Performance counter stats for 'system wide':"`,
  ],
];

describe('parsePerfKvmStat: malformed reports', () => {
  for (const [file, message] of MALFORMED) {
    it(`${file} -> file:line:col, expected, found`, () => {
      const name = `malformed/${file}`;
      assert.throws(
        () => parsePerfKvmStat(read(name), name),
        (e: unknown) => e instanceof ReportFormatError && e.message === `${name}${message}` && e.file === name,
      );
    });
  }

  it('a second table without the time of day of a live refresh is rejected at its first line', () => {
    const one = read('perf-intel-sysbench-2020.txt');
    const lines = one.split('\n').length + one.split('\n').findIndex((l) => l.startsWith('Analyze'));
    assert.throws(
      () => parsePerfKvmStat(one + one, 'two.txt'),
      (e: unknown) =>
        e instanceof ReportFormatError && e.line === lines && /one report table per file/.test(e.expected),
    );
  });

  it('an empty file', () => {
    assert.throws(() => parsePerfKvmStat('', 'e.txt'), {
      message: `e.txt:1:1: expected the 'Analyze events for ...:' line or the 'VM-EXIT  Samples  Samples%  Time% ...' column header of perf kvm stat report, found an empty file`,
    });
  });
});

function row(name: string, samples: number, avgNs: number, sd: number, minNs?: number, maxNs?: number): ExitReportRow {
  return {
    name,
    vendor: 'intel',
    code: undefined,
    samples,
    avgNs,
    avgStddevPercent: sd,
    ...(minNs !== undefined ? { minNs } : {}),
    ...(maxNs !== undefined ? { maxNs } : {}),
    source: { line: 0, column: 0 },
  };
}

describe('renderPerfKvmStat', () => {
  it("reproduces perf's header line byte for byte (6.x --stdio sample, indentation removed)", () => {
    const original = read('perf-intel-stdio-leoyan-2023.txt')
      .split('\n')
      .map((l) => l.replace(/^ {2}/, ''));
    const rendered = renderPerfKvmStat(parsePerfKvmStat(read('perf-intel-stdio-leoyan-2023.txt'), 'x')).split('\n');
    const header = (ls: string[]): string => ls.find((l) => l.includes('Samples%'))!;
    assert.equal(header(rendered), header(original));
    // Every row prints the same name, count, Samples%, min, max, avg and deviation as perf did.
    const key = (l: string): string => l.replace(/^(\s*\S+\s+\d+\s+\S+%)\s+\S+%/, '$1 _');
    const rows = (ls: string[]): string[] => ls.filter((l) => l.includes('us ( +-')).map(key);
    assert.deepEqual(rows(rendered), rows(original));
  });

  it('C rounding of %.2f: exact binary ties go to even, everything else to nearest', () => {
    assert.equal(cFixed(0.125, 2), '0.12');
    assert.equal(cFixed(0.375, 2), '0.38');
    assert.equal(cFixed(1.005, 2), '1.00'); // 1.005 is 1.00499999999999989... in binary
    assert.equal(cFixed(2.675, 2), '2.67');
    assert.equal(cFixed(31.59, 2), '31.59');
  });

  const NAMES = Object.keys(VMX_EXIT_NAMES).filter((n) => n !== 'PENDING_INTERRUPT');
  const rowsArb = fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 12 }).chain((names) =>
    fc.tuple(
      fc.constant(names),
      fc.array(
        fc.record({
          samples: fc.integer({ min: 1, max: 2_000_000 }),
          avg10: fc.integer({ min: 0, max: 50_000_000 }),
          below10: fc.integer({ min: 0, max: 1_000_000 }),
          above10: fc.integer({ min: 0, max: 50_000_000 }),
          sd100: fc.integer({ min: 0, max: 99_999 }),
        }),
        { minLength: names.length, maxLength: names.length },
      ),
    ),
  );

  it('parse(render(x)) == x within printed precision (fast-check)', () => {
    fc.assert(
      fc.property(rowsArb, ([names, vals]) => {
        const rows = names.map((n, i) => {
          const v = vals[i];
          const avg = v.avg10 * 10;
          return row(n, v.samples, avg, v.sd100 / 100, Math.max(0, avg - v.below10 * 10), avg + v.above10 * 10);
        });
        const text = renderPerfKvmStat({ rows });
        const r = parsePerfKvmStat(text, 'rt');
        const total = rows.reduce((a, x) => a + x.samples, 0);
        assert.equal(r.totalSamples, total);
        assert.equal(r.vendor, 'intel');
        assert.equal(r.rows.length, rows.length);
        const back = new Map(r.rows.map((x) => [x.name, x]));
        for (const x of rows) {
          const y = back.get(x.name)!;
          assert.equal(y.samples, x.samples);
          assert.equal(y.avgNs, x.avgNs);
          assert.equal(y.minNs, x.minNs);
          assert.equal(y.maxNs, x.maxNs);
          assert.equal(y.avgStddevPercent, x.avgStddevPercent);
          assert.ok(Math.abs(y.samplesPercent! - (100 * x.samples) / total) <= 0.005 + 1e-9);
          assert.equal(y.code, VMX_EXIT_NAMES[x.name]);
        }
        // Sorted by samples, descending, as perf's default sort key.
        for (let i = 1; i < r.rows.length; i++) assert.ok(r.rows[i - 1].samples >= r.rows[i].samples);
        assert.deepEqual(r.notes, []);
      }),
      { seed: 20261125, numRuns: 200 },
    );
  });

  it('averages that are not multiples of the printed 10 ns come back within 5 ns; the exit mix is unchanged', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: 100_000_000 })), {
          minLength: 8,
          maxLength: 8,
        }),
        (names, vals) => {
          const rows = names.map((n, i) => row(n, vals[i][0], vals[i][1], 0));
          const r = parsePerfKvmStat(renderPerfKvmStat({ rows }), 'rt');
          const total = rows.reduce((a, x) => a + x.samples, 0);
          for (const x of rows) {
            const y = r.rows.find((z) => z.name === x.name)!;
            assert.ok(Math.abs(y.avgNs! - x.avgNs!) <= 5, `${x.avgNs} -> ${y.avgNs}`);
            assert.equal(y.samples / r.totalSamples!, x.samples / total);
          }
        },
      ),
      { seed: 7, numRuns: 150 },
    );
  });

  it('refuses rows perf would not print', () => {
    assert.throws(() => renderPerfKvmStat({ rows: [row('HLT', 0, 10, 0)] }), /positive count/);
    assert.throws(() => renderPerfKvmStat({ rows: [{ ...row('HLT', 1, 10, 0), avgNs: undefined }] }), /no avgNs/);
  });
});

describe('model totals -> perf report -> import (the issue #9 round trip, edge half)', () => {
  it("the exit mix read back equals the model's mix, per model exit kind", () => {
    const exits = {
      EXTERNAL_INTERRUPT: 51234,
      HLT: 20011,
      VIRTUALIZED_EOI: 15003,
      TPR_BELOW_THRESHOLD: 9021,
      MSR_WRITE: 3,
      APIC_ACCESS: 0,
    };
    const secs = {
      EXTERNAL_INTERRUPT: 0.0512,
      HLT: 7.31,
      VIRTUALIZED_EOI: 0.0127,
      TPR_BELOW_THRESHOLD: 0.0199,
      MSR_WRITE: 0.0000061,
    };
    const text = renderPerfKvmStat({ rows: perfRowsFromModelTotals(exits, secs) });
    assert.match(text, /EOI_INDUCED/, 'printed with the Linux name');
    const r = parsePerfKvmStat(text, 'sim.txt');
    const total = Object.values(exits).reduce((a, b) => a + b, 0);
    const back: Record<string, number> = {};
    for (const row of r.rows) back[modelExitName(row)!] = row.samples;
    for (const [k, v] of Object.entries(exits)) assert.equal((back[k] ?? 0) / r.totalSamples!, v / total, k);
    const hlt = r.rows.find((x) => x.name === 'HLT')!;
    assert.ok(Math.abs(hlt.avgNs! - 7.31e9 / 20011) <= 5);
  });

  it('AMD kinds print with SVM names; a vendor mix or an unknown name is refused', () => {
    const text = renderPerfKvmStat({ rows: perfRowsFromModelTotals({ VMEXIT_INTR: 5, VMEXIT_AVIC_NOACCEL: 2 }) });
    assert.deepEqual(
      parsePerfKvmStat(text, 'a').rows.map((x) => [x.name, modelExitName(x)]),
      [
        ['interrupt', 'VMEXIT_INTR'],
        ['avic_unaccelerated_access', 'VMEXIT_AVIC_NOACCEL'],
      ],
    );
    assert.throws(() => perfRowsFromModelTotals({ HLT: 1, VMEXIT_HLT: 1 }), /one vendor/);
    assert.throws(() => perfRowsFromModelTotals({ NOPE: 1 }), /not a model exit kind/);
  });
});

describe('a reason twice in one table (polish40)', () => {
  it('is refused at the second row, naming the first: the two were summed into the fit without a word', () => {
    const text = read('perf-intel-sysbench-2020.txt');
    const rows = text.split('\n').filter((l) => /^\s+[A-Z_]+\s+\d+\s+[\d.]+%/.test(l));
    const [first, second] = [rows[0], rows[1]];
    const name = first.trim().split(/\s+/)[0];
    // The second row renamed to the first's reason, its columns kept.
    const renamed = second.replace(
      /^(\s*)([A-Z_]+)/,
      (_m, sp: string, n: string) => `${' '.repeat(sp.length + n.length - name.length)}${name}`,
    );
    const lines = text.split('\n');
    const at = lines.indexOf(second);
    lines[at] = renamed;
    assert.throws(
      () => parsePerfKvmStat(lines.join('\n'), 'd.txt'),
      (e: unknown) =>
        e instanceof ReportFormatError &&
        e.line === at + 1 &&
        e.expected ===
          `each exit reason once (perf kvm stat prints one row per reason; line ${lines.indexOf(first) + 1} has "${name}")` &&
        e.found === `"${name}" again`,
    );
  });

  it('UNKNOWN rows, one per exit code perf could not decode, are each read', () => {
    const r = parsePerfKvmStat(read('perf-intel-pvm-unknown-2024.txt'), 'u.txt');
    assert.equal(r.rows.filter((row) => row.name === 'UNKNOWN').length, 5);
  });
});
