/**
 * KVM's halt-poll statistics on /metrics (docs/SERVICE.md): vmexit_lab_kvm_halt_polls_total by
 * outcome, vmexit_lab_kvm_halt_wakeups_total and vmexit_lab_kvm_halt_poll_seconds_total equal
 * results.json totals.haltPoll, exist on KVM variants only (bhyve never polls), and the series count
 * computed before the run counts them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { MetricsHub } from '../../src/metrics/hub.js';
import { METRICS } from '../../src/metrics/catalogue.js';
import { MetricsEndpoint } from '../../src/metrics/registry.js';
import { expectedSeries } from '../../src/metrics/cardinality.js';
import { parseExposition, sumOf } from './support.js';

const scenario = parseScenario(
  `name: halt-poll-metrics
seed: 11
host: { cpu: i7-6700K, cores: 8, count: 2 }
guests:
  - { os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: ping-pong, hop: 40us, duration: 1s }] }
duration: 1s
matrix:
  policy: [kvm, bhyve-12.1]
`,
  'halt-poll-metrics.yaml',
);
const run = runScenario(scenario);
const hub = new MetricsHub();
hub.addFinished(scenario, run.accumulators, run.results);

test('the halt-poll counters equal results.json on the KVM variant; the bhyve variant has none', async () => {
  const s = parseExposition((await new MetricsEndpoint(hub).render(false)).body);
  const [kvm, bhyve] = run.results.variants;
  const h = kvm.totals.haltPoll;
  assert.ok(h !== undefined && h.halt_successful_poll > 0, 'the KVM ping-pong polled');
  const l = { variant: kvm.name };
  assert.equal(sumOf(s, 'vmexit_lab_kvm_halt_polls_total', { ...l, outcome: 'successful' }), h.halt_successful_poll);
  assert.equal(sumOf(s, 'vmexit_lab_kvm_halt_polls_total', l), h.halt_attempted_poll, 'the outcomes sum to attempted');
  assert.equal(sumOf(s, 'vmexit_lab_kvm_halt_wakeups_total', l), h.halt_wakeup);
  assert.equal(sumOf(s, 'vmexit_lab_kvm_halt_poll_seconds_total', l), h.pollSeconds);
  assert.equal(bhyve.totals.haltPoll, undefined);
  for (const key of s.keys())
    if (key.startsWith('vmexit_lab_kvm_halt_')) assert.ok(!key.includes(`variant="${bhyve.name}"`), key);
  for (const def of METRICS.filter((d) => d.kvmOnly === true)) {
    const first = def.collect(hub, def.name);
    assert.ok(first.length > 0, def.name);
    first.forEach((a, i) => {
      assert.equal(a.labels.policy, 'kvm', def.name);
      assert.ok(Object.isFrozen(a.labels) && a.sharedLabels === a.labels, `${def.name}: one frozen label set`);
      assert.equal(def.collect(hub, def.name)[i].labels, a.labels, `${def.name}: the same on the next scrape`);
    });
  }
});

test("the series count computed before the run counts the KVM variant's 4 halt-poll series", async () => {
  const s = parseExposition((await new MetricsEndpoint(hub).render(false)).body);
  let measured = 0;
  for (const key of s.keys()) if (key.includes(`scenario="${scenario.name}"`)) measured++;
  assert.equal(measured, expectedSeries(scenario).total);
  let halt = 0;
  for (const key of s.keys()) if (key.startsWith('vmexit_lab_kvm_halt_')) halt++;
  assert.equal(halt, 4);
});
