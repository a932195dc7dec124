/**
 * docs/SCENARIOS.md's key tables against the loader (src/scenario/): each place's table lists
 * exactly the keys the loader accepts there, so no key goes undocumented and no documented key is
 * refused; every row gives a default or says the key is required; a default written as a value
 * is the value the loader fills in when the key is left out; and the tunables table is TUNABLES
 * (policies, range, default, read-only). test/cli/scenariosDoc.test.ts checks that every name is
 * on the page and runs the examples.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultLinuxClocksource } from '../../src/core/guests/linuxClock.js';
import { POLICY_NAMES, TUNABLES } from '../../src/core/hypervisor/policy.js';
import { parseDurationNs, parseSizeBytes } from '../../src/input/units.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { ACCEPTED_KEYS, parseScenario } from '../../src/scenario/load.js';
import { MATRIX_KEYS, MATRIX_TUNABLE_PREFIX } from '../../src/scenario/matrix.js';
import type { ModelledGuestSpec, Scenario } from '../../src/scenario/types.js';

const DOC = readFileSync(join(REPO_ROOT, 'docs', 'SCENARIOS.md'), 'utf8');

/** The text of a section, from its heading to the next heading of the same or a higher level. */
function section(heading: string): string {
  const level = /^#+/.exec(heading)![0].length;
  const start = DOC.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `docs/SCENARIOS.md has "${heading}"`);
  const rest = DOC.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

/** The first table of a section whose header's first cell is `first`: cells of each row by key. */
function table(heading: string, first = 'key'): Map<string, string[]> {
  const text = section(heading);
  const at = text.indexOf(`\n| ${first} |`);
  assert.ok(at >= 0, `"${heading}" has a table starting "| ${first} |"`);
  const rows = new Map<string, string[]>();
  for (const line of text
    .slice(at + 1)
    .split('\n')
    .slice(2)) {
    if (!line.startsWith('|')) break;
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
    const key = /^`([^`]+)`$/.exec(cells[0]);
    assert.ok(key, `${heading}: a row starts with a backquoted key: ${line}`);
    rows.set(key[1], cells.slice(1));
  }
  return rows;
}

/** Each key table, and the keys the loader takes at that place. */
const PLACES: readonly { heading: string; accepted: readonly string[] }[] = [
  { heading: '## Top level', accepted: ACCEPTED_KEYS.root },
  { heading: '## host', accepted: ACCEPTED_KEYS.host },
  { heading: '## hypervisor', accepted: ACCEPTED_KEYS.hypervisor },
  { heading: '## guests', accepted: ACCEPTED_KEYS.guest },
  { heading: '### phases', accepted: ACCEPTED_KEYS.phase },
  { heading: '## matrix', accepted: [...MATRIX_KEYS, `${MATRIX_TUNABLE_PREFIX}NAME`] },
];

test('each key table of docs/SCENARIOS.md lists exactly the keys the loader accepts there', () => {
  for (const { heading, accepted } of PLACES)
    assert.deepEqual([...table(heading).keys()].sort(), [...accepted].sort(), heading);
});

test('every key row gives its default, or says the key is required', () => {
  const none: string[] = [];
  for (const { heading } of PLACES.filter((p) => p.heading !== '## matrix'))
    for (const [key, cells] of table(heading)) {
      const dflt = cells[cells.length - 1];
      if (dflt === '' && !cells.slice(0, -1).some((c) => /\brequired\b/.test(c))) none.push(`${heading}: ${key}`);
    }
  assert.deepEqual(none, []);
});

/** The first value a default cell writes: a backquoted value, else its first word. */
function written(heading: string, key: string): string {
  const cells = table(heading).get(key);
  assert.ok(cells, `${heading}: ${key}`);
  const cell = cells[cells.length - 1];
  return (/`([^`]+)`/.exec(cell) ?? /^(\S+)/.exec(cell))![1];
}

/** A duration or size as the loader reads it. */
function unit(r: ReturnType<typeof parseDurationNs>): number {
  assert.ok(r.ok, `a value: expected ${r.ok ? '' : r.expected}`);
  return r.value;
}
const ns = (text: string): number => unit(parseDurationNs(text));

/** Keys left out of these scenarios take their defaults. */
const MINIMAL = parseScenario(
  'name: t\nhost: { cpu: i7-6700K }\nhypervisor: { policy: kvm }\nguests: [{ os: ubuntu-18.04 }, { os: windows-10-1909 }]\n',
  't.yaml',
);
const UNTIL_COMPLETE = parseScenario(
  'name: t\nhost: { cpu: i7-6700K }\nhypervisor: { policy: bhyve-12.1 }\nduration: until-complete\n' +
    'guests: [{ os: ubuntu-18.04, phases: [{ phase: build, work: 1s }] }]\n',
  't.yaml',
);
const BHYVE = parseScenario(
  'name: t\nhost: { cpu: i7-6700K }\nhypervisor: { policy: bhyve-12.1 }\nguests: [{ os: ubuntu-18.04 }, { os: windows-10-1909 }]\n',
  't.yaml',
);
const guest = (s: Scenario, i: number): ModelledGuestSpec => s.variants[0].guests[i] as ModelledGuestSpec;

/** A default the doc writes as a value, how to read it, and what the loader gave. */
const DEFAULTS: readonly { heading: string; key: string; read: (w: string) => unknown; loaded: unknown }[] = [
  { heading: '## Top level', key: 'seed', read: Number, loaded: MINIMAL.seed },
  { heading: '## Top level', key: 'description', read: (w) => (w === 'empty' ? '' : w), loaded: MINIMAL.description },
  {
    heading: '## Top level',
    key: 'duration',
    read: ns,
    loaded: MINIMAL.duration.kind === 'fixed' && MINIMAL.duration.ns,
  },
  {
    heading: '## Top level',
    key: 'maxDuration',
    read: ns,
    loaded: UNTIL_COMPLETE.duration.kind === 'until-complete' && UNTIL_COMPLETE.duration.maxNs,
  },
  { heading: '## Top level', key: 'pace', read: (w) => w, loaded: MINIMAL.pace },
  { heading: '## Top level', key: 'debug', read: (w) => w === 'true', loaded: MINIMAL.debugChecks },
  { heading: '## Top level', key: 'matrix', read: (w) => w, loaded: MINIMAL.variants.map((v) => v.name).join() },
  { heading: '## Top level', key: 'cardinalityBudget', read: Number, loaded: MINIMAL.cardinalityBudget },
  { heading: '## host', key: 'count', read: Number, loaded: MINIMAL.variants[0].host.count },
  { heading: '## guests', key: 'count', read: Number, loaded: guest(MINIMAL, 0).count },
  { heading: '## guests', key: 'vcpus', read: Number, loaded: guest(MINIMAL, 0).vcpus },
  {
    heading: '## guests',
    key: 'memory',
    read: (w) => unit(parseSizeBytes(w)),
    loaded: guest(MINIMAL, 0).memoryBytes,
  },
  { heading: '## guests', key: 'x2apic', read: (w) => w === 'true', loaded: guest(MINIMAL, 0).x2apic },
  // The cells below name KVM's default first, and bhyve's after it. A Linux guest's clocksource is
  // left unset by the loader and chosen by the engine (src/core/guests/linuxClock.ts).
  {
    heading: '## guests',
    key: 'clocksource',
    read: (w) => w,
    loaded: guest(MINIMAL, 0).clocksource ?? defaultLinuxClocksource('kvm'),
  },
  { heading: '## guests', key: 'hpet', read: (w) => w === 'true', loaded: guest(MINIMAL, 1).timekeeping?.hpet },
  {
    heading: '## guests',
    key: 'referenceTscPage',
    read: (w) => w === 'true',
    loaded: guest(MINIMAL, 1).timekeeping?.referenceTscPage,
  },
];

test("a default docs/SCENARIOS.md writes as a value is the loader's when the key is left out", () => {
  for (const d of DEFAULTS)
    assert.deepEqual(
      d.read(written(d.heading, d.key)),
      d.loaded,
      `${d.heading}: ${d.key} (${written(d.heading, d.key)})`,
    );
});

test("the defaults written in prose: a modelled guest idles to the end, the host's cores are the profile's threads, Linux reads tsc under bhyve", () => {
  assert.match(table('## guests').get('phases')!.at(-1)!, /^one idle phase until the end$/);
  assert.deepEqual(guest(MINIMAL, 0).phases, [{ phase: 'idle' }]);
  assert.match(table('## host').get('cores')!.at(-1)!, /^the profile's threads$/);
  assert.equal(MINIMAL.variants[0].host.cores, MINIMAL.variants[0].host.cpu.threads);
  assert.match(table('## guests').get('clocksource')!.at(-1)!, /`tsc` under bhyve/);
  assert.equal(guest(BHYVE, 0).clocksource ?? defaultLinuxClocksource('bhyve'), 'tsc');
});

test('the tunables table of docs/SCENARIOS.md is TUNABLES: policies, range, default, read-only', () => {
  const rows = table('## hypervisor', 'tunable');
  assert.deepEqual([...rows.keys()].sort(), TUNABLES.map((t) => t.name).sort());
  const policies = (cell: string): string[] => {
    if (cell === 'kvm') return ['kvm'];
    if (cell === 'every bhyve') return POLICY_NAMES.filter((p) => p.startsWith('bhyve-'));
    const m = /^bhyve-tpr-(v\d(?:\/v\d)*)$/.exec(cell);
    assert.ok(m, `a policies cell: ${cell}`);
    return m[1].split('/').map((v) => `bhyve-tpr-${v}`);
  };
  for (const t of TUNABLES) {
    const [who, values] = rows.get(t.name)!;
    assert.deepEqual(policies(who).sort(), [...t.policies].sort(), `${t.name}: policies`);
    if (t.readOnly) {
      assert.equal(values, 'read-only', t.name);
      continue;
    }
    const m = /^(\d+)(?:\.\.|, )(\d+) \(default (\d+)\)$/.exec(values);
    assert.ok(m, `${t.name}: "MIN..MAX (default D)": ${values}`);
    assert.deepEqual(m.slice(1).map(Number), [t.min, t.max, t.default], `${t.name}: min, max, default`);
  }
});

test('the thresholds block of docs/SCENARIOS.md, a fragment, loads in a scenario that has its variants and phase', () => {
  const blocks = [...DOC.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  const fragments = blocks.filter((b) => !/^name: /m.test(b));
  assert.deepEqual(
    fragments.map((b) => b.split('\n')[0]),
    ['thresholds:'],
    'a new fragment needs a scenario to load in here',
  );
  const s = parseScenario(
    'name: t\nhost: { cpu: i7-6700K }\nguests: [{ os: windows-10-1909, phases: [{ phase: install, work: 1s }] }]\n' +
      `duration: until-complete\nmatrix: { policy: [bhyve-12.1, bhyve-tpr-v3] }\n${fragments[0]}`,
    't.yaml',
  );
  assert.equal(s.thresholds.length, 4);
});
