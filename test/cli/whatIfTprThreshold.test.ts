/**
 * what-if for a bhyvectl report of a Windows guest (the %cr8 writer) on bhyve 12.1, asked about
 * bhyve with the committed TPR change: a developer read "bhyve-tpr-v3: no TPR_BELOW_THRESHOLD" as an
 * answer, while a workload profile carries that exit as measured (docs/IMPORT.md) and the measured
 * host, with no TPR threshold, measured none. Now a note says which configurations program a threshold
 * the measured host did not, that the rows lack those exits, and where a modelled guest shows them.
 * And the reason table's "other" column says what it sums. Both absent before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

/** A Windows-like profile measured on bhyve 12.1 (no TPR shadow without APICv), with enough reasons to fill the table. */
const PROFILE = `workloadProfile: 1
name: win-like
os: windows-10-1909
vcpus: 2
perGuestSecond: { cr8Writes: 60000, mmio: 300, io: 100, hlts: 200, ipis: 30, cpuid: 10, msrReads: 40, msrWrites: 80 }
opaquePerGuestSecond: { INTERRUPT_WINDOW: 30, XSETBV: 2, VMCALL: 3, RDTSC: 1.5, WBINVD: 0.5 }
interruptsPerSecond: 400
source: { cpu: i7-2620M, policy: bhyve-12.1 }
`;

test('what-if: configurations with a TPR threshold the measured host lacked are named; "other" is explained', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-whatif-tpr-'));
  try {
    const file = join(dir, 'win.yaml');
    writeFileSync(file, PROFILE);
    const io = capture();
    const args = [
      'what-if',
      file,
      '--cpu',
      'i7-2620M,xeon-e5-2667v4',
      '--policy',
      'bhyve-12.1,bhyve-tpr-v1,bhyve-tpr-v3,kvm',
    ];
    assert.equal(await main([...args, '--sim-seconds', '1'], io), 0, io.stderr.join(''));
    const text = io.stdout.join('').replace(/\n {2}/g, ' ');
    const note = /note: ([^\n]*): TPR_BELOW_THRESHOLD [^\n]*/.exec(text);
    assert.ok(note, text);
    // bhyve-tpr-v3 and KVM program one on the Core i7 (TPR shadow, no APICv); v1 never does; on the
    // Xeon, virtual-interrupt delivery replaces it.
    assert.equal(note[1], 'bhyve-tpr-v3, kvm on i7-2620M (2 configurations)');
    assert.match(
      note[0],
      /the measured configuration \(bhyve-12\.1\/i7-2620M\) programs none, so the profile carries no rate for these exits \(opaque, docs\/IMPORT\.md\) and these rows lack the ones the guest's %cr8 writes would cause; a modelled guest \(os: windows-10-1909\) in a scenario shows them \(docs\/TUTORIAL\.md section 1\)/,
    );
    // The reason table is 100 columns wide: the smallest reasons go to "other", which says which they are.
    assert.match(text, /\nconfiguration +cr8 [^\n]* other\n/);
    assert.match(text, /\nother = hypercall \+ rdtsc \+ xsetbv \(no room for their columns; --wide shows them\)\.\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
