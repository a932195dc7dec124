/**
 * `vmexit-lab trace FILE`: JSON Lines of every scripted-guest operation, through main(argv, io) with
 * a capturing io. The seed's panic script, the issue's example script on an i7-2620M, the same
 * script across policies, and the exit status for an unexpected violation.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { REPO_ROOT } from '../../src/model/data.js';

interface Captured {
  io: CliIo;
  out: string[];
  err: string[];
}

function capture(): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (s) => out.push(s), err: (s) => err.push(s), interactive: false, env: {}, cwd: REPO_ROOT },
  };
}

interface Exit {
  reason: number;
  name: string;
  qualification: number;
}
interface Line {
  variant?: string;
  step: number;
  cpu: number;
  op: string;
  exits: Exit[];
  tpr: number;
  ppr: number;
  delivered: number[];
  violations: {
    check: string;
    message: string;
    vcpu: number;
    step: number;
    state: { isr: number[]; isrvecStk: number[] };
  }[];
  value?: number;
  fault?: string;
}

async function trace(file: string, extra: string[] = []): Promise<{ status: number; lines: Line[]; err: string }> {
  const c = capture();
  const status = await main(['trace', ...extra, file], c.io);
  const text = c.out.join('\n');
  const lines = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const rec = JSON.parse(l) as Line;
      // Every line carries the documented fields.
      assert.equal(typeof rec.step, 'number', l);
      assert.equal(typeof rec.op, 'string', l);
      assert.ok(Array.isArray(rec.exits), l);
      for (const e of rec.exits) {
        assert.equal(typeof e.reason, 'number', l);
        assert.equal(typeof e.name, 'string', l);
      }
      assert.equal(typeof rec.tpr, 'number', l);
      assert.equal(typeof rec.ppr, 'number', l);
      assert.ok(Array.isArray(rec.delivered), l);
      assert.ok(Array.isArray(rec.violations), l);
      return rec;
    });
  return { status, lines, err: c.err.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-trace-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ISSUE_SCRIPT = `    script:
      - write_cr8: 2
      - interrupt: 0x51
      - read_cr8
      - write_cr8: 0
      - eoi
      - write_apic: { reg: tpr, value: 0x30 }
      - wrmsr: { msr: 0x808, value: 0x20 }
      - hlt
`;

function scenario(name: string, head: string, body = ISSUE_SCRIPT, x2apic = false): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\n${head}guests:\n  - os: scripted\n    x2apic: ${x2apic}\n${body}`);
  return file;
}

const ex = (l: Line): [number, string][] => l.exits.map((e) => [e.reason, e.name]);

test('[seed scenarios/seed/e5-2667v4-apicv-panic-script.yaml] trace: one JSON line per op and variant; v2 reports the panic it expects, exit status 0', async () => {
  const { status, lines } = await trace(join(REPO_ROOT, 'scenarios', 'seed', 'e5-2667v4-apicv-panic-script.yaml'));
  assert.equal(status, 0, 'the violation is expected by the scenario');
  assert.equal(lines.length, 12);
  const v2 = lines.filter((l) => l.variant === 'bhyve-tpr-v2');
  const v3 = lines.filter((l) => l.variant === 'bhyve-tpr-v3');
  assert.deepEqual(
    v2.map((l) => l.step),
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual(
    v2.map((l) => l.op),
    ['write_cr8', 'write_cr8', 'interrupt', 'io', 'eoi', 'iret'],
  );
  for (const side of [v2, v3]) {
    assert.deepEqual(side[0].exits, [], 'CR8 under APICv: no exit');
    assert.equal(side[0].tpr, 0x20);
    assert.deepEqual(side[2].delivered, [0x81]);
    assert.deepEqual(side[2].exits, [], 'posted interrupt');
    assert.equal(side[2].ppr, 0x80);
    assert.deepEqual(ex(side[3]), [[30, 'IO_INSTRUCTION']]);
  }
  const panic = v2[3].violations;
  assert.equal(panic.length, 1);
  assert.equal(panic[0].check, 'isr_isrvec_stk_out_of_sync');
  assert.equal(panic[0].message, 'ISR and isrvec_stk out of sync');
  assert.equal(panic[0].step, 4);
  assert.deepEqual(panic[0].state.isr, [0x81]);
  assert.deepEqual(panic[0].state.isrvecStk, []);
  assert.ok(v3.every((l) => l.violations.length === 0));
  assert.equal(v3[4].ppr, 0, 'v3: virtualized EOI, the guest continues');
  assert.equal(v2[4].ppr, 0x80, 'v2: the stopped vCPU does not EOI');
});

test('[issue example; SDM 29.1.2 "TPR Virtualization"; bhyve vmx.c vmx_run threshold] i7-2620M under bhyve-tpr-v3: the expected exit per op', async () => {
  const file = scenario(
    'issue-example-v3',
    'host: { cpu: i7-2620M }\nhypervisor: { policy: bhyve-tpr-v3, tunables: { hw.vmm.vmx.use_tpr_shadowing: 1 } }\n',
  );
  const { status, lines, err } = await trace(file);
  assert.equal(err, '');
  assert.equal(status, 0);
  assert.equal(lines.length, 8);
  assert.ok(lines.every((l) => l.variant === undefined && l.cpu === 0));
  assert.deepEqual(
    lines.map((l) => l.op),
    ['write_cr8', 'interrupt', 'read_cr8', 'write_cr8', 'eoi', 'write_apic', 'wrmsr', 'hlt'],
  );
  const [w2, irq, r8, w0, eoi, wtpr, wrmsr, hlt] = lines as [Line, Line, Line, Line, Line, Line, Line, Line];
  assert.deepEqual(ex(w2), [], 'TPR shadow: MOV to CR8 does not exit');
  assert.equal(w2.tpr, 0x20);
  assert.deepEqual(ex(irq), [[1, 'EXTERNAL_INTERRUPT']]);
  assert.deepEqual(irq.delivered, [81]);
  assert.equal(irq.ppr, 0x50);
  assert.deepEqual(ex(r8), []);
  assert.equal(r8.value, 2);
  assert.deepEqual(ex(w0), [[43, 'TPR_BELOW_THRESHOLD']], 'threshold = TPR class 2 at the last entry');
  assert.equal(w0.exits[0].qualification, 0);
  assert.equal(w0.tpr, 0);
  assert.equal(w0.ppr, 0x50, '0x51 still in service');
  assert.deepEqual(ex(eoi), [[48, 'EPT_VIOLATION']], 'bhyve maps no APIC-access page without APICv');
  assert.equal(eoi.ppr, 0);
  assert.deepEqual(ex(wtpr), [[48, 'EPT_VIOLATION']]);
  assert.equal(wtpr.tpr, 0x30);
  assert.deepEqual(
    ex(wrmsr),
    [[32, 'MSR_WRITE']],
    'SDM 25.1.3: the MSR-bitmap exit comes first; the hypervisor injects #GP',
  );
  assert.equal(wrmsr.fault, '#GP', 'x2APIC MSR in xAPIC mode');
  assert.equal(wrmsr.tpr, 0x30, 'the faulting WRMSR changed nothing');
  assert.deepEqual(ex(hlt), [[12, 'HLT']]);
  assert.ok(lines.every((l) => l.violations.length === 0));
  assert.ok(lines.every((l, i) => l.step === i + 1));
});

test('[issue example across policies] bhyve-12.1 exits CR_ACCESS on every CR8 access; v1 none and no TPR exit; v3 one TPR exit; kvm FlexPriority', async () => {
  const file = scenario(
    'issue-example-matrix',
    'host: { cpu: i7-2620M }\nmatrix:\n  policy: [bhyve-12.1, bhyve-tpr-v1, bhyve-tpr-v3, kvm]\n',
  );
  const { status, lines } = await trace(file);
  assert.equal(status, 0);
  assert.equal(lines.length, 32);
  const by = (variant: string): Line[] => lines.filter((l) => l.variant === variant);
  const old = by('bhyve-12.1');
  assert.deepEqual(ex(old[0]), [[28, 'CR_ACCESS']]);
  assert.equal(old[0].exits[0].qualification, 8, 'CR 8, MOV to CR');
  assert.deepEqual(ex(old[2]), [[28, 'CR_ACCESS']]);
  assert.equal(old[2].exits[0].qualification, 0x18, 'CR 8, MOV from CR');
  assert.deepEqual(ex(old[3]), [[28, 'CR_ACCESS']]);
  assert.deepEqual(
    by('bhyve-tpr-v1').map((l) => ex(l).map((e) => e[0])),
    [[], [1], [], [], [48], [48], [32], [12]],
  );
  assert.deepEqual(
    by('bhyve-tpr-v3').map((l) => ex(l).map((e) => e[0])),
    [[], [1], [], [43], [48], [48], [32], [12]],
  );
  // KVM on a desktop CPU: FlexPriority (APIC-access page), threshold only for a masked pending IRQ.
  assert.deepEqual(
    by('kvm').map((l) => ex(l).map((e) => e[0])),
    [[], [1], [], [], [44], [], [32], [12]],
  );
  for (const v of ['bhyve-12.1', 'bhyve-tpr-v1', 'bhyve-tpr-v3', 'kvm']) {
    const ls = by(v);
    assert.deepEqual(ls[1].delivered, [81], v);
    assert.equal(ls[6].fault, '#GP', v);
    assert.equal(ls[5].tpr, 0x30, v);
  }
});

test('[trace --variant] only the named variant is printed, without a variant field', async () => {
  const file = scenario(
    'issue-example-variant',
    'host: { cpu: i7-2620M }\nmatrix:\n  policy: [bhyve-12.1, bhyve-tpr-v3]\n',
  );
  const { status, lines } = await trace(file, ['--variant', 'bhyve-12.1']);
  assert.equal(status, 0);
  assert.equal(lines.length, 8);
  assert.ok(lines.every((l) => l.variant === undefined));
  assert.deepEqual(ex(lines[0]), [[28, 'CR_ACCESS']]);
});

test('[issue example on an x2APIC guest] the same WRMSR 0x808 is a TPR write: MSR_WRITE under v3 (no shadow in x2APIC mode), no #GP', async () => {
  const file = scenario(
    'issue-example-x2apic',
    'host: { cpu: i7-2620M }\nhypervisor: { policy: bhyve-tpr-v3 }\n',
    ISSUE_SCRIPT,
    true,
  );
  const { status, lines } = await trace(file);
  assert.equal(status, 0);
  assert.deepEqual(ex(lines[0]), [[28, 'CR_ACCESS']], 'v3 turns the TPR shadow off for x2APIC guests');
  assert.deepEqual(ex(lines[4]), [[32, 'MSR_WRITE']], 'EOI is WRMSR 0x80B in x2APIC mode');
  assert.deepEqual(ex(lines[5]), [], 'the xAPIC MMIO window is not decoded in x2APIC mode');
  assert.deepEqual(ex(lines[6]), [[32, 'MSR_WRITE']]);
  assert.equal(lines[6].fault, undefined);
  assert.equal(lines[6].tpr, 0x20);
});

test('[trace exit status] an unexpected violation exits 3; the same scenario expecting it exits 0', async () => {
  const body = `    script:
      - write_cr8: 2
      - write_cr8: 0
      - interrupt: 0x81
      - io: 0x1f7
      - eoi
      - iret
`;
  const head = 'host: { cpu: xeon-e5-2667v4 }\nhypervisor: { policy: bhyve-tpr-v2 }\n';
  const unexpected = await trace(scenario('panic-unexpected', head, body));
  assert.equal(unexpected.status, 3);
  assert.equal(unexpected.lines[3].violations[0].check, 'isr_isrvec_stk_out_of_sync');
  const expected = await trace(
    scenario('panic-expected', `${head}expect:\n  violations: [isr_isrvec_stk_out_of_sync]\n`, body),
  );
  assert.equal(expected.status, 0);
  assert.deepEqual(expected.lines, unexpected.lines, 'the expectation changes the status only');
});

test('[trace input errors] no file, two files, a scenario without a scripted guest: exit status 2 and a message', async () => {
  const none = capture();
  assert.equal(await main(['trace'], none.io), 2);
  assert.match(none.err.join('\n'), /exactly one scenario file/);
  const modelled = join(dir, 'modelled-only.yaml');
  writeFileSync(
    modelled,
    'name: modelled-only\nhost: { cpu: i7-2620M }\nhypervisor: { policy: bhyve-tpr-v3 }\nduration: 1s\nguests:\n  - os: windows-10-1909\n',
  );
  const c = capture();
  assert.equal(await main(['trace', modelled], c.io), 2);
  assert.match(c.err.join('\n'), /no scripted guest/);
  const missing = capture();
  assert.equal(await main(['trace', join(dir, 'does-not-exist.yaml')], missing.io), 2);
  assert.ok(missing.err.join('\n').length > 0);
});
