/** A modelled guest's `phases:` read into PhaseSpecs: duration or work, busyVcpus, ping-pong's hop. */
import { isScalar } from 'yaml';
import type { Fields, Reader, Val } from '../input/reader.js';
import { MAX_DURATION_NS, MAX_VCPUS } from './limits.js';
import { isLinuxOs, PHASE_NAMES, type PhaseName, type PhaseSpec } from './types.js';

/** The keys a phase takes. */
export const PHASE_KEYS = ['phase', 'duration', 'work', 'busyVcpus', 'hop'] as const;
/** Phases that take `work` (the rest run for a duration); the schema's phase rules list the same. */
export const WORK_PHASES: readonly PhaseName[] = ['install', 'build', 'disk-benchmark'];

/** Read a guest's `phases:` (its vCPUs and OS as read, when they read). Undefined when anything is wrong (reported). */
export function parsePhases(
  r: Reader,
  v: Val,
  what: string,
  vcpus: number | undefined,
  os: string | undefined,
): PhaseSpec[] | undefined {
  const items = r.seq(v, what, 'a list of phases');
  if (items === undefined) return undefined;
  if (items.length === 0) {
    r.error(v, `${what} is empty`, 'at least one phase (or leave phases out: idle until the end)', 'an empty list');
    return undefined;
  }
  const out: PhaseSpec[] = [];
  let ok = true;
  items.forEach((item, i) => {
    const pw = `${what}[${i}]`;
    const m = r.map(item, pw);
    if (m === undefined) {
      ok = false;
      return;
    }
    const f = r.fields(m, pw, PHASE_KEYS, ['phase']);
    const pf = f.get('phase');
    if (pf === undefined) {
      ok = false;
      return;
    }
    const phase = r.oneOf(pf, `${pw}.phase`, PHASE_NAMES, 'phase');
    if (phase === undefined) {
      ok = false;
      return;
    }
    const df = f.get('duration');
    const wf = f.get('work');
    const bf = f.get('busyVcpus');
    let busyVcpus: number | undefined;
    if (bf !== undefined) {
      if (wf !== undefined) {
        r.error(
          bf.key,
          `"busyVcpus" is for duration-bound phases; phase ${phase} with "work" shares it over every vCPU`,
        );
        ok = false;
        return;
      }
      const max = vcpus ?? MAX_VCPUS;
      busyVcpus = r.int(bf, `${pw}.busyVcpus`, 1, max, `an integer 1..${max} (the guest's vCPUs)`);
      if (busyVcpus === undefined) {
        ok = false;
        return;
      }
    }
    const hop = phaseHop(r, f, phase, pw, vcpus, busyVcpus, os);
    if (hop === null) {
      ok = false;
      return;
    }
    const busy = { ...(busyVcpus === undefined ? {} : { busyVcpus }), ...(hop === undefined ? {} : { hopNs: hop }) };
    const isLast = i === items.length - 1;
    const workBound = WORK_PHASES.includes(phase);
    if (!workBound && wf !== undefined) {
      r.error(wf.key, `phase ${phase} takes no "work" (only ${WORK_PHASES.join(', ')} do); give it a duration`);
      ok = false;
      return;
    }
    if (df !== undefined && wf !== undefined) {
      r.error(wf.key, `phase ${phase} has both "duration" and "work"; give exactly one`);
      ok = false;
      return;
    }
    if (df === undefined && wf === undefined) {
      if (f.mentions('duration') || f.mentions('work')) {
        ok = false;
        return;
      }
      if (phase === 'idle' && isLast) {
        out.push({ phase, ...busy });
        return;
      }
      const need = workBound
        ? `"work" (${phase === 'disk-benchmark' ? 'bytes of I/O, e.g. 4GiB' : 'guest CPU time, e.g. 370s'}) or "duration"`
        : `"duration" (only a last idle phase may leave it out: it then runs until the end)`;
      r.error(m, `phase ${phase} needs ${need}`);
      ok = false;
      return;
    }
    if (df !== undefined) {
      const ns = r.duration(df, `${pw}.duration`, 1, MAX_DURATION_NS, '30 days');
      if (ns === undefined) ok = false;
      else if (hop !== undefined && hop >= ns) {
        // A message takes two hops: one as long as the phase passes none, and the phase is an
        // idle guest. "hop: 40" is the likely slip (40 s, meant as 40 us; the docs write 40us).
        const hf = f.get('hop')!;
        const bare = isScalar(hf.node) && typeof hf.node.value === 'number' ? String(hf.node.value) : undefined;
        r.error(
          hf,
          `hop ${hop / 1e9} s is not shorter than the phase (${ns / 1e9} s): no message would complete` +
            (bare === undefined ? '' : ` (a number without a unit is seconds: write ${bare}us for microseconds)`),
          'a hop of guest time per message, e.g. 40us',
        );
        ok = false;
      } else out.push({ phase, durationNs: ns, ...busy });
      return;
    }
    const work =
      phase === 'disk-benchmark'
        ? r.size(wf!, `${pw}.work`, 1, 2 ** 53 - 1, '2^53 bytes')
        : r.duration(wf!, `${pw}.work`, 1, MAX_DURATION_NS, '30 days of guest CPU time');
    if (work === undefined) ok = false;
    else out.push({ phase, work });
  });
  return ok ? out : undefined;
}

/**
 * A ping-pong phase's `hop` (guest time per hop, required there and nowhere else) and its other
 * needs: a Linux guest (the wake-up path modelled is Linux's, src/core/guests/pingPong.ts) with at
 * least one pair of vCPUs. undefined: not a ping-pong phase; null: an error was reported.
 */
function phaseHop(
  r: Reader,
  f: Fields,
  phase: PhaseName,
  pw: string,
  vcpus: number | undefined,
  busyVcpus: number | undefined,
  os: string | undefined,
): number | undefined | null {
  const hf = f.get('hop');
  if (phase !== 'ping-pong') {
    if (hf === undefined) return undefined;
    r.error(hf.key, `"hop" is for phase ping-pong only (phase ${phase} has no message to pass)`);
    return null;
  }
  if (os !== undefined && !isLinuxOs(os as never)) {
    r.error(f.get('phase')!, `phase ping-pong models a Linux guest's wake-up path; ${os} is not a Linux guest`);
    return null;
  }
  const pairs = busyVcpus ?? vcpus;
  if (pairs !== undefined && pairs < 2) {
    const which = busyVcpus === undefined ? `the guest has ${pairs} vCPU` : `busyVcpus is ${pairs}`;
    r.error(
      f.get(busyVcpus === undefined ? 'phase' : 'busyVcpus')!,
      `phase ping-pong needs a pair of vCPUs (${which})`,
    );
    return null;
  }
  if (hf === undefined) {
    if (!f.mentions('hop'))
      r.error(f.get('phase')!, `phase ping-pong needs "hop": the guest time each vCPU runs per message (e.g. 40us)`);
    return null;
  }
  return r.duration(hf, `${pw}.hop`, 1, MAX_DURATION_NS, '30 days') ?? null;
}
