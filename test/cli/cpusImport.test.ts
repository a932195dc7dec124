/**
 * `vmexit-lab cpus import FILE` of a file it cannot import: the file is named first, as validate
 * and run name a scenario (`FILE:LINE:COL: error: ...`), with the reason in words and what was
 * expected; README's FreeBSD line run on Linux points at /proc/cpuinfo. docs/CLI.md, "Bad input:
 * what is checked", has the rows.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture, cli } from '../support/cli.js';
import { escapeRegExp } from '../support/regex.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-cpus-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("cpus import of a file that is not there: the reason in words, and README's FreeBSD line on Linux points at /proc/cpuinfo (it said 'ENOENT' alone)", async () => {
  const cases: [file: string, says: RegExp][] = [
    [
      '/nonexistent-dir/var/run/dmesg.boot',
      /^\/nonexistent-dir\/var\/run\/dmesg\.boot: error: cannot read the file: no such file \(ENOENT\); dmesg\.boot is FreeBSD's boot log: on Linux give \/proc\/cpuinfo$/,
    ],
    [
      '/nonexistent-dir/cpuinfo.txt',
      /^\/nonexistent-dir\/cpuinfo\.txt: error: cannot read the file: no such file \(ENOENT\)$/,
    ],
    ['/', /^\/: error: cannot read the file: a directory \(EISDIR\); give a file$/],
  ];
  for (const [file, says] of cases) {
    const io = capture();
    assert.equal(await main(['cpus', 'import', file], io), 2, file);
    assert.equal(io.stdout.join(''), '', file);
    assert.match(io.stderr.join(''), says, file);
  }
});

test("cpus import: a file it cannot import is named as validate and run name a bad scenario, 'FILE:LINE:COL: error: ... (expected ..., found ...)', not after 'vmexit-lab cpus:'", async () => {
  const fixtures = join(REPO_ROOT, 'test', 'fixtures', 'profiles');
  const cpuinfo = readFileSync(join(fixtures, 'cpuinfo-core-i7-6600u.txt'), 'utf8');
  assert.match(cpuinfo, / vmx /);
  // A guest without nested virtualization: README says cpus import names the missing flag.
  const noVmx = join(dir, 'cpuinfo-in-a-vm.txt');
  writeFileSync(noVmx, cpuinfo.replace(/ vmx /g, ' '));
  const dmesg = readFileSync(join(fixtures, 'freebsd-xeon-e5-2667v4.dmesg'), 'utf8');
  const badHex = join(dir, 'bad-hex.dmesg');
  writeFileSync(badHex, dmesg.replace(/VT-x: Basic Features=0x[0-9a-f]+/, 'VT-x: Basic Features=zz'));
  const neither = join(dir, 'notes.txt');
  writeFileSync(neither, 'hello\n');
  const profiles = join(dir, 'cpus');
  mkdirSync(profiles);
  writeFileSync(join(profiles, 'x.yaml'), 'id: x\nmodel: [\n');
  const rows: [args: string[], says: RegExp][] = [
    [
      ['cpus', 'import', noVmx],
      new RegExp(
        `^${escapeRegExp(noVmx)}:\\d+:1: error: cannot import this CPU \\(expected the "vmx" flag \\(VT-x\\) in the flags line, found no "vmx"\\)$`,
      ),
    ],
    [
      ['cpus', 'import', badHex],
      new RegExp(
        `^${escapeRegExp(badHex)}:\\d+:\\d+: error: cannot import this CPU \\(expected Basic Features=0x<1-8 hex digits>, found "Basic Features=zz`,
      ),
    ],
    [
      ['cpus', 'import', neither],
      new RegExp(
        `^${escapeRegExp(neither)}:1:1: error: not a CPU description cpus import reads \\(expected a FreeBSD verbose-boot dmesg with a "VT-x:" block, or a Linux /proc/cpuinfo\\)$`,
      ),
    ],
    [
      ['cpus', 'import', join(dir, 'dmesg.boot')],
      new RegExp(
        `^${escapeRegExp(join(dir, 'dmesg.boot'))}: error: cannot read the file: no such file \\(ENOENT\\); dmesg\\.boot is FreeBSD's boot log: on Linux give /proc/cpuinfo$`,
      ),
    ],
    [
      ['cpus', '--dir', profiles],
      new RegExp(`^${escapeRegExp(join(profiles, 'x.yaml'))}:3:1: error: document: expected valid YAML, found `),
    ],
  ];
  for (const [args, says] of rows) {
    const r = await cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '', args.join(' '));
    assert.match(r.stderr.trimEnd(), says, args.join(' '));
  }
});
