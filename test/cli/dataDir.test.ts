/**
 * The history store creates its data directory one level at a time. Node 20's recursive mkdirSync,
 * which the store used, never returns for a directory under /proc (mkdir answers
 * ENOENT and it tries again): `serve --data-dir /proc/x` spun a core for ever with nothing printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { makeDataDir } from '../../src/history/dataDir.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { escapeRegExp } from '../support/regex.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-data-dir-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('makeDataDir creates missing parents, keeps what is there, and names the directory it cannot create', () => {
  const nested = join(dir, 'a', 'b', 'c');
  makeDataDir(nested);
  assert.ok(statSync(nested).isDirectory());
  makeDataDir(nested);
  const file = join(dir, 'file');
  writeFileSync(file, '');
  assert.throws(() => makeDataDir(join(file, 'x')), {
    message: new RegExp(`^cannot create the data directory ${escapeRegExp(join(file, 'x'))}: ENOTDIR`),
  });
});

test(
  'serve --data-dir under /proc: exit 2 at once, naming the directory (it spun for ever)',
  { skip: !existsSync('/proc/self') && 'no /proc here' },
  () => {
    // A process of its own: the old code spun inside a synchronous mkdirSync, which no test timeout stops.
    const r = spawnSync(
      process.execPath,
      [
        join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'),
        'serve',
        '--port',
        '0',
        '--workers',
        '1',
        '--data-dir',
        '/proc/vmexit-lab-test',
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(r.signal, null, 'it ended by itself');
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /^vmexit-lab serve: cannot start the service: cannot create the data directory \/proc\/vmexit-lab-test: ENOENT/,
    );
  },
);
