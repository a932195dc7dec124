/**
 * KVM's halt-poll statistics in results.json (docs/RESULTS.md `haltPoll`): halt_attempted_poll,
 * halt_successful_poll, halt_wakeup and the host seconds polled, summed over a KVM variant's vCPUs
 * and hosts, by the names kvm_stat prints (arch/x86/kvm/x86.c debugfs_entries; counted as kvm_main.c
 * kvm_vcpu_block does, src/core/hypervisor/haltPoll.ts). bhyve never polls: no field. Shards carry
 * them in `raw` and `merge` adds them exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/run/runScenario.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { rawTotalsProblem } from '../../src/run/rawTotalsCheck.js';
import { REPO_ROOT } from '../../src/model/data.js';
import type { VariantTotals } from '../../src/results/types.js';

/** The shape of scenarios/library/linux-pipe-ping-pong.yaml: two vCPUs bouncing a byte every 40 us. */
function pingPong(policy: string, tunables = '', count = 1): string {
  return `name: hs
seed: 11
host: { cpu: i7-6700K, cores: 8, count: ${count} }
hypervisor: { policy: ${policy}${tunables === '' ? '' : `, tunables: { ${tunables} }`} }
guests:
  - { os: ubuntu-18.04, vcpus: 2, x2apic: true, phases: [{ phase: ping-pong, hop: 40us, duration: 1s }] }
duration: 1s
`;
}

function totals(policy: string, tunables = ''): VariantTotals {
  return runScenario(parseScenario(pingPong(policy, tunables), 'hs.yaml')).results.variants[0].totals;
}

test('KVM by default: the ping-pong polls, most polls succeed, and the polled seconds are in the HLT exits', () => {
  const t = totals('kvm');
  const h = t.haltPoll;
  assert.ok(h !== undefined, 'a KVM variant has haltPoll');
  assert.ok(h.halt_successful_poll > 0, `${h.halt_successful_poll} successful polls`);
  assert.ok(h.halt_attempted_poll >= h.halt_successful_poll, 'attempted counts every poll, successful or not');
  assert.ok(h.pollSeconds > 0, `${h.pollSeconds} s polled`);
  // The ns polled join the HLT exit's host time (haltEnds): never more than it.
  assert.ok(h.pollSeconds <= (t.hostSecondsInExits.HLT ?? 0), 'polling is inside the HLT exits');
  // Every halt that ended is one of: a successful poll, or a wake-up of a sleeper (halt_wakeup).
  assert.ok(h.halt_successful_poll + h.halt_wakeup <= (t.exits.HLT ?? 0), 'no more halts than HLT exits');
  for (const v of Object.values(h)) assert.ok(Number.isFinite(v) && v >= 0);
});

test('kvm.halt_poll_ns 0: the statistics are there, nothing polled, every halt that slept a wake-up', () => {
  const t = totals('kvm', 'kvm.halt_poll_ns: 0');
  const h = t.haltPoll;
  assert.ok(h !== undefined, 'still a KVM variant');
  assert.equal(h.halt_attempted_poll, 0);
  assert.equal(h.halt_successful_poll, 0);
  assert.equal(h.pollSeconds, 0);
  // KVM counts halt_wakeup whether or not it polled (kvm_vcpu_wake_up found a sleeper): it was 0 here.
  const hlt = t.exits.HLT ?? 0;
  assert.ok(h.halt_wakeup > 0.9 * hlt && h.halt_wakeup <= hlt, `${h.halt_wakeup} wake-ups of ${hlt} halts`);
});

test('bhyve has no halt-poll statistics (vm_handle_hlt never polls)', () => {
  const t = totals('bhyve-12.1');
  assert.equal('haltPoll' in t, false);
  const acc = runScenario(parseScenario(pingPong('bhyve-12.1'), 'hs.yaml')).accumulators[0];
  assert.equal('haltPoll' in acc.toJSON(), false, 'nor does its raw form');
});

test('raw haltPoll is checked like every other raw counter', () => {
  const raw = runScenario(parseScenario(pingPong('kvm'), 'hs.yaml')).accumulators[0].toJSON();
  assert.equal(rawTotalsProblem(raw), undefined);
  assert.equal(raw.haltPoll?.length, 4);
  assert.match(rawTotalsProblem({ ...raw, haltPoll: [1, 2] }) ?? '', /raw\.haltPoll has 2 entries/);
  assert.match(rawTotalsProblem({ ...raw, haltPoll: [1, 2, -3, 4] }) ?? '', /raw\.haltPoll\[2\]/);
  const back = TotalsAccumulator.fromJSON(JSON.parse(JSON.stringify(raw)));
  assert.deepEqual(back.toJSON(), raw, 'the raw form goes round exactly');
});

const cli = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

function node(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, env: { ...process.env, CI: 'true' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test('run --shard I/3 + merge gives the unsharded results.json bit for bit, halt-poll statistics included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-haltstats-'));
  try {
    const scenario = join(dir, 'hs.yaml');
    writeFileSync(
      scenario,
      `${pingPong('kvm', '', 5)
        .replace('name: hs', 'name: hs-shards')
        .replace('hypervisor: { policy: kvm }\n', '')}matrix:\n  policy: [kvm, bhyve-12.1]\n`,
    );
    const whole = await node(['run', '--quiet', '--out', join(dir, 'whole.json'), scenario], dir);
    assert.equal(whole.code, 0, whole.stderr);
    const shards: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const out = join(dir, `shard-${i}.json`);
      const r = await node(['run', '--quiet', '--shard', `${i}/3`, '--out', out, scenario], dir);
      assert.equal(r.code, 0, r.stderr);
      shards.push(out);
    }
    const merged = await node(['merge', '--out', join(dir, 'merged.json'), ...shards.reverse()], dir);
    assert.equal(merged.code, 0, merged.stderr);
    // The whole document but the two fields that are the wall clock's.
    const read = (f: string): { variants: { name: string; totals: VariantTotals }[] } => {
      const r = JSON.parse(readFileSync(join(dir, f), 'utf8'));
      delete r.startedAt;
      delete r.wallSeconds;
      return r;
    };
    const a = read('whole.json');
    const b = read('merged.json');
    assert.ok((a.variants[0].totals.haltPoll?.halt_successful_poll ?? 0) > 0, 'the KVM variant polled');
    assert.equal(a.variants[1].totals.haltPoll, undefined, 'the bhyve variant has none');
    assert.equal(JSON.stringify(b), JSON.stringify(a));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
