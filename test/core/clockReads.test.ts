/**
 * A clock read's machine operation in one home (src/core/guests/clock.ts clockReadOp): a Windows
 * guest's reads (clockSetup) and a Linux clocksource's (linuxClock.ts linuxClockSetup) take it from
 * there, so a guest of either family reading the same clock device makes the same operation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClockRead, clockReadOp, clockSetup } from '../../src/core/guests/clock.js';
import { clocksourcesOffered, linuxClockSetup } from '../../src/core/guests/linuxClock.js';
import { HvMsr, hvFeatureBits } from '../../src/core/hypervisor/hyperv.js';
import { PM_TIMER_PORT_BHYVE, PM_TIMER_PORT_Q35 } from '../../src/core/hypervisor/platform.js';
import { resolvePolicy } from '../../src/core/hypervisor/policy.js';
import { RepeatOp } from '../../src/core/vcpu/machine.js';
import { loadModelData } from '../../src/model/data.js';
import { findCpuProfile, loadCpuCatalog } from '../../src/profiles/catalog.js';

const data = loadModelData();
const SERVER = findCpuProfile(loadCpuCatalog(), 'xeon-e5-2667v4');
const TRAITS = { kvm: resolvePolicy('kvm', SERVER, {}), bhyve: resolvePolicy('bhyve-tpr-v3', SERVER, {}) } as const;
const WIN = data.guestModels.get('windows-server-2019')!;
const LINUX = data.guestModels.get('ubuntu-18.04')!;
const HVS = ['kvm', 'bhyve'] as const;

test('[TLFS "Partition Reference Counter"; ACPI PM_TMR_BLK; HPET main counter] each clock read is one machine operation', () => {
  assert.deepEqual(clockReadOp(ClockRead.NONE, 'kvm'), { op: -1, arg: 0 });
  assert.deepEqual(clockReadOp(ClockRead.HV_MSR, 'kvm'), { op: RepeatOp.RDMSR, arg: HvMsr.TIME_REF_COUNT });
  assert.deepEqual(clockReadOp(ClockRead.HPET, 'kvm'), { op: RepeatOp.MMIO, arg: 0 });
  assert.deepEqual(clockReadOp(ClockRead.PM_TIMER, 'kvm'), { op: RepeatOp.IO, arg: PM_TIMER_PORT_Q35 });
  assert.deepEqual(clockReadOp(ClockRead.PM_TIMER, 'bhyve'), { op: RepeatOp.IO, arg: PM_TIMER_PORT_BHYVE });
});

test("[one home] a Windows guest's clock reads are clockReadOp's, for every enlightenment set, HPET and reference page", () => {
  const names = ['hv-time', 'hv-vapic', 'hv-synic', 'hv-stimer', 'hv-apicv'];
  const reads = new Set<ClockRead>();
  for (const hv of HVS) {
    for (let mask = 0; mask < 1 << names.length; mask++) {
      const hyperv = hvFeatureBits(names.filter((_, i) => (mask & (1 << i)) !== 0));
      for (const hpet of [false, true]) {
        for (const referenceTscPage of [false, true]) {
          const c = clockSetup(TRAITS[hv], WIN, { hyperv, hpet, referenceTscPage, stimerDirect: false });
          assert.deepEqual(
            { op: c.op, arg: c.arg },
            clockReadOp(c.read, hv),
            `${hv} ${hyperv} ${hpet} ${referenceTscPage}`,
          );
          reads.add(c.read);
        }
      }
    }
  }
  assert.equal(reads.size, 4, 'every ClockRead reached');
});

test("[one home] a Linux clocksource's reads are clockReadOp's: acpi_pm the PM timer, hpet the HPET, tsc and kvm-clock no exit", () => {
  const device = {
    tsc: ClockRead.NONE,
    'kvm-clock': ClockRead.NONE,
    acpi_pm: ClockRead.PM_TIMER,
    hpet: ClockRead.HPET,
  };
  for (const hv of HVS) {
    for (const cs of clocksourcesOffered(hv)) {
      const c = linuxClockSetup(hv, LINUX, cs);
      assert.deepEqual({ op: c.op, arg: c.arg }, clockReadOp(device[cs], hv), `${hv} ${cs}`);
    }
  }
  // The same device, the same operation, whichever guest reads it (KVM: Windows reads exit only there).
  const win = (hpet: boolean) =>
    clockSetup(TRAITS.kvm, WIN, { hyperv: 0, hpet, referenceTscPage: true, stimerDirect: false });
  const lin = (cs: 'acpi_pm' | 'hpet') => linuxClockSetup('kvm', LINUX, cs);
  assert.deepEqual([win(false).op, win(false).arg], [lin('acpi_pm').op, lin('acpi_pm').arg]);
  assert.deepEqual([win(true).op, win(true).arg], [lin('hpet').op, lin('hpet').arg]);
});
