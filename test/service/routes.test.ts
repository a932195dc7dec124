/**
 * docs/SERVICE.md's HTTP API table lists exactly the routes src/service/app.ts serves (the ROUTES
 * table of src/service/routeTable.ts: method and path, `:id` written `{id}`), so a route added to
 * the app without a line in the doc fails here; and the app registers routes only through that table.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';
import { ROUTES, allowedMethods } from '../../src/service/routeTable.js';

test('the HTTP API table of docs/SERVICE.md and the routes of src/service/app.ts agree', () => {
  const app = readFileSync(join(REPO_ROOT, 'src', 'service', 'app.ts'), 'utf8');
  // A route registered beside the table would have no Allow and no row: none is.
  assert.deepEqual(
    [...app.matchAll(/\bapp\.(get|post|put|delete|patch|all)\('([^']+)'/g)].map((m) => m[0]),
    [],
  );
  const served = ROUTES.map((r) => r.replace(/:(\w+)/g, '{$1}'));
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'SERVICE.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## HTTP API'), doc.indexOf('\n## ', doc.indexOf('## HTTP API') + 1));
  const documented = [...section.matchAll(/^\| `(GET|POST|PUT|DELETE|PATCH) (\S+)` \|/gm)].map(
    (m) => `${m[1]} ${m[2]}`,
  );
  assert.ok(served.length >= 10, served.join(', '));
  assert.deepEqual([...new Set(documented)].sort(), [...new Set(served)].sort());
});

test('allowedMethods: the methods of the path a request names, as express matches paths (case-sensitive, strict); none for unknown paths', () => {
  const rows: [string, string[] | undefined][] = [
    ['/api/runs', ['GET', 'HEAD', 'POST', 'OPTIONS']],
    ['/api/runs/', undefined],
    ['/API/Runs', undefined],
    ['/Metrics', undefined],
    ['/api/runs/r-1', ['GET', 'HEAD', 'DELETE', 'OPTIONS']],
    ['/api/runs/r-1/results', ['GET', 'HEAD', 'OPTIONS']],
    ['/metrics', ['GET', 'HEAD', 'OPTIONS']],
    ['/', ['GET', 'HEAD', 'OPTIONS']],
    ['/runs/r-1', ['GET', 'HEAD', 'OPTIONS']],
    ['/runs', undefined],
    ['/api/runs/r-1/results/x', undefined],
    ['/api/runs//results', undefined],
    ['/healthzz', undefined],
  ];
  for (const [path, allow] of rows) assert.deepEqual(allowedMethods(path), allow, path);
});
