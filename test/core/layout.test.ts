/**
 * The per-vCPU state layout (src/core/vcpu/layout.ts): every field lies inside F.STRIDE and no two
 * overlap, so a field added past the end cannot silently spill into the next vCPU's words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, ISRVEC_STK_SIZE } from '../../src/core/vcpu/layout.js';
import { FIELDS } from '../support/enums.js';

/** Words of the multi-word fields; every other field is one word. */
const WIDTH: Readonly<Partial<Record<keyof typeof FIELDS, number>>> = {
  IRR: 8,
  ISR: 8,
  TMR: 8,
  PIR: 8,
  EOI_EXIT: 8,
  STK: ISRVEC_STK_SIZE + 1,
};

test('[vcpu/layout.ts] every field of F lies inside F.STRIDE, without overlaps', () => {
  const stride: number = F.STRIDE;
  const owner = new Array<string | undefined>(stride);
  for (const [name, at] of Object.entries(FIELDS) as [keyof typeof FIELDS, number][]) {
    const width = WIDTH[name] ?? 1;
    for (let w = at; w < at + width; w++) {
      assert.ok(w < stride, `${name} word ${w} is outside F.STRIDE ${stride}`);
      assert.equal(owner[w], undefined, `${name} overlaps ${owner[w]} at word ${w}`);
      owner[w] = name;
    }
  }
});
