/**
 * What a validation case's setup says against what its scenario runs (src/validation/load.ts reads
 * both): the enlightenments the source states, the HPET of the Windows guests, a Linux clocksource.
 * A case whose scenario runs another setup than the one it names compares the model with a
 * measurement of something else, and nothing in the results would show it (issue #14, casewriter
 * round 2): each difference is refused at the setup item's position.
 */
import {
  HV_REQUIRES,
  hvApicAccessRecommended,
  hvFeatureBits,
  type HvEnlightenment,
} from '../core/hypervisor/hyperv.js';
import { hypervisorOf } from '../core/hypervisor/policy.js';
import { LINUX_CLOCKSOURCES, defaultLinuxClocksource } from '../core/guests/linuxClock.js';
import { enlightenmentsName, isWindowsOs } from '../scenario/timekeeping.js';
import { isLinuxOs, type ModelledGuestSpec, type Scenario } from '../scenario/types.js';
import type { Reader, Field } from '../input/reader.js';
import type { CaseSetup } from './types.js';

/**
 * An enlightenment list as the model acts on it: with the dependencies QEMU adds or requires
 * (HV_REQUIRES: hv-synic needs hv-vpindex, hv-stimer needs hv-synic and hv-time; a scenario cannot
 * leave them out), and without hv-vapic where the guest does not use its MSRs: beside hv-apicv
 * (the rule's one home is src/core/hypervisor/hyperv.ts hvApicAccessRecommended, which
 * src/core/guests/clock.ts asks too). Sorted, as a set.
 */
function asModelled(list: readonly HvEnlightenment[]): string {
  const out = new Set<HvEnlightenment>();
  const add = (e: HvEnlightenment): void => {
    if (out.has(e)) return;
    out.add(e);
    for (const d of HV_REQUIRES[e] ?? []) add(d);
  };
  list.forEach(add);
  if (!hvApicAccessRecommended(hvFeatureBits([...out]))) out.delete('hv-vapic');
  return [...out].sort().join('+');
}

/** Every modelled guest of every variant, with its variant's name and hypervisor. */
function guestsOf(scenario: Scenario): { variant: string; hypervisor: 'bhyve' | 'kvm'; g: ModelledGuestSpec }[] {
  return scenario.variants.flatMap((v) =>
    v.guests.flatMap((g) =>
      g.kind === 'modelled' ? [{ variant: v.name, hypervisor: hypervisorOf(v.hypervisor.policy), g }] : [],
    ),
  );
}

export function checkSetupAgainstScenario(
  r: Reader,
  setup: CaseSetup,
  scenario: Scenario,
  /** Where a setup item is written (the `setup:` mapping when the item is missing), for the diagnostics. */
  itemOf: (item: string) => Field,
): void {
  const guests = guestsOf(scenario);

  // Enlightenments the source states: the list of at least one guest (a Linux or bhyve guest has
  // none). An assumed list is the writer's choice and may differ (e.g. the model's KVM default).
  const stated = setup.enlightenments.stated;
  if (stated !== undefined && guests.length > 0) {
    const lists = guests.map((x) => x.g.timekeeping?.enlightenments ?? []);
    const want = asModelled(stated);
    if (!lists.some((l) => asModelled(l) === want)) {
      r.error(
        itemOf('enlightenments'),
        'setup.enlightenments.stated is not the list of a guest of the scenario',
        [...new Set(lists.map(enlightenmentsName))].join(' or '),
        enlightenmentsName(stated),
      );
    }
  }

  // The HPET, stated or assumed: what every variant's Windows guest has. Under bhyve a VM always
  // has one (vmm.ko vhpet; src/scenario/timekeeping.ts), under KVM the guest's `hpet:` says.
  const hpet = setup.hpet.stated ?? setup.hpet.assumed ?? null;
  if (hpet !== null) {
    const differ = guests.filter(
      (x) => isWindowsOs(x.g.os) && (x.g.timekeeping?.hpet ?? x.hypervisor !== 'kvm') !== hpet,
    );
    if (differ.length > 0) {
      r.error(
        itemOf('hpet'),
        "setup.hpet differs from the scenario's Windows guest",
        `hpet: ${String(!hpet)} in the scenario (variant ${[...new Set(differ.map((x) => x.variant))].join(', ')}${differ.some((x) => x.hypervisor !== 'kvm') ? ': bhyve always gives a VM an HPET' : ''})`,
        String(hpet),
      );
    }
  }

  // A Linux clocksource named as the scenario names it (kvm-clock, tsc, acpi_pm, hpet): what the
  // scenario's Linux guests read (their `clocksource:`, or the hypervisor's default). Prose is not read.
  const clock = setup.clockSource.stated ?? setup.clockSource.assumed;
  if (typeof clock === 'string' && (LINUX_CLOCKSOURCES as readonly string[]).includes(clock)) {
    const linux = guests.filter((x) => isLinuxOs(x.g.os));
    const used = linux.map((x) => x.g.clocksource ?? defaultLinuxClocksource(x.hypervisor));
    if (used.some((c) => c !== clock)) {
      r.error(
        itemOf('clockSource'),
        "setup.clockSource differs from the scenario's Linux guest",
        `${[...new Set(used)].join(' or ')} (the guest's clocksource: key, or the hypervisor's default)`,
        clock,
      );
    } else if (linux.length === 0) {
      r.error(
        itemOf('clockSource'),
        `setup.clockSource names a Linux clocksource, and the scenario has no Linux guest`,
        "the clock the scenario's guests read, in words (a Windows guest: hv-time, the HPET, the ACPI PM timer)",
        clock,
      );
    }
  }
}
