/**
 * A scenario's variants (src/scenario/types.ts ScenarioVariant): every combination of its matrix
 * (matrix.ts expandMatrix; the single variant `base` without one) applied to the base values the
 * loader read (load.ts), with the checks that depend on the combination - a tunable of another
 * policy or of the other CPU vendor's module, VMX overrides on an AMD CPU, a host OS or tick rate
 * the hypervisor does not run on, kvm-clock under bhyve, the Windows timekeeping each policy offers
 * (timekeeping.ts) - each reported once, naming the variants it hits. The guests' x2APIC default
 * follows the policy (x2apicOffer.ts).
 */
import type { Node as YamlNode } from 'yaml';
import { TUNABLES, hypervisorOf, tunableVendor, type PolicyName, type TunableSpec } from '../core/hypervisor/policy.js';
import type { VmcsOverrides } from '../core/vcpu/machine.js';
import { x2apicOfferedByDefault } from '../core/hypervisor/x2apicOffer.js';
import { DEFAULT_HOST_OS, HOST_OS_OF, hostTickProblem } from '../model/hostOs.js';
import type { Field, Reader } from '../input/reader.js';
import { defaultsX2apic, type GuestDraft } from './guests.js';
import type { HostDraft } from './host.js';
import { resolveTimekeeping } from './timekeeping.js';
import { MATRIX_TUNABLE_PREFIX, expandMatrix, type MatrixAxis } from './matrix.js';
import type { GuestSpec, ScenarioVariant } from './types.js';

/** A tunable as read, from hypervisor.tunables or a matrix axis, with where it was written. */
export interface TunableEntry {
  readonly name: string;
  readonly value: number;
  readonly spec: TunableSpec;
  readonly keyNode: YamlNode;
  readonly fromMatrix: boolean;
}

/** The base values the variants start from: what the loader read outside the matrix (`host:`, host.ts). */
export interface VariantBase extends HostDraft {
  readonly basePolicy: PolicyName | undefined;
  readonly baseTunables: readonly TunableEntry[];
  readonly vmcs: VmcsOverrides | undefined;
  readonly vmcsField: Field | undefined;
  readonly guests: readonly GuestDraft[];
}

/** The variants of the matrix `axes` on `base`; undefined when any has a problem (reported to `r`). */
export function scenarioVariants(
  r: Reader,
  axes: readonly MatrixAxis[],
  base: VariantBase,
): ScenarioVariant[] | undefined {
  const combos = expandMatrix(axes);
  const out: ScenarioVariant[] = [];
  let ok = true;
  const names = new Set<string>();
  // Problems that depend on the combination are reported once, naming the variants they hit.
  const problems = new Map<string, { node: YamlNode; message: string; variants: string[] }>();
  const problem = (node: YamlNode, message: string, variant: string): void => {
    const key = `${node.range?.[0] ?? 0}:${message}`;
    const p = problems.get(key) ?? { node, message, variants: [] };
    p.variants.push(variant);
    problems.set(key, p);
  };
  for (const c of combos) {
    if (names.has(c.name)) {
      r.error(axes[0].keyNode, `two matrix combinations are both named "${c.name}"`);
      ok = false;
      continue;
    }
    names.add(c.name);
    const cpu = c.picks.get('cpu')?.profile ?? base.baseCpu;
    const policy = (c.picks.get('policy')?.value as PolicyName | undefined) ?? base.basePolicy;
    const coresPick = c.picks.get('cores')?.value as number | undefined;
    if (cpu === undefined || policy === undefined) {
      ok = false;
      continue;
    }
    const cores = coresPick ?? base.baseCores ?? cpu.threads;
    const tunables: Record<string, number> = {};
    const entries: TunableEntry[] = [...base.baseTunables];
    for (const axis of axes) {
      if (!axis.key.startsWith(MATRIX_TUNABLE_PREFIX)) continue;
      const tname = axis.key.slice(MATRIX_TUNABLE_PREFIX.length);
      const spec = TUNABLES.find((t) => t.name === tname)!;
      entries.push({
        name: tname,
        value: c.picks.get(axis.key)!.value as number,
        spec,
        keyNode: axis.keyNode,
        fromMatrix: true,
      });
    }
    for (const t of entries) {
      if (!t.spec.policies.includes(policy)) {
        problem(
          t.keyNode,
          `tunable "${t.name}" does not apply to policy ${policy}; it is a tunable of ${t.spec.policies.join(', ')}`,
          c.name,
        );
        ok = false;
        continue;
      }
      const module = tunableVendor(t.name);
      if (module !== null && module !== cpu.vendor) {
        problem(
          t.keyNode,
          `tunable "${t.name}" is read only on ${module === 'intel' ? 'Intel (VMX)' : 'AMD (SVM)'} hosts; ${cpu.id} is ${cpu.vendor === 'intel' ? 'an Intel' : 'an AMD'} CPU, where it would change nothing`,
          c.name,
        );
        ok = false;
        continue;
      }
      tunables[t.name] = t.value;
    }
    if (base.vmcs !== undefined && cpu.vendor !== 'intel') {
      problem(base.vmcsField!.key, `hypervisor.vmcs overrides VMX controls, but ${cpu.id} is an AMD CPU (SVM)`, c.name);
      ok = false;
    }
    if (base.hostOs !== undefined) {
      const hv = hypervisorOf(policy);
      if (!HOST_OS_OF[hv].includes(base.hostOs)) {
        problem(
          base.hostOsField!.key,
          `host.os ${base.hostOs} does not run ${hv === 'kvm' ? 'KVM' : 'bhyve'} (policy ${policy}); ${hv === 'kvm' ? 'KVM' : 'bhyve'} runs on ${HOST_OS_OF[hv].join(' or ')}`,
          c.name,
        );
        ok = false;
      }
    }
    if (base.hostTickHz !== undefined) {
      const os = base.hostOs ?? DEFAULT_HOST_OS[hypervisorOf(policy)];
      const why = hostTickProblem('host.tickHz', base.hostTickHz, os, policy);
      if (why !== undefined) {
        problem(base.hostTickHzField!.node ?? base.hostTickHzField!.key, why, c.name);
        ok = false;
      }
    }
    const x2apic = c.picks.get('x2apic')?.value as boolean | undefined;
    const enl = c.picks.get('enlightenments');
    const enlNode = axes.find((a) => a.key === 'enlightenments')?.keyNode;
    for (const d of base.guests)
      if (d.spec.kind === 'modelled' && d.spec.clocksource === 'kvm-clock' && policy !== 'kvm') {
        problem(
          d.clocksourceNode!,
          `bhyve offers no kvm-clock (policy ${policy}); use tsc, acpi_pm or hpet, or policy kvm`,
          c.name,
        );
        ok = false;
      }
    const guests = base.guests.map((d): GuestSpec => {
      const offered = x2apic ?? (defaultsX2apic(d) ? x2apicOfferedByDefault(policy) : d.spec.x2apic);
      const g = offered === d.spec.x2apic ? d.spec : { ...d.spec, x2apic: offered };
      if (g.kind !== 'modelled' || d.timekeeping === undefined) return g;
      const tk = resolveTimekeeping(policy, g.os, d.timekeeping, enl?.list, enl?.node ?? enlNode, (node, message) =>
        problem(node, message, c.name),
      );
      return tk === undefined ? g : { ...g, timekeeping: tk };
    });
    if (problems.size > 0) ok = false;
    out.push({
      name: c.name,
      params: c.params,
      host: {
        cpu,
        cores,
        count: base.hostCount,
        ...(base.hostOs !== undefined ? { os: base.hostOs } : {}),
        ...(base.hostTickHz !== undefined ? { tickHz: base.hostTickHz } : {}),
      },
      hypervisor: { policy, tunables, ...(base.vmcs !== undefined ? { vmcs: base.vmcs } : {}) },
      guests,
    });
  }
  for (const p of problems.values()) {
    const which =
      axes.length === 0
        ? ''
        : ` (variant${p.variants.length === 1 ? '' : 's'} ${p.variants.map((v) => `"${v}"`).join(', ')})`;
    r.error(p.node, `${p.message}${which}`);
  }
  return ok ? out : undefined;
}
