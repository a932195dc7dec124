/**
 * An idle vCPU's ISR end and its HLT as one machine operation (src/core/guests/isr.ts isrEnd,
 * Machine.eoiCr8IretHlt; issue #16). isrEnd fuses the HLT into the EOI + %cr8 write + IRET when the
 * vCPU then halts (idleAfterIsr, the one home of that rule), nothing was delivered or sent earlier in
 * the step, and - the operation's own test - the EOI, %cr8 write and IRET deliver nothing and send
 * nothing; otherwise the operation runs no HLT, returns 0, and the ISR end goes on as before (drain
 * the deliveries, ask idleAfterIsr, halt).
 * 1. Lockstep: two copies of each host, one with the fused operation, one with it split into
 *    eoiCr8Iret and a return of 0 (the unfused path: drainDeliveries, idleAfterIsr, halt), run event
 *    by event: after every event the machine's words, exit counts, counters, the step's counts, and
 *    the engine's words, guest counters, PRNG and event heap are the same bit for bit, and at every
 *    ISR end the fused operation ran its HLT exactly when the unfused path halted there.
 * 2. Whole runs: the fused operation (one table record) gives the totals of the unfused path and of
 *    eoiCr8Iret then hlt as two table operations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostState } from '../../src/core/engine/state.js';
import { GuestInstructions } from '../../src/core/vcpu/instructions.js';
import { Machine } from '../../src/core/vcpu/machine.js';
import { runScenario } from '../../src/run/runScenario.js';
import { parseScenario } from '../../src/scenario/load.js';
import { firstHost, ISR_FUSION_HOSTS } from '../support/hosts.js';
import { hostWords, wordsDiffer } from '../support/hostWords.js';

const HOSTS = ISR_FUSION_HOSTS;

type Op = (this: Machine, v: number, value: number) => number;

/** The unfused path: EOI + %cr8 write + IRET (one table operation), and no HLT (isrEnd halts by itself). */
const unfused: Op = function (v, value) {
  this.eoiCr8Iret(v, value);
  return 0;
};

/**
 * The HLT as its own table operation after eoiCr8Iret, under the fused operation's own test: the
 * composition GuestInstructions defines, which the table's one record (TabulatedInstructions) replaces.
 */
const twoOps: Op = function (v, value) {
  return GuestInstructions.prototype.eoiCr8IretHlt.call(this, v, value);
};

// ---------------------------------------------------------------- 1. lockstep, event by event

/** Which of the two hosts' words differ ('' none). */
function differ(a: HostState, b: HostState): string {
  return wordsDiffer(hostWords(a), hostWords(b));
}

for (const [name, yaml] of Object.entries(HOSTS)) {
  test(`${name}: fused and unfused ISR ends leave the same machine and engine state after every event, and the HLT is fused exactly where the vCPU halts`, () => {
    const text = `name: hltfusion\nseed: 5\n${yaml.trim()}\nduration: 1s\n`;
    const fused = firstHost(text, 'hltfusion.yaml');
    const split = firstHost(text, 'hltfusion.yaml');
    // The fused host's operation as it is, counted by what it returned.
    const own = (Machine.prototype as unknown as { eoiCr8IretHlt: Op }).eoiCr8IretHlt;
    const ran = [0, 0];
    (fused.machine as unknown as { eoiCr8IretHlt: Op }).eoiCr8IretHlt = function (v, value) {
      const r = own.call(this, v, value);
      ran[r]++;
      return r;
    };
    // The split host's: no HLT in it; isrEnd halts by the unfused path, which is the rule.
    let after = -1; // the vCPU whose split operation ran last, until its next HLT or the event's end
    let splitCalls = 0;
    let haltsAfter = 0;
    (split.machine as unknown as { eoiCr8IretHlt: Op }).eoiCr8IretHlt = function (v, value) {
      splitCalls++;
      after = v;
      return unfused.call(this, v, value);
    };
    const hlt = (Machine.prototype as unknown as { hlt: (this: Machine, v: number) => void }).hlt;
    split.machine.hlt = function (v: number): void {
      if (v === after) haltsAfter++;
      after = -1;
      hlt.call(this, v);
    };
    const heap = (fused as unknown as { heap: { key: Float64Array; size: number; peek(): number } }).heap;
    let events = 0;
    while (heap.size > 0) {
      const next = heap.key[heap.peek()];
      if (!(next < 1e9)) break;
      const before = [ran[1], haltsAfter];
      fused.advanceTo(next + 1e-3);
      split.advanceTo(next + 1e-3);
      after = -1;
      events++;
      const at = `after the event at ${next} ns`;
      assert.equal(differ(fused, split), '', `${at}: the hosts' words differ`);
      assert.equal(ran[1] - before[0], haltsAfter - before[1], `${at}: fused HLTs and halts after the ISR end`);
    }
    assert.ok(events > 1000, `${events} events`);
    assert.equal(ran[0] + ran[1], splitCalls);
    // Both sides met: ISR ends that halt, and ones whose EOI or IRET delivered an interrupt instead.
    assert.ok(ran[1] > 100, `${ran[1]} ISR ends with their HLT fused`);
    assert.ok(ran[0] > 0, `${ran[0]} fused ISR ends that delivered instead of halting`);
  });
}

// ---------------------------------------------------------------- 2. whole runs

/** Runs `yaml` with Machine.eoiCr8IretHlt replaced by `op`; its results and how often isrEnd called it. */
function runWith(yaml: string, op: Op): { totals: unknown; calls: number } {
  const proto = Machine.prototype as unknown as { eoiCr8IretHlt: Op };
  const own = Object.getOwnPropertyDescriptor(proto, 'eoiCr8IretHlt');
  let calls = 0;
  proto.eoiCr8IretHlt = function (v, value) {
    calls++;
    return op.call(this, v, value);
  };
  try {
    const s = parseScenario(`name: fused\nseed: 7\n${yaml.trim()}\nduration: 1s\n`, 'fused.yaml');
    return { totals: runScenario(s).results.variants.map((x) => x.totals), calls };
  } finally {
    if (own === undefined) delete (proto as Partial<typeof proto>).eoiCr8IretHlt;
    else Object.defineProperty(proto, 'eoiCr8IretHlt', own);
  }
}

const fusedOp: Op = (Machine.prototype as unknown as { eoiCr8IretHlt: Op }).eoiCr8IretHlt;

for (const [name, yaml] of Object.entries(HOSTS)) {
  test(`${name}: ISR ends with their HLT as one table operation give the results of the unfused path and of two operations`, () => {
    const one = runWith(yaml, fusedOp);
    const split = runWith(yaml, unfused);
    const two = runWith(yaml, twoOps);
    assert.ok(one.calls > 100, `${one.calls} ISR ends with the HLT fused`);
    assert.equal(split.calls, one.calls);
    assert.equal(two.calls, one.calls);
    assert.deepEqual(split.totals, one.totals);
    assert.deepEqual(two.totals, one.totals);
  });
}
