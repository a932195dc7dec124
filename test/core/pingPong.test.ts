/**
 * The ping-pong phase (src/core/guests/pingPong.ts): pairs of vCPUs pass one message by reschedule
 * IPI, each hop `hop` of guest work. What follows from Linux's wake-up path with nothing fitted:
 * one halt, one IPI and one wake-up per hop; under KVM with x2APIC four MSR writes per halt (the
 * ICR write, the IPI's EOI, the tick restarted at idle exit, the next timer event armed at idle
 * entry); in xAPIC mode the ICR write is an APIC-page write instead; the hop rate follows the hop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { ScenarioError } from '../../src/input/diagnostics.js';

interface Run {
  readonly hlt: number;
  readonly msrWrite: number;
  readonly apicAccess: number;
  readonly ipis: number;
  readonly cpu: number;
}

function scenario(guest: string, seconds: number, hosts = 1) {
  return parseScenario(
    `name: pp
seed: 5
host: { cpu: i7-6700K, cores: 8, count: ${hosts} }
hypervisor: { policy: kvm }
guests:
  - ${guest}
duration: ${seconds}s
`,
    'pp.yaml',
  );
}

function run(guest: string, seconds = 2): Run {
  const t = runScenario(scenario(guest, seconds)).results.variants[0].totals;
  const per = (x: number) => x / t.simulatedSeconds;
  return {
    hlt: per(t.exits.HLT ?? 0),
    msrWrite: per(t.exits.MSR_WRITE ?? 0),
    apicAccess: per(t.exits.APIC_ACCESS ?? 0),
    ipis: per(t.interruptsBySource.ipi.raised),
    cpu: t.guestCpuSeconds / t.simulatedSeconds,
  };
}

const X2 = (hop: string, extra = '') =>
  `{ os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: ping-pong, duration: 2s, hop: ${hop}${extra} }] }`;

test('ping-pong, x2APIC: one IPI and one halt per hop, four MSR writes per halt (ICR, EOI, tick restart, idle arm)', () => {
  const r = run(X2('40us'));
  const idle = run('{ os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: idle, duration: 2s }] }');
  assert.ok(r.hlt > 100 * idle.hlt, `${r.hlt.toFixed(0)} halts/s against idle's ${idle.hlt.toFixed(0)}`);
  assert.ok(Math.abs(r.ipis / r.hlt - 1) < 0.01, `${r.ipis.toFixed(0)} IPIs/s for ${r.hlt.toFixed(0)} halts/s`);
  const perHalt = r.msrWrite / r.hlt;
  assert.ok(perHalt > 3.95 && perHalt < 4.05, `${perHalt.toFixed(3)} MSR writes per halt`);
  // One message per pair: the two vCPUs together run about one vCPU's worth of guest time.
  assert.ok(r.cpu > 0.7 && r.cpu < 1.05, `${r.cpu.toFixed(2)} guest CPUs`);
});

test('ping-pong: the hop rate follows the hop (a hop of guest work plus the send and wake-up path)', () => {
  const paths: number[] = [];
  for (const [hop, us] of [
    ['20us', 20],
    ['200us', 200],
    ['2ms', 2000],
  ] as const) {
    // One IPI per hop (the phase sends no other); each hop takes its guest work plus a path of
    // exits, IPI latency and wake-up, the same whatever the hop.
    const r = run(X2(hop));
    const path = 1e6 / r.ipis - us;
    assert.ok(path > 1 && path < 30, `${hop}: ${r.ipis.toFixed(0)} hops/s, a path of ${path.toFixed(1)} us per hop`);
    paths.push(path);
  }
  assert.ok(Math.max(...paths) - Math.min(...paths) < 8, `paths ${paths.map((p) => p.toFixed(1)).join(', ')} us`);
});

test('ping-pong, xAPIC: the ICR write is an APIC-page write, not an MSR write', () => {
  const r = run(
    `{ os: ubuntu-18.04, vcpus: 2, x2apic: false, phases: [{ phase: ping-pong, duration: 2s, hop: 40us }] }`,
  );
  // i7-6700K: no APIC-register virtualization, so ICR high, ICR low and the EOI each exit.
  const page = r.apicAccess / r.hlt;
  assert.ok(page > 2.95 && page < 3.05, `${page.toFixed(3)} APIC-page writes per halt (ICR high, ICR low, EOI)`);
  const perHalt = r.msrWrite / r.hlt;
  assert.ok(perHalt > 1.95 && perHalt < 2.05, `${perHalt.toFixed(3)} MSR writes per halt (only the two timer arms)`);
});

test('ping-pong with busyVcpus 2 of 4: one pair bounces, the two others idle; an odd vCPU out idles', () => {
  const pair = run(X2('40us'));
  const four = run(
    `{ os: ubuntu-18.04, vcpus: 4, x2apic: true, phases: [{ phase: ping-pong, duration: 2s, hop: 40us, busyVcpus: 2 }] }`,
  );
  const three = run(
    `{ os: ubuntu-18.04, vcpus: 3, x2apic: true, phases: [{ phase: ping-pong, duration: 2s, hop: 40us }] }`,
  );
  const all4 = run(
    `{ os: ubuntu-18.04, vcpus: 4, x2apic: true, phases: [{ phase: ping-pong, duration: 2s, hop: 40us }] }`,
  );
  for (const [name, r] of [
    ['busyVcpus 2 of 4', four],
    ['3 vCPUs', three],
  ] as const)
    assert.ok(
      Math.abs(r.hlt / pair.hlt - 1) < 0.05,
      `${name}: ${r.hlt.toFixed(0)} halts/s against a pair's ${pair.hlt.toFixed(0)}`,
    );
  assert.ok(
    Math.abs(all4.hlt / pair.hlt - 2) < 0.1,
    `two pairs: ${all4.hlt.toFixed(0)} halts/s against ${pair.hlt.toFixed(0)}`,
  );
});

test('ping-pong: three shards sum to the unsharded run bit for bit, and the phase ends at its duration', () => {
  const g = `{ os: ubuntu-18.04, vcpus: 2, x2apic: true, count: 2, phases: [{ phase: ping-pong, duration: 1s, hop: 30us }, { phase: idle, duration: 1s }] }`;
  const s = scenario(g, 2, 3);
  const whole = JSON.stringify(runScenario(s).accumulators[0].toJSON());
  const merged = new TotalsAccumulator();
  for (let i = 1; i <= 3; i++) merged.merge(runScenario(s, { shard: { index: i, count: 3 } }).accumulators[0]);
  assert.equal(JSON.stringify(merged.toJSON()), whole);
  const one = run(g);
  const alone = run(
    `{ os: ubuntu-18.04, vcpus: 2, x2apic: true, count: 3, phases: [{ phase: ping-pong, duration: 1s, hop: 30us }] }`,
    1,
  );
  // The second second idles: about half the halts of a run that bounces all along.
  assert.ok(
    one.hlt < 0.55 * alone.hlt,
    `${one.hlt.toFixed(0)} halts/s with an idle second, ${alone.hlt.toFixed(0)} without`,
  );
});

// [phase entry, guest OS, vCPUs, what the loader says]
const REFUSED: readonly (readonly [string, string, number, RegExp])[] = [
  ['{ phase: ping-pong, duration: 1s }', 'ubuntu-18.04', 2, /needs "hop"/],
  ['{ phase: idle, duration: 1s, hop: 40us }', 'ubuntu-18.04', 2, /"hop" is for phase ping-pong only/],
  ['{ phase: ping-pong, duration: 1s, hop: 40us }', 'ubuntu-18.04', 1, /needs a pair of vCPUs/],
  [
    '{ phase: ping-pong, duration: 1s, hop: 40us, busyVcpus: 1 }',
    'ubuntu-18.04',
    4,
    /needs a pair of vCPUs \(busyVcpus is 1\)/,
  ],
  ['{ phase: ping-pong, duration: 1s, hop: 40us }', 'windows-10-1909', 2, /not a Linux guest/],
  ['{ phase: ping-pong, work: 1s, hop: 40us }', 'ubuntu-18.04', 2, /takes no "work"/],
  ['{ phase: ping-pong, duration: 1s, hop: 0us }', 'ubuntu-18.04', 2, /hop/],
];

for (const [phase, os, vcpus, want] of REFUSED) {
  test(`ping-pong loader refuses ${os} x${vcpus} ${phase}`, () => {
    assert.throws(
      () =>
        parseScenario(
          `name: bad
host: { cpu: i7-6700K, cores: 8 }
hypervisor: { policy: kvm }
guests:
  - { os: ${os}, vcpus: ${vcpus}, phases: [${phase}] }
duration: 1s
`,
          'bad.yaml',
        ),
      (e: unknown) => e instanceof ScenarioError && want.test(e.message),
    );
  });
}
