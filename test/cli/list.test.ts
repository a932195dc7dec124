/**
 * `vmexit-lab list` names everything a scenario can name: every phase, the guest keys per OS
 * (Windows enlightenments, Linux clocksources), every tunable and every host OS with its tick rates,
 * and each bundled scenario on one line (a folded multi-line description included).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { LINUX_CLOCKSOURCES } from '../../src/core/guests/linuxClock.js';
import { HV_ENLIGHTENMENTS } from '../../src/core/hypervisor/hyperv.js';
import { TUNABLES } from '../../src/core/hypervisor/policy.js';
import { HOST_OS_NAMES, HOST_TICK_HZ_CHOICES } from '../../src/model/hostOs.js';
import { PHASE_NAMES } from '../../src/scenario/types.js';
import { scenarioFiles } from '../../src/cli/commands/list.js';
import { capture, cli } from '../support/cli.js';
import { escapeRegExp } from '../support/regex.js';

async function list(...args: string[]): Promise<string> {
  const io = capture();
  assert.equal(await main(['list', ...args], io), 0);
  return io.stdout.join('');
}

test('list names every phase, per-OS guest key value, tunable and host OS with its ticks', async () => {
  const text = await list();
  const missing = [
    ...PHASE_NAMES,
    ...LINUX_CLOCKSOURCES,
    ...HV_ENLIGHTENMENTS,
    'referenceTscPage',
    'hpet (default false)',
    ...TUNABLES.map((t) => t.name),
  ].filter((w) => !new RegExp(`(^|[\\s,(|])${escapeRegExp(w)}([\\s,;)=]|$)`, 'm').test(text));
  assert.deepEqual(missing, []);
  for (const os of HOST_OS_NAMES) {
    const line = text.split('\n').find((l) => l.startsWith(`  ${os} `));
    assert.ok(line, `no host OS line for ${os}`);
    const choices = HOST_TICK_HZ_CHOICES[os];
    assert.ok(line.includes(choices === undefined ? 'any rate' : `${choices.join(', ')} Hz`), line);
  }
});

test('list scenarios: one line per bundled scenario, descriptions folded onto it', async () => {
  const lines = (await list('scenarios')).split('\n');
  assert.equal(lines[0], 'Scenarios:');
  assert.equal(lines.length - 1, scenarioFiles().length);
  for (const l of lines.slice(1)) assert.match(l, /^ {2}scenarios\/\S+\.yaml {2}\S/);
  assert.ok(lines.some((l) => l.includes('imported-sysbench-policies.yaml') && l.endsWith('bhyve-tpr-v3]')));
});

test('list guests / policies --json carry phases, guest keys and host OSes', async () => {
  const guests = JSON.parse(await list('guests', '--json')) as Record<string, unknown>;
  assert.deepEqual(
    (guests.phases as { phase: string }[]).map((p) => p.phase),
    [...PHASE_NAMES],
  );
  assert.deepEqual((guests.guestKeys as { linux: { clocksource: string[] } }).linux.clocksource, [
    ...LINUX_CLOCKSOURCES,
  ]);
  const policies = JSON.parse(await list('policies', '--json')) as Record<string, unknown>;
  assert.deepEqual(
    (policies.hostOs as { os: string }[]).map((h) => h.os),
    [...HOST_OS_NAMES],
  );
});

// A newcomer asking about "bhyve 12.1 and the later revisions" met bhyve-tpr-v1/v2/v3 with only
// their tunables: nothing said they are the revisions of review D22942, nor which was committed.
test('list policies says what each policy is: bhyve 12.1, the D22942 revisions (v3 committed), KVM', async () => {
  const text = await list('policies');
  const line = (p: string): string => text.split('\n').find((l) => l.startsWith(`  ${p} `)) ?? '';
  assert.match(line('bhyve-12.1'), /FreeBSD 12\.1/);
  assert.match(line('bhyve-tpr-v1'), /D22942.*1/);
  assert.match(line('bhyve-tpr-v2'), /isrvec_stk/);
  assert.match(line('bhyve-tpr-v3'), /committed/);
  assert.match(line('kvm'), /KVM/);
  const io = capture();
  assert.equal(await main(['list', 'policies', '--json'], io), 0);
  const json = JSON.parse(io.stdout.join('')) as { policies: { name: string; description: string }[] };
  for (const p of json.policies) assert.ok(p.description.length > 20, `${p.name}: ${p.description}`);
});

// "On a Core i7 and on a Xeon": what tells them apart for APIC virtualization is in `cpus`, not in
// `list`, the README's first command, which named the CPU profiles by model only.
test('list cpus says which profiles have APICv or AVIC', async () => {
  const text = await list('cpus');
  const line = (id: string): string => text.split('\n').find((l) => l.startsWith(`  ${id} `)) ?? '';
  assert.match(line('i7-6700K'), /TPR shadow, no APICv/);
  assert.match(line('xeon-e5-2667v4'), /TPR shadow, APICv/);
  assert.match(line('epyc-7281'), /AVIC/);
  assert.match(text, /vmexit-lab cpus/);
});

test('list hosts: the host OSes alone, as host.os names them (an unknown kind; they were only under policies and in the whole list)', async () => {
  const text = await cli(['list', 'hosts']);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^Host OS \(host\.os; host\.tickHz another tick rate\):$/m);
  for (const os of ['freebsd', 'linux', 'illumos']) assert.match(text.stdout, new RegExp(`^ {2}${os} +`, 'm'), os);
  assert.doesNotMatch(text.stdout, /^(Policies|Scenarios|CPU profiles|Guest models):/m);
  const json = await cli(['list', 'hosts', '--json']);
  assert.deepEqual(Object.keys(JSON.parse(json.stdout)), ['hostOs']);
  // With the policies, as before.
  assert.deepEqual(Object.keys(JSON.parse((await cli(['list', 'policies', '--json'])).stdout)).sort(), [
    'hostOs',
    'policies',
  ]);
  const typo = await cli(['list', 'host']);
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /unknown kind "host" \(did you mean "hosts"\?\)/);
});
