/**
 * Windows guests' Hyper-V enlightenments and clock hardware in a scenario (guest keys
 * `enlightenments`, `hpet`, `referenceTscPage`; matrix axis `enlightenments`), read with positions
 * and resolved per variant (docs/MODEL.md §4 "Windows under KVM"):
 *
 *   guests:
 *     - os: windows-10-1909
 *       enlightenments: [hv-vapic, hv-vpindex, hv-synic, hv-stimer, hv-time]   # or `none`
 *       hpet: false                 # the VM has an HPET (default false: Proxmox -no-hpet, libvirt present=no)
 *       referenceTscPage: false     # with hv-time: the guest does not enable the TSC page (default true)
 *
 * Under KVM a Windows guest that says nothing gets WINDOWS_KVM_DEFAULT_ENLIGHTENMENTS (what
 * virt-install gives a Windows VM; src/core/hypervisor/hyperv.ts) without an HPET. bhyve implements no enlightenment and always has an HPET (vmm.ko vhpet), so
 * a bhyve variant refuses enlightenments, `hpet: false` and `referenceTscPage`. Only Windows guests
 * take these keys (a Linux guest states its clock with `clocksource`, core/guests/linuxClock.ts;
 * FreeBSD reads kvm-clock or the TSC).
 */
import type { Node as YamlNode } from 'yaml';
import {
  HV_ENLIGHTENMENTS,
  WINDOWS_KVM_DEFAULT_ENLIGHTENMENTS,
  missingHvDependency,
  type HvEnlightenment,
} from '../core/hypervisor/hyperv.js';
import type { PolicyName } from '../core/hypervisor/policy.js';
import type { Reader, Val } from '../input/reader.js';
import type { GuestOsName, GuestTimekeepingSpec } from './types.js';

/** What a guest wrote, with the nodes errors point at. */
export interface TimekeepingDraft {
  readonly enlightenments?: { readonly list: readonly HvEnlightenment[]; readonly node: YamlNode };
  readonly hpet?: { readonly value: boolean; readonly node: YamlNode };
  readonly referenceTscPage?: { readonly value: boolean; readonly node: YamlNode };
}

/** The guest OS is a Windows model (the only ones that take these keys). */
export function isWindowsOs(os: GuestOsName): boolean {
  return os.startsWith('windows-');
}

/** The name of an enlightenment list in a variant name: `none` or the names joined with "+". */
export function enlightenmentsName(list: readonly string[]): string {
  return list.length === 0 ? 'none' : list.join('+');
}

/**
 * An enlightenment list: `none`, or a list of HV_ENLIGHTENMENTS without repeats whose QEMU
 * dependencies (HV_REQUIRES) are in the list too. Undefined after reporting a problem.
 */
export function readEnlightenments(r: Reader, v: Val, what: string): HvEnlightenment[] | undefined {
  const s = r.scalar(v);
  if (s !== undefined) {
    if (s.value === 'none') return [];
    return r.error(
      v,
      `wrong type for ${what}`,
      `a list of ${HV_ENLIGHTENMENTS.join(', ')}, or none`,
      r.describe(v.node),
    );
  }
  const items = r.seq(v, what, `a list of enlightenments, or none`);
  if (items === undefined) return undefined;
  const out: HvEnlightenment[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const e = r.oneOf(item, `${what}[${i}]`, HV_ENLIGHTENMENTS, 'enlightenment');
    if (e === undefined) ok = false;
    else if (out.includes(e)) {
      r.error(item, `${what} lists ${e} twice`);
      ok = false;
    } else out.push(e);
  });
  if (!ok) return undefined;
  items.forEach((item, i) => {
    const missing = missingHvDependency(out, out[i]);
    if (missing !== undefined) {
      r.error(
        item,
        `${out[i]} needs ${missing} (QEMU refuses to start the guest without it)`,
        `${what} with ${missing} as well`,
      );
      ok = false;
    }
  });
  return ok ? out : undefined;
}

/**
 * The timekeeping of a guest in a variant: resolved with the KVM defaults, undefined under bhyve or
 * for a non-Windows guest. `problem` reports what the policy cannot give (per variant).
 */
export function resolveTimekeeping(
  policy: PolicyName,
  os: GuestOsName,
  draft: TimekeepingDraft,
  axis: readonly HvEnlightenment[] | undefined,
  axisNode: YamlNode | undefined,
  problem: (node: YamlNode, message: string) => void,
): GuestTimekeepingSpec | undefined {
  if (!isWindowsOs(os)) return undefined;
  const enl = draft.enlightenments?.list ?? axis;
  if (policy !== 'kvm') {
    if (enl !== undefined && enl.length > 0)
      problem(
        draft.enlightenments?.node ?? axisNode!,
        `bhyve implements no Hyper-V enlightenments (policy ${policy}); give enlightenments: none or use policy kvm`,
      );
    if (draft.hpet !== undefined && !draft.hpet.value)
      problem(draft.hpet.node, `bhyve always gives a VM an HPET (vmm.ko vhpet); hpet: false needs policy kvm`);
    if (draft.referenceTscPage !== undefined)
      problem(draft.referenceTscPage.node, `referenceTscPage is a Hyper-V clock setting: it needs policy kvm`);
    return undefined;
  }
  const enlightenments = enl ?? WINDOWS_KVM_DEFAULT_ENLIGHTENMENTS;
  if (draft.referenceTscPage !== undefined && !enlightenments.includes('hv-time'))
    problem(draft.referenceTscPage.node, 'referenceTscPage applies with hv-time, which this guest does not have');
  return {
    enlightenments,
    hpet: draft.hpet?.value ?? false,
    referenceTscPage: draft.referenceTscPage?.value ?? true,
  };
}
