/**
 * Workload profile files and `workload:` guests: validated once at the edge with file:line:col
 * errors; a scenario guest takes its OS, vCPUs and behaviour from the profile.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWorkloadProfile } from '../../src/scenario/workload.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { ScenarioError } from '../../src/input/diagnostics.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-workload-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const GOOD = `workloadProfile: 1
name: web
os: ubuntu-18.04
vcpus: 2
perGuestSecond:
  cpuid: 10
  hlts: 100
  ipis: 20
interruptsPerSecond: 300
opaquePerGuestSecond:
  EPT_MISCONFIG: 5
`;

function errorsOf(text: string): string {
  try {
    parseWorkloadProfile(text, 'p.yaml');
  } catch (e) {
    assert.ok(e instanceof ScenarioError);
    return e.message;
  }
  assert.fail('expected an error');
}

describe('workload profile files', () => {
  it('a valid profile gives typed, frozen rates with defaults of 0', () => {
    const p = parseWorkloadProfile(GOOD, 'p.yaml');
    assert.equal(p.vcpus, 2);
    assert.equal(p.perGuestSecond.cpuid, 10);
    assert.equal(p.perGuestSecond.cr8Writes, 0);
    assert.equal(p.opaquePerGuestSecond.EPT_MISCONFIG, 5);
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.perGuestSecond));
  });

  // [what is wrong, text, expected message (regex)]
  const BAD: ReadonlyArray<readonly [string, string, RegExp]> = [
    [
      'misspelt rate',
      GOOD.replace('cpuid: 10', 'cpuids: 10'),
      /^p\.yaml:6:3: error: unknown key "cpuids" \(did you mean "cpuid"\?\)/m,
    ],
    [
      'negative rate',
      GOOD.replace('cpuid: 10', 'cpuid: -1'),
      /^p\.yaml:6:10: error: perGuestSecond\.cpuid out of range \(expected a number of events per second, 0\.\.1e\+8, found -1\)/m,
    ],
    [
      'a string rate',
      GOOD.replace('cpuid: 10', 'cpuid: lots'),
      /^p\.yaml:6:10: error: wrong type for perGuestSecond\.cpuid/m,
    ],
    [
      'unknown exit',
      GOOD.replace('EPT_MISCONFIG', 'EPT_MISCONFG'),
      /^p\.yaml:11:3: error: unknown key "EPT_MISCONFG" \(did you mean "EPT_MISCONFIG"\?\)/m,
    ],
    [
      'HLTs with nothing to wake them',
      GOOD.replace('interruptsPerSecond: 300', 'interruptsPerSecond: 0').replace('ipis: 20', 'ipis: 0'),
      /perGuestSecond\.hlts > 0 needs interrupts to wake the vCPU/,
    ],
    ['IPIs with one vCPU', GOOD.replace('vcpus: 2', 'vcpus: 1'), /perGuestSecond\.ipis needs more than one vCPU/],
    [
      'unknown OS',
      GOOD.replace('ubuntu-18.04', 'ubuntu-22.04'),
      /^p\.yaml:3:5: error: unknown guest OS "ubuntu-22\.04"/m,
    ],
    [
      'future version',
      GOOD.replace('workloadProfile: 1', 'workloadProfile: 2'),
      /^p\.yaml:1:18: error: workloadProfile \(the format version\) out of range \(expected 1/m,
    ],
    ['missing name', GOOD.replace('name: web\n', ''), /missing required key "name"/],
    [
      'a scenario given as a profile (what-if SCENARIO.yaml): one error saying what it is',
      'name: s\nhost: { cpu: i7-2620M }\nhypervisor: { policy: kvm }\nguests: [{ os: ubuntu-18.04 }]\n',
      /^p\.yaml:2:1: error: this is a scenario \(guests, host, hypervisor\), not a workload profile \(expected a workload profile: vmexit-lab import writes one [^\n]*\)$/,
    ],
    ['YAML syntax', GOOD.replace('vcpus: 2', 'vcpus: [2'), /YAML syntax error/],
    [
      'alias bomb',
      `${GOOD}source:\n  a: &a [1,1,1,1,1,1,1,1,1,1]\n  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n  d: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`,
      /^p\.yaml:15:10: error: too many YAML alias expansions/m,
    ],
  ];
  for (const [what, text, re] of BAD) {
    it(`rejects: ${what}`, () => assert.match(errorsOf(text), re));
  }
});

describe('workload guests in scenarios', () => {
  writeFileSync(join(dir, 'web.yaml'), GOOD);
  const scenario = (guest: string): string => {
    const f = join(dir, `s${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      f,
      `name: s\nhost: { cpu: i7-6700K, cores: 4 }\nhypervisor: { policy: kvm }\nduration: 2s\nguests:\n  - ${guest}\n`,
    );
    return f;
  };

  it('takes OS, vCPUs and x2APIC from the profile; name, count and x2apic may override', () => {
    const s = loadScenarioFile(scenario('{ workload: web.yaml, count: 3, x2apic: true }'));
    const g = s.variants[0].guests[0];
    assert.equal(g.kind, 'modelled');
    if (g.kind !== 'modelled') return;
    assert.equal(g.os, 'ubuntu-18.04');
    assert.equal(g.vcpus, 2);
    assert.equal(g.count, 3);
    assert.equal(g.x2apic, true);
    assert.equal(g.name, 'web');
    assert.equal(g.workload?.perGuestSecond.cpuid, 10);
  });

  it('points at the scenario line for a missing file, and at both files for a bad profile', () => {
    assert.throws(
      () => loadScenarioFile(scenario('{ workload: nope.yaml }')),
      /s[a-z0-9]+\.yaml:6:17: error: guests\[0\]\.workload: invalid workload profile nope\.yaml:\ncannot read it/,
    );
    writeFileSync(join(dir, 'bad.yaml'), GOOD.replace('cpuid: 10', 'cpuid: -5'));
    assert.throws(
      () => loadScenarioFile(scenario('{ workload: bad.yaml }')),
      /invalid workload profile bad\.yaml:\n.*bad\.yaml:6:10: error: perGuestSecond\.cpuid out of range/,
    );
  });

  it('refuses os, phases, memory and script beside a workload, and IPIs on one vCPU', () => {
    assert.throws(
      () => loadScenarioFile(scenario('{ workload: web.yaml, os: windows-7 }')),
      /"os" does not apply to a workload-profile guest/,
    );
    assert.throws(
      () => loadScenarioFile(scenario('{ workload: web.yaml, phases: [{ phase: idle }] }')),
      /"phases" does not apply/,
    );
    assert.throws(
      () => loadScenarioFile(scenario('{ workload: web.yaml, vcpus: 1 }')),
      /sends IPIs \(20\/s\), which needs at least 2 vCPUs/,
    );
  });

  it('a scenario posted to the service may not read profile files', () => {
    const text = 'name: s\nhost: { cpu: i7-6700K }\nhypervisor: { policy: kvm }\nguests:\n  - { workload: web.yaml }\n';
    assert.throws(
      () => parseScenario(text, 'request.yaml', { workloadBaseDir: null }),
      /request\.yaml:5:17: error: guests\[0\]\.workload: profile files cannot be read here/,
    );
    assert.equal(parseScenario(text, 'request.yaml', { workloadBaseDir: dir }).variants[0].guests.length, 1);
  });
});
