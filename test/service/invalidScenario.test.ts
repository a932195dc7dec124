/**
 * A posted scenario that does not load is 400 `invalid_scenario` with its place in request.yaml,
 * in the CLI's words: a tagged value the key cannot take, a merge key that reaches its own
 * mapping, a guest name past 128 characters (docs/SERVICE.md, "Hostile input: what is checked").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startService } from '../../src/service/server.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest, runCount } from '../support/http.js';

const { shared: service, dataDir, services } = serviceFixture('vmexit-lab-invalid-scenario-');

test('tagged values the scenario cannot take say what they are (a timestamp, !!binary data: they were "found a object value")', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1 });
  services.push(s);
  const scenario = (seed: string, directive = ''): string =>
    `${directive}name: tags\nseed: ${seed}\nhost: { cpu: i7-6700K, cores: 2 }\nhypervisor: { policy: bhyve-12.1 }\nguests: [{ os: freebsd-12.1, phases: [{ phase: idle }] }]\nduration: 1s\n`;
  for (const [yaml, line, found] of [
    [scenario('!!binary aGVsbG8='), 2, 'binary data (!!binary)'],
    [scenario('!!timestamp 2001-12-14'), 2, 'a timestamp (2001-12-14)'],
    // YAML 1.1, asked for: its date form is a timestamp (YAML 1.2, the default, reads a string).
    [scenario('2001-12-14', '%YAML 1.1\n---\n'), 4, 'a timestamp (2001-12-14)'],
  ] as const) {
    const r = await fetch(`${s.url}/api/runs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/yaml' },
      body: yaml,
    });
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(r.status, 400, body.error.message);
    assert.equal(body.error.code, 'invalid_scenario');
    assert.match(body.error.message, new RegExp(`^request\\.yaml:${line}:\\d+: error: wrong type for seed`));
    assert.ok(body.error.message.endsWith(`found ${found})`), body.error.message);
  }
});

test('--per-guest-metrics: a guest name past 128 characters is refused at load with its position (the sixth pass; before the fifth, a 300,000-character name made each per-guest line 300 KB, and the label bound, clientLabel, stays)', async () => {
  const s = await startService({ port: 0, dataDir: dataDir(), workers: 1, perGuestMetrics: true });
  services.push(s);
  const name = `g${'x'.repeat(300_000)}`;
  const yaml = `name: long-guest\nseed: 1\nhost: { cpu: i7-6700K, cores: 2 }\nhypervisor: { policy: bhyve-12.1 }\nguests:\n  - { name: ${name}, os: freebsd-12.1, phases: [{ phase: idle }] }\nduration: 1s\n`;
  const r = await fetch(`${s.url}/api/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/yaml' },
    body: yaml,
  });
  const body = (await r.json()) as { error: { code: string; message: string } };
  assert.equal(r.status, 400, JSON.stringify(body).slice(0, 300));
  assert.equal(body.error.code, 'invalid_scenario');
  assert.match(
    body.error.message,
    /^request\.yaml:6:13: error: invalid guests\[0\]\.name \(expected a name of 1 to 128 letters/,
  );
});

test('a posted scenario whose merge key reaches its own mapping is 400 invalid_scenario at the alias (it was 500 internal: "Maximum call stack size exceeded")', async () => {
  const s = await service();
  const before = await runCount(s.url);
  const yaml =
    'name: t\nhost: &h { cpu: i7-6700K, cores: 8, <<: *h }\nhypervisor: { policy: kvm }\nguests: [{ os: ubuntu-18.04 }]\n';
  const r = await rawRequest(s.url, 'POST', '/api/runs', { 'Content-Type': 'application/yaml' }, yaml);
  assert.equal(r.status, 400, r.text);
  assert.equal(r.body.error.code, 'invalid_scenario');
  assert.deepEqual(
    r.body.error.diagnostics.map((d: { line: number; column: number; message: string }) => [
      d.line,
      d.column,
      d.message,
    ]),
    [[2, 41, 'the merge key "<<" of host merges its own mapping (*h)']],
  );
  assert.equal(await runCount(s.url), before, 'nothing ran');
});
