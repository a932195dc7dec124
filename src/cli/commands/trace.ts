import { runScenario } from '../../run/runScenario.js';
import { deliveryViaName, exitCause } from '../../run/replay.js';
import { exitKindByName } from '../../core/vcpu/exits.js';
import type { TraceStep } from '../../core/script/runScript.js';
import { ExitStatus, type CliIo, commandArgs, usageProblem } from '../io.js';
import { loadAllOrExplain } from '../loadOrExplain.js';
import { violationWhy } from '../../report/violationWhy.js';
import { unknownVariantMessage } from '../../scenario/matrix.js';

const TRACE_USAGE = `Usage: vmexit-lab trace [--variant NAME] FILE

Run the scripted guests of a scenario and print one JSON object per guest operation (JSON Lines):
  {"step":1,"op":"write_cr8","exits":[{"reason":28,"name":"CR_ACCESS","qualification":8,"cause":"mov to cr8"}],
   "tpr":32,"ppr":32,"delivered":[],"via":[],"violations":[]}
reason is the VT-x basic exit reason (Intel SDM appendix C) or, on AMD profiles, the SVM exit code;
cause says why, as replay does (the MSR and what the guest did, the port and its device, ...);
delivered lists vectors the guest accepted during the step, via how each reached it ("event
injection" at VM entry, "EVENTINJ" on SVM, "virtual-interrupt delivery", "posted-interrupt
processing", "AVIC"); a failed VM entry appears as
"entryFailure", an exception the instruction raised as "fault". With a matrix, every record also
names its "variant". This is how to write declarative unit scenarios, kvm-unit-tests style.
A tripped invariant is in "violations": the check, bhyve's message, the LAPIC state after the step
(tpr, ppr, isr and irr: vectors in service and requested; isrvecStk: bhyve's software in-service
stack; svi, rvi: the virtual-APIC page's in-service and requested vectors under virtual-interrupt
delivery; tprThreshold); a line on stderr says why the check tripped: its rule read against that
state. The script runs on after it (a real host would have panicked there): later steps show the
state it left.

Options:
  --variant NAME   only this variant of the matrix
  -h, --help       show this help

Exit status: 0 ran (whatever the guest did), 2 bad input, 3 an unexpected invariant violation.

Example:
  vmexit-lab trace scenarios/seed/e5-2667v4-apicv-panic-script.yaml
`;

/** A step's exit as trace prints it: reason, name, qualification and its cause (docs/REPLAY.md), as replay words it. */
function traceExit(e: TraceStep['exits'][number]): Record<string, unknown> {
  const kind = exitKindByName(e.name);
  const cause = kind === undefined ? '' : exitCause(kind.slot, e.qualification, undefined, e.why);
  return { reason: e.reason, name: e.name, qualification: e.qualification, ...(cause ? { cause } : {}) };
}

export async function traceCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = commandArgs(io, 'trace', TRACE_USAGE, args, { variant: { type: 'string' } });
  if (typeof parsed === 'number') return parsed;
  if (parsed.positionals.length !== 1) {
    io.err(usageProblem('trace', 'expected exactly one scenario file'));
    return ExitStatus.BAD_INPUT;
  }
  const scenarios = loadAllOrExplain(parsed.positionals, io);
  if (!scenarios) return ExitStatus.BAD_INPUT;
  let scenario = scenarios[0];
  const hasScript = scenario.variants.some((v) => v.guests.some((g) => g.kind === 'scripted'));
  if (!hasScript) {
    io.err(`vmexit-lab trace: ${scenario.file} has no scripted guest (os: scripted) to trace`);
    return ExitStatus.BAD_INPUT;
  }
  if (parsed.values.variant !== undefined) {
    const wanted = scenario.variants.filter((v) => v.name === parsed.values.variant);
    if (wanted.length === 0) {
      // The same words as thresholds and validation cases: an old bare name ("1") of a KEY=VALUE variant.
      const names = scenario.variants.map((v) => v.name);
      io.err(
        usageProblem('trace', `${unknownVariantMessage(parsed.values.variant, names)}; variants: ${names.join(', ')}`),
      );
      return ExitStatus.BAD_INPUT;
    }
    scenario = { ...scenario, variants: wanted, thresholds: [] };
  }
  // Trace only the scripted guests: modelled guests are load, not unit steps.
  const scriptedOnly = {
    ...scenario,
    thresholds: [],
    variants: scenario.variants.map((v) => ({ ...v, guests: v.guests.filter((g) => g.kind === 'scripted') })),
  };
  const run = runScenario(scriptedOnly);
  const policyOf = new Map(scriptedOnly.variants.map((v) => [v.name, v.hypervisor.policy]));
  const many = scriptedOnly.variants.length > 1;
  const guestsPerVariant = new Map<string, number>();
  for (const t of run.traces) guestsPerVariant.set(t.variant, (guestsPerVariant.get(t.variant) ?? 0) + 1);
  let unexpected = false;
  for (const t of run.traces) {
    for (const s of t.steps) {
      const record = {
        ...(many ? { variant: t.variant } : {}),
        ...((guestsPerVariant.get(t.variant) ?? 0) > 1 ? { guest: t.guest } : {}),
        step: s.step,
        cpu: s.cpu,
        op: s.op,
        ...s.args,
        exits: s.exits.map(traceExit),
        tpr: s.tpr,
        ppr: s.ppr,
        delivered: s.delivered,
        via: s.deliveredVia.map(deliveryViaName),
        violations: s.violations.map((v) => ({
          check: v.check,
          message: v.message,
          vcpu: v.vcpu,
          step: v.step,
          state: v.state,
        })),
        ...(s.value !== undefined ? { value: s.value } : {}),
        ...(s.fault !== undefined ? { fault: s.fault } : {}),
        ...(s.entryFailure !== undefined ? { entryFailure: s.entryFailure } : {}),
        ...(s.skipped !== undefined ? { skipped: s.skipped } : {}),
      };
      io.out(JSON.stringify(record));
      // Why, for a reader at the terminal: on stderr, so the JSON Lines stay the unit-test interface
      // they are (pinned by test/golden) and a pipe into jq sees records only.
      for (const v of s.violations) {
        const why = violationWhy(v.check, v.state, policyOf.get(t.variant));
        if (why !== undefined)
          io.err(`why: ${many ? `${t.variant} ` : ''}step ${s.step}, vCPU ${v.vcpu}, ${v.check}: ${why}`);
      }
      for (const v of s.violations) if (!scenario.expectViolations.includes(v.check)) unexpected = true;
    }
  }
  return unexpected ? ExitStatus.INTERNAL : ExitStatus.OK;
}
