import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { perSecond } from '../../src/cli/importText.js';

// The fit table's rates read as every other table of the CLI: grouped, one decimal; two significant
// digits under 1 per second, where one decimal would print a reason the report has as 0.0.
describe("import's fit table figures", () => {
  const cases: [number, string][] = [
    [0, '0.0'],
    [0.017, '0.017'],
    [0.5, '0.50'],
    [1, '1.0'],
    [11.54, '11.5'],
    [283.483, '283.5'],
    [1239.5, '1,239.5'],
    [54002.04, '54,002.0'],
    [54013.94, '54,013.9'],
    [1234567.89, '1,234,567.9'],
  ];
  for (const [x, text] of cases) it(`${x} per second prints as ${text}`, () => assert.equal(perSecond(x), text));
});
