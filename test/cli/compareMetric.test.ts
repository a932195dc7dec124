// `compare --metric`: a CI gate on one metric ("fail the build when a patch raises exits per second
// by more than 5 %"). --max-regression alone judges every lower-is-better metric, so a rare exit
// reason that goes from 0 to 1 per second, or a latency, fails a gate meant for total exits/s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import type { RunResults } from '../../src/results/types.js';
import { REPO_ROOT } from '../../src/model/data.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-compare-metric-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function io(): CliIo & { out_: string[]; err_: string[] } {
  const out_: string[] = [];
  const err_: string[] = [];
  return {
    out: (s) => out_.push(s),
    err: (s) => err_.push(s),
    interactive: false,
    env: {},
    cwd: REPO_ROOT,
    out_,
    err_,
  };
}

const base = runScenario(
  parseScenario(
    `name: gate
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: ping-pong, duration: 1s, hop: 40us }] }
duration: 1s
`,
    'gate.yaml',
  ),
).results;
// The "patch": total exits +2 % (under a 5 % gate), one rare reason new (0 -> 3 exits), latency x2.
function patched(r: RunResults): RunResults {
  const v = r.variants[0];
  const t = v.totals;
  const extra = Math.round(t.exitsTotal * 0.02);
  const lat = t.interruptLatency;
  return {
    ...r,
    variants: [
      {
        ...v,
        totals: {
          ...t,
          exitsTotal: t.exitsTotal + extra + 3,
          exits: { ...t.exits, HLT: (t.exits.HLT ?? 0) + extra, XSETBV: 3 },
          interruptLatency: { ...lat, sumNs: lat.sumNs * 2 },
        },
      },
    ],
  };
}
const fileA = join(dir, 'baseline.json');
const fileB = join(dir, 'results.json');
writeFileSync(fileA, JSON.stringify(base));
writeFileSync(fileB, JSON.stringify(patched(base)));

test('compare --max-regression alone fails on metrics other than total exits/s (why --metric exists)', async () => {
  const a = io();
  assert.equal(await main(['compare', '--max-regression', '5', fileA, fileB], a), 1);
  assert.ok(a.out_.some((l) => /^regression: base irq latency mean/.test(l)));
  assert.ok(!a.out_.some((l) => /^regression: base exits\/s \(all\)/.test(l)), 'total exits rose by 2 % only');
});

test('compare --metric "exits/s (all)" --max-regression 5: judges and shows only that metric', async () => {
  const a = io();
  assert.equal(await main(['compare', '--metric', 'exits/s (all)', '--max-regression', '5', fileA, fileB], a), 0);
  const text = a.out_.join('\n');
  assert.match(text, /base\s+exits\/s \(all\)\s+[\d,.]+\s+[\d,.]+\s+\+2(\.\d+)? %/);
  assert.doesNotMatch(text, /irq latency|XSETBV|regression:/);
  // Over the limit: the same gate fails, naming the metric.
  const b = io();
  assert.equal(await main(['compare', '--metric', 'exits/s (all)', '--max-regression', '1', fileA, fileB], b), 1);
  assert.ok(b.out_.some((l) => /^regression: base exits\/s \(all\) .*over --max-regression 1 %/.test(l)));
  // --json carries only the chosen metrics too.
  const j = io();
  assert.equal(await main(['compare', '--json', '--metric', 'exits/s (all)', fileA, fileB], j), 0);
  const json = JSON.parse(j.out_.join('\n')) as { deltas: { metric: string }[] };
  assert.deepEqual([...new Set(json.deltas.map((d) => d.metric))], ['exits/s (all)']);
});

test('compare --metric: repeatable, PREFIX* globs, and a name that matches nothing is bad input', async () => {
  const a = io();
  assert.equal(
    await main(['compare', '--metric', 'exits/s*', '--metric', 'violations', '--max-regression', '5', fileA, fileB], a),
    1,
    'XSETBV is new (was 0): a regression of exits/s XSETBV',
  );
  assert.ok(a.out_.some((l) => /^regression: base exits\/s XSETBV/.test(l)));
  assert.ok(!a.out_.some((l) => /irq latency/.test(l)));
  const b = io();
  assert.equal(await main(['compare', '--metric', 'exits/s', fileA, fileB], b), 2);
  const msg = b.err_.join('\n');
  assert.match(msg, /--metric "exits\/s" matches no metric of \S*baseline\.json or \S*results\.json/);
  assert.match(msg, /did you mean "exits\/s \(all\)"\?/);
  assert.match(msg, /exits\/s\*/, 'says how to name every exit reason');
});
