/**
 * deploy/k8s: deploy/README.md documents every value the manifests take.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { rendered, find, configMapData, podSpec } from './objects.js';

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
