import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { POLICY_NAMES, TUNABLES } from '../../core/hypervisor/policy.js';
import { HV_ENLIGHTENMENTS, WINDOWS_KVM_DEFAULT_ENLIGHTENMENTS } from '../../core/hypervisor/hyperv.js';
import { LINUX_CLOCKSOURCES, defaultLinuxClocksource } from '../../core/guests/linuxClock.js';
import {
  DEFAULT_HOST_OS,
  HOST_OS_NAMES,
  HOST_OS_OF,
  HOST_TICK_HZ_CHOICES,
  MAX_HOST_TICK_HZ,
  MIN_HOST_TICK_HZ,
} from '../../model/hostOs.js';
import { WORK_PHASES } from '../../scenario/phases.js';
import { PHASE_NAMES } from '../../scenario/types.js';
import { loadCpuCatalog } from '../../profiles/catalog.js';
import { loadModelData, REPO_ROOT } from '../../model/data.js';
import { loadScenarioFile } from '../../scenario/load.js';
import { ExitStatus, type CliIo, commandArgs, refuseOption, unknownName } from '../io.js';
import { summarizeApicCapabilities } from './cpus.js';

/**
 * What each policy is, for a reader who knows bhyve and KVM but not this project's names: the
 * bhyve-tpr-* are the revisions of review D22942 ("Untangle TPR shadowing and APIC
 * virtualization", docs/SOURCES.md 1.3), v3 the one committed; their rules are docs/MODEL.md
 * section 2's table.
 */
export const POLICY_DESCRIPTIONS: Readonly<Record<(typeof POLICY_NAMES)[number], string>> = {
  'bhyve-12.1':
    'bhyve of FreeBSD 12.1: the TPR shadow only together with APICv, so on a CPU without APICv every %cr8 access exits',
  'bhyve-tpr-v1': 'review D22942, revision 1: the TPR shadow whenever the CPU has it, no TPR threshold',
  'bhyve-tpr-v2':
    'D22942 revision 2: adds the TPR threshold, but syncs the PPR after every exit also with virtual-interrupt delivery: the "ISR and isrvec_stk out of sync" panic on APICv CPUs',
  'bhyve-tpr-v3':
    'D22942 revision 3, the one committed ("Untangle TPR shadowing and APIC virtualization"): TPR shadow and threshold (not for x2APIC guests), PPR synced only when interrupts are processed',
  kvm: 'Linux KVM (kvm_intel, kvm_amd): FlexPriority TPR shadow, APICv or AVIC, PAUSE-loop exiting, halt polling',
};

const LIST_USAGE = `Usage: vmexit-lab list [scenarios|cpus|guests|policies|tunables|hosts] [--json]

List what scenarios can name: the bundled scenario library, CPU profiles (with their TPR shadow and
APICv or AVIC), guest models with their phases and per-OS guest keys (Windows enlightenments, hpet,
referenceTscPage; Linux clocksource), hypervisor policies, what each is (bhyve 12.1, the revisions
of review D22942, KVM) and their tunables ('tunables' lists the policies too), and the host OSes
each runs on with their clock ticks (host.os, host.tickHz; 'policies' lists them too, 'hosts'
alone). Without an argument, lists everything.

Options:
  --json       machine-readable output (the same lists, with every field)
  -h, --help   show this help

Exit status: 0 listed, 2 an unknown KIND or option.

Examples:
  vmexit-lab list
  vmexit-lab list policies
  vmexit-lab list hosts
  vmexit-lab list scenarios --json
`;

export function scenarioFiles(dir = join(REPO_ROOT, 'scenarios')): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.yaml') || name.endsWith('.yml')) out.push(p);
    }
  };
  walk(dir);
  return out;
}

export async function listCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(io, 'list', LIST_USAGE, args, { json: { type: 'boolean' } });
  if (typeof parsed === 'number') return parsed;
  const asked = parsed.positionals[0] ?? 'all';
  // Tunables belong to policies: 'list tunables' lists the policies with theirs.
  const what = asked === 'tunables' ? 'policies' : asked;
  const kinds = ['scenarios', 'cpus', 'guests', 'policies', 'tunables', 'hosts'];
  if (what !== 'all' && !kinds.includes(what)) return refuseOption(io, 'list', unknownName('kind', what, kinds));
  const result: Record<string, unknown> = {};
  if (what === 'all' || what === 'scenarios') {
    result.scenarios = scenarioFiles().map((f) => {
      const s = loadScenarioFile(f);
      return {
        file: relative(REPO_ROOT, f),
        name: s.name,
        description: s.description,
        variants: s.variants.map((v) => v.name),
      };
    });
  }
  if (what === 'all' || what === 'cpus') {
    result.cpus = loadCpuCatalog().map((p) => {
      const caps = summarizeApicCapabilities(p);
      return {
        id: p.id,
        model: p.model,
        vendor: p.vendor,
        microarchitecture: p.microarchitecture,
        // What sets the profiles apart for TPR and interrupt exits ('vmexit-lab cpus' has each control).
        tprShadow: caps.tprShadow,
        apicv: caps.virtualInterruptDelivery,
        avic: caps.avic,
      };
    });
  }
  if (what === 'all' || what === 'guests') {
    result.guests = [...loadModelData().guestModels.values()].map((m) => ({
      os: m.os,
      family: m.family,
      usesCr8: m.usesCr8,
      timerHz: m.timer.hz,
    }));
  }
  if (what === 'all' || what === 'guests') {
    result.phases = PHASE_NAMES.map((p) => ({ phase: p, takesWork: WORK_PHASES.includes(p) }));
    result.guestKeys = {
      windows: {
        enlightenments: [...HV_ENLIGHTENMENTS],
        defaultUnderKvm: [...WINDOWS_KVM_DEFAULT_ENLIGHTENMENTS],
        hpetDefaultUnderKvm: false,
        referenceTscPageDefault: true,
      },
      linux: {
        clocksource: [...LINUX_CLOCKSOURCES],
        default: { kvm: defaultLinuxClocksource('kvm'), bhyve: defaultLinuxClocksource('bhyve') },
      },
    };
  }
  // The host OSes come with the policies (each runs under some), and alone with 'hosts' (host.os: it was an unknown kind).
  if (what === 'all' || what === 'policies' || what === 'hosts') {
    const tickHz = loadModelData().costModel.hostTickHz;
    result.hostOs = HOST_OS_NAMES.map((os) => ({
      os,
      hypervisors: (['bhyve', 'kvm'] as const).filter((hv) => HOST_OS_OF[hv].includes(os)),
      defaultFor: (['bhyve', 'kvm'] as const).filter((hv) => DEFAULT_HOST_OS[hv] === os),
      tickHz: tickHz[os],
      tickHzChoices: HOST_TICK_HZ_CHOICES[os] ?? 'any',
    }));
  }
  if (what === 'all' || what === 'policies') {
    result.policies = POLICY_NAMES.map((p) => ({
      name: p,
      description: POLICY_DESCRIPTIONS[p],
      tunables: TUNABLES.filter((t) => t.policies.includes(p)).map((t) => ({
        name: t.name,
        default: t.default,
        readOnly: t.readOnly,
        description: t.description,
      })),
    }));
  }
  if (parsed.values.json) {
    io.out(JSON.stringify(result, null, 2));
    return ExitStatus.OK;
  }
  const lines: string[] = [];
  if (result.scenarios) {
    lines.push('Scenarios:');
    for (const s of result.scenarios as { file: string; description: string; variants: string[] }[])
      lines.push(
        `  ${s.file}  ${s.description.replace(/\s+/g, ' ').trim()}${s.variants.length > 1 ? ` [${s.variants.join(', ')}]` : ''}`,
      );
  }
  if (result.cpus) {
    lines.push("CPU profiles ('vmexit-lab cpus' lists each one's APIC virtualization controls):");
    for (const c of result.cpus as {
      id: string;
      model: string;
      tprShadow: boolean | null;
      apicv: boolean | null;
      avic: boolean | null;
    }[]) {
      const apic =
        c.avic !== null
          ? c.avic
            ? 'AVIC'
            : 'no AVIC'
          : `${c.tprShadow ? 'TPR shadow' : 'no TPR shadow'}, ${c.apicv ? 'APICv' : 'no APICv'}`;
      lines.push(`  ${c.id.padEnd(18)} ${c.model} (${apic})`);
    }
  }
  if (result.guests) {
    lines.push('Guest models:');
    for (const g of result.guests as { os: string; family: string; usesCr8: boolean; timerHz: number }[])
      lines.push(
        `  ${g.os.padEnd(22)} ${g.family}, ${g.usesCr8 ? 'IRQL in %cr8' : 'TPR untouched after boot'}, ${g.timerHz} Hz clock`,
      );
  }
  if (result.phases) {
    const phases = result.phases as { phase: string; takesWork: boolean }[];
    const names = (work: boolean): string =>
      phases
        .filter((p) => p.takesWork === work)
        .map((p) => p.phase)
        .join(', ');
    lines.push(`Phases: ${names(false)} (duration); ${names(true)} (work or duration)`);
    lines.push('Guest keys by OS:');
    lines.push(
      `  Windows under KVM: enlightenments (none, or a list of ${HV_ENLIGHTENMENTS.join(', ')}; default ${WINDOWS_KVM_DEFAULT_ENLIGHTENMENTS.join(', ')}), hpet (default false), referenceTscPage (default true); bhyve refuses them`,
    );
    lines.push(
      `  Linux: clocksource ${LINUX_CLOCKSOURCES.join(' | ')} (default ${defaultLinuxClocksource('kvm')} under KVM, ${defaultLinuxClocksource('bhyve')} under bhyve, which has no kvm-clock)`,
    );
  }
  if (result.policies) {
    lines.push('Policies:');
    for (const p of result.policies as {
      name: string;
      description: string;
      tunables: { name: string; default: number; readOnly: boolean }[];
    }[]) {
      lines.push(`  ${p.name.padEnd(13)} ${p.description}`);
      if (p.tunables.length)
        lines.push(
          `  ${''.padEnd(13)} tunables: ${p.tunables.map((t) => `${t.name}${t.readOnly ? ' (read-only)' : `=${t.default}`}`).join(', ')}`,
        );
    }
  }
  if (result.policies)
    lines.push(
      '  (kvm_intel.* and hw.vmm.vmx.* tunables act on Intel hosts, kvm_amd.* on AMD hosts, kvm.* on both; set for a CPU of the other vendor they are refused)',
    );
  if (result.hostOs) {
    lines.push('Host OS (host.os; host.tickHz another tick rate):');
    for (const h of result.hostOs as {
      os: string;
      hypervisors: string[];
      defaultFor: string[];
      tickHz: number;
      tickHzChoices: number[] | 'any';
    }[]) {
      const choices =
        h.tickHzChoices === 'any'
          ? `any rate ${MIN_HOST_TICK_HZ}..${MAX_HOST_TICK_HZ}`
          : `${h.tickHzChoices.join(', ')} Hz`;
      lines.push(
        `  ${h.os.padEnd(8)} ${h.hypervisors.join(', ')}${h.defaultFor.length ? ' (default)' : ''}, tick ${h.tickHz} Hz; tickHz: ${choices}`,
      );
    }
  }
  io.out(lines.join('\n'));
  return ExitStatus.OK;
}
