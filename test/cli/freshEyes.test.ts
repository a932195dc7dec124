import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

/** The fresh-eyes pass of 2026-12-05 (docs/CLI.md, "Bad input"): each test failed before its fix. */

test("cpus import of a file that is not there: the reason in words, and README's FreeBSD line on Linux points at /proc/cpuinfo (it said 'ENOENT' alone)", async () => {
  const cases: [file: string, says: RegExp][] = [
    [
      '/nonexistent-dir/var/run/dmesg.boot',
      /^vmexit-lab cpus import: cannot read \/nonexistent-dir\/var\/run\/dmesg\.boot: no such file \(ENOENT\); dmesg\.boot is FreeBSD's boot log: on Linux give \/proc\/cpuinfo\n$/,
    ],
    [
      '/nonexistent-dir/cpuinfo.txt',
      /^vmexit-lab cpus import: cannot read \/nonexistent-dir\/cpuinfo\.txt: no such file \(ENOENT\)\n$/,
    ],
    ['/', /^vmexit-lab cpus import: cannot read \/: a directory \(EISDIR\); give a file\n$/],
  ];
  for (const [file, says] of cases) {
    const io = capture();
    assert.equal(await main(['cpus', 'import', file], io), 2, file);
    assert.equal(io.stdout.join(''), '', file);
    assert.match(io.stderr.join(''), says, file);
  }
});
