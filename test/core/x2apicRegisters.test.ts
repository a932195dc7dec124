/**
 * The x2APIC register table in one home (src/core/apic/registers.ts X2APIC_REGISTERS, SDM vol. 3A
 * "x2APIC Register Address Space", table "Local APIC Register Address Map Supported by x2APIC"):
 * the MSR numbers agree with the xAPIC offsets, every user of the table (the #GP rule, the
 * hypervisors' MSR bitmaps, the machine's RDMSR / WRMSR) agrees with it for every MSR of
 * 0x800-0x8FF, and no other source file writes an x2APIC MSR number.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  ApicOffset,
  X2apicAccess,
  X2apicMsr,
  offsetToX2apicMsr,
  x2apicAccessFaults,
  x2apicMsrAccess,
  x2apicMsrExists,
  x2apicMsrReadOnly,
  x2apicMsrWriteOnly,
} from '../../src/core/apic/registers.js';
import { x2apicReadPassedThrough } from '../../src/core/hypervisor/vmcs.js';
import type { PolicyName } from '../../src/core/hypervisor/policy.js';
import { runScript } from '../../src/core/script/runScript.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { AMD_AVIC, DESKTOP, SERVER } from '../support/profiles.js';
import { buildMachine } from '../support/machines.js';
import { RDMSR, WRMSR } from '../support/ops.js';

const SRC = 'SDM vol. 3A "x2APIC Register Address Space", table "Local APIC Register Address Map Supported by x2APIC"';
const ALL_MSRS = Array.from({ length: X2apicMsr.Last - X2apicMsr.Base + 1 }, (_, i) => X2apicMsr.Base + i);
const hex = (n: number): string => `0x${n.toString(16)}`;

test(`[${SRC}: MSR = 0x800 + (offset >> 4)] every x2APIC MSR the xAPIC map also names is at its offset's MSR`, () => {
  const offsets = ApicOffset as Readonly<Record<string, number>>;
  const alias: Readonly<Record<string, string>> = { Icr: 'IcrLow' };
  let compared = 0;
  for (const [name, msr] of Object.entries(X2apicMsr)) {
    const offset = offsets[alias[name] ?? name];
    if (offset === undefined) continue;
    assert.equal(msr, offsetToX2apicMsr(offset), name);
    compared++;
  }
  assert.ok(compared >= 20, `${compared} names compared`);
  // The ones only the MSR map names: the range ends and the last of the IRRs.
  assert.equal(X2apicMsr.Irr7, X2apicMsr.Irr0 + 7);
  assert.equal(X2apicMsr.Base, offsetToX2apicMsr(0));
});

test(`[${SRC}] the table's predicates and the #GP rule agree with the access column for every MSR`, () => {
  for (const msr of [...ALL_MSRS, X2apicMsr.Base - 1, X2apicMsr.Last + 1]) {
    const access = x2apicMsrAccess(msr);
    const at = hex(msr);
    assert.equal(x2apicMsrExists(msr), access !== X2apicAccess.NONE, at);
    assert.equal(x2apicMsrReadOnly(msr), access === X2apicAccess.READ, at);
    assert.equal(x2apicMsrWriteOnly(msr), access === X2apicAccess.WRITE, at);
    assert.equal(x2apicAccessFaults(true, msr, false), (access & X2apicAccess.READ) === 0, `RDMSR ${at}`);
    assert.equal(x2apicAccessFaults(true, msr, true), (access & X2apicAccess.WRITE) === 0, `WRMSR ${at}`);
    assert.equal(x2apicAccessFaults(false, msr, false), true, `RDMSR ${at} in xAPIC mode`);
    assert.equal(x2apicAccessFaults(false, msr, true), true, `WRMSR ${at} in xAPIC mode`);
  }
  // Rows of the table, spot-checked against the manual's text.
  assert.equal(x2apicMsrAccess(0x809), X2apicAccess.NONE, 'APR: no x2APIC MSR');
  assert.equal(x2apicMsrAccess(0x80e), X2apicAccess.NONE, 'DFR: no x2APIC MSR');
  assert.equal(x2apicMsrAccess(0x831), X2apicAccess.NONE, 'ICR high: part of the 64-bit ICR');
  assert.equal(x2apicMsrAccess(0x82f), X2apicAccess.READ_WRITE, 'LVT CMCI');
  assert.equal(x2apicMsrAccess(0x827), X2apicAccess.READ, 'IRR7');
  assert.equal(x2apicMsrAccess(0x83f), X2apicAccess.WRITE, 'SELF IPI');
});

test('[bhyve vmx_allow_x2apic_msrs; KVM vmx_update_msr_bitmap_x2apic] the MSR bitmaps pass through reads of readable registers only, never the current count', () => {
  for (const msr of ALL_MSRS) {
    const readable = (x2apicMsrAccess(msr) & X2apicAccess.READ) !== 0;
    if (x2apicReadPassedThrough('bhyve', msr)) assert.ok(readable, `bhyve passes ${hex(msr)} through`);
    if (readable)
      assert.equal(x2apicReadPassedThrough('kvm', msr), msr !== X2apicMsr.TimerCurrentCount, `KVM ${hex(msr)}`);
  }
  // bhyve's list (guest_msr_ro): all of ISR/TMR/IRR and the LVTs but CMCI; not TPR, PPR, CMCI.
  for (let msr = X2apicMsr.Isr0; msr <= X2apicMsr.Irr7; msr++) assert.ok(x2apicReadPassedThrough('bhyve', msr));
  for (let msr = X2apicMsr.LvtTimer; msr <= X2apicMsr.LvtError; msr++) assert.ok(x2apicReadPassedThrough('bhyve', msr));
  for (const msr of [X2apicMsr.Tpr, X2apicMsr.Ppr, X2apicMsr.LvtCmci, X2apicMsr.TimerCurrentCount])
    assert.equal(x2apicReadPassedThrough('bhyve', msr), false, hex(msr));
});

const SETUPS: readonly { label: string; profile: typeof SERVER; policy: PolicyName }[] = [
  { label: 'bhyve-12.1 (CR8 exiting)', profile: DESKTOP, policy: 'bhyve-12.1' },
  { label: 'bhyve-tpr-v3 (APICv, x2APIC-mode virtualization)', profile: SERVER, policy: 'bhyve-tpr-v3' },
  { label: 'kvm (APICv)', profile: SERVER, policy: 'kvm' },
  { label: 'kvm (AMD)', profile: AMD_AVIC, policy: 'kvm' },
];

test(`[${SRC}: #GP(0) for a nonexistent register, a WRMSR of a read-only one or a RDMSR of a write-only one] the machine's RDMSR and WRMSR fault where the table says, on every path`, () => {
  for (const su of SETUPS) {
    for (const msr of ALL_MSRS) {
      const access = x2apicMsrAccess(msr);
      const read = runScript(buildMachine({ ...su, x2apic: true }), [RDMSR(msr)]);
      assert.equal(
        read[0].fault,
        (access & X2apicAccess.READ) === 0 ? '#GP' : undefined,
        `${su.label}: RDMSR ${hex(msr)}`,
      );
      const write = runScript(buildMachine({ ...su, x2apic: true }), [WRMSR(msr, 0)]);
      assert.equal(
        write[0].fault,
        (access & X2apicAccess.WRITE) === 0 ? '#GP' : undefined,
        `${su.label}: WRMSR ${hex(msr)}`,
      );
    }
  }
});

/** The .ts files below `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('[one home] no source file but apic/registers.ts writes an x2APIC MSR number (0x800-0x8FF) in its code', () => {
  const home = join('src', 'core', 'apic', 'registers.ts');
  const found: string[] = [];
  for (const file of sources(join(REPO_ROOT, 'src'))) {
    const rel = relative(REPO_ROOT, file);
    if (rel === home) continue;
    // Code only: comments may quote the manual's numbers.
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    for (const m of code.matchAll(/\b0x8[0-9a-f]{2}\b/gi)) found.push(`${rel}: ${m[0]}`);
  }
  assert.deepEqual(found, [], 'name them by X2apicMsr (apic/registers.ts)');
});
