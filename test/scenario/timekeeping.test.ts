/**
 * Guest keys `enlightenments`, `hpet`, `referenceTscPage` and the matrix axis `enlightenments`
 * (src/scenario/timekeeping.ts): defaults per policy, variant names, and file:line:col errors for
 * every bad input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WINDOWS_KVM_DEFAULT_ENLIGHTENMENTS } from '../../src/core/hypervisor/hyperv.js';
import { parseScenario } from '../../src/scenario/load.js';
import type { ModelledGuestSpec } from '../../src/scenario/types.js';
import { rejected } from './helpers.js';

const scenario = (guest: string, policy = 'kvm', extra = ''): string =>
  `name: t\nhost: { cpu: xeon-e5-2667v4 }\nhypervisor: { policy: ${policy} }\nguests:\n  - ${guest}\n${extra}`;

const guest0 = (text: string, variant = 0): ModelledGuestSpec =>
  parseScenario(text, 't.yaml').variants[variant].guests[0] as ModelledGuestSpec;

describe('Windows timekeeping keys: good input', () => {
  it('a Windows guest under KVM gets the virt-install defaults, no HPET, the TSC page', () => {
    const g = guest0(scenario('{ os: windows-10-1909 }'));
    assert.deepEqual(g.timekeeping, {
      enlightenments: WINDOWS_KVM_DEFAULT_ENLIGHTENMENTS,
      hpet: false,
      referenceTscPage: true,
    });
  });
  it('takes an explicit list, none, hpet and referenceTscPage', () => {
    const g = guest0(
      scenario('{ os: windows-server-2019, enlightenments: [hv-time, hv-vapic], hpet: true, referenceTscPage: false }'),
    );
    assert.deepEqual(g.timekeeping, { enlightenments: ['hv-time', 'hv-vapic'], hpet: true, referenceTscPage: false });
    assert.deepEqual(guest0(scenario('{ os: windows-7, enlightenments: none }')).timekeeping?.enlightenments, []);
  });
  it('gives nothing under bhyve and to Linux guests', () => {
    assert.equal(guest0(scenario('{ os: windows-10-1909 }', 'bhyve-12.1')).timekeeping, undefined);
    assert.equal(guest0(scenario('{ os: windows-10-1909, hpet: true }', 'bhyve-12.1')).timekeeping, undefined);
    assert.equal(guest0(scenario('{ os: ubuntu-18.04 }')).timekeeping, undefined);
  });
  it('the matrix axis names its variants by their members, or none, and sets every Windows guest', () => {
    const s = parseScenario(
      scenario(
        '{ os: windows-10-1909 }\n  - { os: ubuntu-18.04 }',
        'kvm',
        'matrix:\n  enlightenments: [none, [hv-vpindex, hv-synic, hv-stimer, hv-time]]\n',
      ),
      't.yaml',
    );
    assert.deepEqual(
      s.variants.map((v) => v.name),
      ['none', 'hv-vpindex+hv-synic+hv-stimer+hv-time'],
    );
    assert.deepEqual((s.variants[1].guests[0] as ModelledGuestSpec).timekeeping?.enlightenments, [
      'hv-vpindex',
      'hv-synic',
      'hv-stimer',
      'hv-time',
    ]);
    assert.equal((s.variants[1].guests[1] as ModelledGuestSpec).timekeeping, undefined);
  });
  it('with a policy axis, enlightenments: none is fine under bhyve', () => {
    const s = parseScenario(
      'name: t\nhost: { cpu: xeon-e5-2667v4 }\nguests: [{ os: windows-10-1909, enlightenments: none }]\nmatrix:\n  policy: [bhyve-tpr-v3, kvm]\n',
      't.yaml',
    );
    assert.equal((s.variants[0].guests[0] as ModelledGuestSpec).timekeeping, undefined);
    assert.deepEqual((s.variants[1].guests[0] as ModelledGuestSpec).timekeeping?.enlightenments, []);
  });
});

describe('Windows timekeeping keys: bad input, each with its position', () => {
  const CASES = [
    {
      what: 'an unknown enlightenment, with a suggestion',
      text: scenario('{ os: windows-10-1909, enlightenments: [hv-stimmer] }'),
      want: /t\.yaml:5:\d+: .*unknown enlightenment "hv-stimmer".*did you mean "hv-stimer"/,
    },
    {
      what: 'hv-stimer without hv-synic (QEMU refuses it)',
      text: scenario('{ os: windows-10-1909, enlightenments: [hv-time, hv-stimer] }'),
      want: /t\.yaml:5:\d+: .*hv-stimer needs hv-synic/,
    },
    {
      what: 'an enlightenment twice',
      text: scenario('{ os: windows-10-1909, enlightenments: [hv-time, hv-time] }'),
      want: /t\.yaml:5:\d+: .*lists hv-time twice/,
    },
    {
      what: 'a wrong type',
      text: scenario('{ os: windows-10-1909, enlightenments: all }'),
      want: /t\.yaml:5:\d+: .*wrong type for guests\[0\]\.enlightenments/,
    },
    {
      what: 'enlightenments on a Linux guest',
      text: scenario('{ os: ubuntu-18.04, enlightenments: [hv-time] }'),
      want: /t\.yaml:5:\d+: .*"enlightenments" applies to Windows guests only/,
    },
    {
      what: 'hpet on a Linux guest: pointed at its clocksource, which can be the HPET',
      text: scenario('{ os: ubuntu-18.04, hpet: true }'),
      want: /t\.yaml:5:\d+: .*"hpet" applies to Windows guests only \(ubuntu-18\.04 uses no Hyper-V enlightenments; a Linux guest reads the clock its "clocksource" names\) \(expected clocksource: tsc \| kvm-clock \| acpi_pm \| hpet \(hpet: the HPET main counter\)\)/,
    },
    {
      what: 'referenceTscPage on a FreeBSD guest',
      text: scenario('{ os: freebsd-12.1, referenceTscPage: true }'),
      want: /t\.yaml:5:\d+: .*"referenceTscPage" applies to Windows guests only \(freebsd-12\.1 uses no Hyper-V enlightenments\)$/,
    },
    {
      what: 'enlightenments under bhyve',
      text: scenario('{ os: windows-10-1909, enlightenments: [hv-time] }', 'bhyve-tpr-v3'),
      want: /t\.yaml:5:\d+: .*bhyve implements no Hyper-V enlightenments/,
    },
    {
      what: 'hpet: false under bhyve',
      text: scenario('{ os: windows-10-1909, hpet: false }', 'bhyve-12.1'),
      want: /t\.yaml:5:\d+: .*bhyve always gives a VM an HPET/,
    },
    {
      what: 'hpet not a boolean',
      text: scenario('{ os: windows-10-1909, hpet: maybe }'),
      want: /t\.yaml:5:\d+: .*guests\[0\]\.hpet/,
    },
    {
      what: 'referenceTscPage without hv-time',
      text: scenario('{ os: windows-10-1909, enlightenments: [hv-vapic], referenceTscPage: false }'),
      want: /t\.yaml:5:\d+: .*referenceTscPage applies with hv-time/,
    },
    {
      what: 'a guest key and the matrix axis both',
      text: scenario(
        '{ os: windows-10-1909, enlightenments: none }',
        'kvm',
        'matrix:\n  enlightenments: [none, [hv-time]]\n',
      ),
      want: /t\.yaml:5:\d+: .*enlightenments is also set by matrix\.enlightenments/,
    },
    {
      what: 'the matrix axis with one set twice in another order',
      text: scenario(
        '{ os: windows-10-1909 }',
        'kvm',
        'matrix:\n  enlightenments: [[hv-time, hv-vapic], [hv-vapic, hv-time]]\n',
      ),
      want: /t\.yaml:7:\d+: .*matrix\.enlightenments lists "hv-vapic\+hv-time" twice \(the same set as "hv-time\+hv-vapic": the order does not matter\)/,
    },
    {
      what: 'the matrix axis without a Windows guest',
      text: scenario('{ os: ubuntu-18.04 }', 'kvm', 'matrix:\n  enlightenments: [none, [hv-time]]\n'),
      want: /t\.yaml:7:\d+: .*matrix\.enlightenments applies to Windows guests/,
    },
    {
      what: 'enlightenments on a workload-profile guest',
      text: scenario('{ workload: p.yaml, enlightenments: none }'),
      want: /t\.yaml:5:\d+: .*"enlightenments" does not apply to a workload-profile guest/,
    },
  ];
  for (const c of CASES) {
    it(c.what, () => {
      assert.match(rejected(c.text).message, c.want);
    });
  }
});
