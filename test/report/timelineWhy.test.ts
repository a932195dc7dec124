/**
 * The seed's panic in Perfetto (`run --timeline`): the violation instant carried only bhyve's message,
 * vCPU and step, so the trace showed *that* the guest stopped, not why. Now its args hold the LAPIC
 * state at the violation and "why", the check's rule read against it (src/report/violationWhy.ts), as
 * `replay` prints them. Absent before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

test('run --timeline: the violation instant says why, with the state', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-timeline-why-'));
  try {
    const out = join(dir, 'trace.json');
    // The reproducer run prints: guest 1 (ubuntu-18.04) trips the check at 16.48 ms under bhyve-tpr-v2.
    const args = ['run', '--quiet', '--workers', '1', '--timeline', out, '--timeline-guest', '1'];
    const io = capture();
    await main([...args, '--timeline-window', '0.015..0.017', 'scenarios/seed/e5-2667v4-apicv-panic.yaml'], io);
    const trace = JSON.parse(readFileSync(out, 'utf8')) as {
      traceEvents: { name: string; args?: { why?: string; state?: { isr?: number[]; isrvecStk?: number[] } } }[];
    };
    const viol = trace.traceEvents.filter((e) => e.name === 'violation: isr_isrvec_stk_out_of_sync');
    assert.equal(viol.length, 1);
    assert.deepEqual(viol[0].args?.state?.isr, [36]);
    assert.deepEqual(viol[0].args?.state?.isrvecStk, []);
    assert.match(
      viol[0].args?.why ?? '',
      /^ISR holds 36 \(0x24\) and isrvec_stk nothing: .* bhyve-tpr-v2 runs it after every exit/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
