/**
 * what-if's text (src/cli/commands/whatIf.ts): 100 columns unless --wide, Intel and AMD exit
 * reasons under common names (src/import/commonExitNames.ts) instead of compared literally.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import { windowsLikeProfile } from '../support/workloads.js';
import { escapeRegExp } from '../support/regex.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-whatif-text-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'win.yaml');
writeFileSync(file, windowsLikeProfile());
const ALL = ['what-if', file, '--cpu', 'all', '--phase', '2280s', '--sim-seconds', '1'];
/** ALL's exit status: bhyve-tpr-v2's guest stops on the Xeons with APICv (test/cli/whatIfGate.test.ts). */
const ALL_STATUS = 3;

async function whatIf(args: string[], status = 0): Promise<string> {
  const io = capture();
  assert.equal(await main(args, io), status, io.stderr.join(''));
  return io.stdout.join('');
}

/** The rows of the table under `title`, as cells by column name. */
function table(text: string, title: string): Map<string, Record<string, string>> {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith(title)) + 1;
  const head = lines[at].trim().split(/\s+/);
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines.slice(at + 2)) {
    if (!/^[a-z0-9.-]+\/\S+\s/.test(line)) break;
    const cells = line.trim().split(/\s+/);
    rows.set(cells[0], Object.fromEntries(head.map((h, i) => [h, cells[i]])));
  }
  return rows;
}

test('what-if --cpu all fits in 100 columns; --wide drops the limit and adds the top reasons', async () => {
  const text = await whatIf(ALL, ALL_STATUS);
  const longest = Math.max(...text.split('\n').map((l) => l.length));
  assert.ok(longest <= 100, `the widest line has ${longest} columns`);
  assert.match(text, /^kvm\/epyc-7281 /m, 'every configuration is there');
  assert.match(text, /\[1\] isr_isrvec_stk_out_of_sync: an invariant violation stopped a guest/);
  const wide = await whatIf([...ALL, '--wide'], ALL_STATUS);
  assert.ok(Math.max(...wide.split('\n').map((l) => l.length)) > 100);
  assert.match(wide, /top reasons \(exits\/s\)/);
});

test('what-if compares Intel and AMD hosts under common exit names, and lists what each name counts', async () => {
  const text = await whatIf(ALL, ALL_STATUS);
  assert.doesNotMatch(text, /VMEXIT_INTR \d|EXTERNAL_INTERRUPT \d|\(new\)|-100\.0 %/, 'no vendor names compared');
  const rows = table(text, 'exits per vCPU-second by reason');
  const intel = rows.get('kvm/i7-6700K')!;
  const amd = rows.get('kvm/epyc-7281')!;
  for (const name of ['intr', 'hlt', 'mmio']) {
    assert.ok(Number(intel[name].replace(/,/g, '')) > 0, `${name} on Intel: ${intel[name]}`);
    assert.ok(Number(amd[name].replace(/,/g, '')) > 0, `${name} on AMD: ${amd[name]}`);
  }
  assert.equal(rows.get('bhyve-12.1/i7-2620M')!.cr8 !== '-', true, 'the measured host exits on %cr8');
  const legend = text.slice(text.indexOf('names: ')).replace(/\n\s+/g, ' ');
  assert.match(legend, /cr8 = CR_ACCESS \(Intel\) \/ VMEXIT_CR8_READ \+ VMEXIT_CR8_WRITE \(AMD\)/);
  assert.match(legend, /intr = EXTERNAL_INTERRUPT \(Intel\) \/ VMEXIT_INTR \(AMD\)/);
  assert.match(legend, /mmio = EPT_VIOLATION \+ EPT_MISCONFIG \(Intel\) \/ VMEXIT_NPF \(AMD\)/);

  const json = JSON.parse(await whatIf([...ALL, '--json'], ALL_STATUS)) as {
    rows: {
      variant: string;
      exitsPerSecond: Record<string, number>;
      exitsPerSecondByCommonName: Record<string, number>;
    }[];
  };
  for (const row of json.rows) {
    const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum(row.exitsPerSecond) - sum(row.exitsPerSecondByCommonName)) < 1e-6, row.variant);
  }
});

test('what-if --phase on a halt-dominated profile says in the legend, beside the rows, why no phase is projected', async () => {
  const idle = join(dir, 'idle.yaml');
  writeFileSync(
    idle,
    `workloadProfile: 1
name: idle-like
os: ubuntu-18.04
vcpus: 2
perGuestSecond: { hlts: 18000, msrWrites: 70000 }
interruptsPerSecond: 4
source: { cpu: xeon-e5-2667v4, policy: kvm }
`,
  );
  const text = await whatIf(['what-if', idle, '--cpu', 'i7-6700K', '--phase', '600s', '--sim-seconds', '1']);
  const lines = text.split('\n');
  const rows = lines.slice(lines.findIndex((l) => l.startsWith('configuration')) + 2);
  const configurations = rows.slice(
    0,
    rows.findIndex((l) => !/^[a-z0-9.-]+\/[a-z0-9.-]+\s/i.test(l)),
  );
  assert.ok(configurations.length >= 2, text);
  for (const row of configurations) assert.match(row, /\s-$/, `no projection in the phase column: ${row}`);
  const legend = text.slice(
    text.indexOf('exits/s: exits per vCPU-second'),
    text.indexOf('exits per vCPU-second by reason'),
  );
  assert.match(legend.replace(/\s+/g, ' '), /phase: .* not projected \(-\): the profile is halt-dominated/);
  assert.doesNotMatch(legend, /projected\.$/m, 'the legend does not call the column projected');
});

/** The notes after the tables, each note on one line again (wrapped lines start with two spaces). */
function notesOf(text: string): string[] {
  return text
    .slice(text.indexOf('\nnote: ') + 1)
    .replace(/\n {2}/g, ' ')
    .split('\n')
    .filter((l) => l.startsWith('note: '));
}

const SYSBENCH = join('data', 'workloads', 'sysbench-kvm-2020.yaml');

test('what-if --cpu all says each note once, with the configurations it applies to', async () => {
  const text = await whatIf(['what-if', SYSBENCH, '--cpu', 'all', '--sim-seconds', '0.1']);
  const notes = notesOf(text);
  // The part after the configurations: what was dropped or mapped, and why.
  const what = notes.map((n) => n.slice(n.indexOf(': ', 'note: '.length) + 2));
  assert.deepEqual(
    what.filter((w, i) => what.indexOf(w) !== i),
    [],
    'a note repeated for several configurations',
  );
  // Every AMD configuration drops the VMX-preemption timer exits: one note names them all.
  const json = JSON.parse(await whatIf(['what-if', SYSBENCH, '--cpu', 'all', '--sim-seconds', '0.1', '--json'])) as {
    rows: { variant: string; cpu: string; droppedOpaque: { name: string; reason: string }[] }[];
  };
  const amd = json.rows.filter((r) =>
    r.droppedOpaque.some((d) => d.name === 'VMX_PREEMPTION_TIMER' && d.reason === 'no SVM counterpart'),
  );
  assert.ok(amd.length >= 10, `${amd.length} AMD configurations`);
  const noSvm = notes.filter((n) => /VMX_PREEMPTION_TIMER dropped .*: no SVM counterpart$/.test(n));
  assert.equal(noSvm.length, 1, noSvm.join('\n'));
  assert.match(noSvm[0], new RegExp(`\\(${amd.length} configurations\\)`));
  for (const cpu of new Set(amd.map((r) => r.cpu))) assert.ok(noSvm[0].includes(cpu), `${cpu} in ${noSvm[0]}`);
  assert.ok(notes.length <= 15, `${notes.length} notes`);
});

test('what-if prints progress on stderr, a line as the configuration running first changes when not on a terminal; stdout is the same with --quiet', async () => {
  const args = [
    'what-if',
    SYSBENCH,
    '--cpu',
    'i7-6700K,epyc-7281',
    '--policy',
    'kvm,bhyve-12.1',
    '--sim-seconds',
    '0.2',
  ];
  const io = capture();
  assert.equal(await main(args, io), 0, io.stderr.join(''));
  const configurations = JSON.parse(await whatIf([...args, '--json'])) as { rows: { variant: string }[] };
  // The configurations run in the pool, several at once: a line each time the first one still running
  // changes, and again every 5 s under load (as 'run' reports its variants), so each line names a
  // configuration, in their order, and the last names the last configuration.
  const n = configurations.rows.length;
  const seen = io.stderr.map((line) => {
    const m = /\[(\d+)\/(\d+)\] (.+?): sim /.exec(line);
    assert.ok(m, line);
    assert.equal(Number(m[2]), n, line);
    assert.equal(m[3], configurations.rows[Number(m[1]) - 1].variant, line);
    return Number(m[1]);
  });
  assert.ok(seen.length >= 1, io.stderr.join('\n'));
  assert.deepEqual(
    seen,
    [...seen].sort((a, b) => a - b),
    io.stderr.join('\n'),
  );
  assert.match(
    io.stderr.at(-1)!,
    new RegExp(`^ *\\d+% .*\\[${n}/${n}\\] ${escapeRegExp(configurations.rows[n - 1].variant)}:`),
  );
  const quiet = capture();
  assert.equal(await main([...args, '-q'], quiet), 0, quiet.stderr.join(''));
  assert.deepEqual(quiet.stderr, []);
  assert.equal(quiet.stdout.join(''), io.stdout.join(''));
});

test('what-if --workers N: the same output for 1 and 2 workers; 0 refused with the range', async () => {
  const args = [
    'what-if',
    file,
    '--cpu',
    'i7-6700K,xeon-e5-2667v4',
    '--policy',
    'kvm,bhyve-12.1',
    '--sim-seconds',
    '0.5',
    '-q',
  ];
  const one = await whatIf([...args, '--workers', '1', '--json']);
  const two = await whatIf([...args, '--workers', '2', '--json']);
  assert.equal(JSON.parse(one).rows.length, 5, 'the measured host and four targets ran');
  assert.equal(one, two);
  const io = capture();
  assert.equal(await main([...args, '--workers', '0'], io), 2);
  assert.match(io.stderr.join(''), /--workers: expected an integer 1\.\.256, found "0"/);
});
