/**
 * docs/TUTORIAL.md as a newcomer follows it: every file it says to save is saved as it is printed,
 * every command of its sh blocks runs as pasted (in a fresh directory, the CLI as a process), and
 * every output line it shows is a line those commands print. A model change that moves a figure
 * fails here: re-take the page with the change.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';

const PAGE = 'docs/TUTORIAL.md';
const MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-tutorial-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The fenced blocks of the page, with their info string. */
function blocks(): { lang: string; text: string }[] {
  const page = readFileSync(join(REPO_ROOT, PAGE), 'utf8');
  return [...page.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], text: m[2] }));
}

/** A command line as sh splits it: words, single quotes, and `> FILE` for stdout. */
function words(line: string): { argv: string[]; stdoutTo?: string } {
  const argv: string[] = [];
  let stdoutTo: string | undefined;
  const re = /'([^']*)'|(>)|(\S+)/g;
  let redirect = false;
  for (const m of line.matchAll(re)) {
    if (m[2] !== undefined) {
      redirect = true;
      continue;
    }
    const word = m[1] ?? m[3];
    if (redirect) {
      stdoutTo = word;
      redirect = false;
    } else argv.push(word);
  }
  return { argv, ...(stdoutTo === undefined ? {} : { stdoutTo }) };
}

test('TUTORIAL.md: the files it gives, the commands as pasted, the outputs it shows', () => {
  const all = blocks();
  // Files: a YAML block whose first line says where to save it, and the perf report (report.txt).
  const saved: string[] = [];
  for (const b of all) {
    const name = /^# save as (\S+)\n/.exec(b.text)?.[1];
    if (b.lang === 'yaml' && name !== undefined) {
      writeFileSync(join(dir, name), b.text);
      saved.push(name);
    }
    if (b.lang === 'text' && b.text.startsWith('Analyze events for all VMs')) {
      writeFileSync(join(dir, 'report.txt'), b.text);
      saved.push('report.txt');
    }
    if (b.lang === 'text' && b.text.startsWith('vcpu0 stats:')) {
      writeFileSync(join(dir, 'stats.txt'), b.text);
      saved.push('stats.txt');
    }
  }
  assert.deepEqual(saved, [
    'tpr.yaml',
    'halt-poll.yaml',
    'report.txt',
    'halt-poll-patched.yaml',
    'apicv-bhyve.yaml',
    'apicv-kvm.yaml',
    'vmcs.yaml',
    'stats.txt',
  ]);

  // Commands, in the page's order; compare exits 1 (the regression the section shows), the run of
  // vmcs.yaml 3 (the failed VM entry section 5 shows), the rest 0.
  let printed = '';
  const commands = all.filter((b) => b.lang === 'sh').flatMap((b) => b.text.split('\n').filter((l) => l.trim()));
  assert.equal(commands.length, 13);
  for (const line of commands) {
    const { argv, stdoutTo } = words(line);
    assert.equal(argv[0], 'vmexit-lab', line);
    const r = spawnSync(process.execPath, [MAIN, ...argv.slice(1)], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    const status = argv[1] === 'compare' ? 1 : argv[1] === 'run' && argv.at(-1) === 'vmcs.yaml' ? 3 : 0;
    assert.equal(r.status, status, `${line}\n${r.stderr}`);
    if (stdoutTo !== undefined) writeFileSync(join(dir, stdoutTo), r.stdout);
    else printed += r.stdout;
    printed += r.stderr;
  }

  // Every output line shown is a line printed (the page leaves some out, never changes one).
  const lines = new Set(printed.split('\n').map((l) => l.trimEnd()));
  const shown = all.filter(
    (b) => b.lang === 'text' && !b.text.startsWith('Analyze events') && !b.text.startsWith('vcpu0 stats:'),
  );
  assert.equal(shown.length, 7);
  for (const b of shown)
    for (const l of b.text.split('\n').filter((x) => x.trim()))
      assert.ok(lines.has(l.trimEnd()), `${PAGE} shows a line the commands do not print:\n${l}\n\n${printed}`);

  // The figures the prose quotes from halt-poll.json.
  const results = JSON.parse(readFileSync(join(dir, 'halt-poll.json'), 'utf8')) as {
    variants: { name: string; totals: { haltPoll: Record<string, number> } }[];
  };
  const hp = results.variants.find((v) => v.name === 'kvm.halt_poll_ns=200000')!.totals.haltPoll;
  assert.equal(hp.halt_attempted_poll, 98787);
  assert.equal(hp.halt_successful_poll, 98781);
  assert.equal(hp.pollSeconds.toFixed(2), '4.85');
});
