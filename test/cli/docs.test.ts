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
import { repoPathExists } from '../support/paths.js';
import { DECLARED_OPTIONS } from '../../src/cli/io.js';

test('docs/CLI.md and --help list the same commands, and each command has a working --help', async () => {
  const io = capture();
  assert.equal(await main(['--help'], io), 0);
  const usage = io.stdout.join('');
  const section = usage.slice(usage.indexOf('Commands:'), usage.indexOf("Run 'vmexit-lab COMMAND"));
  const commands = [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]);
  assert.ok(commands.length >= 13, commands.join(' '));
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'CLI.md'), 'utf8');
  const table = doc.slice(0, doc.indexOf('\n## '));
  const documented = [...table.matchAll(/^\| `([a-z][a-z-]*)[ `]/gm)].map((m) => m[1]);
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
      const found = repoPathExists(p);
      if (!found) missing.push(`${c || 'vmexit-lab'} --help: ${p}`);
    }
  }
  assert.ok(named >= 10, `only ${named} paths named`);
  assert.deepEqual(missing, []);
});

test('each command: --help has a purpose, every option it accepts on an option line and no other, its exit statuses and an example; docs/CLI.md lists the same options', async () => {
  const io = capture();
  await main(['--help'], io);
  const usage = io.stdout.join('');
  const section = usage.slice(usage.indexOf('Commands:'), usage.indexOf("Run 'vmexit-lab COMMAND"));
  const commands = [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]);
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'CLI.md'), 'utf8');
  const options = doc.slice(doc.indexOf('## Options'), doc.indexOf('## Exit statuses'));
  const rows = new Map(
    [...options.matchAll(/^\| `([a-z][a-z-]*)` \| (.*) \|$/gm)].map((m) => [
      m[1],
      [...m[2].matchAll(/`(--[a-z][a-z0-9-]*)`/g)].map((o) => o[1]).sort(),
    ]),
  );
  assert.deepEqual([...rows.keys()].sort(), [...commands].sort(), 'one row per command in docs/CLI.md ## Options');
  for (const c of commands) {
    const h = capture();
    DECLARED_OPTIONS.delete(c);
    assert.equal(await main([c, '--help'], h), 0, c);
    const help = h.stdout.join('');
    const accepted = DECLARED_OPTIONS.get(c);
    assert.ok(accepted !== undefined, `${c} reads its arguments with commandArgs`);
    // The purpose: the first paragraph after the usage lines, a sentence.
    const purpose = help.split('\n\n')[1] ?? '';
    assert.match(purpose, /^[A-Z][^\n]{20,}/, `${c}: a purpose after the usage line`);
    const onOptionLines = [...help.matchAll(/^ {2,}(?:-[a-zA-Z0-9], )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]);
    assert.deepEqual([...new Set(onOptionLines)].sort(), [...accepted].sort(), `${c}: options in --help vs accepted`);
    assert.match(help, /^Exit status/m, `${c}: exit statuses`);
    assert.match(help, /^Examples?:\n {2}\S/m, `${c}: an example`);
    assert.deepEqual(
      rows.get(c),
      accepted.filter((o) => o !== '--help').sort(),
      `${c}: docs/CLI.md ## Options vs accepted`,
    );
  }
});
