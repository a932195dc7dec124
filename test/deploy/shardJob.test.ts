/**
 * deploy/k8s: the Indexed Job: N = completions = VMEXIT_LAB_SHARDS, sized from the measurements;
 * pod k runs shard k+1 (its script run through a real shell, with Kubernetes' $(VAR) expansion) and
 * the shards cover every host once; the smoke overlay end to end, two shards pushing to a fake
 * Pushgateway, then the merge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { parseScenario } from '../../src/scenario/load.js';
import { shardRange } from '../../src/run/runScenario.js';
import { cores, mebibytes, MEMORY_HEADROOM, shardCpuSeconds, shardMemoryMiB } from './sizing.js';
import {
  rendered,
  type Obj,
  find,
  configMapData,
  podSpec,
  containerEnv,
  script,
  sh,
  mountedPath,
  guestsPerHost,
  scratchDir,
} from './objects.js';
import { escapeRegExp } from '../support/regex.js';

const tmp = scratchDir();

test('the shard Job is Indexed, N = completions = VMEXIT_LAB_SHARDS, no blind retries, sized from the measurements', () => {
  for (const [overlay, objects] of rendered) {
    const job = find(objects, 'Job', 'vmexit-lab-shards');
    const cfg = configMapData(objects, 'vmexit-lab-job');
    const n = Number(cfg.VMEXIT_LAB_SHARDS);
    assert.equal(job.spec.completionMode, 'Indexed', overlay);
    assert.equal(job.spec.completions, n, `${overlay}: spec.completions must equal VMEXIT_LAB_SHARDS`);
    assert.ok(job.spec.parallelism >= 1 && job.spec.parallelism <= n, overlay);
    assert.ok(
      job.spec.backoffLimitPerIndex !== undefined || job.spec.backoffLimit === 0,
      `${overlay}: backoffLimitPerIndex or backoffLimit: 0`,
    );
    assert.equal(job.spec.maxFailedIndexes, 0, `${overlay}: a merge needs every shard: fail fast`);
    const spec = podSpec(job);
    assert.equal(spec.restartPolicy, 'Never');
    const [c] = spec.containers;
    assert.equal(spec.containers.length, 1);
    const failJob = job.spec.podFailurePolicy.rules.find((r: Obj) => r.action === 'FailJob');
    assert.deepEqual(
      failJob.onExitCodes,
      { containerName: c.name, operator: 'In', values: [2] },
      'bad input (exit 2) fails the Job at once',
    );

    // One simulation worker per CPU; memory from the measured per-guest cost.
    const workers = Number(cfg.VMEXIT_LAB_WORKERS);
    assert.equal(cores(c.resources.limits.cpu), workers, `${overlay}: VMEXIT_LAB_WORKERS = CPU limit`);
    assert.ok(cores(c.resources.requests.cpu) <= cores(c.resources.limits.cpu));
    const s = guestsPerHost(configMapData(objects, 'vmexit-lab-scenario')['scenario.yaml']);
    const guests = Math.ceil(s.hosts / n) * s.perHost;
    const needMiB = shardMemoryMiB(guests, workers);
    assert.ok(
      mebibytes(c.resources.requests.memory) >= needMiB,
      `${overlay}: memory request ${c.resources.requests.memory} < ${needMiB.toFixed(0)} MiB`,
    );
    assert.ok(
      mebibytes(c.resources.limits.memory) >= needMiB * MEMORY_HEADROOM,
      `${overlay}: memory limit ${c.resources.limits.memory} < ${(needMiB * MEMORY_HEADROOM).toFixed(0)} MiB`,
    );
    const waves = Math.ceil(n / job.spec.parallelism);
    const seconds = (waves * shardCpuSeconds(guests, s.seconds, s.variants)) / workers;
    assert.ok(
      job.spec.activeDeadlineSeconds >= 10 * seconds,
      `${overlay}: activeDeadlineSeconds ${job.spec.activeDeadlineSeconds} too tight for ~${seconds.toFixed(0)} s of work`,
    );
  }
  // The fleet overlay: 50 shards of 50 hosts (200 guests) each.
  const fleet = rendered.get('overlays/fleet-10k')!;
  assert.equal(find(fleet, 'Job', 'vmexit-lab-shards').spec.completions, 50);
});

test('pod k of the Job runs shard k+1 of N and writes shard-(k+1).json: the shards cover every host once', async () => {
  const stubDir = join(tmp, 'stub');
  mkdirSync(stubDir, { recursive: true });
  writeFileSync(
    join(stubDir, 'vmexit-lab'),
    '#!/bin/sh\nfor a in "$@"; do printf \'%s\\n\' "$a"; done > "$STUB_OUT"\nexit "${STUB_RC:-0}"\n',
  );
  chmodSync(join(stubDir, 'vmexit-lab'), 0o755);
  const argv = async (
    env: Record<string, string>,
    code: string,
    rc = 0,
  ): Promise<{ args: string[]; code: number | null }> => {
    const out = join(stubDir, `args-${Math.random()}`);
    const r = await sh(code, { ...env, PATH: `${stubDir}:/usr/bin:/bin`, STUB_OUT: out, STUB_RC: String(rc) });
    assert.equal(r.stderr, '');
    return { args: existsSync(out) ? readFileSync(out, 'utf8').trimEnd().split('\n') : [], code: r.code };
  };
  // Every index in one shell (as many pods): pod k's argv in args-k, its exit status in codes.
  const argvAll = async (
    env: Record<string, string>,
    code: string,
    n: number,
  ): Promise<{ args: string[]; code: number }[]> => {
    const dir = mkdtempSync(join(stubDir, 'pods-'));
    const loop = `k=0; while [ "$k" -lt ${n} ]; do JOB_COMPLETION_INDEX=$k STUB_OUT="${dir}/args-$k" /bin/sh -c "$POD_SCRIPT"; echo "$?" >> "${dir}/codes"; k=$((k + 1)); done`;
    const r = await sh(loop, { ...env, PATH: `${stubDir}:/usr/bin:/bin`, POD_SCRIPT: code });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const codes = readFileSync(join(dir, 'codes'), 'utf8').trim().split('\n').map(Number);
    return codes.map((c, k) => ({
      code: c,
      args: readFileSync(join(dir, `args-${k}`), 'utf8')
        .trimEnd()
        .split('\n'),
    }));
  };
  const opt = (args: string[], name: string): string[] => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));

  for (const overlay of ['overlays/fleet-10k', 'overlays/smoke'] as const) {
    const objects = rendered.get(overlay)!;
    const job = find(objects, 'Job', 'vmexit-lab-shards');
    const c = podSpec(job).containers[0];
    const env = containerEnv(objects, job, c);
    const n = job.spec.completions;
    const scenarioText = configMapData(objects, 'vmexit-lab-scenario')['scenario.yaml'];
    const hosts = parseScenario(scenarioText, 'scenario.yaml').variants[0].host.count;
    const covered: number[] = [];
    // Kubernetes expands $(VAR) with the container's env before the shell sees the script; this
    // one reads its values as shell variables, so the expansion must leave it as written.
    assert.equal(script(c, env), c.args[0]);
    const pods = await argvAll(env, script(c, env), n);
    assert.equal(pods.length, n);
    for (const [k, { args, code }] of pods.entries()) {
      assert.equal(code, 0);
      assert.equal(args[0], 'run');
      assert.deepEqual(opt(args, '--shard'), [`${k + 1}/${n}`]);
      assert.deepEqual(opt(args, '--out'), [`/results/shard-${k + 1}.json`]);
      assert.deepEqual(opt(args, '--workers'), [env.VMEXIT_LAB_WORKERS]);
      assert.ok(mountedPath(c, '/results/x.json'), '/results is a volume');
      const scenarioPath = args[args.length - 1];
      const mount = mountedPath(c, scenarioPath)!;
      const cm = podSpec(job).volumes.find((v: Obj) => v.name === mount.name).configMap.name;
      assert.equal(cm, 'vmexit-lab-scenario');
      assert.ok(scenarioPath.slice(mount.mountPath.length + 1) in configMapData(objects, cm));
      if (env.PUSHGATEWAY_URL === '') assert.deepEqual(opt(args, '--push'), []);
      else {
        assert.deepEqual(opt(args, '--push'), [env.PUSHGATEWAY_URL]);
        assert.deepEqual(opt(args, '--push-job'), [job.metadata.name]);
        assert.deepEqual(opt(args, '--push-label'), [`shard=${k + 1}`, `shards=${n}`]);
      }
      const [start, end] = shardRange(hosts, { index: k + 1, count: n });
      for (let h = start; h < end; h++) covered.push(h);
    }
    assert.deepEqual(
      covered,
      Array.from({ length: hosts }, (_, h) => h),
      `${overlay}: every host in exactly one shard`,
    );

    // Exit status: a shard judges no threshold, so it exits 0 where it ran (the end-to-end test
    // below); a 1 (an image from before that judged its partial totals) is not a pod failure;
    // bad input (2) and unexpected violations or errors (3) are.
    for (const [rc, want] of [
      [0, 0],
      [1, 0],
      [2, 2],
      [3, 3],
    ]) {
      assert.equal((await argv({ ...env, JOB_COMPLETION_INDEX: '0' }, script(c, env), rc)).code, want, `exit ${rc}`);
    }
    // Without JOB_COMPLETION_INDEX (not an Indexed Job pod), the script stops before running.
    const noIndex = await sh(script(c, env), {
      ...env,
      PATH: `${stubDir}:/usr/bin:/bin`,
      STUB_OUT: join(stubDir, 'none'),
    });
    assert.notEqual(noIndex.code, 0);
    assert.equal(existsSync(join(stubDir, 'none')), false);

    // The merge Job asks for exactly shards 1..N.
    const merge = find(objects, 'Job', 'vmexit-lab-merge');
    const mc = podSpec(merge).containers[0];
    const { args } = await argv(containerEnv(objects, merge, mc), script(mc, containerEnv(objects, merge, mc)));
    assert.equal(args[0], 'merge');
    assert.deepEqual(
      args.slice(-n),
      Array.from({ length: n }, (_, i) => `/results/shard-${i + 1}.json`),
    );
    assert.equal(merge.spec.suspend, true, 'started by hand once the shards are done');
    assert.equal(merge.spec.backoffLimit, 0);
  }
});

test("a pod's stop reaches run: the shell (the container's PID 1) forwards SIGTERM, run's exit status is the pod's", async () => {
  const objects = rendered.get('overlays/smoke')!;
  const job = find(objects, 'Job', 'vmexit-lab-shards');
  const c = podSpec(job).containers[0];
  const env = containerEnv(objects, job, c);
  const dir = mkdtempSync(join(tmp, 'term-'));
  // A run that says it started, then works until a SIGTERM, which it answers as run does (exit 143);
  // bounded: it gives up after 20 s.
  writeFileSync(
    join(dir, 'vmexit-lab'),
    '#!/bin/sh\ntrap \'echo TERM >> "$STUB_OUT"; exit 143\' TERM\necho started > "$STUB_OUT"\n' +
      'i=0; while [ "$i" -lt 200 ]; do sleep 0.1; i=$((i + 1)); done\nexit 0\n',
  );
  chmodSync(join(dir, 'vmexit-lab'), 0o755);
  const out = join(dir, 'out');
  const child = spawn('/bin/sh', ['-c', script(c, env)], {
    env: { ...env, JOB_COMPLETION_INDEX: '0', PATH: `${dir}:/usr/bin:/bin`, STUB_OUT: out },
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  for (let i = 0; i < 200 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(out), 'the stub run started');
  child.kill('SIGTERM');
  const code = await closed;
  assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n'), ['started', 'TERM'], 'run got the SIGTERM');
  assert.equal(code, 143, "run's status (143: partial results written) is the pod's");
});

test('the smoke overlay end to end: both shards run and push to a Pushgateway, the merge sees the whole fleet', async () => {
  const objects = rendered.get('overlays/smoke')!;
  const job = find(objects, 'Job', 'vmexit-lab-shards');
  const merge = find(objects, 'Job', 'vmexit-lab-merge');
  const bin = join(tmp, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'vmexit-lab'),
    `#!/bin/sh\nexec "${process.execPath}" "${join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js')}" "$@"\n`,
  );
  chmodSync(join(bin, 'vmexit-lab'), 0o755);
  // The pod's volumes as directories: the script's absolute mount paths are pointed at them.
  const volumes = new Map<string, string>();
  for (const v of podSpec(job).volumes) {
    const dir = join(tmp, 'volumes', v.name);
    mkdirSync(dir, { recursive: true });
    if (v.configMap)
      for (const [k, text] of Object.entries(configMapData(objects, v.configMap.name)))
        writeFileSync(join(dir, k), text);
    volumes.set(v.name, dir);
  }
  // One pass, so a replaced path is never replaced again (/tmp is a mount path too).
  const localize = (code: string, c: Obj): string => {
    const dirs = new Map<string, string>(c.volumeMounts.map((m: Obj) => [m.mountPath, volumes.get(m.name)!]));
    const alts = [...dirs.keys()].map(escapeRegExp).join('|');
    return (
      code
        .replace(
          new RegExp(`(^|[\\s"'=])(${alts})/`, 'g'),
          (_m, pre: string, path: string) => `${pre}${dirs.get(path)}/`,
        )
        // In a pod each shard owns 0.0.0.0:9464; here both run side by side on one machine, and test
        // servers listen on loopback only: any free loopback port.
        .replace('--metrics-listen "0.0.0.0:9464"', '--metrics-listen "127.0.0.1:0"')
    );
  };

  const pushes: { method: string; url: string; body: string }[] = [];
  const gateway = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      pushes.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((ok) => gateway.listen(0, '127.0.0.1', ok));
  try {
    const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
    const c = podSpec(job).containers[0];
    const env = { ...containerEnv(objects, job, c), PUSHGATEWAY_URL: url };
    const base = { ...env, PATH: `${bin}:/usr/bin:/bin`, HOME: tmp };
    const runs = await Promise.all(
      Array.from({ length: job.spec.completions as number }, (_, k) =>
        sh(localize(script(c, env), c), { ...base, JOB_COMPLETION_INDEX: String(k) }),
      ),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const results = volumes.get('results')!;
    assert.ok(existsSync(join(results, 'shard-1.json')) && existsSync(join(results, 'shard-2.json')));
    // A shard judges no threshold: each is written as not judged, for the merge to judge.
    for (const f of ['shard-1.json', 'shard-2.json']) {
      const shard = JSON.parse(readFileSync(join(results, f), 'utf8'));
      const listed = [...shard.variants.flatMap((v: Obj) => v.thresholds), ...shard.crossVariantThresholds];
      assert.ok(listed.length > 0, f);
      for (const t of listed) assert.equal(t.judged, false, `${f}: ${t.metric}`);
    }

    // One Pushgateway group per shard, replaced (PUT) by its push; the rules' metrics are in it.
    assert.deepEqual(pushes.map((p) => `${p.method} ${p.url}`).sort(), [
      'PUT /metrics/job/vmexit-lab-shards/shard/1/shards/2',
      'PUT /metrics/job/vmexit-lab-shards/shard/2/shards/2',
    ]);
    for (const name of [
      'vmexit_lab_vm_exits_total{',
      'vmexit_lab_exit_handling_seconds_total{',
      'vmexit_lab_guest_simulated_seconds_total{',
      'vmexit_lab_interrupt_latency_seconds_bucket{',
    ]) {
      for (const p of pushes) assert.ok(p.body.includes(name), `pushed body has ${name}`);
    }

    const mc = podSpec(merge).containers[0];
    const menv = containerEnv(objects, merge, mc);
    const m = await sh(localize(script(mc, menv), mc), { ...menv, PATH: `${bin}:/usr/bin:/bin`, HOME: tmp });
    assert.equal(m.code, 0, m.stderr);
    assert.ok(existsSync(join(results, 'junit.xml')) && existsSync(join(results, 'summary.md')));
    // The whole fleet, once: every guest for the whole duration, in every variant, thresholds
    // judged on the merged totals. (That the merge equals the unsharded run bit for bit is
    // test/cli/merge.test.ts.)
    const merged = JSON.parse(readFileSync(join(results, 'results.json'), 'utf8'));
    const s = guestsPerHost(configMapData(objects, 'vmexit-lab-scenario')['scenario.yaml']);
    assert.equal(merged.shard, undefined);
    assert.equal(merged.variants.length, s.variants);
    for (const v of merged.variants) {
      assert.equal(v.totals.guestSeconds, s.hosts * s.perHost * s.seconds, v.name);
      assert.ok(
        v.thresholds.every((t: Obj) => t.passed && t.judged === undefined),
        v.name,
      );
    }
  } finally {
    await new Promise<void>((ok) => gateway.close(() => ok()));
  }
});
