/**
 * An option that names a directory given a file, an empty directory or one that is not there
 * (`cpus --dir`, `validate --cpus`, `validate-model --dir`, `serve --data-dir`), and `start
 * --scenario` given a directory: exit 2 with what the option expects, never node's ENOTDIR or a
 * stack trace (docs/CLI.md, "Bad input: what is checked").
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, CR8_SCENARIO as SCENARIO } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-directory-options-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const aFile = join(dir, 'profile.yaml');
writeFileSync(aFile, 'id: x\n');
const emptyDir = join(dir, 'empty');
mkdirSync(emptyDir);

test('cpus --dir, validate --cpus, validate-model --dir: a file or an empty directory is exit 2 with what was expected', async () => {
  const rows: [args: string[], says: RegExp][] = [
    // Was `vmexit-lab: internal error: Error: ENOTDIR: not a directory, scandir` with a stack trace, exit 3.
    [['cpus', '--dir', aFile], /--dir .*profile\.yaml: a file, not a directory \(expected a directory of CPU profiles/],
    // Was the table's header alone, exit 0.
    [['cpus', '--dir', emptyDir], /--dir .*empty: holds no \*\.yaml file \(expected a directory of CPU profiles/],
    [['cpus', 'show', 'i7-6700K', '--dir', emptyDir], /--dir .*empty: holds no \*\.yaml file/],
    // Was `cannot load the CPU profiles: ENOTDIR: not a directory, scandir 'FILE'`.
    [['validate', '--cpus', aFile, SCENARIO], /--cpus .*profile\.yaml: a file, not a directory \(expected a directory/],
    [['validate', '--cpus', emptyDir, SCENARIO], /--cpus .*empty: holds no \*\.yaml file/],
    // Was `cannot read FILE: ENOTDIR: ...` and, for an empty directory, `no case matches  (known: )`.
    [
      ['validate-model', '--dir', aFile],
      /--dir .*profile\.yaml: a file, not a directory \(expected a directory of validation cases/,
    ],
    [
      ['validate-model', '--dir', emptyDir],
      /--dir .*empty: holds no \*\.yaml file \(expected a directory of validation cases/,
    ],
    [
      ['cpus', '--dir', join(dir, 'nowhere')],
      /--dir .*nowhere: no such directory \(expected a directory of CPU profiles/,
    ],
  ];
  for (const [args, says] of rows) {
    const r = await cli(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, says, args.join(' '));
    assert.doesNotMatch(r.stderr, /ENOTDIR|scandir|known: \)/, args.join(' '));
  }
});

test('serve --data-dir FILE and start --scenario DIR: exit 2, what the option expects', async () => {
  // Was `cannot start the service: ENOTDIR: not a directory, open 'FILE/service.lock'`.
  const serve = await cli(['serve', '--port', '0', '--data-dir', aFile]);
  assert.equal(serve.status, 2, serve.stderr);
  assert.match(
    serve.stderr,
    /vmexit-lab serve: --data-dir .*profile\.yaml: a file, not a directory \(expected the directory that keeps the run history; it is made when missing\)/,
  );
  assert.doesNotMatch(serve.stderr, /ENOTDIR/);
  // Was `DIR: error: is a directory, not a scenario file`, nothing expected (run says it).
  const start = await cli(['start', '--port', '0', '--scenario', emptyDir]);
  assert.equal(start.status, 2, start.stderr);
  assert.match(
    start.stderr,
    /empty: error: is a directory, not a scenario file \(expected one scenario file, e\.g\. one of .*empty\/\*\.yaml\)/,
  );
});
