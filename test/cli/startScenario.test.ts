/**
 * `start --scenario FILE` checks the scenario before the service starts. A scenario with a typo
 * printed the URLs of a service ("listening on http://127.0.0.1:...") and then its errors, and the
 * service was gone again: the URLs led nowhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-start-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('start --scenario with a mistake: exit 2 with file:line:col, no service started, no URL printed', async () => {
  const file = join(dir, 'typo.yaml');
  const text = readFileSync(join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-cr8-exits.yaml'), 'utf8');
  assert.match(text, /\n {4}vcpus: /);
  writeFileSync(file, text.replace(/\n {4}vcpus: /, '\n    vcpu: '));
  const dataDir = join(dir, 'data');
  const io = capture();
  const status = await main(['start', '--port', '0', '--workers', '1', '--data-dir', dataDir, '--scenario', file], io);
  assert.equal(status, 2);
  assert.equal(io.stdout.join(''), '', 'no "listening on" line, no URLs');
  assert.match(
    io.stderr.join(''),
    new RegExp(
      `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:5: error: unknown key "vcpu" \\(did you mean "vcpus"\\?\\)`,
      'm',
    ),
  );
  assert.equal(existsSync(dataDir), false, 'no history was opened');

  const missing = capture();
  assert.equal(
    await main(['start', '--port', '0', '--data-dir', dataDir, '--scenario', join(dir, 'none.yaml')], missing),
    2,
  );
  assert.equal(missing.stdout.join(''), '');
  assert.match(missing.stderr.join(''), /none\.yaml: error: cannot read the file: ENOENT/);
});
