/**
 * Property tests (fast-check, fixed seed, bounded runs) over random guest-operation sequences
 * (test/support/randomCases.ts):
 *  1. no violation is ever recorded (the machine itself records `delivered_at_or_below_ppr` when a
 *     delivery breaks SDM 10.8.3.1 "Task and Processor Priorities");
 *  2. after each op, class(PPR) >= class(TPR) (SDM 10.8.3.1);
 *  3. checkAllInvariants() finds nothing (bhyve vlapic.c ISR vs isrvec_stk on the software path; SDM
 *     29.2 SVI = highest VISR, RVI >= highest VIRR with VID);
 *  4. determinism: the same ops on two fresh machines give identical traces.
 * The exact fast-forwards' properties are in fastForward.test.ts and fastForwardWords.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { runScript } from '../../src/core/script/runScript.js';
import { priorityClass } from '../../src/core/apic/vectors.js';
import { SERVER } from '../support/profiles.js';
import { SEED, configMachine, apply, realistic, caseArb, describeCase, type Config } from '../support/randomCases.js';

test('[SDM 10.8.3.1 "Task and Processor Priorities"; bhyve vlapic.c vlapic_update_ppr checks; SDM 29.2 "Evaluation and Delivery of Virtual Interrupts"] random op sequences under every correct policy: no violation, PPR class >= TPR class after every op, invariants hold', () => {
  fc.assert(
    fc.property(caseArb(60), (c) => {
      const m = configMachine(c.config, c.vcpus, c.x2apic);
      m.beginStep(0);
      m.launch();
      assert.deepEqual(m.entryFailures, [], describeCase(c));
      for (let i = 0; i < c.ops.length; i++) {
        m.beginStep(i + 1);
        const op = realistic(m, c.ops[i]);
        apply(m, op);
        for (let v = 0; v < c.vcpus; v++) {
          assert.ok(
            priorityClass(m.archPpr(v)) >= priorityClass(m.tpr(v)),
            `${describeCase(c)} step ${i + 1} vCPU ${v}`,
          );
        }
        assert.deepEqual(
          m.violations.map((x) => `${x.check}: ${x.message}`),
          [],
          `${describeCase(c)} after step ${i + 1} ${JSON.stringify(op)}`,
        );
        assert.equal(
          m.checkAllInvariants(),
          0,
          `${describeCase(c)} invariants after step ${i + 1}: ${JSON.stringify(m.violations)}`,
        );
      }
      for (let v = 0; v < c.vcpus; v++) assert.ok(!m.isStopped(v));
    }),
    { seed: SEED, numRuns: 1500 },
  );
});

test('[SDM 10.8.3.1; SDM 29.1.2 "TPR Virtualization"] bhyve review v2 is the one policy the properties reject (APICv + software PPR sync)', () => {
  // The same generator finds the seed's panic under v2 on the APICv profile.
  const out = fc.check(
    fc.property(caseArb(40), (c) => {
      const config: Config = { label: 'bhyve-tpr-v2/SERVER', profile: SERVER, policy: 'bhyve-tpr-v2' };
      const m = configMachine(config, c.vcpus, false);
      m.beginStep(0);
      m.launch();
      for (let i = 0; i < c.ops.length; i++) {
        m.beginStep(i + 1);
        apply(m, realistic(m, c.ops[i]));
      }
      return m.violations.length === 0;
    }),
    { seed: SEED, numRuns: 200 },
  );
  assert.ok(out.failed, 'a counterexample exists');
});

test('[determinism] the same ops on two fresh machines give identical traces and state', () => {
  fc.assert(
    fc.property(caseArb(40), (c) => {
      const a = configMachine(c.config, c.vcpus, c.x2apic);
      const b = configMachine(c.config, c.vcpus, c.x2apic);
      const ta = runScript(a, c.ops);
      const tb = runScript(b, c.ops);
      assert.deepEqual(ta, tb);
      assert.deepEqual(Array.from(a.s), Array.from(b.s));
      assert.deepEqual(Array.from(a.exitCounts), Array.from(b.exitCounts));
      assert.equal(JSON.stringify(ta), JSON.stringify(tb));
    }),
    { seed: SEED, numRuns: 300 },
  );
});
