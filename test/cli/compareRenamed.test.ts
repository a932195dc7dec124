/**
 * `compare` of a results.json whose variants are named the old way (bare values: "0", "1") with one
 * named KEY=VALUE (`kvm_amd.avic=0`): the old names pair with the new ones, and the note says so;
 * variants that do not pair are named on each side, and a --max-regression gate with no pair at
 * all is refused rather than passed by comparing nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture, interleaved } from '../support/cli.js';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import type { RunResults } from '../../src/results/types.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-compare-renamed-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const io = interleaved;

const yaml = (
  matrix: string,
  cpu = 'ryzen-5-3600x',
  hypervisor = 'hypervisor: { policy: kvm }\n',
): string => `name: avic
host: { cpu: ${cpu}, cores: 4 }
${hypervisor}guests:
  - { os: ubuntu-18.04, vcpus: 2, x2apic: false, phases: [{ phase: idle }] }
duration: 1s
matrix:
  ${matrix}
`;
const fresh = runScenario(parseScenario(yaml('tunables.kvm_amd.avic: [0, 1]'), 'a.yaml')).results;
assert.deepEqual(
  fresh.variants.map((v) => v.name),
  ['kvm_amd.avic=0', 'kvm_amd.avic=1'],
);
// The same run as a results.json written before variants were named KEY=VALUE.
const legacy: RunResults = {
  ...fresh,
  variants: fresh.variants.map((v) => ({ ...v, name: v.name.replace('kvm_amd.avic=', '') })),
};
const policies = runScenario(parseScenario(yaml('policy: [kvm, bhyve-12.1]', 'i7-2620M', ''), 'p.yaml')).results;
const oldFile = join(dir, 'old.json');
const newFile = join(dir, 'new.json');
const otherFile = join(dir, 'other.json');
writeFileSync(oldFile, JSON.stringify(legacy));
writeFileSync(newFile, JSON.stringify(fresh));
writeFileSync(otherFile, JSON.stringify(policies));

test('an old results.json pairs its bare names with the new KEY=VALUE names, and says so', async () => {
  for (const [a, b, side] of [
    [oldFile, newFile, 'OLD'],
    [newFile, oldFile, 'NEW'],
  ] as const) {
    const o = io();
    assert.equal(await main(['compare', '--max-regression', '0', a, b], o), 0, o.text());
    const t = o.text();
    assert.match(
      t,
      new RegExp(`note: ${side} \\(.*\\) names a variant the old way, "1": compared as "kvm_amd\\.avic=1"`),
    );
    // Paired: every metric unchanged, no "gone" / "new" rows.
    assert.doesNotMatch(t, /\b(gone|new)\s*$/m);
    assert.match(t, /kvm_amd\.avic=0\s+exits\/s \(all\)\s+\S+\s+\S+\s+\+?0 %/);
  }
  const j = io();
  assert.equal(await main(['compare', '--json', oldFile, newFile], j), 0);
  const out = JSON.parse(j.text()) as { variants: { renamed: unknown[] }; deltas: { variant: string }[] };
  assert.equal(out.variants.renamed.length, 2);
  assert.deepEqual([...new Set(out.deltas.map((d) => d.variant))], ['kvm_amd.avic=0', 'kvm_amd.avic=1']);
});

test('variants that do not pair are named on each side; a gate with no pair is refused', async () => {
  const o = io();
  assert.equal(await main(['compare', newFile, otherFile], o), 0);
  assert.match(
    o.text(),
    /note: no variant pairs; only in OLD \(.*new\.json\): "kvm_amd\.avic=0", "kvm_amd\.avic=1"; only in NEW \(.*other\.json\): "kvm", "bhyve-12\.1"/,
  );
  const g = io();
  assert.equal(await main(['compare', '--max-regression', '5', newFile, otherFile], g), 2);
  assert.match(g.text(), /--max-regression 5 has nothing to judge: no variant pairs; only in OLD/);
});

test('with no variant pair, the last line says nothing was compared, why, and what each file has', async () => {
  const o = capture();
  // Not a gate: the tables of both files are still printed, exit 0 (docs/CLI.md, Exit statuses).
  assert.equal(await main(['compare', newFile, otherFile], o), 0, o.stderr.join('\n'));
  const last = o.stdout.join('\n').trimEnd().split('\n').at(-1)!;
  assert.match(last, /^nothing compared: /);
  assert.match(last, /new\.json has "kvm_amd\.avic=0", "kvm_amd\.avic=1"/);
  assert.match(last, /other\.json has "kvm", "bhyve-12\.1"/);
  // What to do: variants pair by name, so compare runs of one scenario (or the same matrix).
  assert.match(last, /variants pair by name/);
  assert.match(last, /same matrix/);
  // A paired compare has no such line.
  const p = capture();
  assert.equal(await main(['compare', oldFile, newFile], p), 0);
  assert.doesNotMatch(p.stdout.join('\n'), /nothing compared/);
  // --json says it too: no pair, so the variants on each side.
  const j = capture();
  assert.equal(await main(['compare', '--json', newFile, otherFile], j), 0);
  const out = JSON.parse(j.stdout.join('\n')) as { variants: { pairs: number; onlyOld: string[] } };
  assert.equal(out.variants.pairs, 0);
  assert.deepEqual(out.variants.onlyOld, ['kvm_amd.avic=0', 'kvm_amd.avic=1']);
});
