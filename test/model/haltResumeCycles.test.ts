/**
 * The HLT exit's entry part paid after the wake-up (data/cost-model.yaml haltResumeCycles; docs/MODEL.md
 * section 3, "Where the latency clock starts and stops") is a cost-model constant like the others: the
 * provenance checker holds it to its source, and the engine reads the number from the data it was
 * given (HostConfig.haltResumeCycles), not from a constant of its own.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR, loadModelData, type ModelData } from '../../src/model/data.js';
import { haltEntryNs } from '../../src/core/guests/interrupts.js';
import { Slot } from '../../src/core/vcpu/exits.js';
import { parseScenario } from '../../src/scenario/load.js';
import { hostGuests, hostSimulations } from '../../src/run/simulate.js';

const root = mkdtempSync(join(tmpdir(), 'vmexit-halt-resume-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A copy of data/ whose cost-model.yaml has been passed through `edit` (which must change it). */
function dataCopy(name: string, edit: (yaml: string) => string): string {
  const dir = join(root, name);
  cpSync(DATA_DIR, dir, { recursive: true });
  const file = join(dir, 'cost-model.yaml');
  const before = readFileSync(file, 'utf8');
  const after = edit(before);
  assert.ok(after !== before, `${name}: the edit changed nothing`);
  writeFileSync(file, after);
  return dir;
}

/** The haltResumeCycles entry's own lines: from its key to the next top-level key. */
const ENTRY = /^haltResumeCycles:\n(?: .*\n|\n)*?(?=^\S)/m;

function editEntry(yaml: string, edit: (entry: string) => string): string {
  return yaml.replace(ENTRY, (entry) => edit(entry));
}

test('haltResumeCycles carries its provenance: estimated, with reasoning and range', () => {
  const p = loadModelData().params.find((q) => q.path === 'cost-model.haltResumeCycles');
  assert.ok(p, 'cost-model.haltResumeCycles is not a parameter');
  assert.equal(p.value, 550);
  assert.equal(p.unit, 'tsc-cycles');
  assert.equal(p.source, 'estimated');
  assert.ok((p.reasoning ?? '').length > 10);
  assert.deepEqual((p as unknown as { range: unknown }).range, [400, 1000]);
});

test('the provenance checker refuses haltResumeCycles without its source or its reasoning', () => {
  const noSource = dataCopy('no-source', (y) => editEntry(y, (e) => e.replace(/^ {2}source: .*\n/m, '')));
  assert.throws(() => loadModelData(noSource), /haltResumeCycles: parameter has no source/);
  const noReasoning = dataCopy('no-reasoning', (y) =>
    editEntry(y, (e) => e.replace(/^ {2}reasoning: >-\n(?: {4}.*\n)*/m, '')),
  );
  assert.throws(() => loadModelData(noReasoning), /haltResumeCycles: "estimated" needs a reasoning/);
});

const SCENARIO = parseScenario(
  `name: resume
seed: 1
host: { cpu: xeon-e5-2667v4, cores: 4 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: idle, duration: 1s }] }
duration: 1s
`,
  'resume.yaml',
);

/** The HLT exit's deferred entry part, ns, of the scenario's host built from `data`; and that HLT exit's cost. */
function entryPart(data: ModelData): { entryNs: number; hltNs: number } {
  const v = SCENARIO.variants[0];
  const sim = hostSimulations(SCENARIO, v, data)(0, hostGuests(v, data, 0));
  return { entryNs: haltEntryNs(sim), hltNs: sim.machine.exitCostNs[Slot.HLT] };
}

test("the HLT exit's deferred entry part is the data's haltResumeCycles at the host's base clock", () => {
  const mhz = SCENARIO.variants[0].host.cpu.baseClockMHz;
  const shipped = entryPart(loadModelData());
  assert.equal(shipped.entryNs, Math.round((550 * 1000) / mhz));
  const lower = loadModelData(
    dataCopy('lower', (y) => editEntry(y, (e) => e.replace(/^ {2}value: 550$/m, '  value: 400'))),
  );
  assert.equal(lower.costModel.haltResumeCycles, 400);
  const got = entryPart(lower);
  assert.equal(got.entryNs, Math.round((400 * 1000) / mhz));
  assert.ok(got.entryNs < shipped.entryNs && got.entryNs < got.hltNs, `${got.entryNs} ns of ${got.hltNs}`);
  // Never more than the HLT exit's own cost: a value above it is cut to the exit's cost.
  const higher = loadModelData(
    dataCopy('higher', (y) => editEntry(y, (e) => e.replace(/^ {2}value: 550$/m, '  value: 100000'))),
  );
  const cut = entryPart(higher);
  assert.equal(cut.entryNs, Math.floor(cut.hltNs));
});

test('a haltResumeCycles that is not a non-negative number is refused where the data is read', () => {
  const negative = dataCopy('negative', (y) => editEntry(y, (e) => e.replace(/^ {2}value: 550$/m, '  value: -1')));
  assert.throws(() => loadModelData(negative), /cost-model\.haltResumeCycles: expected a cycle count >= 0/);
});
