/**
 * `validate` on a `hypervisor.vmcs` override the SDM's VM-entry checks refuse: a bhyve developer who
 * clears "use TPR shadow" under a policy that programs APIC virtualization learns before running it
 * that the first VM entry fails, which check, in the manual's words and section, and at which line.
 * Before: 'ok (1 variant, 1 guest)', and only `run` said (exit 3) that the entry failed.
 * A combination the checks accept stays a plain 'ok'; validate's exit status stays 0 (the scenario is
 * well-formed: `run` reproduces the failed entry, kvm-unit-tests style).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import { escapeRegExp } from '../support/regex.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-validate-vmcs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const scenario = (clear: string): string =>
  `name: vmcs-override
host: { cpu: xeon-e5-2667v4, cores: 4 }
hypervisor:
  policy: bhyve-tpr-v3
  vmcs:
    procBased: { clear: [${clear}] }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases:
      - { phase: idle, duration: 1s }
duration: 1s
matrix:
  cpu: [xeon-e5-2667v4, i7-6700K]
`.replace('host: { cpu: xeon-e5-2667v4, cores: 4 }', 'host: { cores: 4 }');

test('validate: a vmcs override whose first VM entry fails says so, with the check, its SDM section and the line', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, scenario('UseTprShadow'));
  const io = capture();
  assert.equal(await main(['validate', bad], io), 0);
  const out = io.stdout.join('');
  assert.ok(out.startsWith(`${bad}: ok (2 variants, 1 guest)\n`), out);
  // The Xeon's variant (APICv: virtual-interrupt delivery without the TPR shadow) fails; the Core i7's
  // (no APICv: the TPR shadow alone, cleared) enters.
  assert.equal(
    io.stderr.join(''),
    `${bad}:5:3: warning: variant xeon-e5-2667v4: the first VM entry fails ('run' stops the guests there, exit status 3): ` +
      'VM-instruction error 7 (VM entry with invalid control field(s)): APIC_VIRTUALIZATION_NEEDS_TPR_SHADOW - use TPR shadow = 0: ' +
      'virtualize x2APIC mode, APIC-register virtualization and virtual-interrupt delivery must be 0 (SDM 26.2.1.1 "VM-Execution Control Fields")\n',
  );

  const fine = join(dir, 'fine.yaml');
  writeFileSync(fine, scenario('HltExiting'));
  const io2 = capture();
  assert.equal(await main(['validate', fine], io2), 0);
  assert.equal(io2.stdout.join(''), `${fine}: ok (2 variants, 1 guest)\n`);
  assert.equal(io2.stderr.join(''), '');
});

const thresholdScenario = (policy: string): string => `name: tpr-threshold
host: { cpu: i7-6700K, cores: 4 }
hypervisor: { policy: ${policy}, vmcs: { tprThreshold: 3 } }
guests:
  - { os: windows-10-1909, vcpus: 1, phases: [{ phase: idle, duration: 1s }] }
duration: 1s
`;

test('validate: a tprThreshold override a policy reprograms before every entry is said to change nothing; one that stays is tried', async () => {
  // bhyve-tpr-v3 writes the guest's TPR class into the field before every VM entry (vmx.c vmx_run).
  const v3 = join(dir, 'v3.yaml');
  writeFileSync(v3, thresholdScenario('bhyve-tpr-v3'));
  const io = capture();
  assert.equal(await main(['validate', v3], io), 0);
  assert.equal(
    io.stderr.join(''),
    `${v3}:3:45: warning: variant base: hypervisor.vmcs.tprThreshold changes nothing: bhyve-tpr-v3 programs the TPR threshold before every VM entry ` +
      "(bhyve vmx.c vmx_run: the guest's TPR class; KVM vmx_update_cr8_intercept: the highest pending interrupt's class); " +
      'the override holds only under bhyve-12.1 and bhyve-tpr-v1, which never write it\n',
  );
  // bhyve-tpr-v1 never writes it: 3 stays, above the VTPR's class 0 at the first entry, which the SDM refuses.
  const v1 = join(dir, 'v1.yaml');
  writeFileSync(v1, thresholdScenario('bhyve-tpr-v1'));
  const io1 = capture();
  assert.equal(await main(['validate', v1], io1), 0);
  assert.match(
    io1.stderr.join(''),
    /^[^\n]*v1\.yaml:3:37: warning: variant base: the first VM entry fails \('run' stops the guests there, exit status 3\): VM-instruction error 7 \(VM entry with invalid control field\(s\)\): TPR_THRESHOLD_ABOVE_VTPR - use TPR shadow = 1, [^\n]*\(SDM 26\.2\.1\.1 "VM-Execution Control Fields"\)\n$/,
  );
});

test('validate: the warning points at hypervisor.vmcs itself, not at an earlier "vmcs:" in a string', async () => {
  const file = join(dir, 'described.yaml');
  // The description's text holds "vmcs:" on line 2; the key is on line 6. A scan of the text for
  // `vmcs:` named line 2.
  writeFileSync(
    file,
    scenario('UseTprShadow').replace(
      'name: vmcs-override\n',
      'name: vmcs-override\ndescription: "patch, vmcs: clear UseTprShadow"\n',
    ),
  );
  const io = capture();
  assert.equal(await main(['validate', file], io), 0);
  assert.match(io.stderr.join(''), new RegExp(`^${escapeRegExp(file)}:6:3: warning: variant xeon-e5-2667v4: `));
});
