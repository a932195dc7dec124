/**
 * The guests of a scenario (`guests:`): modelled guests (an OS model and its phases), scripted
 * guests (src/scenario/script.ts) and workload-profile guests (src/scenario/workload.ts), read with
 * the input files' Reader into GuestSpecs (src/scenario/types.ts); a modelled guest's phases are read
 * by src/scenario/phases.ts. Part of the scenario loader (src/scenario/load.ts): problems go to its
 * DiagnosticSink with their positions.
 */
import { LINUX_CLOCKSOURCES, type LinuxClocksource } from '../core/guests/linuxClock.js';
import { isAbsolute, join } from 'node:path';
import type { Node as YamlNode } from 'yaml';
import { ScenarioError } from '../input/diagnostics.js';
import { fsErrorText, readInputText } from '../input/readBounded.js';
import { NotUtf8Error } from '../input/utf8.js';
import { optional, type Field, type Fields, type Reader, type Val } from '../input/reader.js';
import {
  DEFAULT_MEMORY_BYTES,
  MAX_FILE_BYTES,
  MAX_MEMORY_BYTES,
  MAX_TOTAL_GUESTS,
  MAX_NAME_LENGTH,
  MAX_VCPUS,
} from './limits.js';
import { setTwice, type MatrixAxis } from './matrix.js';
import { parsePhases } from './phases.js';
import { parseScript } from './script.js';
import {
  GUEST_OS_NAMES,
  type GuestSpec,
  type ModelledGuestSpec,
  type PhaseSpec,
  type ScriptedGuestSpec,
  type WorkloadProfile,
} from './types.js';
import { parseWorkloadProfile } from './workload.js';
import { isWindowsOs, readEnlightenments, type TimekeepingDraft } from './timekeeping.js';
import { isLinuxOs } from './types.js';

export const GUEST_KEYS = [
  'os',
  'name',
  'count',
  'vcpus',
  'memory',
  'x2apic',
  'phases',
  'script',
  'workload',
  'enlightenments',
  'hpet',
  'referenceTscPage',
  'clocksource',
] as const;
const TIMEKEEPING_KEYS = ['enlightenments', 'hpet', 'referenceTscPage'] as const;

/**
 * A guest's `name`, bounded as the scenario's (MAX_NAME_LENGTH): reports, run pages and per-guest
 * metrics repeat it; unbounded, a 400,000-character one made a 227 KB run page (docs/SERVICE.md
 * "Hostile input", the sixth pass).
 */
const GUEST_NAME_RE = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${MAX_NAME_LENGTH - 1}}$`);
const GUEST_NAME_EXPECTED = `a name of 1 to ${MAX_NAME_LENGTH} letters, digits, ".", "_" or "-" (starting with a letter or digit)`;

/**
 * Where a guest's name is said: the node, when it is written in the guest's own mapping, else the
 * mapping (a name or os merged in from an anchor, `<<: *win`, would put the "used twice" error of
 * every guest that merges it at the anchor, all at one place).
 */
function ownNode(node: YamlNode, guest: YamlNode): YamlNode {
  const [n, g] = [node.range, guest.range];
  return n && g && n[0] >= g[0] && n[0] < g[1] ? node : guest;
}

/** A guest as read, with what the loader checks across guests and variants. */
export interface GuestDraft {
  readonly spec: GuestSpec;
  /** Enlightenments and clock hardware as written (resolved per variant: src/scenario/timekeeping.ts). */
  readonly timekeeping?: TimekeepingDraft;
  readonly x2apicSet: boolean;
  readonly nameNode: YamlNode;
  /** Where `clocksource` was written (checked against the policy per variant). */
  readonly clocksourceNode?: YamlNode;
}

/** A Windows guest of an OS model (not a workload profile or a script): the one that takes enlightenments. */
export function isWindowsGuest(g: GuestDraft): boolean {
  return g.spec.kind === 'modelled' && g.spec.workload === undefined && isWindowsOs(g.spec.os);
}

/**
 * A guest of an OS model whose scenario does not say `x2apic`: it is offered x2APIC as its hypervisor
 * offers it by default (src/core/hypervisor/x2apicOffer.ts), resolved per variant. A workload profile
 * keeps its own LAPIC mode (what the measured guest used) and a script its written one (false).
 */
export function defaultsX2apic(g: GuestDraft): boolean {
  return g.spec.kind === 'modelled' && g.spec.workload === undefined && !g.x2apicSet;
}

/**
 * Read `guests:` (hosts x guests capped at MAX_TOTAL_GUESTS). `workloadBaseDir`: the directory
 * workload-profile paths are relative to; null forbids profile files (scenarios posted to the
 * service). Undefined when anything is wrong (reported).
 */
export function parseGuests(
  r: Reader,
  v: Val,
  hostCount: number,
  x2apicAxis: MatrixAxis | undefined,
  workloadBaseDir: string | null,
  enlightenmentsAxis?: MatrixAxis,
): GuestDraft[] | undefined {
  return new GuestsReader(r, workloadBaseDir, enlightenmentsAxis).guests(v, hostCount, x2apicAxis);
}

class GuestsReader {
  constructor(
    private readonly r: Reader,
    private readonly workloadBaseDir: string | null,
    private readonly enlightenmentsAxis: MatrixAxis | undefined,
  ) {}

  /** `enlightenments`, `hpet`, `referenceTscPage` of a Windows guest (others: an error per key). */
  private timekeeping(f: Fields, what: string, os: string | undefined): TimekeepingDraft | undefined {
    const r = this.r;
    const present = TIMEKEEPING_KEYS.filter((k) => f.get(k) !== undefined);
    if (present.length === 0) return {};
    if (os === undefined) return undefined;
    if (os === 'scripted' || !isWindowsOs(os as never)) {
      // A Linux guest's clock is its clocksource (an HPET one included): point there, not at Hyper-V.
      const linux = os !== 'scripted' && isLinuxOs(os as never);
      for (const k of present)
        r.error(
          f.get(k)!.key,
          `"${k}" applies to Windows guests only (${os === 'scripted' ? 'a scripted guest runs its script' : `${os} uses no Hyper-V enlightenments${linux ? '; a Linux guest reads the clock its "clocksource" names' : ''}`})`,
          linux
            ? `clocksource: ${LINUX_CLOCKSOURCES.join(' | ')}${k === 'hpet' ? ' (hpet: the HPET main counter)' : ''}`
            : undefined,
        );
      return undefined;
    }
    let ok = true;
    const out: { -readonly [K in keyof TimekeepingDraft]: TimekeepingDraft[K] } = {};
    const ef = f.get('enlightenments');
    if (ef !== undefined) {
      if (this.enlightenmentsAxis !== undefined) {
        setTwice(r, ef, `${what}.enlightenments`, 'matrix.enlightenments');
        ok = false;
      } else {
        const list = readEnlightenments(r, ef, `${what}.enlightenments`);
        if (list === undefined) ok = false;
        else out.enlightenments = { list, node: ef.node ?? ef.key };
      }
    }
    const hf = f.get('hpet');
    if (hf !== undefined) {
      const b = r.bool(hf, `${what}.hpet`);
      if (b === undefined) ok = false;
      else out.hpet = { value: b, node: hf.node ?? hf.key };
    }
    const tf = f.get('referenceTscPage');
    if (tf !== undefined) {
      const b = r.bool(tf, `${what}.referenceTscPage`);
      if (b === undefined) ok = false;
      else out.referenceTscPage = { value: b, node: tf.node ?? tf.key };
    }
    return ok ? out : undefined;
  }

  guests(v: Val, hostCount: number, x2apicAxis: MatrixAxis | undefined): GuestDraft[] | undefined {
    const r = this.r;
    const items = r.seq(v, 'guests', 'a list of guests');
    if (items === undefined) return undefined;
    if (items.length === 0) {
      r.error(v, 'guests is empty', 'at least one guest', 'an empty list');
      return undefined;
    }
    const out: GuestDraft[] = [];
    let ok = true;
    for (let i = 0; i < items.length; i++) {
      const g = this.guest(items[i], `guests[${i}]`, x2apicAxis);
      if (g === undefined) ok = false;
      else out.push(g);
    }
    if (!ok) return undefined;
    const names = new Map<string, GuestDraft>();
    for (const g of out) {
      const first = names.get(g.spec.name);
      if (first !== undefined) {
        const p = r.positionOf(first.nameNode);
        r.error(
          g.nameNode,
          `guest name "${g.spec.name}" is used twice (first at line ${p.line}); give each guest a distinct "name"`,
        );
        ok = false;
      } else names.set(g.spec.name, g);
    }
    const perHost = out.reduce((n, g) => n + (g.spec.kind === 'modelled' ? g.spec.count : 1), 0);
    const total = perHost * hostCount;
    if (total > MAX_TOTAL_GUESTS) {
      r.errorAt(
        r.positionOf(v.key ?? v.node),
        `too many guests: ${total} in total (${perHost} per host x ${hostCount} host${hostCount === 1 ? '' : 's'})`,
        `at most ${MAX_TOTAL_GUESTS} guests in total`,
        String(total),
      );
      ok = false;
    }
    return ok ? out : undefined;
  }

  private guest(v: Val, what: string, x2apicAxis: MatrixAxis | undefined): GuestDraft | undefined {
    const r = this.r;
    const m = r.map(v, what);
    if (m === undefined) return undefined;
    const f = r.fields(m, what, GUEST_KEYS, m.has('workload') ? [] : ['os']);
    const workloadField = f.get('workload');
    if (workloadField !== undefined) return this.workloadGuest(f, workloadField, what, x2apicAxis);
    const osField = f.get('os');
    if (osField === undefined) return undefined;
    const os = r.oneOf(osField, `${what}.os`, [...GUEST_OS_NAMES, 'scripted'] as const, 'os');
    const nameField = f.get('name');
    const name =
      nameField === undefined ? (os ?? 'guest') : r.str(nameField, `${what}.name`, GUEST_NAME_RE, GUEST_NAME_EXPECTED);
    const vcpusField = f.get('vcpus');
    const vcpus =
      vcpusField === undefined ? 1 : r.int(vcpusField, `${what}.vcpus`, 1, MAX_VCPUS, `an integer 1..${MAX_VCPUS}`);
    const x2apicField = f.get('x2apic');
    let x2apic: boolean | undefined = false;
    if (x2apicField !== undefined) {
      if (x2apicAxis !== undefined) {
        setTwice(r, x2apicField, `${what}.x2apic`, 'matrix.x2apic');
        x2apic = undefined;
      } else x2apic = r.bool(x2apicField, `${what}.x2apic`);
    }
    const nameNode = ownNode(nameField?.node ?? osField.key, m);
    const timekeeping = this.timekeeping(f, what, os);
    const csField = f.get('clocksource');
    let clocksource: LinuxClocksource | undefined;
    let csOk = true;
    if (csField !== undefined && os !== undefined) {
      if (os === 'scripted' || !isLinuxOs(os)) {
        r.error(
          csField.key,
          `"clocksource" applies to Linux guests only (${os === 'scripted' ? 'a scripted guest runs its script' : `${os} is not a Linux guest`})`,
        );
        csOk = false;
      } else {
        clocksource = r.oneOf(csField, `${what}.clocksource`, LINUX_CLOCKSOURCES, 'clocksource');
        if (clocksource === undefined) csOk = false;
      }
    }

    if (os === 'scripted') {
      let ok = true;
      const countField = f.get('count');
      if (countField !== undefined) {
        const c = r.int(countField, `${what}.count`, 1, MAX_TOTAL_GUESTS);
        if (c !== undefined && c > 1) {
          r.error(countField, `a scripted guest runs its script once: ${what}.count must be 1`, '1', String(c));
          ok = false;
        } else if (c === undefined) ok = false;
      }
      for (const k of ['phases', 'memory'] as const) {
        const kf = f.get(k);
        if (kf !== undefined) {
          r.error(kf.key, `"${k}" does not apply to a scripted guest (it runs its script, nothing else)`);
          ok = false;
        }
      }
      const scriptField = f.get('script');
      if (scriptField === undefined) {
        if (!f.mentions('script'))
          r.error(m, `a scripted guest needs a script (${what} has no "script" key)`, 'script: [ ... operations ... ]');
        return undefined;
      }
      const script = parseScript(r, scriptField, `${what}.script`, vcpus, MAX_VCPUS);
      if (!ok || script === undefined || vcpus === undefined || x2apic === undefined || name === undefined)
        return undefined;
      const spec: ScriptedGuestSpec = { kind: 'scripted', name, vcpus, x2apic, script };
      return { spec, x2apicSet: x2apicField !== undefined, nameNode };
    }

    const scriptField = f.get('script');
    if (scriptField !== undefined && os !== undefined) {
      r.error(scriptField.key, `"script" is only for guests with os: scripted (this guest runs ${os})`);
    }
    const count = optional(f, 'count', (cv) => r.int(cv, `${what}.count`, 1, MAX_TOTAL_GUESTS)) ?? 1;
    const memoryField = f.get('memory');
    const memoryBytes =
      memoryField === undefined
        ? DEFAULT_MEMORY_BYTES
        : r.size(memoryField, `${what}.memory`, 1, MAX_MEMORY_BYTES, '16TiB');
    const phasesField = f.get('phases');
    const phases: readonly PhaseSpec[] | undefined =
      phasesField === undefined ? [{ phase: 'idle' }] : parsePhases(r, phasesField, `${what}.phases`, vcpus, os);
    if (
      os === undefined ||
      scriptField !== undefined ||
      name === undefined ||
      vcpus === undefined ||
      x2apic === undefined ||
      memoryBytes === undefined ||
      phases === undefined ||
      timekeeping === undefined ||
      !csOk
    ) {
      return undefined;
    }
    const spec: ModelledGuestSpec = {
      kind: 'modelled',
      os: os,
      count,
      vcpus,
      memoryBytes,
      x2apic,
      phases,
      name,
      ...(clocksource !== undefined ? { clocksource } : {}),
    };
    return {
      spec,
      x2apicSet: x2apicField !== undefined,
      nameNode,
      timekeeping,
      ...(csField !== undefined ? { clocksourceNode: csField.node ?? csField.key } : {}),
    };
  }

  /** A workload-profile guest: `workload: FILE` (src/scenario/workload.ts) plus name, count, vcpus, x2apic. */
  private workloadGuest(
    f: Fields,
    wf: Field,
    what: string,
    x2apicAxis: MatrixAxis | undefined,
  ): GuestDraft | undefined {
    const r = this.r;
    let ok = true;
    for (const k of ['os', 'phases', 'memory', 'script', 'clocksource', ...TIMEKEEPING_KEYS] as const) {
      const kf = f.get(k);
      if (kf !== undefined) {
        r.error(kf.key, `"${k}" does not apply to a workload-profile guest (the profile gives its OS and behaviour)`);
        ok = false;
      }
    }
    const path = r.str(
      wf,
      `${what}.workload`,
      /\.ya?ml$/,
      'the path of a workload profile (.yaml), relative to this scenario',
    );
    if (path === undefined) return undefined;
    const base = this.workloadBaseDir;
    if (base === null) {
      r.error(
        wf,
        `${what}.workload: profile files cannot be read here (scenarios posted to the service must be self-contained)`,
        'a scenario without workload files, or run it with the CLI',
      );
      return undefined;
    }
    const file = isAbsolute(path) ? path : join(base, path);
    let profile: WorkloadProfile;
    try {
      // A profile is a few lines of rates; the scenario's own limit keeps a device or FIFO from hanging the load.
      profile = parseWorkloadProfile(readInputText(file, MAX_FILE_BYTES), file);
    } catch (e) {
      const detail =
        e instanceof ScenarioError
          ? e.message
          : e instanceof NotUtf8Error
            ? `${file}:${e.message}`
            : `cannot read it: ${fsErrorText((e as Error).message)}`;
      r.error(wf, `${what}.workload: invalid workload profile ${path}:\n${detail}`);
      return undefined;
    }
    const nameField = f.get('name');
    const name =
      nameField === undefined ? profile.name : r.str(nameField, `${what}.name`, GUEST_NAME_RE, GUEST_NAME_EXPECTED);
    const count = optional(f, 'count', (cv) => r.int(cv, `${what}.count`, 1, MAX_TOTAL_GUESTS)) ?? 1;
    const vcpusField = f.get('vcpus');
    const vcpus =
      vcpusField === undefined
        ? profile.vcpus
        : r.int(vcpusField, `${what}.vcpus`, 1, MAX_VCPUS, `an integer 1..${MAX_VCPUS}`);
    const x2apicField = f.get('x2apic');
    let x2apic: boolean | undefined = profile.x2apic;
    if (x2apicField !== undefined) {
      if (x2apicAxis !== undefined) {
        setTwice(r, x2apicField, `${what}.x2apic`, 'matrix.x2apic');
        x2apic = undefined;
      } else x2apic = r.bool(x2apicField, `${what}.x2apic`);
    }
    if (!ok || name === undefined || vcpus === undefined || x2apic === undefined) return undefined;
    if (vcpus === 1 && profile.perGuestSecond.ipis > 0) {
      r.error(
        vcpusField ?? wf,
        `${what}: the profile sends IPIs (${profile.perGuestSecond.ipis}/s), which needs at least 2 vCPUs`,
        'vcpus >= 2',
        '1',
      );
      return undefined;
    }
    const spec: ModelledGuestSpec = {
      kind: 'modelled',
      os: profile.os,
      count,
      vcpus,
      memoryBytes: DEFAULT_MEMORY_BYTES,
      x2apic,
      phases: [{ phase: 'idle' }],
      name,
      workload: profile,
    };
    return { spec, x2apicSet: x2apicField !== undefined, nameNode: ownNode(nameField?.node ?? wf.key, f.map) };
  }
}
