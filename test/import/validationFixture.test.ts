/**
 * A validation case that names a fixture holds the fixture's numbers: the AMD AVIC case's 2021-02-03
 * table (published.avicRtc) is test/fixtures/reports/perf-amd-nbsp-kechenlu-2021.txt, as import reads it.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';
import { parsePerfKvmStat } from '../../src/import/perfKvmStat.js';
import { loadValidationCase, VALIDATION_DIR } from '../../src/validation/load.js';

describe('validation case kvm-windows-avic-rtc-kechenlu-2021 and its fixture', () => {
  it('source.fixture is the 2021-02-03 table: every row, count and time as the case publishes it', () => {
    const c = loadValidationCase(join(VALIDATION_DIR, 'kvm-windows-avic-rtc-kechenlu-2021.yaml'));
    assert.equal(c.source.fixture, 'test/fixtures/reports/perf-amd-nbsp-kechenlu-2021.txt');
    const r = parsePerfKvmStat(readFileSync(join(REPO_ROOT, c.source.fixture), 'utf8'), c.source.fixture);
    const pub = c.published.avicRtc as {
      rows: Record<string, number[]>;
      totalSamples: number;
      totalHandledTimeUs: number;
    };
    assert.equal(r.totalSamples, pub.totalSamples);
    assert.equal(r.totalTimeNs, Math.round(pub.totalHandledTimeUs * 1000));
    assert.deepEqual(
      Object.fromEntries(
        r.rows.map((x) => [
          x.name,
          [x.samples, x.samplesPercent, x.timePercent, x.minNs! / 1000, x.maxNs! / 1000, x.avgNs! / 1000],
        ]),
      ),
      pub.rows,
    );
  });
});
