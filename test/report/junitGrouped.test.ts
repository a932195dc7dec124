/**
 * JUnit XML with a large fleet's violations and failed VM entries (src/report/summary.ts). It had a
 * testcase per violation and per failed vCPU, named after the guest ("invariant X (guest 41)"): 500
 * failures for one check over 250 guests, and a case CI tools saw as a new test whenever another
 * guest tripped. Now a case per variant and check (and per set of failed entry checks), named by the
 * check, with the count, the earliest and its reproducer in the message - as run's summary groups them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EntryFailureRecord, RunResults } from '../../src/results/types.js';
import { renderJunit } from '../../src/report/summary.js';
import { syntheticResults } from './fixtures.js';
import { checkXml } from './xmlCheck.js';
import { violationFleet } from '../support/violations.js';

function failedEntries(n: number): EntryFailureRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    host: i,
    vcpu: i % 2,
    guest: 'windows-10-1909',
    step: 0,
    vmInstructionError: 7,
    message: 'VM entry with invalid control field(s)',
    failedChecks: ['APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW'],
    details: [],
  }));
}

function withFleet(guests: number, entries: number, expected = false): RunResults {
  const base = syntheticResults();
  const v = base.variants[1];
  return {
    ...base,
    variants: [
      base.variants[0],
      {
        ...v,
        totals: {
          ...v.totals,
          violations: violationFleet({ guests, expected }),
          entryFailures: failedEntries(entries),
        },
      },
    ],
  };
}

const caseNames = (xml: string): string[] => [...xml.matchAll(/<testcase [^>]*name="([^"]*)"/g)].map((m) => m[1]);

test('JUnit: one case per check and per set of failed entry checks, whatever the fleet size', () => {
  const small = renderJunit(withFleet(50, 3));
  const large = renderJunit(withFleet(250, 40));
  checkXml(large);
  // The same tests in both runs: a CI tool follows them by name.
  assert.deepEqual(caseNames(large), caseNames(small));
  const names = caseNames(large);
  assert.equal(names.filter((n) => n.startsWith('invariant isr_isrvec_stk_out_of_sync')).length, 1, names.join('\n'));
  assert.equal(names.filter((n) => n.startsWith('VM entry')).length, 1, names.join('\n'));
  assert.ok(!names.some((n) => /guest \d/.test(n)), names.join('\n'));
  const failure = /<testcase [^>]*name="invariant isr_isrvec_stk_out_of_sync"[^>]*>\s*<failure message="([^"]*)"/.exec(
    large,
  )?.[1];
  assert.ok(failure, large.slice(0, 3000));
  assert.match(
    failure,
    /500 times on 250 guests; the earliest: ISR and isrvec_stk out of sync - guest windows-10-1909, host 20, vCPU 1, step 141/,
  );
  assert.match(
    failure,
    /reproduce with 1 guest\(s\) up to t=999000 ns: vmexit-lab replay s\.yaml --variant bhyve-tpr-v2 --guest 41/,
  );
  assert.match(failure, /state \{&quot;svi&quot;:169\}/, 'the earliest state (0x80 + 41)');
  const entry = /<testcase [^>]*name="VM entry: [^"]*"[^>]*>\s*<failure message="([^"]*)"/.exec(large)?.[1];
  assert.match(entry ?? '', /on 40 vCPUs of 40 guests \(the first: guest windows-10-1909, host 0, vCPU 0\)/);
  assert.match(entry ?? '', /APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW/);
  // The root's counts follow the cases, and are the same for 50 guests as for 250.
  const counts = (xml: string): string => /<testsuites [^>]*\b(tests="\d+" failures="\d+")/.exec(xml)?.[1] ?? '';
  assert.equal(counts(large), `tests="${names.length}" failures="${[...large.matchAll(/<failure /g)].length}"`);
  assert.equal(counts(large), counts(small));
});

test('JUnit: an expected check passes once, its count and reproducer in the case output', () => {
  const xml = renderJunit(withFleet(250, 0, true));
  const c = /<testcase [^>]*name="invariant isr_isrvec_stk_out_of_sync"[^>]*>\s*<system-out>([^<]*)<\/system-out>/.exec(
    xml,
  )?.[1];
  assert.ok(c, xml.slice(0, 3000));
  assert.match(c, /500 times on 250 guests; the earliest: .*\(expected\); reproduce: vmexit-lab replay s\.yaml/);
  assert.doesNotMatch(xml, /name="invariant isr_isrvec_stk_out_of_sync"[^>]*>\s*<failure/);
});
