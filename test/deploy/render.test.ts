/**
 * deploy/k8s: every overlay renders (test/deploy/kustomize.ts; also with `kubectl kustomize` where
 * kubectl is installed), every object is valid against its Kubernetes or Prometheus Operator schema
 * (test/deploy/schemas.ts), the ConfigMaps' scenarios load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { objectId, type K8sObject } from './kustomize.js';
import { validateObject } from './schemas.js';
import { K8S, type OVERLAYS, rendered, type Obj, find, configMapData, guestsPerHost } from './objects.js';

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
