/**
 * deploy/k8s: the pods: non-root, read-only root filesystem, writes only to volumes; the service's
 * probes, port and Service; the labels and ports the PodMonitor and ServiceMonitor select.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cores, mebibytes } from './sizing.js';
import { rendered, type Obj, find, podSpec, labelsMatch, mountedPath } from './objects.js';

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
