/**
 * bcc's kvmexit output (iovisor/bcc tools/kvmexit.py), read as `vmexit-lab import kvmexit`: the three
 * row shapes of its example file, the span its banner states, the vCPU threads it lists, the first
 * version's EXIT_REASON_ names, the ^C glued to a row, and the names its table prints one place off
 * (src/import/bccKvmexit.ts). Fixtures: test/fixtures/reports/README.md ("bcc kvmexit").
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { parseReport, ReportFormatError } from '../../src/import/index.js';
import { capture } from '../support/cli.js';

const DIR = join(REPO_ROOT, 'test/fixtures/reports');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');
const parse = (text: string) => parseReport(text, 'r.txt', 'kvmexit');

function errorOf(text: string): ReportFormatError {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof ReportFormatError) return e;
    throw e;
  }
  assert.fail('expected a ReportFormatError');
}

describe('kvmexit: the layouts of its example file', () => {
  it('-p PID -a SECONDS: one VM per thread, summed per reason; 2 threads = 2 vCPUs over 5 s', () => {
    const r = parse(read('kvmexit-pid-threads-bcc-2021.txt'));
    assert.equal(r.vendor, 'intel');
    assert.equal(r.durationSeconds, 5);
    assert.equal(r.vcpus, 2);
    assert.deepEqual(
      r.rows.map((x) => [x.name, x.code, x.samples]),
      [
        ['MSR_WRITE', 32, 7196 + 5199],
        ['HLT', 12, 2802 + 2054],
        ['PREEMPTION_TIMER', 52, 194 + 102],
        ['EPT_MISCONFIG', 49, 162 + 77],
        ['EXTERNAL_INTERRUPT', 1, 64 + 78],
        ['EPT_VIOLATION', 48, 6 + 2],
        ['IO_INSTRUCTION', 30, 4],
        ['PAUSE_INSTRUCTION', 40, 2],
        ['EOI_INDUCED', 45, 2],
      ],
    );
    assert.equal(r.totalSamples, 17944);
    assert.deepEqual(r.rows[0].source, { line: 8, column: 10 }); // the first MSR_WRITE row
  });

  it('all threads until Ctrl-C: EXIT_REASON_ names, the ^C before the first row, two VMs named, no span', () => {
    const r = parse(read('kvmexit-all-threads-ctrlc-bcc-2021.txt'));
    assert.equal(r.durationSeconds, undefined);
    assert.deepEqual(
      r.rows.map((x) => [x.name, x.code, x.samples]),
      [
        ['HLT', 12, 24],
        ['MSR_WRITE', 32, 10],
        ['EXTERNAL_INTERRUPT', 1, 1],
      ],
    );
    for (const re of [/ran until Ctrl-C/, /'\^C' that stopped kvmexit/, /EXIT_REASON_<name>/, /PIDs 1273551, 1274253/])
      assert.ok(
        r.notes.some((n) => re.test(n)),
        `${re}\n${r.notes.join('\n')}`,
      );
  });

  it('-p PID -v N SECONDS: one vCPU, 4 s', () => {
    const r = parse(read('kvmexit-vcpu-bcc-2021.txt'));
    assert.equal(r.vcpus, 1);
    assert.equal(r.durationSeconds, 4);
    assert.equal(r.rows.length, 8);
    assert.equal(r.totalSamples, 6734);
  });

  it('pasted with CRLF, quoted in a mail: the same rows', () => {
    const text = read('kvmexit-pid-threads-bcc-2021.txt');
    const rows = (t: string): unknown => parse(t).rows.map((x) => [x.name, x.samples]);
    assert.deepEqual(rows(text.replace(/\n/g, '\r\n')), rows(text));
    assert.deepEqual(rows(text.replace(/^(?!#)/gm, '> ').replace(/> $/, '')), rows(text));
  });
});

describe("kvmexit: its table's names, coded as it counted them", () => {
  const head =
    'Display kvm exit reasons and statistics for PID 7 after sleeping 10 secs.\nKVM_EXIT_REASON                     COUNT\n';
  it('TPAUSEN/A is 68, BUS_LOCK 73 and NOTIFY 74 (one place early after 68), N/A rows merged without a code', () => {
    const r = parse(
      `${head}TPAUSEN/A                           9\nBUS_LOCK                            5\nNOTIFY                              4\nN/A                                 3\nN/A                                 2\n`,
    );
    assert.deepEqual(
      r.rows.map((x) => [x.name, x.code, x.samples]),
      [
        ['TPAUSEN/A', 68, 9],
        ['BUS_LOCK', 73, 5],
        ['N/A', undefined, 5],
        ['NOTIFY', 74, 4],
      ],
    );
    assert.ok(r.notes.some((n) => /NOTIFY for 74/.test(n)));
    assert.equal(r.vcpus, undefined);
    assert.ok(r.notes.some((n) => /PID 7 \(one VM, its threads collapsed/.test(n)));
  });

  it('what is not kvmexit output stops at FILE:LINE:COL with what was expected', () => {
    let e = errorOf(`${head}cpuid                               5\n`);
    assert.equal(`${e.line}:${e.column}`, '3:1');
    assert.match(e.message, /expected an exit reason of kvmexit's table .*found "cpuid"$/);
    e = errorOf(`${head}HLT                                 1,200\n`);
    assert.equal(`${e.line}:${e.column}`, '3:37');
    assert.match(e.message, /expected an exit count \(integer, as kvmexit prints it\), found "1,200"$/);
    e = errorOf(read('perf-intel-sysbench-2020.txt'));
    assert.match(e.message, /expected kvmexit's output: 'Display kvm exit reasons/);
    e = errorOf(`${head.split('\n')[0]}\nTraceback (most recent call last):\n`);
    assert.equal(`${e.line}:${e.column}`, '2:1');
    assert.match(e.message, /column header/);
  });
});

describe('vmexit-lab import kvmexit', () => {
  it("takes the banner's span and the threads as vCPUs: MSR_WRITE 12,395 in 5 s on 2 vCPUs is 1,239.5 per vCPU-second", async () => {
    const io = capture();
    await main(
      [
        'import',
        'kvmexit',
        join(DIR, 'kvmexit-pid-threads-bcc-2021.txt'),
        '--cpu',
        'xeon-e5-2667v4',
        '--sim-seconds',
        '2',
      ],
      io,
    );
    const row = io.stderr
      .join('\n')
      .split('\n')
      .find((l) => l.startsWith('MSR_WRITE '));
    assert.ok(row, io.stderr.join('\n'));
    assert.equal(row.split(/\s{2,}/)[2], '1,239.5');
    assert.match(
      io.stdout.join(''),
      /imported from kvmexit report kvmexit-pid-threads-bcc-2021\.txt \(xeon-e5-2667v4, kvm, 5 s, 2 vCPUs\)/,
    );
  });

  it('stopped with Ctrl-C, it needs --duration', async () => {
    const io = capture();
    const code = await main(
      ['import', 'kvmexit', join(DIR, 'kvmexit-all-threads-ctrlc-bcc-2021.txt'), '--cpu', 'xeon-e5-2667v4'],
      io,
    );
    assert.equal(code, 2);
    assert.match(io.stderr.join('\n'), /--duration is required/);
  });
});

describe('kvmexit: a reason twice for one thread (polish40)', () => {
  it('is refused at the second row (the two were summed: HLT read as twice its count); one reason in several threads is read', () => {
    const text = read('kvmexit-vcpu-bcc-2021.txt');
    const lines = text.split('\n');
    const hlt = lines.findIndex((l) => /^HLT\s+\d+$/.test(l));
    lines.splice(hlt + 1, 0, lines[hlt]);
    assert.throws(
      () => parse(lines.join('\n')),
      (e: unknown) =>
        e instanceof ReportFormatError &&
        e.line === hlt + 2 &&
        e.column === 1 &&
        e.expected === `each exit reason once (kvmexit prints one row per reason; line ${hlt + 1} has "HLT")` &&
        e.found === '"HLT" again',
    );
    const threads = parse(read('kvmexit-pid-threads-bcc-2021.txt'));
    assert.ok(threads.rows.length > 0);
  });
});
