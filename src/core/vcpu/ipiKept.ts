/**
 * IPI sends found to leave the sender's key words alone (TabulatedInstructions.sendIpi's rehint):
 * one table per thread, direct-mapped by (machine, vCPU, interned state id), since a vCPU sends from
 * several states in turn (the install's two vCPUs from 4-6 each: docs/perf/engine30.md, E4 and E14).
 * An entry holds the send's target and context (vector, target halted) and the tables' generation
 * (transitions.ts txEpoch) its id belongs to. A collision costs a comparison, never a wrong answer.
 */
const enum Ik {
  MACHINE = 0,
  VCPU = 1,
  ID = 2, // the interned state id + 1 the send started from (0: none)
  TARGET = 3,
  CONTEXT = 4, // vector | 256 if the target was halted
  EPOCH = 5,
  SIZE = 6,
}
const ENTRIES = 4096; // a power of 2: the slot is the hash's top 12 bits
const kept = new Int32Array(ENTRIES * Ik.SIZE);

function slotOf(machine: number, v: number, id: number): number {
  return ((Math.imul(machine, 0x9e3779b1) + Math.imul(v, 0x85ebca6b) + Math.imul(id, 0xc2b2ae35)) >>> 20) * Ik.SIZE;
}

/** A send from state `id` of vCPU `v` of `machine` to `target` in `context` was found to leave the words alone. */
export function ipiKeptHas(
  machine: number,
  v: number,
  id: number,
  target: number,
  context: number,
  epoch: number,
): boolean {
  const k = slotOf(machine, v, id);
  return (
    kept[k + Ik.ID] === id + 1 &&
    kept[k + Ik.MACHINE] === machine &&
    kept[k + Ik.VCPU] === v &&
    kept[k + Ik.TARGET] === target &&
    kept[k + Ik.CONTEXT] === context &&
    kept[k + Ik.EPOCH] === epoch
  );
}

/** Remember that this send left the words alone (a comparison found them equal). */
export function ipiKeptStore(
  machine: number,
  v: number,
  id: number,
  target: number,
  context: number,
  epoch: number,
): void {
  const k = slotOf(machine, v, id);
  kept[k + Ik.MACHINE] = machine;
  kept[k + Ik.VCPU] = v;
  kept[k + Ik.ID] = id + 1;
  kept[k + Ik.TARGET] = target;
  kept[k + Ik.CONTEXT] = context;
  kept[k + Ik.EPOCH] = epoch;
}
