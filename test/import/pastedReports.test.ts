/**
 * Reports as a hypervisor developer hands them over: copied from a terminal with the shell session
 * around them (prompts, the command typed, the `^C` that stops `kvm_stat -l`), several runs pasted
 * into one file, numbers re-typed with thousands separators, and the wrong file altogether (perf's
 * binary perf.data, any binary). The parsers read the tool's output and set the terminal's lines
 * aside with a note; everything else stops at FILE:LINE:COL with what was expected
 * (src/import/report.ts reportText, docs/IMPORT.md).
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';
import { isTerminalLine, parseReport, ReportFormatError, type ReportFormat } from '../../src/import/index.js';

const DIR = join(REPO_ROOT, 'test/fixtures/reports');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');
const rowsOf = (text: string, format: ReportFormat): unknown =>
  parseReport(text, 'r.txt', format).rows.map((r) => [r.name, r.samples, r.perSecond]);

/** The error parseReport throws for `text`, or a failure. */
function errorOf(text: string, format: ReportFormat): ReportFormatError {
  try {
    parseReport(text, 'r.txt', format);
  } catch (e) {
    if (e instanceof ReportFormatError) return e;
    throw e;
  }
  assert.fail('expected a ReportFormatError');
}

describe('a report copied from a terminal reads as the output alone', () => {
  it('isTerminalLine: prompts with and without a command, ^C; no line a tool prints', () => {
    for (const l of ['$', '$ ', '# kvm_stat -1', 'root@host:~# bhyvectl --get-stats', '[root@h ~]# ls', '^C', '^C$ '])
      assert.ok(isTerminalLine(l), l);
    const printed = [
      ...read('perf-intel-sysbench-2020.txt').split('\n').slice(1),
      ...read('kvm_stat-once-intel-constructed.txt').split('\n').slice(1),
      ...read('kvm_stat-log-intel-constructed.txt').split('\n'),
      ...read('kvm_stat-screen-4x-intel-constructed.txt').split('\n'),
      ...read('bhyvectl-intel-2vcpu-constructed.txt').split('\n'),
    ];
    for (const l of printed) assert.ok(!isTerminalLine(l), l);
  });

  it('perf kvm stat report followed by the next prompt', () => {
    const text = read('perf-intel-sysbench-2020.txt');
    const report = parseReport(`${text}$ \n`, 'r.txt', 'perf-kvm-stat');
    assert.deepEqual(rowsOf(`${text}$ \n`, 'perf-kvm-stat'), rowsOf(text, 'perf-kvm-stat'));
    assert.ok(
      report.notes.includes('1 line(s) after the output (shell prompt, ^C) were ignored'),
      report.notes.join('\n'),
    );
  });

  it('two perf reports pasted with the second command between them: refused at the second table', () => {
    const text = read('perf-intel-sysbench-2020.txt');
    const lines = text.split('\n');
    const second = lines.findIndex((l) => l.startsWith('Analyze'));
    const pasted = `${text}$ sudo perf kvm stat report --event=ioport\n${lines.slice(1).join('\n')}`;
    const e = errorOf(pasted, 'perf-kvm-stat');
    assert.equal(e.line, lines.length + second, e.message);
    assert.match(e.message, /expected one report table per file .*keep the VM-EXIT table\), found a second table$/);
  });

  it('kvm_stat -1 with the next prompt, kvm_stat -l stopped with ^C', () => {
    const once = read('kvm_stat-once-intel-constructed.txt');
    assert.deepEqual(rowsOf(`${once}# \n`, 'kvm-stat'), rowsOf(once, 'kvm-stat'));
    const log = read('kvm_stat-log-intel-constructed.txt');
    const stopped = parseReport(`${log}^C\n`, 'r.txt', 'kvm-stat');
    assert.deepEqual(rowsOf(`${log}^C\n`, 'kvm-stat'), rowsOf(log, 'kvm-stat'));
    assert.equal(stopped.durationSeconds, 4);
    assert.ok(stopped.notes.includes('1 line(s) after the output (shell prompt, ^C) were ignored'));
  });

  it('bhyvectl runs, one per vCPU, copied with their prompts and commands', () => {
    const text = read('bhyvectl-intel-2vcpu-constructed.txt');
    const [vcpu0, vcpu1] = text.split(/(?=^vcpu1 stats:)/m);
    const pasted =
      `root@bsd:~ # bhyvectl --vm=win --get-stats --vcpu=0\n${vcpu0}` +
      `root@bsd:~ # bhyvectl --vm=win --get-stats --vcpu=1\n${vcpu1}root@bsd:~ # \n`;
    const report = parseReport(pasted, 'r.txt', 'bhyvectl');
    assert.deepEqual(rowsOf(pasted, 'bhyvectl'), rowsOf(text, 'bhyvectl'));
    assert.equal(report.vcpus, 2);
    assert.ok(report.notes.includes('3 shell prompt or command line(s) around the output were ignored'));
  });

  it('a file of shell prompts only says so', () => {
    for (const format of ['perf-kvm-stat', 'kvm-stat', 'bhyvectl'] as const)
      assert.match(errorOf('$ perf kvm stat report\n$\n', format).message, /^r\.txt:1:1: .*found shell prompts only/);
  });
});

describe('numbers and files that are not what the tools print', () => {
  it('perf counts with thousands separators: the token, with why', () => {
    const text = read('perf-intel-sysbench-2020.txt').replace('  9167 ', '9,167 ');
    const e = errorOf(text, 'perf-kvm-stat');
    const line = text.split('\n')[e.line - 1];
    assert.equal(line.slice(e.column - 1, e.column - 1 + 5), '9,167', e.message);
    assert.match(e.message, /no thousands separators.*found "9,167"$/);
    const total = read('perf-intel-sysbench-2020.txt').replace('Total Samples:25898', 'Total Samples:25,898');
    assert.match(errorOf(total, 'perf-kvm-stat').message, /no thousands separators.*found "25,898"$/);
  });

  it("perf's binary recording (perf.data) and other binary files are refused at their first NUL byte", () => {
    const perfData = `PERFILE2h\0\0\0\0\0\0\0${'x'.repeat(40)}`;
    for (const format of ['perf-kvm-stat', 'kvm-stat', 'bhyvectl'] as const) {
      const e = errorOf(perfData, format);
      assert.equal(`${e.line}:${e.column}`, '1:10');
      assert.match(e.found, /perf's binary recording \(perf\.data\): give the text 'perf kvm stat report' prints/);
      const elf = errorOf('\x7fELF\x02\x01\x01\0\0\0', format);
      assert.equal(elf.found, 'binary data (a NUL byte)');
      assert.match(elf.expected, /the report as the tool prints it \(text/);
    }
  });
});
