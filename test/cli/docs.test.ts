/**
 * docs/CLI.md lists exactly the commands `vmexit-lab --help` lists, and every command's --help
 * works (exit 0, a usage line naming the command).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

test('docs/CLI.md and --help list the same commands, and each command has a working --help', async () => {
  const io = capture();
  assert.equal(await main(['--help'], io), 0);
  const usage = io.stdout.join('');
  const section = usage.slice(usage.indexOf('Commands:'), usage.indexOf("Run 'vmexit-lab COMMAND"));
  const commands = [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]);
  assert.ok(commands.length >= 13, commands.join(' '));
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'CLI.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `([a-z][a-z-]*)[ `]/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), [...commands].sort());
  for (const c of commands) {
    const h = capture();
    assert.equal(await main([c, '--help'], h), 0, `${c} --help`);
    assert.match(h.stdout.join(''), new RegExp(`^Usage: vmexit-lab ${c}\\b`), c);
  }
});
