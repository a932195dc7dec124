import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { interleaved } from '../support/cli.js';
import { compareResults } from '../../src/cli/commands/compare.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { histogramQuantile } from '../../src/results/thresholds.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-compare-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const io = interleaved;

const yaml = (policy: string): string => `name: cmp
host: { cpu: i7-2620M, cores: 4 }
hypervisor: { policy: ${policy} }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: idle }] }
duration: 3s
`;
const before = runScenario(parseScenario(yaml('bhyve-12.1'), 'a.yaml')).results;
const after = runScenario(parseScenario(yaml('bhyve-tpr-v3'), 'b.yaml')).results;
const fileA = join(dir, 'a.json');
const fileB = join(dir, 'b.json');
writeFileSync(fileA, JSON.stringify(before));
writeFileSync(fileB, JSON.stringify(after));

test('compare reports per-variant metric changes with exact percentages', () => {
  const d = compareResults(before, after);
  const cr = d.find((x) => x.variant === 'base' && x.metric === 'exits/s CR_ACCESS')!;
  assert.ok(cr.old! > 50_000);
  assert.equal(cr.new, 0);
  assert.equal(cr.deltaPct, -100);
  const same = compareResults(before, before);
  assert.ok(
    same.every((x) => x.deltaPct === null || x.deltaPct === 0),
    'a run compared with itself has no differences',
  );
});

test('compare CLI: table output, --json, and --max-regression gates the exit status', async () => {
  const a = io();
  assert.equal(await main(['compare', fileA, fileB], a), 0);
  assert.match(a.text(), /base\s+exits\/s CR_ACCESS\s+[\d,]+\s+0\s+-100 %/);
  const b = io();
  assert.equal(
    await main(['compare', '--max-regression', '5', fileB, fileA], b),
    1,
    'going back to 12.1 is a regression',
  );
  assert.match(b.text(), /regression: base exits\/s \(all\)/);
  // Every regression line says by how much, against the limit (equal-looking values differ).
  const lines = b
    .text()
    .split('\n')
    .filter((l) => l.startsWith('regression: '));
  assert.ok(lines.length > 0);
  for (const l of lines) assert.match(l, / -> .* \((\+[\d.,]+ %|was 0), over --max-regression 5 %\)$/, l);
  const c = io();
  assert.equal(await main(['compare', '--json', fileA, fileB], c), 0);
  assert.ok(Array.isArray(JSON.parse(c.text()).deltas));
});

test('compare CLI: bad input exits 2', async () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"version": 99, "variants": []}');
  assert.equal(await main(['compare', fileA], io()), 2);
  assert.equal(await main(['compare', fileA, bad], io()), 2);
  assert.equal(await main(['compare', fileA, join(dir, 'missing.json')], io()), 2);
});

test('compare: interrupt latency in seconds, as its "(s)" says, in the table and in --json (p99 was ns)', async () => {
  const h = before.variants[0].totals.interruptLatency;
  assert.ok(h.count > 0, 'the run measured latencies');
  const d = compareResults(before, after);
  const p99 = d.find((x) => x.variant === 'base' && x.metric === 'irq latency p99 (s)')!;
  const mean = d.find((x) => x.variant === 'base' && x.metric === 'irq latency mean (s)')!;
  assert.equal(p99.unit, 'seconds');
  assert.equal(p99.old, histogramQuantile(0.99, h)! / 1e9);
  // Both in seconds: microseconds here (in ns, p99 read tens of thousands). The mean is not checked
  // against p99: a single slow delivery lifts it above p99 in a run this short (until cr8seed one of
  // the guest's first millisecond did, 6.3 ms, docs/MODEL.md section 3: mean 33 us; now 6.1 us).
  for (const [name, x] of [
    ['p99', p99.old],
    ['mean', mean.old],
  ] as const)
    assert.ok(typeof x === 'number' && x > 1e-7 && x < 0.01, `${name} ${x} s: p99 ${p99.old} s, mean ${mean.old} s`);
  assert.equal(d.find((x) => x.metric === 'exits/s (all)')!.unit, 'per_guest_second');

  const j = io();
  assert.equal(await main(['compare', '--json', fileA, fileB], j), 0);
  const json = JSON.parse(j.text()) as { deltas: { metric: string; unit: string; old: number }[] };
  const jp99 = json.deltas.find((x) => x.metric === 'irq latency p99 (s)')!;
  assert.equal(jp99.unit, 'seconds');
  assert.ok(jp99.old > 0 && jp99.old < 0.01, `--json p99 ${jp99.old}`);

  // The table shows what changed: a run whose latencies doubled (every observation one bucket up).
  const v = before.variants[0];
  const lat = v.totals.interruptLatency;
  const slower = {
    ...before,
    variants: [
      {
        ...v,
        totals: {
          ...v.totals,
          interruptLatency: {
            ...lat,
            counts: [0, ...lat.counts.slice(0, -2), lat.counts.at(-2)! + lat.counts.at(-1)!],
            sumNs: lat.sumNs * 2,
          },
        },
      },
    ],
  };
  const fileC = join(dir, 'slower.json');
  writeFileSync(fileC, JSON.stringify(slower));
  const t = io();
  assert.equal(await main(['compare', fileA, fileC], t), 0);
  // Seconds printed with the unit that reads best: microseconds here, never a bare ns count.
  assert.match(t.text(), /irq latency p99 \(s\)\s+[\d.,]+ (?:µs|ns|ms)\s+[\d.,]+ (?:µs|ns|ms)/);
});
