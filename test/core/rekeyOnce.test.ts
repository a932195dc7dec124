/**
 * rekeyonce (issue #16): on an overcommitted host every share change (a halt or a wake-up while the
 * runnable vCPUs outnumber the cores) re-keys the other running vCPUs (HostSimulation.shareChanged,
 * docs/MODEL.md section 3, sharebooks). advanceTo defers those re-keys to the end of the event, one per
 * marked vCPU (flushRekeys). Deferral is exact: run in lockstep with the immediate re-keys
 * (deferRekeys off), every word of the host and its machine, the heap's members and keys and the PRNG
 * streams are equal after every event. A dropped mark leaves a vCPU keyed at its old-share due time:
 * its heap key differs at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostSimulation } from '../../src/core/engine/host.js';
import { firstHost } from '../support/hosts.js';

/** matrix.yaml's overcommitted host (test/fixtures/scenarios/good/matrix.yaml): 21 vCPUs on 4 cores. */
const MATRIX_LIKE = `name: rekey-once
host: { cpu: i7-2620M, cores: 4 }
hypervisor: { policy: bhyve-tpr-v1 }
guests:
  - os: windows-10-1909
    count: 10
    vcpus: 2
    phases:
      - { phase: boot, duration: 1s }
      - { phase: build, work: 2m }
  - { os: ubuntu-18.04, name: linux, memory: 1GiB }
duration: 10s
`;

/** The engine's private loop, as advanceTo runs it, one event at a time. */
interface Loop {
  heap: { key: Float64Array; pos: Int32Array; size: number; peek(): number };
  deferring: boolean;
  deferRekeys: boolean;
  rekeyCount: number;
  processVcpu(v: number): void;
}

type Words = Record<string, ArrayLike<number> | number>;

/** The typed arrays and numbers of `o` (not the re-key list, whose order is the deferral's own). */
function words(o: object, skip: ReadonlySet<string>): Words {
  const out: Words = {};
  for (const [k, x] of Object.entries(o)) {
    if (skip.has(k)) continue;
    if (ArrayBuffer.isView(x) && !(x instanceof DataView)) out[k] = x as unknown as ArrayLike<number>;
    else if (typeof x === 'number') out[k] = x;
  }
  return out;
}

const SKIP_HOST = new Set(['rekeyMark', 'rekeyList', 'rekeyCount', 'deferRekeys', 'deferring']);
/** The machine's identity (a serial number per machine built), not state. */
const SKIP_MACHINE = new Set(['machineKey', 'apicCostFrom', 'apicCostMask']);

function assertSame(a: HostSimulation, b: HostSimulation, event: number): void {
  const wa = {
    ...words(a, SKIP_HOST),
    ...prefixed('m.', words(a.machine, SKIP_MACHINE)),
    ...prefixed('rng.', words(a.rng, new Set())),
  };
  const wb = {
    ...words(b, SKIP_HOST),
    ...prefixed('m.', words(b.machine, SKIP_MACHINE)),
    ...prefixed('rng.', words(b.rng, new Set())),
  };
  assert.deepEqual(Object.keys(wa), Object.keys(wb));
  for (const k of Object.keys(wa)) {
    const x = wa[k];
    const y = wb[k];
    if (typeof x === 'number') {
      assert.ok(
        typeof y === 'number' && Object.is(x, y),
        `event ${event}: ${k} ${x} vs ${typeof y === 'number' ? y : 'an array'}`,
      );
      continue;
    }
    const ya = y as ArrayLike<number>;
    for (let i = 0; i < x.length; i++)
      if (!Object.is(x[i], ya[i])) assert.fail(`event ${event}: ${k}[${i}] immediate ${x[i]}, deferred ${ya[i]}`);
  }
  // The heap: the same members at the same keys (its array's layout may differ; ties go by index).
  const ha = (a as unknown as Loop).heap;
  const hb = (b as unknown as Loop).heap;
  assert.equal(ha.size, hb.size, `event ${event}: heap size`);
  for (let v = 0; v < a.n; v++) {
    assert.equal(ha.pos[v] >= 0, hb.pos[v] >= 0, `event ${event}: vCPU ${v} in the heap`);
    if (ha.pos[v] >= 0)
      assert.ok(Object.is(ha.key[v], hb.key[v]), `event ${event}: vCPU ${v} keyed ${ha.key[v]} vs ${hb.key[v]}`);
  }
}

function prefixed(p: string, w: Words): Words {
  const out: Words = {};
  for (const [k, x] of Object.entries(w)) out[p + k] = x;
  return out;
}

/** One event of advanceTo's loop on `h` (its deferral on or off), before `until`; false when none is left. */
function step(h: HostSimulation, until: number): boolean {
  const l = h as unknown as Loop;
  const v = l.heap.peek();
  if (v < 0 || !(l.heap.key[v] < until)) return false;
  l.deferring = l.deferRekeys;
  h.now = l.heap.key[v];
  h.machine.clockNs = h.now;
  l.processVcpu(v);
  h.events++;
  l.deferring = false;
  return true;
}

test('deferred re-keys (once per event) equal the immediate ones word for word after every event, overcommitted host', () => {
  const immediate = firstHost(MATRIX_LIKE, 'rekey-once.yaml');
  const deferred = firstHost(MATRIX_LIKE, 'rekey-once.yaml');
  (immediate as unknown as Loop).deferRekeys = false;
  assert.equal((deferred as unknown as Loop).deferRekeys, true);
  assert.ok(immediate.n > 4 * 5, `${immediate.n} vCPUs on 4 cores`);
  assertSame(immediate, deferred, 0);
  // Events in which the deferral did something (a share change marked a vCPU): flushRekeys ran, so
  // rekeyCount is back at 0 after the event; counted by wrapping the private method.
  let flushes = 0;
  const d = deferred as unknown as { flushRekeys(): void };
  const flush = d.flushRekeys.bind(deferred);
  d.flushRekeys = () => {
    flushes++;
    flush();
  };
  const until = 1e9;
  let events = 0;
  for (;;) {
    const a = step(immediate, until);
    const b = step(deferred, until);
    assert.equal(a, b, `event ${events}: one host ran out of events`);
    if (!a) break;
    events++;
    assertSame(immediate, deferred, events);
  }
  assert.ok(flushes > 1000, `${flushes} events with deferred re-keys in ${events}`);
  // advanceTo's own end (every vCPU advanced to the bound, each advance an event for the re-keys).
  immediate.deferRekeys = false;
  immediate.advanceTo(2e9);
  deferred.advanceTo(2e9);
  assertSame(immediate, deferred, events + 1);
  assert.equal(immediate.events, deferred.events);
});
