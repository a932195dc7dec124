/**
 * Several refreshes of `perf kvm stat live` in one file: summed, since live resets its counts after
 * every refresh (perf_kvm__handle_timerfd(), tools/perf/builtin-kvm.c), and import's --duration
 * error names the number of display intervals.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { parsePerfKvmStat } from '../../src/import/perfKvmStat.js';
import { ReportFormatError } from '../../src/import/report.js';
import { capture } from '../support/cli.js';

const DIR = join(REPO_ROOT, 'test/fixtures/reports');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');
const TWO = 'perf-intel-live-2refreshes-constructed.txt';

describe('perf kvm stat live: several refreshes in one file', () => {
  it('two refreshes are summed per reason: counts and times add, Min the least, Max the most', () => {
    const r = parsePerfKvmStat(read(TWO), TWO);
    assert.equal(r.refreshes, 2);
    assert.equal(r.live, true);
    assert.equal(r.vendor, 'intel');
    assert.equal(r.totalSamples, 70746 + 1981);
    assert.equal(r.totalTimeNs, 1789115740 + 1828459050);
    const by = new Map(r.rows.map((x) => [x.name, x]));
    assert.equal(r.rows.length, 10);
    assert.equal(r.rows[0].name, 'IO_INSTRUCTION');
    assert.equal(by.get('IO_INSTRUCTION')!.samples, 55654 + 50);
    assert.equal(by.get('IO_INSTRUCTION')!.code, 30);
    const msrRead = by.get('MSR_READ')!;
    assert.equal(msrRead.samples, 7114 + 1501);
    assert.equal(msrRead.minNs, 1460);
    assert.equal(msrRead.maxNs, 23380);
    assert.equal(by.get('HLT')!.avgNs, Math.round((2933 * 341970 + 174 * 10431500) / (2933 + 174)));
    assert.equal(by.get('EPT_VIOLATION')!.samples, 27);
    assert.equal(
      r.rows.reduce((a, x) => a + x.samples, 0),
      r.totalSamples,
    );
    // Rows point at the first refresh that has them; the note names both times of day.
    assert.equal(by.get('IO_INSTRUCTION')!.source.line, 7);
    assert.match(
      r.notes[0],
      /^2 refreshes of 'perf kvm stat live' \(time of day 15:52:35\.709821 at line 1 to 19:24:22\.553073 at line 20\), summed/,
    );
    assert.ok(!r.notes.some((n) => /it counts one display interval/.test(n)), r.notes.join('\n'));
  });

  it('three refreshes redirected with 2>&1 (screen clears among them) are three intervals', () => {
    const one = read('perf-intel-live-leoyan-2023.txt').split('\n').slice(1).join('\n');
    const clear = '\x1b[H\x1b[2J\n';
    const r = parsePerfKvmStat(`${clear}${one}${clear}${one}${clear}${one}`, 'three.txt');
    assert.equal(r.refreshes, 3);
    assert.equal(r.totalSamples, 3 * 181);
    assert.deepEqual(
      r.rows.map((x) => [x.name, x.samples]),
      [
        ['MSR_WRITE', 363],
        ['HLT', 102],
        ['EXTERNAL_INTERRUPT', 60],
        ['PREEMPTION_TIMER', 15],
        ['INTERRUPT_WINDOW', 3],
      ],
    );
  });

  it('a time of day with no table after it (the file cut) is an error at its end', () => {
    const text = `${read(TWO)}\n19:24:23.553073\n`;
    assert.throws(
      () => parsePerfKvmStat(text, 'cut.txt'),
      (e: unknown) =>
        e instanceof ReportFormatError &&
        e.line === text.split('\n').length &&
        /the refresh whose time of day is line 39/.test(e.expected),
    );
  });

  it("import's --duration error counts the refreshes", async () => {
    const io = capture();
    assert.equal(await main(['import', 'perf-kvm-stat', join(DIR, TWO), '--cpu', 'i7-6700K'], io), 2);
    assert.match(
      io.stderr.join('\n'),
      /It holds 2 refreshes of 'perf kvm stat live', summed; each counts one display interval \(-d, default 1 s\): give 2 intervals, e\.g\. --duration 2s$/,
    );
  });
});
