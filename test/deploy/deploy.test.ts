/**
 * deploy/k8s: every overlay renders (test/deploy/kustomize.ts; also with `kubectl kustomize` where
 * kubectl is installed), every object is valid against its schema (test/deploy/schemas.ts), and the
 * fields that make the deployment work hold: the Indexed Job's shard arithmetic (run through a
 * real shell, with Kubernetes' $(VAR) expansion), non-root and read-only pods, probes, ports and
 * the labels the monitors select. The smoke overlay's Job commands also run for real: two shards
 * pushing to a fake Pushgateway, then the merge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { REPO_ROOT } from '../../src/model/data.js';
import { parseScenario } from '../../src/scenario/load.js';
import { shardRange } from '../../src/run/runScenario.js';
import { METRICS } from '../../src/metrics/registry.js';
import { render, objectId, type K8sObject } from './kustomize.js';
import { validateObject } from './schemas.js';
import { cores, mebibytes, MEMORY_HEADROOM, shardCpuSeconds, shardMemoryMiB } from './sizing.js';

const K8S = join(REPO_ROOT, 'deploy', 'k8s');
const OVERLAYS = ['base', 'overlays/fleet-10k', 'overlays/smoke'] as const;
const rendered = new Map(OVERLAYS.map((o) => [o, render(join(K8S, o))]));
const tmp = mkdtempSync(join(tmpdir(), 'vmexit-lab-deploy-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

// ---- helpers ------------------------------------------------------------------------------------

type Obj = Record<string, any>;

function find(objects: readonly K8sObject[], kind: string, name: string): Obj {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is rendered`);
  return o;
}

function configMapData(objects: readonly K8sObject[], name: string): Record<string, string> {
  return find(objects, 'ConfigMap', name).data as Record<string, string>;
}

function podSpec(o: Obj): Obj {
  return o.spec.template.spec;
}

/** The environment Kubernetes gives a container: envFrom ConfigMaps, then env (literal or fieldRef). */
function containerEnv(objects: readonly K8sObject[], owner: Obj, container: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) Object.assign(env, configMapData(objects, from.configMapRef.name));
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.labels['batch.kubernetes.io/job-name']")
      env[e.name] = owner.metadata.name;
    else if (e.valueFrom?.secretKeyRef) env[e.name] = 'secret';
    else assert.fail(`env ${e.name}: no rule to resolve it in the test`);
  }
  return env;
}

/**
 * Kubernetes' expansion of $(VAR) in command and args (k8s.io/kubernetes third_party/forked/golang/
 * expansion): $$ -> $, $(NAME) -> the value if NAME is defined, else left as written.
 */
export function expandK8s(input: string, env: Readonly<Record<string, string>>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== '$' || i + 1 >= input.length) {
      out += input[i];
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 1;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += '$(';
        i += 1;
      } else {
        const name = input.slice(i + 2, close);
        out += Object.hasOwn(env, name) ? env[name] : `$(${name})`;
        i = close;
      }
    } else {
      out += `$${next}`;
      i += 1;
    }
  }
  return out;
}

/** The shell script a container runs: command /bin/sh -c and one script argument, expanded. */
function script(container: Obj, env: Record<string, string>): string {
  assert.deepEqual(container.command, ['/bin/sh', '-c']);
  assert.equal(container.args.length, 1);
  return expandK8s(container.args[0], env);
}

function sh(
  code: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', code], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, stdout, stderr });
    });
  });
}

function labelsMatch(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function mountedPath(container: Obj, path: string): Obj | undefined {
  return (container.volumeMounts ?? []).find((m: Obj) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
}

function guestsPerHost(scenarioText: string): { hosts: number; perHost: number; seconds: number; variants: number } {
  const s = parseScenario(scenarioText, 'scenario.yaml');
  const v = s.variants[0];
  const perHost = v.guests.reduce((n, g) => n + (g.kind === 'modelled' ? g.count : 0), 0);
  const seconds = (s.duration.kind === 'fixed' ? s.duration.ns : s.duration.maxNs) / 1e9;
  return { hosts: v.host.count, perHost, seconds, variants: s.variants.length };
}

// ---- rendering and schemas ---------------------------------------------------------------------

test('every overlay renders the expected objects, each valid against its Kubernetes or Prometheus Operator schema', () => {
  const kinds = (o: string): string[] =>
    rendered
      .get(o as (typeof OVERLAYS)[number])!
      .map((x) => `${x.kind}/${x.metadata.name}`)
      .sort();
  const core = [
    'ConfigMap/vmexit-lab-job',
    'ConfigMap/vmexit-lab-scenario',
    'Deployment/vmexit-lab',
    'Job/vmexit-lab-merge',
    'Job/vmexit-lab-shards',
    'PersistentVolumeClaim/vmexit-lab-results',
    'Service/vmexit-lab',
  ];
  assert.deepEqual(kinds('base'), core);
  assert.deepEqual(kinds('overlays/smoke'), core);
  assert.deepEqual(
    kinds('overlays/fleet-10k'),
    [
      ...core,
      'Namespace/vmexit-lab',
      'PodMonitor/vmexit-lab-shards',
      'PrometheusRule/vmexit-lab',
      'ServiceMonitor/vmexit-lab',
    ].sort(),
  );
  for (const [overlay, objects] of rendered) {
    for (const o of objects) assert.deepEqual(validateObject(o), [], `${overlay}: ${objectId(o)}`);
    if (overlay !== 'base')
      for (const o of objects)
        if (o.kind !== 'Namespace')
          assert.equal(o.metadata.namespace, overlay === 'overlays/smoke' ? 'vmexit-lab-smoke' : 'vmexit-lab');
  }
});

test('the schema check catches misspelt fields, wrong types and bad enums', () => {
  const job = structuredClone(find(rendered.get('base')!, 'Job', 'vmexit-lab-shards')) as K8sObject & Obj;
  job.spec.completionsMode = 'Indexed';
  job.spec.template.spec.containers[0].securityContext.readOnlyRootFs = true;
  job.spec.template.spec.containers[0].ports[0].containerPort = '9464';
  job.spec.template.spec.restartPolicy = 'Sometimes';
  const problems = validateObject(job).join('\n');
  assert.match(problems, /\/spec\/completionsMode: not a field/);
  assert.match(problems, /readOnlyRootFs: not a field/);
  assert.match(problems, /containerPort must be integer/);
  assert.match(problems, /restartPolicy must be equal to one of the allowed values/);
  const pm = structuredClone(
    find(rendered.get('overlays/fleet-10k')!, 'PodMonitor', 'vmexit-lab-shards'),
  ) as K8sObject & Obj;
  pm.spec.podMetricsEndpoints[0].interval = 'often';
  assert.match(validateObject(pm).join('\n'), /interval must match pattern/);
});

test('kubectl kustomize renders the same objects as the test renderer (where kubectl is installed)', (t) => {
  const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (probe.error) {
    t.skip('kubectl is not installed (optional cross-check; the renderer rejects unsupported kustomize features)');
    return;
  }
  for (const [overlay, objects] of rendered) {
    const out = spawnSync('kubectl', ['kustomize', join(K8S, overlay)], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const theirs = new Map(
      parseAllDocuments(out.stdout)
        .map((d) => d.toJS() as K8sObject)
        .map((o) => [`${o.apiVersion}/${objectId(o)}`, o]),
    );
    assert.deepEqual([...theirs.keys()].sort(), objects.map((o) => `${o.apiVersion}/${objectId(o)}`).sort(), overlay);
    for (const o of objects)
      assert.ok(
        isDeepStrictEqual(theirs.get(`${o.apiVersion}/${objectId(o)}`), o),
        `${overlay}: ${objectId(o)} differs from kubectl kustomize`,
      );
  }
});

test('the scenarios in the ConfigMaps are valid, and the base one is the 10,000-guest fleet', () => {
  for (const [overlay, objects] of rendered) {
    const text = configMapData(objects, 'vmexit-lab-scenario')['scenario.yaml'];
    const s = guestsPerHost(text);
    if (overlay !== 'overlays/smoke') assert.equal(s.hosts * s.perHost, 10_000, overlay);
  }
});

// ---- the Indexed Job --------------------------------------------------------------------------

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

    // Exit status: a threshold failing on one shard's partial totals (1) is not a pod failure;
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
    const alts = [...dirs.keys()].map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
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
        v.thresholds.every((t: Obj) => t.passed),
        v.name,
      );
    }
  } finally {
    await new Promise<void>((ok) => gateway.close(() => ok()));
  }
});

// ---- pods: security, probes, ports, labels -----------------------------------------------------

test('every pod is non-root with a read-only root filesystem, no privilege escalation, no capabilities, and writes only to volumes', () => {
  for (const [overlay, objects] of rendered) {
    for (const o of objects.filter((x) => x.kind === 'Job' || x.kind === 'Deployment') as Obj[]) {
      const where = `${overlay}: ${o.kind}/${o.metadata.name}`;
      const spec = podSpec(o);
      assert.equal(spec.securityContext.runAsNonRoot, true, where);
      assert.ok(spec.securityContext.runAsUser > 0 && spec.securityContext.runAsGroup > 0, where);
      assert.equal(spec.securityContext.seccompProfile.type, 'RuntimeDefault', where);
      assert.equal(spec.automountServiceAccountToken, false, where);
      assert.ok(!spec.hostNetwork && !spec.hostPID && !spec.hostIPC, where);
      assert.ok(
        spec.volumes.every((v: Obj) => v.hostPath === undefined),
        where,
      );
      for (const c of spec.containers) {
        assert.equal(c.securityContext.allowPrivilegeEscalation, false, where);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true, where);
        assert.equal(c.securityContext.privileged, false, where);
        assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] }, where);
        assert.ok(
          c.resources.requests.cpu &&
            c.resources.requests.memory &&
            c.resources.limits.cpu &&
            c.resources.limits.memory,
          `${where}: requests and limits`,
        );
        assert.ok(mebibytes(c.resources.limits.memory) >= mebibytes(c.resources.requests.memory), where);
        assert.ok(mountedPath(c, '/tmp/x'), `${where}: /tmp is a volume`);
        for (const m of c.volumeMounts)
          assert.ok(
            spec.volumes.some((v: Obj) => v.name === m.name),
            `${where}: volume ${m.name}`,
          );
        for (const v of spec.volumes) {
          if (v.configMap) find(objects, 'ConfigMap', v.configMap.name);
          if (v.persistentVolumeClaim) find(objects, 'PersistentVolumeClaim', v.persistentVolumeClaim.claimName);
        }
        for (const f of c.envFrom ?? []) find(objects, 'ConfigMap', f.configMapRef.name);
      }
    }
    // The fleet namespace enforces Pod Security "restricted".
    if (overlay === 'overlays/fleet-10k')
      assert.equal(
        find(objects, 'Namespace', 'vmexit-lab').metadata.labels['pod-security.kubernetes.io/enforce'],
        'restricted',
      );
  }
});

test('the service: vmexit-lab serve on 0.0.0.0:8080 with a token, /healthz liveness and /readyz readiness, a Service in front', () => {
  for (const [overlay, objects] of rendered) {
    const d = find(objects, 'Deployment', 'vmexit-lab');
    const spec = podSpec(d);
    const [c] = spec.containers;
    const arg = (name: string): string => c.args[c.args.indexOf(name) + 1];
    assert.equal(c.command, undefined, 'the image entrypoint (vmexit-lab) runs');
    assert.equal(c.args[0], 'serve');
    assert.equal(arg('--host'), '0.0.0.0');
    const port = c.ports.find((p: Obj) => p.name === 'http');
    assert.equal(port.containerPort, Number(arg('--port')));
    assert.equal(port.containerPort, 8080);
    assert.ok(mountedPath(c, arg('--data-dir')), 'the history directory is a volume');
    assert.equal(cores(c.resources.limits.cpu), Number(arg('--workers')), `${overlay}: --workers = CPU limit`);
    // A non-loopback listener needs VMEXIT_LAB_TOKEN, from a Secret the operator creates.
    const token = c.env.find((e: Obj) => e.name === 'VMEXIT_LAB_TOKEN');
    assert.deepEqual(token.valueFrom.secretKeyRef, { name: 'vmexit-lab-token', key: 'token' });
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'http' });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'http' });
    assert.equal(c.startupProbe.httpGet.path, '/healthz');
    assert.equal(d.spec.replicas, 1, 'the run history is one locked SQLite database');
    assert.equal(d.spec.strategy.type, 'Recreate');
    assert.ok(labelsMatch(d.spec.selector.matchLabels, d.spec.template.metadata.labels));

    const svc = find(objects, 'Service', 'vmexit-lab');
    assert.ok(labelsMatch(svc.spec.selector, d.spec.template.metadata.labels), 'Service selects the Deployment pods');
    assert.ok(
      !labelsMatch(svc.spec.selector, find(objects, 'Job', 'vmexit-lab-shards').spec.template.metadata.labels),
      'and not the shard pods',
    );
    assert.deepEqual(
      svc.spec.ports.map((p: Obj) => [p.name, p.port, p.targetPort]),
      [['http', 8080, 'http']],
    );
  }
});

test('the PodMonitor selects the shard pods on their named metrics port; the ServiceMonitor the service', () => {
  const objects = rendered.get('overlays/fleet-10k')!;
  const job = find(objects, 'Job', 'vmexit-lab-shards');
  const pm = find(objects, 'PodMonitor', 'vmexit-lab-shards');
  const podLabels = job.spec.template.metadata.labels;
  assert.ok(labelsMatch(pm.spec.selector.matchLabels, podLabels), 'PodMonitor selector matches the Job pod labels');
  for (const o of objects.filter((x) => x.kind === 'Job' || x.kind === 'Deployment') as Obj[]) {
    if (o !== job)
      assert.ok(
        !labelsMatch(pm.spec.selector.matchLabels, o.spec.template.metadata.labels),
        `PodMonitor does not select ${o.kind}/${o.metadata.name}`,
      );
  }
  const ports = podSpec(job).containers[0].ports.map((p: Obj) => p.name);
  for (const e of pm.spec.podMetricsEndpoints) {
    assert.ok(ports.includes(e.port), `port ${e.port} is a named port of the shard container`);
    assert.equal(e.path, '/metrics');
  }
  assert.equal(
    pm.spec.podMetricsEndpoints[0].relabelings[0].sourceLabels[0],
    '__meta_kubernetes_pod_annotation_batch_kubernetes_io_job_completion_index',
  );

  const sm = find(objects, 'ServiceMonitor', 'vmexit-lab');
  const svc = find(objects, 'Service', 'vmexit-lab');
  assert.ok(labelsMatch(sm.spec.selector.matchLabels, svc.metadata.labels));
  assert.deepEqual(
    sm.spec.endpoints.map((e: Obj) => [e.port, e.path]),
    [['http', '/metrics']],
  );
  // kube-prometheus-stack picks up only objects labelled with its release.
  for (const kind of ['PodMonitor', 'ServiceMonitor', 'PrometheusRule']) {
    assert.equal(objects.find((o) => o.kind === kind)!.metadata.labels!.release, 'kube-prometheus-stack', kind);
  }
});

// ---- PrometheusRule ---------------------------------------------------------------------------

const rule = find(rendered.get('overlays/fleet-10k')!, 'PrometheusRule', 'vmexit-lab');

test('the recording rules use metrics and labels vmexit-lab exports', () => {
  const defs = new Map(METRICS.map((m) => [m.name, m]));
  const grouping = ['job', 'shard', 'shards', 'instance'];
  for (const g of rule.spec.groups) {
    for (const r of g.rules) {
      for (const name of (r.expr as string).match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []) {
        if (!name.startsWith('vmexit_lab_') || name.includes(':')) continue;
        const base = name.replace(/_(bucket|sum|count)$/, '');
        const def = defs.get(name) ?? (defs.get(base)?.type === 'histogram' ? defs.get(base) : undefined);
        assert.ok(def, `${r.record ?? r.alert}: ${name} is an exported metric`);
        const by = new RegExp(`by \\(([^)]*)\\) \\(${name}\\b`).exec(r.expr);
        if (by) {
          for (const l of by[1].split(',').map((s: string) => s.trim())) {
            assert.ok(
              [...def.labels, ...grouping, 'le'].includes(l),
              `${r.record ?? r.alert}: ${name} has no label ${l}`,
            );
          }
        }
      }
    }
  }
});

test('promtool checks the rules and their unit tests (Debian package prometheus)', (t) => {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    if (process.env.CI === 'true') assert.fail('promtool not found: CI must install the Debian package "prometheus"');
    t.skip('promtool is not installed (Debian package prometheus)');
    return;
  }
  const dir = join(tmp, 'promtool');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }));
  const check = spawnSync('promtool', ['check', 'rules', join(dir, 'rules.yaml')], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  // Two shards of one run pushed (absolute counters of their own hosts) plus the service's own
  // series of the same scenario, which the fleet sums must leave out.
  const labels = 'scenario="fleet-10k",variant="bhyve-12.1",cpu="i7-6700K",policy="bhyve-12.1"';
  const shard = (i: number): string => `job="vmexit-lab-shards",instance="",shard="${i}",shards="2"`;
  const tests = {
    rule_files: ['rules.yaml'],
    evaluation_interval: '1m',
    tests: [
      {
        interval: '1m',
        input_series: [
          { series: `vmexit_lab_vm_exits_total{${shard(1)},${labels},reason="CR_ACCESS"}`, values: '100x10' },
          { series: `vmexit_lab_vm_exits_total{${shard(2)},${labels},reason="CR_ACCESS"}`, values: '250x10' },
          { series: `vmexit_lab_vm_exits_total{${shard(2)},${labels},reason="HLT"}`, values: '50x10' },
          {
            series: `vmexit_lab_vm_exits_total{job="vmexit-lab",instance="10.0.0.1:8080",${labels},reason="CR_ACCESS"}`,
            values: '999x10',
          },
          { series: `vmexit_lab_guest_simulated_seconds_total{${shard(1)},${labels}}`, values: '10x10' },
          { series: `vmexit_lab_guest_simulated_seconds_total{${shard(2)},${labels}}`, values: '30x10' },
          { series: `vmexit_lab_interrupt_latency_seconds_bucket{${shard(1)},${labels},le="+Inf"}`, values: '7x10' },
          { series: `vmexit_lab_interrupt_latency_seconds_bucket{${shard(2)},${labels},le="+Inf"}`, values: '5x10' },
          { series: `push_time_seconds{${shard(1)}}`, values: '1000x10' },
          { series: `push_time_seconds{${shard(2)}}`, values: '1001x10' },
          { series: 'up{job="vmexit-lab",instance="10.0.0.1:8080"}', values: '0x10' },
          // A shard's verdict on its partial totals is no alert; the service's latest run's is.
          {
            series: `vmexit_lab_threshold_passed{${shard(1)},scenario="fleet-10k",variant="bhyve-12.1",threshold="t"}`,
            values: '0x10',
          },
          {
            series:
              'vmexit_lab_threshold_passed{job="vmexit-lab",instance="10.0.0.1:8080",scenario="default-mixed-fleet",variant="bhyve-12.1",threshold="t"}',
            values: '0x10',
          },
        ],
        promql_expr_test: [
          {
            expr: 'vmexit_lab_fleet:vm_exits:sum{reason="CR_ACCESS"}',
            eval_time: '5m',
            exp_samples: [
              {
                labels: `vmexit_lab_fleet:vm_exits:sum{job="vmexit-lab-shards",${labels},reason="CR_ACCESS"}`,
                value: 350,
              },
            ],
          },
          {
            expr: 'vmexit_lab_fleet:vm_exits_per_guest_second:ratio',
            eval_time: '5m',
            exp_samples: [
              {
                labels: `vmexit_lab_fleet:vm_exits_per_guest_second:ratio{job="vmexit-lab-shards",${labels}}`,
                value: 10,
              },
            ],
          },
          {
            expr: 'vmexit_lab_fleet:interrupt_latency_seconds_bucket:sum',
            eval_time: '5m',
            exp_samples: [
              {
                labels: `vmexit_lab_fleet:interrupt_latency_seconds_bucket:sum{job="vmexit-lab-shards",${labels},le="+Inf"}`,
                value: 12,
              },
            ],
          },
          {
            expr: 'vmexit_lab_fleet:shards_pushed:count',
            eval_time: '5m',
            exp_samples: [
              { labels: 'vmexit_lab_fleet:shards_pushed:count{job="vmexit-lab-shards",shards="2"}', value: 2 },
            ],
          },
        ],
        alert_rule_test: [
          { eval_time: '3m', alertname: 'VmexitLabServiceDown', exp_alerts: [] },
          {
            eval_time: '1m',
            alertname: 'VmexitLabThresholdFailed',
            exp_alerts: [
              {
                exp_labels: {
                  severity: 'warning',
                  job: 'vmexit-lab',
                  instance: '10.0.0.1:8080',
                  scenario: 'default-mixed-fleet',
                  variant: 'bhyve-12.1',
                  threshold: 't',
                },
                exp_annotations: { summary: 'The latest run of default-mixed-fleet failed threshold t (bhyve-12.1).' },
              },
            ],
          },
          {
            eval_time: '6m',
            alertname: 'VmexitLabServiceDown',
            exp_alerts: [
              {
                exp_labels: { severity: 'warning', job: 'vmexit-lab', instance: '10.0.0.1:8080' },
                exp_annotations: { summary: 'The vmexit-lab service has not answered a scrape for 5 minutes.' },
              },
            ],
          },
        ],
      },
    ],
  };
  writeFileSync(join(dir, 'rules.test.yaml'), stringify(tests));
  const run = spawnSync('promtool', ['test', 'rules', join(dir, 'rules.test.yaml')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
});

// ---- documentation ----------------------------------------------------------------------------

test('deploy/README.md documents every value: ConfigMap keys, the Job and resource knobs, the token Secret', () => {
  const readme = readFileSync(join(REPO_ROOT, 'deploy', 'README.md'), 'utf8');
  const knobs = [
    ...Object.keys(configMapData(rendered.get('base')!, 'vmexit-lab-job')),
    'scenario.yaml',
    'completions',
    'parallelism',
    'backoffLimitPerIndex',
    'activeDeadlineSeconds',
    'resources',
    'storageClassName',
    'vmexit-lab-token',
    'namespace',
    'images',
    'release',
    '--workers',
  ];
  for (const k of knobs) assert.ok(readme.includes(`\`${k}`), `deploy/README.md mentions \`${k}\``);
  const scale = readFileSync(join(REPO_ROOT, 'docs', 'SCALE.md'), 'utf8');
  const c = podSpec(find(rendered.get('overlays/fleet-10k')!, 'Job', 'vmexit-lab-shards')).containers[0];
  for (const q of [c.resources.requests.memory, c.resources.limits.memory])
    assert.ok(scale.includes(q), `docs/SCALE.md states ${q}`);
});
