/**
 * stepOneHost (src/run/stepOneHost.ts): replay and run --timeline step their one host through it, and it
 * must step as runHosts does, or a replay would not reach the states the run reached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { loadModelData } from '../../src/model/data.js';
import { EPOCH_NS, runHosts } from '../../src/run/simulate.js';
import { stepOneHost } from '../../src/run/stepOneHost.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { EXIT_SLOT_COUNT } from '../../src/core/vcpu/exits.js';
import { firstHost } from '../support/hosts.js';

const data = loadModelData();

// Work done after about 7.x simulated seconds, mid-epoch: the host then idles on (timer exits) until
// the end of the second runHosts stops it at.
const BUILD = parseScenario(
  `name: build-until-complete
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: boot, duration: 1s }, { phase: build, work: 6s }] }
duration: until-complete
maxDuration: 1h
`,
  'build.yaml',
);

test('an until-complete host ends at the second runHosts ends it at, with the same exits', () => {
  const acc = new TotalsAccumulator();
  runHosts(BUILD, BUILD.variants[0], data, 0, 1, acc);

  const sim = firstHost(BUILD);
  const steps: number[] = [];
  const got = stepOneHost(
    sim,
    BUILD,
    Infinity,
    () => {},
    (t) => {
      steps.push(t);
      return 'go';
    },
  );
  assert.ok(got !== undefined);
  assert.equal(got.ended, true);
  assert.equal(got.t % EPOCH_NS, 0);
  assert.ok(sim.workDone());
  assert.deepEqual(
    steps,
    Array.from({ length: got.t / EPOCH_NS }, (_, i) => (i + 1) * EPOCH_NS),
  );
  const exits = Array.from({ length: EXIT_SLOT_COUNT }, (_, s) => {
    let n = 0;
    for (let v = 0; v < sim.n; v++) n += sim.machine.exitCount(v, s);
    return n;
  });
  assert.deepEqual(exits, Array.from(acc.exits));
  // One second less and the work is not done: it ended at the first second's end it could.
  const early = stepOneHost(
    firstHost(BUILD),
    BUILD,
    got.t - EPOCH_NS,
    () => {},
    () => 'go',
  );
  assert.deepEqual(early, { t: got.t - EPOCH_NS, ended: false });
});

test('the last step is cut at stop; "stop" ends the steps early, "abort" gives up', () => {
  const befores: number[] = [];
  const cut = stepOneHost(
    firstHost(BUILD),
    BUILD,
    2.5 * EPOCH_NS,
    (next) => befores.push(next),
    () => 'go',
  );
  assert.deepEqual(cut, { t: 2.5 * EPOCH_NS, ended: false });
  assert.deepEqual(befores, [EPOCH_NS, 2 * EPOCH_NS, 2.5 * EPOCH_NS]);
  const stopped = stepOneHost(
    firstHost(BUILD),
    BUILD,
    5 * EPOCH_NS,
    () => {},
    (t) => (t === 2 * EPOCH_NS ? 'stop' : 'go'),
  );
  assert.deepEqual(stopped, { t: 2 * EPOCH_NS, ended: false });
  assert.equal(
    stepOneHost(
      firstHost(BUILD),
      BUILD,
      5 * EPOCH_NS,
      () => {},
      () => 'abort',
    ),
    undefined,
  );
});
