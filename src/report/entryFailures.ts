/**
 * Failed VM entries as a hypervisor developer reads them: which vCPUs, the VM-instruction error, each
 * failed check by name with the manual's wording and section. A run prints one line per variant and
 * set of checks (a fleet whose policy the checks refuse fails every vCPU's first entry alike: one
 * line, with the count, instead of one per vCPU).
 */
import { EntryCheck } from '../core/vmx/entryChecks.js';
import type { EntryFailureRecord } from '../results/types.js';

/**
 * Where the Intel SDM (vol. 3C, chapter "VM Entries") states each check of src/core/vmx/entryChecks.ts:
 * the reserved-bit check on the VM-exit controls is in "VM-Exit Control Fields" (26.2.1.2), every other
 * one, the reserved bits of the execution controls included, in "VM-Execution Control Fields" (26.2.1.1).
 */
export function sdmSectionOfEntryCheck(check: string): string | undefined {
  if (!Object.hasOwn(EntryCheck, check)) return undefined;
  return check === 'EXIT_CONTROLS_RESERVED'
    ? 'SDM 26.2.1.2 "VM-Exit Control Fields"'
    : 'SDM 26.2.1.1 "VM-Execution Control Fields"';
}

/**
 * 'VM-instruction error 7 (VM entry with invalid control field(s)): CHECK - the manual's wording
 * (SDM section)', each failed check in turn.
 */
export function entryFailureText(f: EntryFailureRecord): string {
  const checks = f.failedChecks.map((c, i) => {
    const words = f.details[i];
    const section = sdmSectionOfEntryCheck(c);
    return `${c}${words !== undefined ? ` - ${words}` : ''}${section !== undefined ? ` (${section})` : ''}`;
  });
  return `VM-instruction error ${f.vmInstructionError} (${f.message}): ${checks.join('; ')}`;
}

export interface EntryFailureGroup {
  /** The first failure of the group, in results order. */
  readonly first: EntryFailureRecord;
  /** vCPUs whose entry failed with these checks, and their distinct guests (host/guest). */
  readonly vcpus: number;
  readonly guests: number;
}

/** A variant's failed entries grouped by what failed (message and checks), in order of first appearance. */
export function groupEntryFailures(list: readonly EntryFailureRecord[]): EntryFailureGroup[] {
  const groups = new Map<string, { first: EntryFailureRecord; vcpus: number; guests: Set<string> }>();
  for (const f of list) {
    const key = `${f.vmInstructionError} ${f.message} ${f.failedChecks.join(',')}`;
    const g = groups.get(key) ?? { first: f, vcpus: 0, guests: new Set<string>() };
    g.vcpus++;
    g.guests.add(`${f.host}/${f.guest}`);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => ({ first: g.first, vcpus: g.vcpus, guests: g.guests.size }));
}

/**
 * The summary's line for a group: 'failed VM entry on 2 vCPUs of 1 guest (the first: guest G, host H,
 * vCPU V): VM-instruction error 7 (...): CHECK - wording (SDM ...)'.
 */
export function entryFailureLine(g: EntryFailureGroup): string {
  const f = g.first;
  const where = `guest ${f.guest}, host ${f.host}, vCPU ${f.vcpu}`;
  const who =
    g.vcpus === 1
      ? ` (${where})`
      : ` on ${g.vcpus} vCPUs of ${g.guests} guest${g.guests === 1 ? '' : 's'} (the first: ${where})`;
  return `failed VM entry${who}: ${entryFailureText(f)}`;
}
