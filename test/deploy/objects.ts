/**
 * deploy/k8s as the deploy tests read it: every overlay rendered once per test file
 * (test/deploy/kustomize.ts), and what Kubernetes does with the objects that the tests need to
 * redo - a container's environment, $(VAR) expansion in its command, the script it runs through a
 * real shell, label selection, volume mounts - plus a scratch folder removed after the file's tests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { parseScenario } from '../../src/scenario/load.js';
import { render, type K8sObject } from './kustomize.js';

export const K8S = join(REPO_ROOT, 'deploy', 'k8s');
export const OVERLAYS = ['base', 'overlays/fleet-10k', 'overlays/smoke'] as const;
export const rendered = new Map(OVERLAYS.map((o) => [o, render(join(K8S, o))]));

export type Obj = Record<string, any>;

export function find(objects: readonly K8sObject[], kind: string, name: string): Obj {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind}/${name} is rendered`);
  return o;
}

export function configMapData(objects: readonly K8sObject[], name: string): Record<string, string> {
  return find(objects, 'ConfigMap', name).data as Record<string, string>;
}

export function podSpec(o: Obj): Obj {
  return o.spec.template.spec;
}

/** The environment Kubernetes gives a container: envFrom ConfigMaps, then env (literal or fieldRef). */
export function containerEnv(objects: readonly K8sObject[], owner: Obj, container: Obj): Record<string, string> {
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
export function script(container: Obj, env: Record<string, string>): string {
  assert.deepEqual(container.command, ['/bin/sh', '-c']);
  assert.equal(container.args.length, 1);
  return expandK8s(container.args[0], env);
}

export function sh(
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

export function labelsMatch(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

export function mountedPath(container: Obj, path: string): Obj | undefined {
  return (container.volumeMounts ?? []).find((m: Obj) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
}

export function guestsPerHost(scenarioText: string): {
  hosts: number;
  perHost: number;
  seconds: number;
  variants: number;
} {
  const s = parseScenario(scenarioText, 'scenario.yaml');
  const v = s.variants[0];
  const perHost = v.guests.reduce((n, g) => n + (g.kind === 'modelled' ? g.count : 0), 0);
  const seconds = (s.duration.kind === 'fixed' ? s.duration.ns : s.duration.maxNs) / 1e9;
  return { hosts: v.host.count, perHost, seconds, variants: s.variants.length };
}

/** A fresh folder for this test file's outputs, removed after its tests. */
export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-deploy-'));
  test.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
