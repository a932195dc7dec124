/**
 * The perf-style table (src/report/perfTable.ts, `run --perf-table`, `compare --perf-table`): per
 * variant, perf kvm stat report's VM-EXIT table with perf's names, a mapping column where ours
 * differ, and numbers that are results.json's. The table without the mapping column is read back
 * by the perf-kvm-stat importer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { parsePerfKvmStat } from '../../src/import/perfKvmStat.js';
import { modelExitName } from '../../src/import/exitNames.js';
import {
  MAPPING_HEADER,
  PERF_TABLE_NOTE,
  perfTableOf,
  renderPerfTables,
  renderPerfTablesHtml,
  renderVariantPerfTable,
} from '../../src/report/perfTable.js';
import type { RunResults, VariantResult } from '../../src/results/types.js';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-perftable-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const intel = runScenario(
  parseScenario(
    `name: perf-intel
host: { cpu: i7-6700K, cores: 4 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: boot, duration: 1s }, { phase: idle }] }
  - { os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: idle }] }
duration: 3s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
`,
    'perf-intel.yaml',
  ),
).results;
const amd = runScenario(
  parseScenario(
    `name: perf-amd
host: { cpu: ryzen-5-3600x, cores: 8 }
hypervisor: { policy: kvm, tunables: { kvm_amd.avic: 1 } }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: idle }] }
duration: 2s
`,
    'perf-amd.yaml',
  ),
).results;

/** Cut the mapping column and the note off a rendered table: what perf itself would print. */
function perfOnly(text: string): string {
  return text
    .slice(0, text.indexOf('\nnote: '))
    .split('\n')
    .map((l) => l.replace(new RegExp(`\\s+${MAPPING_HEADER}$`), '').replace(/(% \))\s+\S+$/, '$1'))
    .join('\n');
}

for (const results of [intel, amd]) {
  for (const v of results.variants) {
    test(`${results.scenario} ${v.name}: perf's table of results.json, read back by the perf-kvm-stat importer`, () => {
      const text = renderVariantPerfTable(results, v);
      assert.ok(text.startsWith(`${results.scenario} variant ${v.name} (`), text.slice(0, 80));
      assert.ok(text.includes(PERF_TABLE_NOTE), 'the note says why min = max = avg');
      const report = parsePerfKvmStat(perfOnly(text), 'table.txt');
      assert.equal(report.vendor, results === amd ? 'amd' : 'intel');
      // Samples: every reason of results.json, by its model name, and nothing else.
      const got: Record<string, number> = {};
      for (const r of report.rows) got[modelExitName(r)!] = r.samples;
      assert.deepEqual(got, v.totals.exits);
      assert.equal(report.totalSamples, v.totals.exitsTotal);
      // Total time: the host seconds in exits (printed in us with 2 decimals).
      const hostUs = Object.values(v.totals.hostSecondsInExits).reduce((a, b) => a + b, 0) * 1e6;
      assert.ok(Math.abs(report.totalTimeNs! / 1000 - hostUs) <= 0.005 + 1e-9 * hostUs, `${report.totalTimeNs}`);
      for (const r of report.rows) {
        const name = modelExitName(r)!;
        const avgUs = (v.totals.hostSecondsInExits[name] * 1e6) / v.totals.exits[name];
        assert.equal(r.minNs, r.maxNs, `${r.name}: min = max`);
        assert.equal(r.avgNs, r.minNs, `${r.name}: avg = min`);
        assert.ok(Math.abs(r.avgNs! / 1000 - avgUs) <= 0.005 + 1e-12, `${r.name} avg ${r.avgNs} vs ${avgUs} us`);
        assert.ok(Math.abs(r.samplesPercent! - (100 * r.samples) / v.totals.exitsTotal) <= 0.005 + 1e-9);
        const timePct = (100 * v.totals.hostSecondsInExits[name] * 1e6) / hostUs;
        assert.ok(Math.abs(r.timePercent! - timePct) <= 0.005 + 1e-9, `${r.name} Time% ${r.timePercent} vs ${timePct}`);
      }
      // The mapping column names our kind exactly where perf's name differs.
      for (const row of perfTableOf(v).rows) {
        const line = text.split('\n').find((l) => l.trim().startsWith(`${row.perfName} `))!;
        if (row.perfName === row.name) assert.match(line, /% \)$/, `${row.perfName}: no mapping`);
        else assert.ok(line.endsWith(`% )   ${row.name}`), `${row.perfName} -> ${row.name}: ${line}`);
      }
      assert.ok(text.split('\n').some((l) => /VM-EXIT\s+Samples/.test(l) && l.endsWith(MAPPING_HEADER)));
    });
  }
}

test("perf's names where ours differ: EOI_INDUCED, PAUSE_INSTRUCTION, PREEMPTION_TIMER, read_cr8", () => {
  const variant = (exits: Record<string, number>): VariantResult =>
    ({
      name: 'x',
      host: { cpu: 'c', cores: 1, count: 1 },
      policy: 'p',
      totals: {
        exits,
        hostSecondsInExits: Object.fromEntries(Object.entries(exits).map(([k, n]) => [k, n * 1e-6])),
        exitsTotal: Object.values(exits).reduce((a, b) => a + b, 0),
        guests: 1,
        vcpus: 1,
        simulatedSeconds: 1,
      },
    }) as unknown as VariantResult;
  const rows = perfTableOf(variant({ VIRTUALIZED_EOI: 30, PAUSE: 20, VMX_PREEMPTION_TIMER: 10, HLT: 5 })).rows;
  assert.deepEqual(
    rows.map((r) => [r.perfName, r.name, r.samples]),
    [
      ['EOI_INDUCED', 'VIRTUALIZED_EOI', 30],
      ['PAUSE_INSTRUCTION', 'PAUSE', 20],
      ['PREEMPTION_TIMER', 'VMX_PREEMPTION_TIMER', 10],
      ['HLT', 'HLT', 5],
    ],
  );
  assert.deepEqual(
    rows.map((r) => [r.minNs, r.maxNs, r.avgNs].map((x) => Math.round(x))),
    rows.map(() => [1000, 1000, 1000]),
  );
  assert.equal(
    perfTableOf(variant({ VMEXIT_CR8_READ: 2, VMEXIT_CR8_WRITE: 1 }))
      .rows.map((r) => `${r.perfName}=${r.name}`)
      .join(' '),
    'read_cr8=VMEXIT_CR8_READ write_cr8=VMEXIT_CR8_WRITE',
  );
  const empty = renderVariantPerfTable({ scenario: 's' } as RunResults, variant({}));
  assert.match(empty, /no VM exits/);
  // One guest with one vCPU is named in the singular, in the text heading and in the HTML's line.
  assert.match(empty, /: 1 guest, 1 vCPU, 1 simulated s\)/);
  const one = variant({ HLT: 5 });
  const html = renderPerfTablesHtml({ scenario: 's', variants: [one] } as unknown as RunResults);
  assert.match(html, /1 guest, 1 vCPU, 1 simulated s;/);
});

test('run --perf-table and compare --perf-table print the tables; --json carries them', async () => {
  const file = join(dir, 's.yaml');
  writeFileSync(
    file,
    `name: perf-cli
host: { cpu: i7-2620M, cores: 4 }
guests: [{ os: windows-10-1909, vcpus: 2, phases: [{ phase: idle }] }]
duration: 2s
matrix: { policy: [bhyve-12.1, bhyve-tpr-v1] }
`,
  );
  const out = join(dir, 'r.json');
  const io = capture();
  assert.equal(await main(['run', '--quiet', '--perf-table', '--out', out, file], io), 0, io.stderr.join(''));
  const text = io.stdout.join('\n');
  for (const v of ['bhyve-12.1', 'bhyve-tpr-v1']) assert.ok(text.includes(`perf-cli variant ${v} (`), v);
  assert.equal(text.match(/Analyze events for all VMs, all VCPUs:/g)?.length, 2);
  assert.match(text, /^\s+CR_ACCESS\s+\d+\s+/m);
  const without = capture();
  assert.equal(await main(['run', '--quiet', file], without), 0);
  assert.doesNotMatch(without.stdout.join('\n'), /Analyze events/, 'only with --perf-table');

  const cmp = capture();
  assert.equal(await main(['compare', '--perf-table', out, out], cmp), 0, cmp.stderr.join(''));
  const c = cmp.stdout.join('\n');
  assert.equal(c.match(/Analyze events for/g)?.length, 4, 'old and new, per variant');
  assert.ok(
    c.indexOf(`old (${out}): perf-cli variant bhyve-12.1`) < c.indexOf(`new (${out}): perf-cli variant bhyve-12.1`),
  );
  const json = capture();
  assert.equal(await main(['compare', '--json', '--perf-table', out, out], json), 0);
  const j = JSON.parse(json.stdout.join('')) as { perfTables: { old: { variant: string; totalSamples: number }[] } };
  const results = JSON.parse(readFileSync(out, 'utf8')) as RunResults;
  assert.deepEqual(
    j.perfTables.old.map((t) => [t.variant, t.totalSamples]),
    results.variants.map((v) => [v.name, v.totals.exitsTotal]),
  );
  assert.equal(renderPerfTables(results).match(/Analyze events/g)?.length, 2);
});
