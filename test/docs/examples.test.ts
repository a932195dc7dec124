/**
 * Output the docs show as printed by a command: the command is run as the page gives it and the
 * page's figures must be what it prints. A model change that moves them fails here, so the pages
 * are re-taken with the change (they had gone stale once: REPLAY.md's reproducer still pointed at
 * a time where nothing tripped any more).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

const read = (page: string): string => readFileSync(join(REPO_ROOT, page), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-doc-examples-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fenced block of a page: the first whose text matches. */
function block(page: string, re: RegExp): string {
  const found = [...read(page).matchAll(/^```[^\n]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]).find((b) => re.test(b));
  assert.ok(found, `${page}: a code block matching ${re}`);
  return found;
}

test("REPLAY.md's shrunk reproducer is what run prints for the seed panic, RESULTS.md's is its JSON, and the command trips the check", async () => {
  const shown = block('docs/REPLAY.md', /reproduce \(1 guest\)/)
    .trimEnd()
    .split('\n');
  const out = join(dir, 'panic.json');
  const io = capture();
  assert.equal(await main(['run', '--quiet', '--out', out, 'scenarios/seed/e5-2667v4-apicv-panic.yaml'], io), 0);
  const printed = io.stdout.join('\n');
  for (const line of shown) assert.ok(printed.includes(line), `run prints: ${line}\n${printed}`);

  const results = JSON.parse(readFileSync(out, 'utf8')) as {
    variants: { totals: { violations: { reproducer?: Record<string, unknown> }[] } }[];
  };
  const reproducers = results.variants
    .flatMap((v) => v.totals.violations)
    .map((x) => x.reproducer)
    .filter((r) => r !== undefined);
  assert.equal(reproducers.length, 1);
  const { command, ...fields } = reproducers[0];
  assert.ok(shown[1].endsWith(String(command)), `${shown[1]} vs ${String(command)}`);
  const doc = /`(\{ "guests": [^`]*\})`/.exec(read('docs/RESULTS.md'));
  assert.ok(doc, 'RESULTS.md shows a reproducer');
  const written = JSON.parse(doc[1].replace('"vmexit-lab replay ..."', '""')) as Record<string, unknown>;
  delete written.command;
  assert.deepEqual(written, fields);

  // The printed command trips the same check at the same nanosecond.
  const replay = capture();
  const args = String(command).split(' ').slice(1);
  assert.equal(await main(args, replay), 0);
  // io.out takes one line a call (the real CLI adds the newline).
  const last = JSON.parse(replay.stdout.at(-1)!) as {
    tNs: number;
    violation?: { check: string };
  };
  assert.equal(last.violation?.check, 'isr_isrvec_stk_out_of_sync');
  assert.equal(last.tNs, fields.simTimeNs);
});

test("TIMELINE.md's figures for win10-1909-cr8-exits, 2..3 s, are what run --timeline writes", async () => {
  const text = read('docs/TIMELINE.md');
  const m =
    /about ([\d,]+) events per\s+simulated second per vCPU \(([\d,]+) for its two, ([\d.]+) MB: measured with `--timeline-window 2\.\.3`\), so\s+its budget lasts about (\d+) simulated seconds/.exec(
      text,
    );
  assert.ok(m, 'TIMELINE.md states the events per second, the file size and how long the budget lasts');
  const [perVcpu, both, mb, seconds] = [m[1], m[2], m[3], m[4]].map((s) => Number(s.replace(/,/g, '')));
  const file = join(dir, 'trace.json');
  const io = capture();
  const args = ['run', '--timeline', file, '--timeline-guest', '0', '--timeline-window', '2..3'];
  assert.equal(await main([...args, 'scenarios/seed/win10-1909-cr8-exits.yaml'], io), 0);
  const events = Number(/, (\d+) events: open it/.exec([...io.stdout, ...io.stderr].join('\n'))?.[1]);
  assert.equal(events, both, 'the events of the window');
  assert.ok(Math.abs(perVcpu - events / 2) <= 100, `about ${perVcpu} per vCPU: ${events / 2}`);
  assert.equal(Number((statSync(file).size / 1e6).toFixed(1)), mb, 'the file size in MB');
  const budget = Number(/at most ([\d,]+) events/.exec(text)![1].replace(/,/g, ''));
  assert.equal(seconds, Math.floor(budget / events), 'the budget in simulated seconds');
});
