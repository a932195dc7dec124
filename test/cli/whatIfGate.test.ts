/**
 * what-if's exit status (src/cli/commands/whatIf.ts, src/import/whatIf.ts whatIfVerdict), as `run`'s
 * (docs/CLI.md "Exit statuses"): 3 when a configuration's guest stops on an invariant violation or a
 * failed VM entry, the configuration named; --max-increase PCT exits 1 when a target's exits per
 * vCPU-second are more than PCT above the measured host's, those over it named. It exited 0 always.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { whatIfVerdict, type WhatIfResult } from '../../src/import/whatIf.js';
import { verdictLines } from '../../src/cli/whatIfText.js';
import { capture } from '../support/cli.js';
import { windowsLikeProfile } from '../support/workloads.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-whatif-gate-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const profile = (policy: string): string => {
  const file = join(dir, `win-${policy}.yaml`);
  writeFileSync(file, windowsLikeProfile(policy));
  return file;
};
/** Measured under bhyve 12.1 (every %cr8 write exits); measured under kvm (TPR shadowed). */
const BHYVE = profile('bhyve-12.1');
const KVM = profile('kvm');

interface Verdict {
  status: number;
  stopped: { variant: string; violations: string[]; entryFailures: string[] }[];
  maxIncreasePercent: number | null;
  over: { variant: string; exitsChangePercent: number }[];
}
interface Json {
  rows: { variant: string; exitsChangePercent: number; isSource: boolean }[];
  verdict: Verdict;
}

/** what-if's status, its stdout with the lines wrapped to 100 columns joined again, and stderr. */
async function whatIf(args: string[]): Promise<{ status: number; out: string; err: string }> {
  const io = capture();
  const status = await main(['what-if', ...args, '--sim-seconds', '1', '-q'], io);
  const out = io.stdout.join('');
  return { status, out: args.includes('--json') ? out : out.replace(/\n {2}/g, ' '), err: io.stderr.join('') };
}

test('a configuration whose guest stops makes what-if exit 3, as run does, and names it (text, --json, stderr)', async () => {
  // bhyve-tpr-v2 on the Xeon E5-2667 v4 with APICv: "ISR and isrvec_stk out of sync" (docs/IMPORT.md).
  const args = [BHYVE, '--cpu', 'xeon-e5-2667v4', '--policy', 'bhyve-tpr-v2,bhyve-12.1'];
  const text = await whatIf(args);
  assert.equal(text.status, 3, text.err);
  assert.match(
    text.out,
    /^stopped: bhyve-tpr-v2\/xeon-e5-2667v4: a guest stopped on invariant violation isr_isrvec_stk_out_of_sync \(exit status 3/m,
  );
  assert.doesNotMatch(text.out, /^stopped: bhyve-12\.1/m);
  const json = await whatIf([...args, '--json']);
  assert.equal(json.status, 3);
  const v = (JSON.parse(json.out) as Json).verdict;
  assert.deepEqual(v.stopped, [
    { variant: 'bhyve-tpr-v2/xeon-e5-2667v4', violations: ['isr_isrvec_stk_out_of_sync'], entryFailures: [] },
  ]);
  assert.equal(v.status, 3);
  // The JSON on stdout: the reason for the status on stderr, for a CI log.
  assert.match(json.err, /vmexit-lab what-if: stopped: bhyve-tpr-v2\/xeon-e5-2667v4/);
  // A stop outranks --max-increase, as run's 3 outranks a failed threshold's 1; the stopped row is not judged.
  const gated = await whatIf([...args, '--max-increase', '0']);
  assert.equal(gated.status, 3);
  assert.match(
    gated.out,
    /--max-increase 0 %: no configuration over it \(a configuration whose guest stopped is not judged\)/,
  );
});

test('what-if exits 0 when every guest ran, and --json says so', async () => {
  const r = await whatIf([BHYVE, '--json']);
  assert.equal(r.status, 0, r.err);
  assert.equal(r.err, '');
  assert.deepEqual((JSON.parse(r.out) as Json).verdict, { status: 0, stopped: [], maxIncreasePercent: null, over: [] });
});

test('--max-increase PCT: exit 1 when a target is more than PCT above the measured host, naming it; 0 under it', async () => {
  const args = [KVM, '--policy', 'kvm,bhyve-tpr-v3,bhyve-tpr-v1'];
  const plain = JSON.parse((await whatIf([...args, '--json'])).out) as Json;
  const change = plain.rows.find((r) => r.variant === 'bhyve-tpr-v3/i7-2620M')!.exitsChangePercent;
  assert.ok(change > 5, `bhyve-tpr-v3 exits more than kvm on this profile (${change} %)`);
  const under = Math.floor(change) - 1;
  const over = await whatIf([...args, '--max-increase', String(under)]);
  assert.equal(over.status, 1, over.err);
  const line = over.out.split('\n').find((l) => l.startsWith(`--max-increase ${under} %: `));
  assert.match(line ?? '', /: 2 configurations over it: .*: exit status 1\.$/, over.out);
  for (const name of ['bhyve-tpr-v1/i7-2620M', 'bhyve-tpr-v3/i7-2620M'])
    assert.match(line!, new RegExp(`${name} \\+[0-9.]+ %`));
  const json = await whatIf([...args, '--max-increase', String(under), '--json']);
  assert.equal(json.status, 1);
  const v = (JSON.parse(json.out) as Json).verdict;
  assert.equal(v.maxIncreasePercent, under);
  assert.deepEqual(v.over.map((o) => o.variant).sort(), ['bhyve-tpr-v1/i7-2620M', 'bhyve-tpr-v3/i7-2620M']);
  assert.match(json.err, /--max-increase .* over it/);
  const pass = await whatIf([...args, '--max-increase', String(Math.ceil(change) + 1)]);
  assert.equal(pass.status, 0, pass.err);
  assert.match(
    pass.out,
    /^--max-increase \d+ %: no configuration over it \(the highest: bhyve-tpr-v[13]\/i7-2620M \+/m,
  );
});

test('--max-increase is refused (exit 2, nothing run) when only the measured configuration is left, or not a percentage', async () => {
  const only = await whatIf([KVM, '--policy', 'kvm', '--max-increase', '10']);
  assert.equal(only.status, 2);
  assert.match(
    only.err,
    /--max-increase holds each target configuration against the measured host, .* leave only the measured one \(kvm\/i7-2620M\)/,
  );
  assert.equal(only.out, '');
  for (const bad of ['--max-increase=-5', '--max-increase=ten']) {
    const r = await whatIf([KVM, bad]);
    assert.equal(r.status, 2, bad);
    assert.match(r.err, /--max-increase: expected a number >= 0/);
  }
});

/** A what-if result of three rows, the measured one first, for the verdict alone. */
function result(
  rows: { variant: string; change: number; violations?: string[]; entryFailures?: string[] }[],
): WhatIfResult {
  return {
    profile: 'p',
    simSeconds: 1,
    seed: 1,
    x2apic: false,
    rows: rows.map((r, i) => ({
      variant: r.variant,
      cpu: r.variant.split('/')[1],
      policy: r.variant.split('/')[0],
      isSource: i === 0,
      exitsPerSecond: {},
      exitsPerSecondTotal: 100 + r.change,
      hostTimeInExits: 0,
      guestCpu: 1,
      violations: r.violations ?? [],
      entryFailures: r.entryFailures ?? [],
      exitsChangePercent: r.change,
      droppedOpaque: [],
      mappedOpaque: [],
      tunablesWithoutEffect: [],
    })),
  };
}

test('a failed VM entry is a stop too (exit 3, named); a stopped measured row leaves nothing to judge', () => {
  const r = result([
    { variant: 'kvm/a', change: 0 },
    { variant: 'kvm/b', change: 5, entryFailures: ['VM entry with invalid control field(s)'] },
    { variant: 'bhyve-12.1/a', change: 20 },
  ]);
  const v = whatIfVerdict(r, 10);
  assert.equal(v.status, 3);
  assert.deepEqual(v.over, [{ variant: 'bhyve-12.1/a', exitsChangePercent: 20 }]);
  assert.match(
    verdictLines(r, v)[0],
    /^stopped: kvm\/b: a guest stopped on failed VM entry: VM entry with invalid control/,
  );
  assert.equal(whatIfVerdict(r).status, 3, 'without --max-increase too');
  const sourceStopped = result([
    { variant: 'kvm/a', change: 0, violations: ['x'] },
    { variant: 'kvm/b', change: 50 },
  ]);
  const s = whatIfVerdict(sourceStopped, 10);
  assert.deepEqual(s.over, []);
  assert.match(s.notJudged ?? '', /measured configuration's guest \(kvm\/a\) stopped/);
  // Over by less than the table's rounding shows: the change with the digits that show it is over.
  const close = result([
    { variant: 'kvm/a', change: 0 },
    { variant: 'kvm/b', change: 20.004 },
  ]);
  assert.match(verdictLines(close, whatIfVerdict(close, 20))[0], /kvm\/b \+20\.004 %: exit status 1/);
});

test('what-if --help teaches the exit statuses and --max-increase with an example', async () => {
  const io = capture();
  assert.equal(await main(['what-if', '--help'], io), 0);
  const help = io.stdout.join('');
  assert.match(help, /--max-increase PCT +exit 1 if a target configuration's exits per vCPU-second/);
  assert.match(help, /^ {2}3 {2}a configuration's guest stopped: an invariant violation/m);
  assert.match(help, /^ {2}vmexit-lab what-if \S+ .*--max-increase \d+/m);
});
