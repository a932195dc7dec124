/**
 * A small kustomize renderer for deploy/k8s, so the tests render the manifests without a kustomize
 * or kubectl binary. It implements exactly the subset deploy/k8s uses and throws on anything else
 * (a field it does not know, a strategic-merge patch, hashed generator names), so a manifest change
 * that needs more kustomize than this fails the tests instead of being rendered wrongly.
 * Where `kubectl` is installed, test/deploy/render.test.ts also checks that `kubectl kustomize`
 * renders the same objects.
 *
 * Supported: Kustomization and Component (kustomize.config.k8s.io), `resources` (files and
 * directories), `components`, `namespace`, `configMapGenerator` (files, literals; behavior create,
 * replace, merge) with `generatorOptions.disableNameSuffixHash: true`, `images` (newName, newTag,
 * digest) and `patches` as RFC 6902 JSON patches (inline or from a file) with a target selector
 * (group, version, kind, name, labelSelector of equality terms).
 *
 *   node dist/test/deploy/kustomize.js deploy/k8s/overlays/fleet-10k   # prints the YAML stream
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';

export type K8sObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
};

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const KNOWN_FIELDS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'components',
  'namespace',
  'generatorOptions',
  'configMapGenerator',
  'images',
  'patches',
]);
/** Kinds without a namespace (those a kustomization here could contain). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
  'CustomResourceDefinition',
  'PriorityClass',
  'PodSecurityPolicy',
]);

export class KustomizeError extends Error {}

function fail(dir: string, message: string): never {
  throw new KustomizeError(`${dir}: ${message}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  components?: string[];
  namespace?: string;
  generatorOptions?: { disableNameSuffixHash?: boolean };
  configMapGenerator?: { name: string; behavior?: string; files?: string[]; literals?: string[] }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  patches?: { path?: string; patch?: string; target?: PatchTarget }[];
}

interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  labelSelector?: string;
}

function readKustomization(dir: string): Kustomization {
  const file = KUSTOMIZATION_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!file) fail(dir, 'no kustomization.yaml');
  const k = parse(readFileSync(file, 'utf8')) as unknown;
  if (!isRecord(k)) fail(dir, 'kustomization.yaml is not a mapping');
  for (const key of Object.keys(k)) {
    if (!KNOWN_FIELDS.has(key))
      fail(dir, `kustomization field "${key}" is not supported by this renderer (test/deploy/kustomize.ts)`);
  }
  return k;
}

function loadObjects(file: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length > 0) throw new KustomizeError(`${file}: ${doc.errors[0].message}`);
    const v = doc.toJS() as unknown;
    if (v === null || v === undefined) continue;
    if (
      !isRecord(v) ||
      typeof v.apiVersion !== 'string' ||
      typeof v.kind !== 'string' ||
      !isRecord(v.metadata) ||
      typeof v.metadata.name !== 'string'
    ) {
      throw new KustomizeError(`${file}: a document without apiVersion, kind and metadata.name`);
    }
    out.push(v as K8sObject);
  }
  return out;
}

export function groupVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export function objectId(o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function matchesTarget(o: K8sObject, t: PatchTarget): boolean {
  const gv = groupVersion(o.apiVersion);
  if (t.group !== undefined && t.group !== gv.group) return false;
  if (t.version !== undefined && t.version !== gv.version) return false;
  if (t.kind !== undefined && t.kind !== o.kind) return false;
  if (t.name !== undefined && t.name !== o.metadata.name) return false;
  if (t.labelSelector !== undefined) {
    const labels = o.metadata.labels ?? {};
    for (const term of t.labelSelector.split(',')) {
      const m = /^\s*([^=!\s]+)\s*==?\s*(\S*)\s*$/.exec(term);
      if (!m) throw new KustomizeError(`labelSelector "${t.labelSelector}": only key=value terms are supported`);
      if (labels[m[1]] !== m[2]) return false;
    }
  }
  return true;
}

// ---- RFC 6902 -------------------------------------------------------------------------------

interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new KustomizeError(`JSON pointer "${path}" must start with "/"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function applyJsonPatch(target: K8sObject, ops: JsonPatchOp[], where: string): void {
  for (const op of ops) {
    const parts = pointer(op.path);
    const last = parts.pop();
    if (last === undefined) throw new KustomizeError(`${where}: cannot patch the whole object`);
    let parent: unknown = target;
    for (const p of parts) {
      parent = Array.isArray(parent) ? parent[Number(p)] : isRecord(parent) ? parent[p] : undefined;
      if (parent === undefined)
        throw new KustomizeError(`${where}: path ${op.path} does not exist in ${objectId(target)}`);
    }
    const exists = Array.isArray(parent)
      ? last === '-' || Number(last) < parent.length
      : isRecord(parent) && last in parent;
    switch (op.op) {
      case 'add':
        if (Array.isArray(parent)) {
          if (last === '-') parent.push(clone(op.value));
          else parent.splice(Number(last), 0, clone(op.value));
        } else if (isRecord(parent)) parent[last] = clone(op.value);
        else throw new KustomizeError(`${where}: cannot add ${op.path}`);
        break;
      case 'replace':
        if (!exists) throw new KustomizeError(`${where}: replace of missing ${op.path} in ${objectId(target)}`);
        if (Array.isArray(parent)) parent[Number(last)] = clone(op.value);
        else (parent as Record<string, unknown>)[last] = clone(op.value);
        break;
      case 'remove':
        if (!exists) throw new KustomizeError(`${where}: remove of missing ${op.path} in ${objectId(target)}`);
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete (parent as Record<string, unknown>)[last];
        break;
      default:
        throw new KustomizeError(`${where}: JSON patch op "${op.op}" is not supported by this renderer`);
    }
  }
}

// ---- transformers -----------------------------------------------------------------------------

function podSpecs(o: K8sObject): Record<string, unknown>[] {
  const spec = o.spec as Record<string, unknown> | undefined;
  if (!isRecord(spec)) return [];
  if (o.kind === 'Pod') return [spec];
  const template = spec.template as Record<string, unknown> | undefined;
  if (isRecord(template) && isRecord(template.spec)) return [template.spec];
  const jobTemplate = spec.jobTemplate as Record<string, unknown> | undefined;
  if (isRecord(jobTemplate) && isRecord(jobTemplate.spec) && isRecord(jobTemplate.spec.template)) {
    const t = jobTemplate.spec.template;
    if (isRecord(t.spec)) return [t.spec];
  }
  return [];
}

function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) return { name: rest.slice(0, colon), tag: rest.slice(colon + 1), digest };
  return { name: rest, digest };
}

function applyImages(objects: K8sObject[], images: NonNullable<Kustomization['images']>): void {
  for (const o of objects) {
    for (const ps of podSpecs(o)) {
      for (const key of ['initContainers', 'containers']) {
        const list = ps[key];
        if (!Array.isArray(list)) continue;
        for (const c of list as Record<string, unknown>[]) {
          if (typeof c.image !== 'string') continue;
          const cur = splitImage(c.image);
          const rule = images.find((i) => i.name === cur.name);
          if (!rule) continue;
          const name = rule.newName ?? cur.name;
          if (rule.digest !== undefined) c.image = `${name}@${rule.digest}`;
          else if (rule.newTag !== undefined) c.image = `${name}:${rule.newTag}`;
          else
            c.image = `${name}${cur.tag !== undefined ? `:${cur.tag}` : ''}${cur.digest !== undefined ? `@${cur.digest}` : ''}`;
        }
      }
    }
  }
}

function literal(dir: string, text: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) fail(dir, `configMapGenerator literal "${text}" is not KEY=VALUE`);
  let value = text.slice(i + 1);
  if (
    value.length >= 2 &&
    ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))
  )
    value = value.slice(1, -1);
  return [text.slice(0, i), value];
}

function generateConfigMaps(dir: string, k: Kustomization, objects: K8sObject[]): void {
  if (!k.configMapGenerator) return;
  if (k.generatorOptions?.disableNameSuffixHash !== true) {
    fail(
      dir,
      'configMapGenerator needs generatorOptions.disableNameSuffixHash: true here (hashed names are not modelled)',
    );
  }
  for (const g of k.configMapGenerator) {
    const data: Record<string, string> = {};
    for (const l of g.literals ?? []) {
      const [key, value] = literal(dir, l);
      data[key] = value;
    }
    for (const f of g.files ?? []) {
      const i = f.indexOf('=');
      const [key, path] = i >= 0 ? [f.slice(0, i), f.slice(i + 1)] : [basename(f), f];
      data[key] = readFileSync(join(dir, path), 'utf8');
    }
    const behavior = g.behavior ?? 'create';
    const existing = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === g.name);
    if (behavior === 'create') {
      if (existing) fail(dir, `configMapGenerator ${g.name}: exists already (use behavior: merge or replace)`);
      objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name }, data });
    } else if (behavior === 'merge' || behavior === 'replace') {
      if (!existing)
        fail(dir, `configMapGenerator ${g.name}: behavior ${behavior} but no such ConfigMap in the resources`);
      existing.data = behavior === 'merge' ? { ...(existing.data as Record<string, string>), ...data } : data;
    } else fail(dir, `configMapGenerator ${g.name}: unknown behavior "${behavior}"`);
  }
}

function applyPatches(dir: string, k: Kustomization, objects: K8sObject[]): void {
  for (const [n, p] of (k.patches ?? []).entries()) {
    const where = `${dir}: patches[${n}]`;
    const text = p.patch ?? (p.path !== undefined ? readFileSync(join(dir, p.path), 'utf8') : undefined);
    if (text === undefined) throw new KustomizeError(`${where}: neither patch nor path`);
    const ops = parse(text) as unknown;
    if (!Array.isArray(ops))
      throw new KustomizeError(`${where}: only RFC 6902 JSON patches (a list of ops) are supported here`);
    if (!p.target) throw new KustomizeError(`${where}: a JSON patch needs a target`);
    const hits = objects.filter((o) => matchesTarget(o, p.target!));
    if (hits.length === 0) throw new KustomizeError(`${where}: the target matches no object`);
    for (const o of hits) applyJsonPatch(o, ops as JsonPatchOp[], where);
  }
}

function transform(dir: string, k: Kustomization, objects: K8sObject[]): void {
  generateConfigMaps(dir, k, objects);
  applyPatches(dir, k, objects);
  if (k.namespace !== undefined) {
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  }
  if (k.images) applyImages(objects, k.images);
}

function build(dir: string, expect: 'Kustomization' | 'Component'): K8sObject[] {
  const k = readKustomization(dir);
  const kind = k.kind ?? 'Kustomization';
  if (kind !== expect) fail(dir, `expected a ${expect}, found ${kind}`);
  const objects: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const path = resolve(dir, r);
    if (!existsSync(path)) fail(dir, `resource ${r} does not exist`);
    objects.push(...(statSync(path).isDirectory() ? build(path, 'Kustomization') : loadObjects(path)));
  }
  for (const c of k.components ?? []) applyComponent(resolve(dir, c), objects);
  transform(dir, k, objects);
  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${o.apiVersion}/${objectId(o)}`;
    if (seen.has(id)) fail(dir, `${id} appears twice`);
    seen.add(id);
  }
  return objects;
}

function applyComponent(dir: string, objects: K8sObject[]): void {
  const k = readKustomization(dir);
  if (k.kind !== 'Component') fail(dir, `expected a Component, found ${k.kind ?? 'Kustomization'}`);
  for (const r of k.resources ?? []) {
    const path = resolve(dir, r);
    objects.push(...(statSync(path).isDirectory() ? build(path, 'Kustomization') : loadObjects(path)));
  }
  for (const c of k.components ?? []) applyComponent(resolve(dir, c), objects);
  transform(dir, k, objects);
}

/** Kind order of kustomize's legacy output sort (namespaces and config first, workloads later). */
const ORDER = [
  'Namespace',
  'ServiceAccount',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'Service',
  'PersistentVolumeClaim',
  'Deployment',
  'StatefulSet',
  'Job',
];

/** Render the kustomization in `dir` (an overlay or the base) into its objects. */
export function render(dir: string): K8sObject[] {
  const objects = build(resolve(dir), 'Kustomization');
  const rank = (o: K8sObject): number => {
    const i = ORDER.indexOf(o.kind);
    return i < 0 ? ORDER.length : i;
  };
  return objects.sort(
    (a, b) => rank(a) - rank(b) || a.kind.localeCompare(b.kind) || a.metadata.name.localeCompare(b.metadata.name),
  );
}

export function toYamlStream(objects: readonly K8sObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

function isEntryPoint(): boolean {
  try {
    return (
      process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
}

// Run as a script with a directory: print the rendered stream. (The test runner also loads this
// file as a test file, without arguments: then it does nothing.)
if (isEntryPoint() && process.argv[2] !== undefined) {
  try {
    process.stdout.write(toYamlStream(render(process.argv[2])));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
