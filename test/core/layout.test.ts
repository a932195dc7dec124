/**
 * The per-vCPU state layout (src/core/vcpu/layout.ts): every field lies inside STRIDE and no two
 * overlap, so a field added past the end cannot silently spill into the next vCPU's words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, ISRVEC_STK_SIZE, STRIDE } from '../../src/core/vcpu/layout.js';

/** Words of the multi-word fields; every other field is one word. */
const WIDTH: Readonly<Partial<Record<keyof typeof F, number>>> = {
  IRR: 8,
  ISR: 8,
  TMR: 8,
  PIR: 8,
  EOI_EXIT: 8,
  STK: ISRVEC_STK_SIZE + 1,
};

test('[vcpu/layout.ts] every field of F lies inside STRIDE, without overlaps', () => {
  const owner = new Array<string | undefined>(STRIDE);
  for (const [name, at] of Object.entries(F) as [keyof typeof F, number][]) {
    const width = WIDTH[name] ?? 1;
    for (let w = at; w < at + width; w++) {
      assert.ok(w < STRIDE, `${name} word ${w} is outside STRIDE ${STRIDE}`);
      assert.equal(owner[w], undefined, `${name} overlaps ${owner[w]} at word ${w}`);
      owner[w] = name;
    }
  }
});
