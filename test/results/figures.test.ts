/** How figures read (src/results/figures.ts): one formatter, Intl.NumberFormat, integers without decimals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FIGURE_FORMAT,
  changeText,
  factorText,
  formatFigure,
  nsText,
  percentText,
  secondsUnitText,
} from '../../src/results/figures.js';

test('formatFigure: whole numbers never get decimals; grouped from 1,000; at most two decimals from 1', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [2, '2'],
    [95, '95'],
    [60, '60'],
    [-7, '-7'],
    [1393, '1,393'],
    [20_000_000_000, '20,000,000,000'],
    [1383.4, '1,383'],
    [4.07094, '4.07'],
    [2.5, '2.5'],
    [87.43, '87.43'],
    [0.6, '0.6'],
    [0.0123456, '0.0123'],
    [0.000339, '0.000339'],
    [3.7e-6, '3.7E-6'],
    [Infinity, 'Infinity'],
  ];
  for (const [n, text] of cases) assert.equal(formatFigure(n), text, String(n));
  for (let i = -1000; i <= 100_000; i += 997) assert.doesNotMatch(formatFigure(i), /\./, `${i} has no decimals`);
});

test('the formats are Intl.NumberFormat options a browser can build (the HTML report charts use them)', () => {
  for (const band of FIGURE_FORMAT.bands) {
    const f = new Intl.NumberFormat(FIGURE_FORMAT.locale, band.options);
    assert.equal(f.format(band.from * 1.5), formatFigure(band.from * 1.5));
  }
  assert.equal(new Intl.NumberFormat(FIGURE_FORMAT.locale, FIGURE_FORMAT.tiny).format(3.7e-6), formatFigure(3.7e-6));
});

test('units: seconds, ns, percentages, factors and changes read with their unit', () => {
  assert.equal(nsText(2500), '2.5 µs');
  assert.equal(nsText(2_776_088), '2.776 ms');
  assert.equal(nsText(800), '800 ns');
  assert.equal(secondsUnitText(3.7e-6), '3.7 µs');
  assert.equal(secondsUnitText(1383), '1,383 s');
  assert.equal(secondsUnitText(0), '0 s');
  assert.equal(percentText(0.0419), '4.19 %');
  assert.equal(percentText(1), '100 %');
  assert.equal(factorText(6.163), '6.16×');
  assert.equal(factorText(541.3), '541×');
  assert.equal(changeText(-100), '-100 %');
  assert.equal(changeText(21.83), '+21.8 %');
});
