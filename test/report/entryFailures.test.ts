/**
 * A failed VM entry as `run` reports it (src/report/entryFailures.ts): a developer who writes a
 * `hypervisor.vmcs` override the SDM's VM-entry checks refuse reads which check failed, in the
 * manual's words and with its section, where, and on how many vCPUs - once per variant, not once per
 * vCPU. Before: '  failed VM entry: VM entry with invalid control field(s) ["APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW"]'
 * repeated for every vCPU, with no wording, section, guest or vCPU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

// bhyve-tpr-v3 on an APICv Xeon programs virtual-interrupt delivery; clearing "use TPR shadow" under
// it is what SDM 26.2.1.1 refuses.
const SCENARIO = `name: no-tpr-shadow
host: { cpu: xeon-e5-2667v4, cores: 4 }
hypervisor:
  policy: bhyve-tpr-v3
  vmcs:
    procBased: { clear: [UseTprShadow] }
guests:
  - os: windows-10-1909
    count: 2
    vcpus: 2
    phases:
      - { phase: idle, duration: 1s }
duration: 1s
`;

test('run: a failed VM entry names the check, its SDM wording and section, where, and how many vCPUs, once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-entry-'));
  try {
    const file = join(dir, 'no-tpr-shadow.yaml');
    writeFileSync(file, SCENARIO);
    const io = capture();
    const junit = join(dir, 'junit.xml');
    assert.equal(await main(['run', '--quiet', '--workers', '1', '--junit', junit, file], io), 3);
    const lines = io.stdout.join('').split('\n');
    const failed = lines.filter((l) => l.includes('failed VM entry'));
    assert.deepEqual(failed, [
      '  failed VM entry on 4 vCPUs of 2 guests (the first: guest windows-10-1909#0, host 0, vCPU 0): VM-instruction error 7 (VM entry with invalid control field(s)): APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW - use TPR shadow = 0: virtualize x2APIC mode, APIC-register virtualization and virtual-interrupt delivery must be 0 (SDM 26.2.1.1 "VM-Execution Control Fields")',
    ]);
    const xml = readFileSync(junit, 'utf8');
    assert.match(
      xml,
      /failure message="failed VM entry on 4 vCPUs of 2 guests \(the first: [^)]*\): VM-instruction error 7 \(VM entry with invalid control field\(s\)\): APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW - use TPR shadow = 0: [^"]*SDM 26\.2\.1\.1/,
    );
    // One case for the four vCPUs (src/report/summary.ts groups as the summary does).
    assert.equal([...xml.matchAll(/<testcase /g)].length, 1, xml);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
