/**
 * docs/SERVICE.md's HTTP API table lists exactly the routes src/service/app.ts serves (method and
 * path, `:id` written `{id}`), so a route added to the app without a line in the doc fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';

test('the HTTP API table of docs/SERVICE.md and the routes of src/service/app.ts agree', () => {
  const app = readFileSync(join(REPO_ROOT, 'src', 'service', 'app.ts'), 'utf8');
  const served = [...app.matchAll(/\bapp\.(get|post|put|delete|patch)\('([^']+)'/g)].map(
    (m) => `${m[1].toUpperCase()} ${m[2].replace(/:(\w+)/g, '{$1}')}`,
  );
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'SERVICE.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## HTTP API'), doc.indexOf('\n## ', doc.indexOf('## HTTP API') + 1));
  const documented = [...section.matchAll(/^\| `(GET|POST|PUT|DELETE|PATCH) (\S+)` \|/gm)].map(
    (m) => `${m[1]} ${m[2]}`,
  );
  assert.ok(served.length >= 10, served.join(', '));
  assert.deepEqual([...new Set(documented)].sort(), [...new Set(served)].sort());
});
