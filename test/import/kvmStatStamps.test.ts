/**
 * kvm_stat -l logs whose time stamps cannot be a log's (found by test/fuzz/importers.test.ts): a day
 * that is no date, and rows out of order, gave a span of NaN or a negative one, and so rates of NaN
 * or below zero. kvm_stat stamps each row with datetime.now() as it logs it, so the stamps are real
 * and ascend.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseKvmStat } from '../../src/import/kvmStat.js';
import { ReportFormatError } from '../../src/import/report.js';

const BANNER = 'timestamp,kvm_exit,kvm_exit(HLT),kvm_userspace_exit(IO)';

function refusal(text: string): ReportFormatError {
  try {
    parseKvmStat(text, 'log.csv');
  } catch (e) {
    assert.ok(e instanceof ReportFormatError, String(e));
    return e;
  }
  assert.fail('accepted');
}

describe('kvm_stat log time stamps', () => {
  it('a stamp that is no date and time is refused at its position', () => {
    for (const bad of ['2024-03-00 10:00:06', '2024-02-30 10:00:06', '2024-03-05 24:00:06', '2024-13-05 10:00:06']) {
      const e = refusal(`${BANNER}\n2024-03-05 10:00:03,930,300,90\n${bad},900,290,90\n`);
      assert.equal(
        e.message,
        `log.csv:3:1: expected a time stamp YYYY-MM-DD HH:MM:SS of a real date and time, found "${bad}"`,
      );
    }
  });

  it('a row stamped before the row above it is refused (rows swapped when copied)', () => {
    const e = refusal(
      `${BANNER}\n2024-03-05 10:00:15,915,295,90\n2024-03-05 10:00:06,900,290,90\n2024-03-05 10:00:12,960,310,90\n`,
    );
    assert.equal(
      e.message,
      'log.csv:3:1: expected rows in the order kvm_stat logged them (line 2 is stamped 2024-03-05 10:00:15), found "2024-03-05 10:00:06"',
    );
  });

  it('in-order stamps (equal ones included) still give the span and rates', () => {
    const r = parseKvmStat(
      `${BANNER}\n2024-03-05 10:00:03,930,300,90\n2024-03-05 10:00:03,930,300,90\n2024-03-05 10:00:06,900,290,90\n`,
      'log.csv',
    );
    assert.equal(r.durationSeconds, 6);
    assert.ok(r.rows.every((row) => row.perSecond !== undefined && row.perSecond >= 0));
  });
});
