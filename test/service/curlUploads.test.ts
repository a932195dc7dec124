/**
 * README's POST pasted with curl's other data options: without a Content-Type curl sends a form
 * (415 saying which header to add), and `-d @FILE` drops the file's line breaks (400 saying so)
 * (docs/SERVICE.md, "Hostile input: what is checked").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest, runCount } from '../support/http.js';

const { shared: service } = serviceFixture('vmexit-lab-curl-uploads-');

/** README.md's "Write a scenario" block: my-scenario.yaml, as a new user saves it. */
function readmeScenario(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('```yaml', readme.indexOf('## Write a scenario'));
  return readme.slice(readme.indexOf('\n', at) + 1, readme.indexOf('\n```', at) + 1);
}

test("curl's defaults: -d/--data-binary without a Content-Type (a form) is 415 saying which header to add; -d @FILE's one line says curl dropped the line breaks (it said found nothing)", async () => {
  const s = await service();
  const yaml = readmeScenario();
  // curl -d @my-scenario.yaml and curl --data-binary @my-scenario.yaml: a form, unless told otherwise.
  const form = await rawRequest(
    s.url,
    'POST',
    '/api/runs',
    { 'Content-Type': 'application/x-www-form-urlencoded' },
    yaml,
  );
  assert.equal(form.status, 415, form.text);
  assert.match(form.body.error.message, /found "application\/x-www-form-urlencoded"/);
  assert.match(form.body.error.message, /curl sends that .*-H 'Content-Type: application\/yaml' --data-binary @FILE/);

  // curl -H 'Content-Type: application/yaml' -d @my-scenario.yaml: curl strips the file's line breaks.
  const oneLine = yaml.replace(/[\r\n]/g, '');
  const cut = await rawRequest(s.url, 'POST', '/api/runs', { 'Content-Type': 'application/yaml' }, oneLine);
  assert.equal(cut.status, 400, cut.text);
  assert.equal(cut.body.error.code, 'invalid_scenario');
  assert.match(
    cut.body.error.message,
    new RegExp(
      `the body is one line of ${oneLine.length} characters: .*curl -d.*drops .*line breaks.*--data-binary @FILE`,
    ),
  );
  // The same scenario with its line breaks runs; a bad one of several lines gets no such note.
  const bad = await rawRequest(
    s.url,
    'POST',
    '/api/runs',
    { 'Content-Type': 'application/yaml' },
    yaml.replace('name:', 'nme:'),
  );
  assert.equal(bad.status, 400, bad.text);
  assert.doesNotMatch(bad.body.error.message, /one line/);
  assert.equal(await runCount(s.url), 0, 'nothing ran');
});
