import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startService, type ServiceHandle } from '../../src/service/server.js';
import { MAX_YAML_DEPTH } from '../../src/input/depth.js';
import { serviceFixture } from '../support/serviceFixture.js';
import { rawRequest as raw } from '../support/http.js';

/**
 * YAML nested thousands of levels deep, in every shape the parser nests (brackets, indentation,
 * keys on one line, yaml's recovery from bad input): where each is refused, and that a deep
 * document posted again and again does not abort the process (docs/SERVICE.md, Limits, "nesting";
 * deepDocuments.test.ts has why the main thread refuses them). From the hostile-input audit; each
 * test failed before its fix.
 * docs/SERVICE.md "Hostile input" names each test of this file by its title (hostileInputTable.test.ts).
 */

const { dataDir, services } = serviceFixture('vmexit-lab-nested-');

let open: ServiceHandle;
before(async () => {
  open = await startService({ port: 0, dataDir: dataDir(), workers: 1, stopGraceMs: 2_000 });
  services.push(open);
});

test('documents nested thousands of levels deep: 422 too_complex before composing, where the level past the bound opens, and the service lives', async () => {
  // Each under the 50,000 structure characters of the early bound. The last three nested 20,000
  // deep past the earlier bracket-and-indentation count (it counted 1, 0 and 0): `]` in quotes,
  // keys on one line, and yaml's recovery from stray `- -` nest all the same.
  const cases: [what: string, body: string, at: string][] = [
    ['flow sequences [[[...', `name: x\nguests: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, '2:208'],
    ['flow mappings {a: {a: ...', `name: x\nhost: ${'{a: '.repeat(3000)}1${'}'.repeat(3000)}\n`, '2:803'],
    ['compact block sequences - - - x', `name: x\nguests:\n${'- '.repeat(20_000)}x\n`, '3:399'],
    ['complex keys ? ? ? x', `name: x\n${'? '.repeat(20_000)}x\n`, '2:401'],
    [
      'indentation, a level per line',
      Array.from({ length: 1200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'),
      '201:201',
    ],
    ['both: block inside flow', `name: x\nguests:\n- ${'['.repeat(250)}${']'.repeat(250)}\n`, '3:201'],
    ['quoted closing brackets', `name: x\nguests: ${'[ "]" '.repeat(20_000)}\n`, '2:1203'],
    ['keys on one line', `name: x\nhost: ${'a: '.repeat(20_000)}x\n`, '2:604'],
    ['stray dashes under empty keys', `name: x\n${': - -\na:\n'.repeat(5_000)}`, '400:5'],
  ];
  for (const [what, body, at] of cases) {
    const r = await raw(open.url, 'POST', '/api/runs', { 'Content-Type': 'application/yaml' }, body);
    assert.equal(r.status, 422, `${what}: ${r.text}`);
    assert.equal(r.body.error.code, 'too_complex', what);
    assert.match(
      r.body.error.message,
      new RegExp(
        `^request\\.yaml:${at}: error: YAML nested too deeply: a collection ${MAX_YAML_DEPTH + 1} levels deep opens here .*at most ${MAX_YAML_DEPTH} levels deep`,
      ),
      what,
    );
    // Inside the JSON form too.
    const j = await raw(
      open.url,
      'POST',
      '/api/runs',
      { 'Content-Type': 'application/json' },
      JSON.stringify({ yaml: body }),
    );
    assert.equal(j.status, 422, `${what} (JSON): ${j.text}`);
  }
  assert.equal((await raw(open.url, 'GET', '/healthz')).status, 200);
});

test('a deep document posted again and again does not abort the process (V8: RegExpCompiler Allocation failed)', () => {
  // The parser used to recurse to its validation thread's stack limit; there V8 may recompile one of
  // its regular expressions and abort the whole process ("FATAL ERROR: RegExpCompiler Allocation
  // failed - process out of memory"; the second post of this document did it, every time). A child process, so that the abort,
  // if it comes back, fails this test instead of ending the test run. Each document comes after
  // lines enough that the main thread's early look (EARLY_DEPTH_LEXEMES) does not reach its nesting:
  // the validation thread parses it.
  const validation = new URL('../../src/service/scenarioValidator.js', import.meta.url).href;
  const script = `
    const { ScenarioValidator, EARLY_DEPTH_LEXEMES, tooDeepEarly } = await import(${JSON.stringify(validation)});
    const v = new ScenarioValidator({ threads: 1, timeoutMs: 60_000 });
    const pre = Array.from({ length: EARLY_DEPTH_LEXEMES }, (_, i) => 'p' + i + ': 1').join('\\n') + '\\n';
    const bodies = ['a: ' + '['.repeat(5000) + ']'.repeat(5000), 'a: ' + '[ "]" '.repeat(20000), 'a: '.repeat(20000) + 'x'].map((b) => pre + b);
    if (bodies.some((b) => tooDeepEarly(b, 'request.yaml') !== undefined)) throw new Error('refused before the thread');
    const out = [];
    for (let i = 0; i < 6; i++) for (const body of bodies) out.push(await v.validate(body, 'request.yaml').then(() => 'ok', (e) => e.code));
    await v.close();
    console.log(out.join(' '));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, r.stderr.slice(0, 600));
  assert.equal(r.status, 0, r.stderr.slice(0, 600));
  assert.equal(r.stdout.trim(), Array(18).fill('too_complex').join(' '));
});
