/**
 * The JSON schema accepts what the loader accepts, case by case, for the keys whose validity depends
 * on another key of the same guest, phase or host (a clocksource on a Windows guest, work on a
 * compute phase, host.tickHz against host.os): the helper's validator and a real one (ajv, draft
 * 2020-12, as editors use) give the loader's verdict. Rules that need the variant's policy (what
 * bhyve refuses) are the loader's alone: the table lists them too, accepted by the schema.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import Ajv2020Module from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { parseScenario } from '../../src/scenario/load.js';
import { SCHEMA_PATH, validateSchema, type Schema } from './helpers.js';

const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Schema;
const ajvValidate = new Ajv2020Module.default({ strict: false, allErrors: true }).compile(schema as object);

const scenario = (guest: string, policy = 'kvm', host = ''): string =>
  `name: t\nhost: { cpu: xeon-e5-2667v4${host} }\nhypervisor: { policy: ${policy} }\nduration: 10s\nguests:\n  - ${guest}\n`;
const phase = (p: string, os = 'ubuntu-18.04'): string => scenario(`{ os: ${os}, vcpus: 2, phases: [${p}] }`);

const loads = (text: string): boolean => {
  try {
    parseScenario(text, 't.yaml');
    return true;
  } catch {
    return false;
  }
};

/** [what, text, the loader accepts it, the schema accepts it]. */
const CASES: readonly (readonly [string, string, boolean, boolean])[] = [
  ['a Linux clocksource under KVM', scenario('{ os: ubuntu-18.04, clocksource: hpet }'), true, true],
  ['clocksource on a Windows guest', scenario('{ os: windows-10-1909, clocksource: hpet }'), false, false],
  ['clocksource on a FreeBSD guest', scenario('{ os: freebsd-12.1, clocksource: tsc }'), false, false],
  [
    'clocksource on a scripted guest',
    scenario('{ os: scripted, clocksource: tsc, script: [{ write_cr8: 1 }] }'),
    false,
    false,
  ],
  [
    'Windows keys on a Windows guest',
    scenario('{ os: windows-10-1909, enlightenments: none, hpet: true }'),
    true,
    true,
  ],
  ['enlightenments on a Linux guest', scenario('{ os: ubuntu-18.04, enlightenments: [hv-time] }'), false, false],
  ['hpet on a Linux guest', scenario('{ os: ubuntu-18.04, hpet: true }'), false, false],
  ['referenceTscPage on a FreeBSD guest', scenario('{ os: freebsd-12.1, referenceTscPage: true }'), false, false],
  ['hpet on a scripted guest', scenario('{ os: scripted, hpet: true, script: [{ write_cr8: 1 }] }'), false, false],
  ['compute for a duration', phase('{ phase: compute, duration: 5s }', 'windows-10-1909'), true, true],
  ['lock-spin on one vCPU', phase('{ phase: lock-spin, duration: 5s, busyVcpus: 1 }'), true, true],
  ['compute with work', phase('{ phase: compute, work: 5s }'), false, false],
  ['lock-spin with work', phase('{ phase: lock-spin, work: 5s }'), false, false],
  ['boot with work', phase('{ phase: boot, work: 5s }'), false, false],
  ['install with work', phase('{ phase: install, work: 5s }'), true, true],
  ['build with duration and work', phase('{ phase: build, duration: 5s, work: 5s }'), false, false],
  ['build with work and busyVcpus', phase('{ phase: build, work: 5s, busyVcpus: 1 }'), false, false],
  ['a Linux host at 1000 Hz', scenario('{ os: ubuntu-18.04 }', 'kvm', ', os: linux, tickHz: 1000'), true, true],
  ['a Linux host at 333 Hz', scenario('{ os: ubuntu-18.04 }', 'kvm', ', os: linux, tickHz: 333'), false, false],
  [
    'an illumos host at 1000 Hz',
    scenario('{ os: ubuntu-18.04 }', 'bhyve-12.1', ', os: illumos, tickHz: 1000'),
    true,
    true,
  ],
  [
    'an illumos host at 250 Hz',
    scenario('{ os: ubuntu-18.04 }', 'bhyve-12.1', ', os: illumos, tickHz: 250'),
    false,
    false,
  ],
  [
    'a FreeBSD host at 333 Hz',
    scenario('{ os: ubuntu-18.04 }', 'bhyve-12.1', ', os: freebsd, tickHz: 333'),
    true,
    true,
  ],
  // The loader's alone: these depend on the variant's policy (host.os left to it included).
  ['tickHz 333 with the host OS left to KVM', scenario('{ os: ubuntu-18.04 }', 'kvm', ', tickHz: 333'), false, true],
  [
    'enlightenments under bhyve',
    scenario('{ os: windows-10-1909, enlightenments: [hv-time] }', 'bhyve-12.1'),
    false,
    true,
  ],
  ['kvm-clock under bhyve', scenario('{ os: ubuntu-18.04, clocksource: kvm-clock }', 'bhyve-12.1'), false, true],
  [
    'referenceTscPage without hv-time',
    scenario('{ os: windows-10-1909, enlightenments: none, referenceTscPage: true }'),
    false,
    true,
  ],
  [
    'a PLE tunable under bhyve',
    scenario('{ os: ubuntu-18.04 }', 'bhyve-12.1 , tunables: { kvm_intel.ple_gap: 0 }'),
    false,
    true,
  ],
];

describe('scenario.schema.json and the loader agree on keys that depend on another key', () => {
  for (const [what, text, loader, schemaOk] of CASES) {
    it(`${what}: loader ${loader ? 'accepts' : 'rejects'}, schema ${schemaOk ? 'accepts' : 'rejects'}`, () => {
      assert.equal(loads(text), loader, 'loader');
      const json = parse(text) as unknown;
      assert.equal(validateSchema(schema, json).length === 0, schemaOk, 'the helper validator');
      assert.equal(ajvValidate(json), schemaOk, `ajv: ${JSON.stringify(ajvValidate.errors)}`);
    });
  }
});
