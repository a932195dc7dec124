/**
 * Replay handles (docs/REPLAY.md): latency exemplars that point at real observations and merge the
 * same for any host split, the `replay` command's exact exit records, and shrunk reproducers.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { loadModelData, REPO_ROOT } from '../../src/model/data.js';
import { runHosts } from '../../src/run/simulate.js';
import { TotalsAccumulator } from '../../src/run/totals.js';
import { replay } from '../../src/run/replay.js';
import { formatSeconds, parseSecondsNs } from '../../src/input/units.js';
import { withReproducers } from '../../src/run/shrink.js';
import { runScenarioPooled } from '../../src/pool/pooledRun.js';
import { SimPool } from '../../src/pool/pool.js';
import { MetricsHub } from '../../src/metrics/hub.js';
import { MetricsEndpoint } from '../../src/metrics/registry.js';
import { renderJunit } from '../../src/report/summary.js';
import { EXIT_KINDS } from '../../src/core/vcpu/exits.js';
import { LATENCY_BOUNDS_NS } from '../../src/core/engine/host.js';
import type { Scenario } from '../../src/scenario/types.js';
import type { RawTotals } from '../../src/results/types.js';
import { systemBinary } from '../metrics/support.js';

const data = loadModelData();
const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const promtool = systemBinary('promtool', 'prometheus');

// Three hosts of three guests: Windows (IRQL traffic through %cr8, fast-forwarded) shares cores with others.
const SCENARIO_YAML = `name: replay-fleet
seed: 7
host: { cpu: i7-6700K, cores: 2, count: 3 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: idle }]
  - os: ubuntu-18.04
    vcpus: 2
    phases: [{ phase: idle }]
  - os: freebsd-12.1
    phases: [{ phase: idle }]
duration: 3s
hypervisor: { policy: bhyve-12.1 }
`;
const fleet = parseScenario(SCENARIO_YAML, 'replay-fleet.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'vmexit-replay-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function withDuration(s: Scenario, ns: number): Scenario {
  return { ...s, duration: { kind: 'fixed', ns } };
}

function runAll(s: Scenario, ranges: [number, number][]): TotalsAccumulator {
  const parts = ranges.map(([a, b]) => {
    const acc = new TotalsAccumulator(true);
    runHosts(s, s.variants[0], data, a, b, acc);
    return acc;
  });
  // Merge in reverse order, through the JSON form workers and shard files use.
  const out = new TotalsAccumulator(true);
  for (const p of parts.reverse())
    out.merge(TotalsAccumulator.fromJSON(JSON.parse(JSON.stringify(p.toJSON())) as RawTotals));
  return out;
}

test('latency exemplars: identical for 1 or 3 host ranges merged in any order; each is inside its bucket', () => {
  const one = runAll(fleet, [[0, 3]]);
  const split = runAll(fleet, [
    [0, 1],
    [1, 2],
    [2, 3],
  ]);
  assert.deepEqual(split.latencyExemplars.toJSON(), one.latencyExemplars.toJSON());
  const ex = one.latencyExemplars.toJSON();
  assert.equal(ex.length, LATENCY_BOUNDS_NS.length + 1);
  let nonEmpty = 0;
  ex.forEach((e, b) => {
    assert.equal(e === null, one.latency[b] === 0, `bucket ${b}: an exemplar exactly when the bucket has observations`);
    if (!e) return;
    nonEmpty++;
    assert.ok(
      e.latencyNs <= (LATENCY_BOUNDS_NS[b] ?? Infinity) && (b === 0 || e.latencyNs > LATENCY_BOUNDS_NS[b - 1]),
      `bucket ${b}: ${e.latencyNs} ns`,
    );
    assert.ok(e.guest >= 0 && e.guest < 9);
  });
  assert.ok(nonEmpty >= 2, 'the fleet fills several buckets');
});

test('each exemplar is a real observation: replaying its guest shows that delivery latency at that time', () => {
  const acc = runAll(fleet, [[0, 3]]);
  for (const e of acc.latencyExemplars.toJSON()) {
    if (!e) continue;
    const r = replay({
      scenario: fleet,
      variantIndex: 0,
      data,
      guest: e.guest,
      atNs: e.simTimeNs,
      fromNs: e.simTimeNs,
    });
    const hit = r.records.find(
      (x) => x.kind === 'delivery' && Math.floor(x.timeNs) === e.simTimeNs && x.latencyNs === e.latencyNs,
    );
    assert.ok(
      hit,
      `guest ${e.guest} at ${e.simTimeNs} ns: no delivery of latency ${e.latencyNs} ns in ${JSON.stringify(r.records.filter((x) => x.kind === 'delivery'))}`,
    );
  }
});

test('/metrics: exemplars {seed, guest, sim_time} only when OpenMetrics is negotiated; classic text unchanged and promtool-clean', async () => {
  const pool = new SimPool({ workers: 2, idleTimeoutMs: 5_000 });
  try {
    const outs = [];
    for (const workers of [1, 2]) {
      const p = workers === 1 ? new SimPool({ workers: 1, idleTimeoutMs: 5_000 }) : pool;
      outs.push(await runScenarioPooled(fleet, { pool: p }));
      if (p !== pool) await p.close();
    }
    // 1 vs 2 workers: the same exemplars in results.json.
    assert.deepEqual(
      outs[1].results.variants[0].totals.interruptLatency.exemplars,
      outs[0].results.variants[0].totals.interruptLatency.exemplars,
    );
    const hub = new MetricsHub();
    hub.addFinished(fleet, outs[1].accumulators, outs[1].results);
    const ep = new MetricsEndpoint(hub);
    const om = (await ep.render(true)).body;
    const lines = om
      .split('\n')
      .filter((l) => l.startsWith('vmexit_lab_interrupt_latency_seconds_bucket') && l.includes(' # '));
    assert.ok(lines.length >= 2, om);
    const want = outs[1].results.variants[0].totals.interruptLatency.exemplars!;
    for (const line of lines) {
      const m = /le="([^"]+)".* # \{(.*)\} (\S+) (\S+)$/.exec(line);
      assert.ok(m, line);
      const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      assert.deepEqual(Object.keys(labels).sort(), ['guest', 'seed', 'sim_time']);
      assert.ok(m[2].replace(/[{}",=]/g, '').length <= 128, 'OpenMetrics: exemplar label set at most 128 characters');
      assert.equal(labels.seed, '7');
      const b =
        m[1] === '+Inf' ? LATENCY_BOUNDS_NS.length : LATENCY_BOUNDS_NS.findIndex((x) => String(x / 1e9) === m[1]);
      assert.deepEqual(
        {
          guest: Number(labels.guest),
          simTimeNs: parseSecondsNs(labels.sim_time),
          latencyNs: Math.round(Number(m[3]) * 1e9),
        },
        want[b],
      );
      assert.ok(Number(m[4]) > 1.7e9, 'exemplar timestamp in Unix seconds');
    }
    const classic = (await ep.render(false)).body;
    assert.ok(!classic.includes(' # {'), 'the Prometheus text format has no exemplars');
    if (!promtool.skip) {
      if (!promtool.path) assert.fail(promtool.missing);
      const r = spawnSync(promtool.path, ['check', 'metrics'], { input: classic, encoding: 'utf8' });
      assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    }
  } finally {
    await pool.close();
  }
});

test("replay: per-reason exits in a window equal the guest's exits between runs cut at its start and end; twice byte-identical", () => {
  const S = 1e9;
  const E = 2e9 + 250e6; // end inside a second: the replay runs events up to and including E
  const cutS = runAll(withDuration(fleet, S), [[0, 3]]);
  const cutE = runAll(withDuration(fleet, E + 1), [[0, 3]]);
  for (const guest of [3, 5]) {
    // host 1: its Windows guest (with fast-forwarded pairs) and its FreeBSD guest
    const r = replay({ scenario: fleet, variantIndex: 0, data, guest, fromNs: S, atNs: E });
    assert.equal(r.host, 1);
    const got: Record<string, number> = {};
    let bulk = 0;
    for (const x of r.records) {
      if (x.kind !== 'exit') continue;
      assert.ok(x.timeNs >= S && x.timeNs <= E + 1, `record at ${x.timeNs}`);
      got[EXIT_KINDS[x.slot].name] = (got[EXIT_KINDS[x.slot].name] ?? 0) + x.count;
      if (x.bulk) bulk++;
    }
    const want: Record<string, number> = {};
    const a = cutS.perGuest![guest].exits;
    const b = cutE.perGuest![guest].exits;
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = (b[k] ?? 0) - (a[k] ?? 0);
      if (d !== 0) want[k] = d;
    }
    assert.deepEqual(got, want, `guest ${guest}`);
    assert.ok(Object.keys(want).length > 0);
    if (guest === 3) assert.ok(bulk > 0, "Windows' %cr8 pairs appear as fast-forwarded bulk records");
  }
  const file = join(tmp, 'replay-fleet.yaml');
  spawnSync('sh', ['-c', `cat > ${file}`], { input: SCENARIO_YAML });
  const args = [CLI, 'replay', file, '--guest', '3', '--at', formatSeconds(E), '--window', '0.25'];
  const one = spawnSync(process.execPath, args, { encoding: 'utf8' });
  const two = spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.equal(one.status, 0, one.stderr);
  assert.ok(one.stdout.split('\n').length > 10);
  assert.equal(one.stdout, two.stdout);
  const first = JSON.parse(one.stdout.split('\n')[0]) as { replay: { host: number; hostGuests: number[] } };
  assert.deepEqual(first.replay.hostGuests, [3, 4, 5]);
  const help = spawnSync(process.execPath, [CLI, 'replay', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Examples:/);
  const bad = spawnSync(process.execPath, [CLI, 'replay', file, '--guest', '99', '--at', '1'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /guest 99 does not exist/);
});

test('seed panic: the reproducer has fewer guests, the printed replay command trips the same check at the same time, JUnit carries it', () => {
  const panic = loadScenarioFile(join(REPO_ROOT, 'scenarios', 'seed', 'e5-2667v4-apicv-panic.yaml'));
  // Unexpected here, so the JUnit case fails with the command in its message.
  const scenario = { ...panic, expectViolations: [] };
  const results = (() => {
    const accs = scenario.variants.map((v) => {
      const acc = new TotalsAccumulator();
      runHosts(scenario, v, data, 0, v.host.count, acc);
      return acc;
    });
    return { accs };
  })();
  assert.ok(results.accs[0].violations.length > 0);
  const fake = {
    version: 1,
    scenario: scenario.name,
    file: scenario.file,
    seed: scenario.seed,
    variants: scenario.variants.map((v, i) => ({
      name: v.name,
      thresholds: [],
      totals: { violations: results.accs[i].violations.map((x) => ({ ...x, expected: false })), entryFailures: [] },
    })),
    crossVariantThresholds: [],
  } as never;
  const withRepro = withReproducers(scenario, fake, data);
  const v2 = (
    withRepro as unknown as {
      variants: {
        name: string;
        totals: {
          violations: {
            check: string;
            reproducer?: { guests: number[]; untilNs: number; simTimeNs: number; command: string };
            simTimeNs: number;
          }[];
        };
      }[];
    }
  ).variants;
  const repros = v2[0].totals.violations.filter((x) => x.reproducer);
  assert.equal(repros.length, 1, 'one reproducer per check');
  const rep = repros[0].reproducer!;
  const hostGuests = scenario.variants[0].guests.reduce((n, g) => n + (g.kind === 'modelled' ? g.count : 0), 0);
  assert.ok(hostGuests > 1 && rep.guests.length < hostGuests, JSON.stringify(rep));
  assert.ok(rep.simTimeNs <= repros[0].simTimeNs);
  assert.equal(rep.untilNs, rep.simTimeNs + 1);
  // bhyve-tpr-v3 has no violation, so no reproducer.
  assert.equal(v2[1].totals.violations.length, 0);
  // Run the printed command with the real CLI.
  assert.match(rep.command, /^vmexit-lab replay /);
  const argv = rep.command.replace(/^vmexit-lab /, '').split(' ');
  const r = spawnSync(process.execPath, [CLI, ...argv], { encoding: 'utf8', cwd: REPO_ROOT });
  assert.equal(r.status, 0, r.stderr);
  const viol = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { tNs?: number; violation?: { check: string } })
    .filter((x) => x.violation);
  assert.ok(
    viol.some((x) => x.violation!.check === repros[0].check && x.tNs === rep.simTimeNs),
    r.stdout.slice(-2000),
  );
  const junit = renderJunit(withRepro);
  assert.ok(junit.includes(rep.command.replace(/'/g, '&apos;')) || junit.includes(rep.command), junit);
  assert.match(junit, /<failure message="[^"]*reproduce with 1 guest/);
});

test('a run without violations has no reproducer; the CLI writes reproducers into results.json', () => {
  const out = join(tmp, 'panic.json');
  const r = spawnSync(
    process.execPath,
    [CLI, 'run', '--quiet', '--out', out, join(REPO_ROOT, 'scenarios', 'seed', 'e5-2667v4-apicv-panic.yaml')],
    { encoding: 'utf8', cwd: REPO_ROOT },
  );
  assert.equal(r.status, 0, r.stderr); // the violation is expected: it does not fail the run
  const results = JSON.parse(readFileSync(out, 'utf8')) as {
    variants: { name: string; totals: { violations: { reproducer?: { command: string } }[] } }[];
  };
  const [v2, v3] = results.variants;
  assert.ok(v2.totals.violations.some((x) => x.reproducer?.command.includes('--only-guests')));
  assert.equal(v3.totals.violations.length, 0);
  assert.ok(!JSON.stringify(v3).includes('reproducer'));
});
