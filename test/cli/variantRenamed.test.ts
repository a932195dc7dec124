/**
 * `replay --variant 1` and `trace --variant 1` on a matrix over a tunable, whose variants are named
 * KEY=VALUE since 33b5db7 (`kvm_intel.enable_apicv=1`): they answered 'no variant "1"' with the list,
 * where thresholds and validation cases say 'is now named "kvm_intel.enable_apicv=1"'
 * (src/scenario/matrix.ts unknownVariantMessage). Both commands now say it the same way.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-variant-renamed-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'renamed.yaml');
writeFileSync(
  file,
  `name: renamed-variant
host: { cpu: xeon-e5-2667v4 }
hypervisor: { policy: kvm }
guests:
  - os: scripted
    vcpus: 1
    x2apic: false
    script:
      - write_cr8: 2
      - write_cr8: 0
matrix:
  tunables.kvm_intel.enable_apicv: [0, 1]
`,
);

const RENAMED = /variant "1" is now named "kvm_intel\.enable_apicv=1"/;

describe('--variant with an old-style (bare-valued) name', () => {
  it('trace --variant 1 says the variant is now named kvm_intel.enable_apicv=1 (exit 2)', async () => {
    const io = capture();
    assert.equal(await main(['trace', '--variant', '1', file], io), 2);
    assert.match(io.stderr.join('\n'), RENAMED);
  });

  it('replay --variant 1 says the same (exit 2)', async () => {
    const io = capture();
    assert.equal(await main(['replay', '--variant', '1', '--guest', '0', '--at', '0.001', file], io), 2);
    assert.match(io.stderr.join('\n'), RENAMED);
  });

  it('an unknown name still lists the variants, and the new name runs', async () => {
    let io = capture();
    assert.equal(await main(['trace', '--variant', '2', file], io), 2);
    assert.match(
      io.stderr.join('\n'),
      /unknown variant "2".*variants: kvm_intel\.enable_apicv=0, kvm_intel\.enable_apicv=1/,
    );
    io = capture();
    assert.equal(await main(['trace', '--variant', 'kvm_intel.enable_apicv=1', file], io), 0);
    assert.match(io.stdout.join(''), /"op":"write_cr8"/);
  });
});
