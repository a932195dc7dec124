/**
 * docs/CLI.md lists exactly the commands `vmexit-lab --help` lists, and every command's --help
 * works (exit 0, a usage line naming the command).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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

/**
 * Repository paths a text reads (scenarios/..., data/..., docs/...), without trailing punctuation;
 * not the ones an example writes (after `>`, `-o`, `--out`).
 */
function repoPaths(text: string): string[] {
  return [...text.matchAll(/(?<![\w./-])((?:scenarios|data|docs|deploy|grafana)\/[\w.*/-]*[\w*])/g)]
    .filter((m) => !/(?:>|-o|--out)\s*$/.test(text.slice(0, m.index)))
    .map((m) => m[1]);
}

/** Files matching DIR/PATTERN, a '*' in the last part only (node 20 has no fs.globSync). */
function globMatches(p: string): number {
  const dir = join(REPO_ROOT, dirname(p));
  const re = new RegExp(
    `^${basename(p)
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')}$`,
  );
  return existsSync(dir) ? readdirSync(dir).filter((f) => re.test(f)).length : 0;
}

test('every repository file a --help names exists (a glob matches at least one file)', async () => {
  const io = capture();
  await main(['--help'], io);
  const usage = io.stdout.join('');
  const section = usage.slice(usage.indexOf('Commands:'), usage.indexOf("Run 'vmexit-lab COMMAND"));
  const commands = [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]);
  const missing: string[] = [];
  let named = 0;
  for (const c of ['', ...commands]) {
    const h = capture();
    await main(c === '' ? ['--help'] : [c, '--help'], h);
    for (const p of repoPaths(h.stdout.join(''))) {
      named++;
      const found = p.includes('*') ? globMatches(p) > 0 : existsSync(join(REPO_ROOT, p));
      if (!found) missing.push(`${c || 'vmexit-lab'} --help: ${p}`);
    }
  }
  assert.ok(named >= 10, `only ${named} paths named`);
  assert.deepEqual(missing, []);
});
