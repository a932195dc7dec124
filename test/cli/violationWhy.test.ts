/**
 * The seed's panic from the output alone: `trace` and `replay` print a violation with the LAPIC state
 * ({"isr":[129],"isrvecStk":[],"svi":129,...}) and bhyve's message, and a developer new to the model
 * had to find docs/MODEL.md to learn what the two lists are and why they differ. Now `replay`'s
 * violation record carries "why", and `trace` prints it on stderr (its JSON Lines are pinned by
 * test/golden): the check's rule in bhyve's or the SDM's terms, read against the state (which vectors
 * are in service without a stack entry, that SVI shows the CPU delivered them). Absent before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

const WHY_81 =
  'ISR holds 129 (0x81) and isrvec_stk nothing: 129 (0x81) is in service without a stack entry. ' +
  "bhyve's vlapic pushes isrvec_stk only for the interrupts it injects itself (vlapic_intr_accepted); " +
  'SVI 129 (0x81) says the CPU delivered it by virtual-interrupt delivery, setting the ISR bit on the virtual-APIC page alone. ' +
  'vlapic_update_ppr compares the two and panics when they differ (sys/amd64/vmm/io/vlapic.c): ' +
  'bhyve-tpr-v2 runs it after every exit, also with virtual-interrupt delivery (docs/MODEL.md section 2, "The panic")';

test('trace: the seed panic script says why the check tripped, from the state, on stderr', async () => {
  const io = capture();
  assert.equal(await main(['trace', 'scenarios/seed/e5-2667v4-apicv-panic-script.yaml'], io), 0);
  // One record per io.out call (JSON Lines).
  const records = io.stdout
    .flatMap((chunk) => chunk.split('\n'))
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { variant: string; violations: { check: string; why?: string }[] });
  const tripped = records.filter((r) => r.violations.length > 0);
  assert.equal(tripped.length, 1);
  assert.equal(tripped[0].variant, 'bhyve-tpr-v2');
  // The records stay as they were (test/golden pins them); the reason is a line on stderr.
  assert.equal(tripped[0].violations[0].why, undefined);
  assert.deepEqual(io.stderr, [`why: bhyve-tpr-v2 step 4, vCPU 0, isr_isrvec_stk_out_of_sync: ${WHY_81}`]);
});

test("replay: the seed run's reproducer prints the violation with why", async () => {
  const io = capture();
  const args =
    'replay scenarios/seed/e5-2667v4-apicv-panic.yaml --variant bhyve-tpr-v2 --guest 1 --at 0.016483333 --only-guests 1 --seed 1';
  assert.equal(await main(args.split(' '), io), 0);
  const last = JSON.parse(
    io.stdout
      .flatMap((chunk) => chunk.split('\n'))
      .filter((l) => l !== '')
      .at(-1)!,
  ) as {
    violation: { check: string; why?: string };
  };
  assert.equal(last.violation.check, 'isr_isrvec_stk_out_of_sync');
  assert.match(
    last.violation.why ?? '',
    /^ISR holds 36 \(0x24\) and isrvec_stk nothing: 36 \(0x24\) is in service without a stack entry\. .* SVI 36 \(0x24\) says the CPU delivered it by virtual-interrupt delivery/,
  );
});
