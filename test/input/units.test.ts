import { inspect } from 'node:util';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  formatDurationNs,
  formatSeconds,
  parseDurationNs,
  parseSecondsNs,
  parseSizeBytes,
} from '../../src/input/units.js';

function ok(r: ReturnType<typeof parseDurationNs>): number {
  assert.ok(r.ok, `expected ok, got ${JSON.stringify(r)}`);
  return r.value;
}

describe('durations', () => {
  it('parses every unit to integer nanoseconds', () => {
    assert.equal(ok(parseDurationNs('500ms')), 500e6);
    assert.equal(ok(parseDurationNs('30s')), 30e9);
    assert.equal(ok(parseDurationNs('5m')), 300e9);
    assert.equal(ok(parseDurationNs('1.5h')), 5400e9);
    assert.equal(ok(parseDurationNs('2d')), 172800e9);
    assert.equal(ok(parseDurationNs('250us')), 250e3);
    assert.equal(ok(parseDurationNs('7ns')), 7);
    assert.equal(ok(parseDurationNs('0.1s')), 100e6);
    assert.equal(ok(parseDurationNs('1e3ms')), 1e9);
    assert.equal(ok(parseDurationNs(' 2 s ')), 2e9);
  });

  it('reads bare numbers and unit-less strings as seconds', () => {
    assert.equal(ok(parseDurationNs(90)), 90e9);
    assert.equal(ok(parseDurationNs(0.25)), 250e6);
    assert.equal(ok(parseDurationNs('12')), 12e9);
    assert.equal(ok(parseDurationNs(0)), 0);
  });

  it('rejects negatives, NaN, infinities, unknown units and other types with expected/found', () => {
    for (const bad of [
      '-1s',
      -5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '5 years',
      '1.2.3s',
      's',
      '',
      'NaN',
      true,
      null,
      [],
      {},
    ]) {
      const r = parseDurationNs(bad);
      assert.equal(r.ok, false, `accepted ${inspect(bad)}`);
      if (!r.ok) {
        assert.ok(r.expected.length > 0);
        assert.ok(r.found.length > 0);
      }
    }
    const neg = parseDurationNs('-30s');
    assert.deepEqual(neg, { ok: false, expected: 'a non-negative duration', found: '"-30s"' });
    const frac = parseDurationNs('0.5ns');
    assert.equal(frac.ok, false);
    if (!frac.ok) assert.match(frac.expected, /whole number of nanoseconds/);
  });

  it('round-trips whole milliseconds (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 * 86400 * 1000 }), (ms) => {
        const r = parseDurationNs(`${ms}ms`);
        return r.ok && r.value === ms * 1e6 && Number.isSafeInteger(r.value);
      }),
    );
  });

  it('never throws and only returns non-negative safe integers (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.double(), fc.integer()), (v) => {
        const r = parseDurationNs(v);
        return !r.ok || (Number.isSafeInteger(r.value) && r.value >= 0);
      }),
    );
  });

  it('formats durations for messages', () => {
    assert.equal(formatDurationNs(5400e9), '1.5h');
    assert.equal(formatDurationNs(30e9), '30s');
    assert.equal(formatDurationNs(7), '7ns');
  });
});

describe('sizes', () => {
  it('parses binary and decimal units to bytes', () => {
    assert.equal(ok(parseSizeBytes('4GiB')), 4 * 1024 ** 3);
    assert.equal(ok(parseSizeBytes('512MiB')), 512 * 1024 ** 2);
    assert.equal(ok(parseSizeBytes('1GB')), 1e9);
    assert.equal(ok(parseSizeBytes('2KiB')), 2048);
    assert.equal(ok(parseSizeBytes('1.5KiB')), 1536);
    assert.equal(ok(parseSizeBytes('3TB')), 3e12);
    assert.equal(ok(parseSizeBytes(4096)), 4096);
    assert.equal(ok(parseSizeBytes('100')), 100);
    assert.equal(ok(parseSizeBytes('7B')), 7);
  });

  it('rejects negatives, NaN, fractions of a byte and unknown units', () => {
    for (const bad of ['-1GiB', -1, Number.NaN, '0.5B', 1.5, '4 gigs', '4gib', '4Gb', 'GiB', false]) {
      assert.equal(parseSizeBytes(bad).ok, false, `accepted ${String(bad)}`);
    }
    const r = parseSizeBytes('4 gigs');
    assert.ok(!r.ok && r.found === '"4 gigs"' && /GiB/.test(r.expected));
  });
});

describe('exact decimal seconds', () => {
  it('shows an event time to the whole ns below it (engine times carry fractions of a ns)', () => {
    const table: [number, string][] = [
      [0, '0'],
      [1_500_000_001, '1.500000001'],
      [599_049_081.0963429, '0.599049081'],
      [2_000_000_000.75, '2'],
      [12_000_431_207.5, '12.000431207'],
    ];
    for (const [ns, text] of table) assert.equal(formatSeconds(ns), text, `${ns}`);
  });

  it('reads back to the whole ns below the time, so replay --at that text includes the event', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (whole, f) => {
        const t = whole + f;
        assert.equal(parseSecondsNs(formatSeconds(t)), Math.floor(t));
      }),
    );
  });
});
