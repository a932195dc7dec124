import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';

function build(cores: number, policy = 'bhyve-tpr-v3', os = 'ubuntu-18.04'): number {
  const s = parseScenario(
    `name: overcommit
host: { cpu: i7-6700K, cores: ${cores} }
hypervisor: { policy: ${policy} }
guests:
  - { os: ${os}, count: 2, vcpus: 2, phases: [{ phase: build, work: 4s }] }
duration: until-complete
maxDuration: 60s
`,
    'overcommit.yaml',
  );
  return runScenario(s).results.variants[0].totals.phaseSeconds.build;
}

test('host cores are a shared resource: 4 vCPUs on 2 cores take about twice as long as on 4 cores', () => {
  const roomy = build(4);
  const tight = build(2);
  assert.ok(roomy > 1.9 && roomy < 2.3, `4 cores: ${roomy} s for 2 s of work per vCPU`);
  assert.ok(tight / roomy > 1.8 && tight / roomy < 2.2, `2 cores: ${tight} s`);
});

test('time spent in exits is host time taken from the guest: %cr8 exits slow a Windows build under bhyve-12.1', () => {
  const shadowed = build(4, 'bhyve-tpr-v3', 'windows-10-1909');
  const exiting = build(4, 'bhyve-12.1', 'windows-10-1909');
  assert.ok(exiting > shadowed * 1.1, `12.1 ${exiting} s vs v3 ${shadowed} s`);
});

test('interrupt latency is measured arrival -> delivery and lands in the histogram', () => {
  const s = parseScenario(
    `name: latency
host: { cpu: i7-2620M, cores: 4 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: install, work: 2s }] }
duration: until-complete
maxDuration: 60s
matrix:
  policy: [bhyve-tpr-v1, bhyve-tpr-v3]
`,
    'latency.yaml',
  );
  const [v1, v3] = runScenario(s).results.variants.map((v) => v.totals.interruptLatency);
  for (const h of [v1, v3]) {
    assert.equal(
      h.counts.reduce((a, b) => a + b, 0),
      h.count,
    );
    assert.ok(h.count > 100 && h.sumNs > 0);
  }
  assert.ok(
    v1.sumNs / v1.count > (v3.sumNs / v3.count) * 2,
    'without thresholds a masked DPC request waits for the next exit',
  );
});
