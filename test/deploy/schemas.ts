/**
 * Schema validation of rendered Kubernetes objects, offline.
 *
 * Core kinds are checked against the Kubernetes OpenAPI schemas as compiled into the
 * `kubernetes-models` package (generated from the upstream OpenAPI document; it has the JobSpec
 * fields up to Kubernetes 1.33: backoffLimitPerIndex, podFailurePolicy, managedBy, ...), and the
 * Prometheus Operator kinds against the operator's CRD schemas compiled into
 * `@kubernetes-models/prometheus-operator`. Both ship ajv validators: nothing is downloaded.
 *
 * Those schemas, like the API server's, accept fields they do not know. The API server with
 * `kubectl apply` (strict field validation) rejects them, and a misspelt field is the commonest
 * manifest bug, so `validateObject` also reports every field the schema never looked at: the
 * validator runs on a Proxy that records which properties it reads, and an own property of the
 * object that was never read is not in the schema.
 */
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { K8sObject } from './kustomize.js';

interface Validatable {
  prototype: { validate(): void };
}

/** The kinds deploy/k8s may contain, by apiVersion and kind. */
export const SCHEMAS: ReadonlyMap<string, Validatable> = new Map<string, Validatable>([
  ['v1/Namespace', Namespace],
  ['v1/ConfigMap', ConfigMap],
  ['v1/Service', Service],
  ['v1/PersistentVolumeClaim', PersistentVolumeClaim],
  ['apps/v1/Deployment', Deployment],
  ['batch/v1/Job', Job],
  ['monitoring.coreos.com/v1/PodMonitor', PodMonitor],
  ['monitoring.coreos.com/v1/ServiceMonitor', ServiceMonitor],
  ['monitoring.coreos.com/v1/PrometheusRule', PrometheusRule],
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** Problems of one object: schema errors, then fields the schema does not define. */
export function validateObject(o: K8sObject): string[] {
  const model = SCHEMAS.get(`${o.apiVersion}/${o.kind}`);
  if (!model) return [`${o.apiVersion} ${o.kind}: no schema for this kind (add it to test/deploy/schemas.ts)`];
  const reads = new WeakMap<object, Set<string>>();
  const proxies = new WeakMap<object, object>();
  const wrap = (v: unknown): unknown => {
    if (!isObject(v)) return v;
    let p = proxies.get(v);
    if (!p) {
      const seen = new Set<string>();
      reads.set(v, seen);
      p = new Proxy(v, {
        get(target, key, receiver) {
          if (typeof key === 'string') seen.add(key);
          return wrap(Reflect.get(target, key, receiver));
        },
      });
      proxies.set(v, p);
    }
    return p;
  };
  const problems: string[] = [];
  try {
    // The model's validate() runs its compiled schema on `this`: here the recording proxy.
    model.prototype.validate.call(wrap(o));
  } catch (e) {
    problems.push(...(e as Error).message.split(/, (?=data)/).map((m) => m.replace(/^data/, '')));
  }
  const walk = (v: unknown, path: string): void => {
    if (!isObject(v)) return;
    const seen = reads.get(v);
    if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${path}/${i}`));
      return;
    }
    for (const key of Object.keys(v)) {
      if (!seen?.has(key)) problems.push(`${path}/${key}: not a field of ${o.kind}'s schema`);
      else walk(v[key], `${path}/${key}`);
    }
  };
  walk(o, '');
  return problems;
}
