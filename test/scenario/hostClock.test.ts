/**
 * Scenario keys `host.os` (the host kernel's clock tick; illumos bhyve's interrupt window) and a
 * Linux guest's `clocksource` (src/core/guests/linuxClock.ts): defaults, and file:line:col errors
 * for every bad input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseScenario } from '../../src/scenario/load.js';
import type { ModelledGuestSpec } from '../../src/scenario/types.js';
import { rejected } from './helpers.js';

const scenario = (host: string, policy: string, guest: string): string =>
  `name: t\nhost: { cpu: epyc-7763${host} }\nhypervisor: { policy: ${policy} }\nguests:\n  - ${guest}\n`;

describe('host.os and clocksource: good input', () => {
  it('no host.os and no clocksource: nothing set (the hypervisor defaults apply in the engine)', () => {
    const v = parseScenario(scenario('', 'bhyve-12.1', '{ os: ubuntu-18.04 }'), 't.yaml').variants[0];
    assert.equal(v.host.os, undefined);
    assert.equal((v.guests[0] as ModelledGuestSpec).clocksource, undefined);
  });
  const GOOD: readonly { host: string; policy: string; guest: string; os?: string; cs?: string }[] = [
    {
      host: ', os: illumos',
      policy: 'bhyve-12.1',
      guest: '{ os: ubuntu-18.04, clocksource: acpi_pm }',
      os: 'illumos',
      cs: 'acpi_pm',
    },
    {
      host: ', os: freebsd',
      policy: 'bhyve-tpr-v3',
      guest: '{ os: ubuntu-18.04, clocksource: tsc }',
      os: 'freebsd',
      cs: 'tsc',
    },
    {
      host: ', os: linux',
      policy: 'kvm',
      guest: '{ os: ubuntu-18.04, clocksource: kvm-clock }',
      os: 'linux',
      cs: 'kvm-clock',
    },
    { host: '', policy: 'kvm', guest: '{ os: ubuntu-18.04, clocksource: hpet }', cs: 'hpet' },
  ];
  for (const g of GOOD)
    it(`host${g.host || ' (no os)'} / ${g.policy} / ${g.guest}`, () => {
      const v = parseScenario(scenario(g.host, g.policy, g.guest), 't.yaml').variants[0];
      assert.equal(v.host.os, g.os);
      assert.equal((v.guests[0] as ModelledGuestSpec).clocksource, g.cs);
    });
});

describe('host.os and clocksource: errors with file:line:col', () => {
  const BAD: readonly { name: string; text: string; want: RegExp }[] = [
    {
      name: 'an unknown host OS',
      text: scenario(', os: solaris', 'bhyve-12.1', '{ os: ubuntu-18.04 }'),
      want: /t\.yaml:2:\d+: .*unknown host OS "solaris"/,
    },
    {
      name: 'illumos under KVM',
      text: scenario(', os: illumos', 'kvm', '{ os: ubuntu-18.04 }'),
      want: /t\.yaml:2:\d+: .*host\.os illumos does not run KVM.*linux/,
    },
    {
      name: 'linux under bhyve',
      text: scenario(', os: linux', 'bhyve-12.1', '{ os: ubuntu-18.04 }'),
      want: /t\.yaml:2:\d+: .*host\.os linux does not run bhyve.*freebsd or illumos/,
    },
    {
      name: 'a clocksource on a Windows guest',
      text: scenario('', 'kvm', '{ os: windows-10-1909, clocksource: acpi_pm }'),
      want: /t\.yaml:5:\d+: .*"clocksource" applies to Linux guests only/,
    },
    {
      name: 'a clocksource on a FreeBSD guest',
      text: scenario('', 'bhyve-12.1', '{ os: freebsd-12.1, clocksource: tsc }'),
      want: /t\.yaml:5:\d+: .*"clocksource" applies to Linux guests only/,
    },
    {
      name: 'an unknown clocksource',
      text: scenario('', 'kvm', '{ os: ubuntu-18.04, clocksource: acpi-pm }'),
      want: /t\.yaml:5:\d+: .*unknown clocksource "acpi-pm".*did you mean "acpi_pm"/,
    },
    {
      name: 'kvm-clock under bhyve',
      text: scenario('', 'bhyve-12.1', '{ os: ubuntu-18.04, clocksource: kvm-clock }'),
      want: /t\.yaml:5:\d+: .*bhyve offers no kvm-clock/,
    },
  ];
  for (const b of BAD)
    it(b.name, () => {
      assert.match(rejected(b.text).message, b.want);
    });
});

describe('host.tickHz: the host kernel tick rate as stated', () => {
  const GOOD: readonly { host: string; policy: string; hz: number }[] = [
    { host: ', tickHz: 1000', policy: 'kvm', hz: 1000 }, // Linux CONFIG_HZ_1000
    { host: ', os: linux, tickHz: 300', policy: 'kvm', hz: 300 },
    { host: ', tickHz: 100', policy: 'bhyve-12.1', hz: 100 }, // FreeBSD kern.hz=100
    { host: ', tickHz: 4000', policy: 'bhyve-tpr-v3', hz: 4000 }, // kern.hz takes any rate
    { host: ', os: illumos, tickHz: 1000', policy: 'bhyve-12.1', hz: 1000 }, // hires_tick
  ];
  for (const g of GOOD)
    it(`host${g.host} / ${g.policy}`, () => {
      const v = parseScenario(scenario(g.host, g.policy, '{ os: ubuntu-18.04 }'), 't.yaml').variants[0];
      assert.equal(v.host.tickHz, g.hz);
    });
  it('absent: nothing set (the OS default of cost-model.yaml hostTickHz applies)', () => {
    assert.equal(
      parseScenario(scenario('', 'kvm', '{ os: ubuntu-18.04 }'), 't.yaml').variants[0].host.tickHz,
      undefined,
    );
  });
  const BAD: readonly { name: string; text: string; want: RegExp }[] = [
    {
      name: 'a Linux host at a rate Kconfig.hz does not offer',
      text: scenario(', tickHz: 500', 'kvm', '{ os: ubuntu-18.04 }'),
      want: /t\.yaml:2:\d+: .*host\.tickHz 500 is not a tick rate the linux kernel offers.*100, 250, 300, 1000 Hz/,
    },
    {
      name: 'an illumos host at a rate other than HZ_DEFAULT or hires_tick',
      text: scenario(', os: illumos, tickHz: 250', 'bhyve-12.1', '{ os: ubuntu-18.04 }'),
      want: /t\.yaml:2:\d+: .*host\.tickHz 250 is not a tick rate the illumos kernel offers.*100, 1000 Hz/,
    },
    {
      name: 'below 10 Hz',
      text: scenario(', tickHz: 1', 'bhyve-12.1', '{ os: ubuntu-18.04 }'),
      want: /t\.yaml:2:\d+: .*host\.tickHz/,
    },
    {
      name: 'not a whole number',
      text: scenario(', tickHz: 250.5', 'kvm', '{ os: ubuntu-18.04 }'),
      want: /t\.yaml:2:\d+: .*host\.tickHz/,
    },
    {
      name: 'misspelt key',
      text: scenario(', tickHZ: 250', 'kvm', '{ os: ubuntu-18.04 }'),
      want: /t\.yaml:2:\d+: .*tickHZ.*did you mean "tickHz"/,
    },
  ];
  for (const b of BAD)
    it(b.name, () => {
      assert.match(rejected(b.text).message, b.want);
    });
});
