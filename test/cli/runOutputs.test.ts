import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';
import { checkXml } from '../report/xmlCheck.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function scenario(name: string, body: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\n${body}`);
  return file;
}

const small = `host: { cpu: i7-2620M, cores: 4 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases:
      - { phase: idle, duration: 3s }
duration: 3s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
`;

test('run: exit 0 when every threshold passes, with results.json, JUnit and Markdown written', async () => {
  const file = scenario(
    'pass',
    `${small}thresholds:\n  exits_per_second{reason="CR_ACCESS",variant="bhyve-tpr-v3"}: ["== 0"]\n  exits_per_second{reason="CR_ACCESS",variant="bhyve-12.1"}: ["> 1000"]\n`,
  );
  const io = capture();
  const out = join(dir, 'r.json');
  const junit = join(dir, 'j.xml');
  const md = join(dir, 's.md');
  assert.equal(await main(['run', '--quiet', '--out', out, '--junit', junit, '--summary', md, file], io), 0);
  const r = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(r.version, 1);
  assert.equal(r.scenario, 'pass');
  assert.deepEqual(
    r.variants.map((v: { name: string }) => v.name),
    ['bhyve-12.1', 'bhyve-tpr-v3'],
  );
  assert.ok(r.variants[0].totals.exits.CR_ACCESS > 0);
  assert.equal(r.variants[1].totals.exits.CR_ACCESS, undefined);
  assert.ok(r.variants.every((v: { thresholds: { passed: boolean }[] }) => v.thresholds.every((t) => t.passed)));
  assert.match(
    readFileSync(junit, 'utf8'),
    /<testsuite name="pass\/bhyve-12.1" tests="1" failures="0" errors="0" skipped="0" time="[\d.]+" timestamp="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d">/,
  );
  assert.match(readFileSync(md, 'utf8'), /\| bhyve-tpr-v3 \| i7-2620M \| bhyve-tpr-v3 \|/);
  assert.match(io.stdout.join(''), /bhyve-12.1: CR_ACCESS/);
});

test('run: exit 1 when a threshold fails, and JUnit records the failure', async () => {
  const file = scenario('fail', `${small}thresholds:\n  exits_per_second{reason="CR_ACCESS"}: ["== 0"]\n`);
  const junit = join(dir, 'fail.xml');
  assert.equal(await main(['run', '--quiet', '--junit', junit, file], capture()), 1);
  assert.match(
    readFileSync(junit, 'utf8'),
    /<failure message="exits_per_second\{reason=&quot;CR_ACCESS&quot;\} = [\d,.]+ \(variant [^)]+\); fails: == 0"\/>/,
  );
});

test('run: exit 2 for a bad scenario, with file:line:col and nothing run', async () => {
  const file = scenario('bad', `host: { cpu: i7-2620M }\nguests:\n  - os: windows-10-1909\n    vcpuz: 2\n`);
  const io = capture();
  assert.equal(await main(['run', '--quiet', file, join(REPO_ROOT, 'scenarios', 'default.yaml')], io), 2);
  assert.match(io.stderr.join('\n'), /bad\.yaml:5:5: error: .*vcpuz.*did you mean "vcpus"/);
  assert.equal(io.stdout.length, 0, 'nothing ran');
});

test('run: exit 2 for bad usage', async () => {
  assert.equal(await main(['run'], capture()), 2);
  assert.equal(await main(['run', '--shard', '3/2', 'x.yaml'], capture()), 2);
  assert.equal(await main(['frobnicate'], capture()), 2);
});

test('run: exit 3 for an invariant violation the scenario does not expect', async () => {
  const file = scenario(
    'panic',
    `host: { cpu: xeon-e5-2667v4 }
hypervisor: { policy: bhyve-tpr-v2 }
guests:
  - os: scripted
    script:
      - interrupt: 0x81
      - io: 0x1f7
`,
  );
  const io = capture();
  assert.equal(await main(['run', '--quiet', file], io), 3);
  assert.match(io.stdout.join(''), /violation isr_isrvec_stk_out_of_sync: ISR and isrvec_stk out of sync/);
});

test('run: --help teaches the options and exit statuses', async () => {
  const io = capture();
  assert.equal(await main(['run', '--help'], io), 0);
  const text = io.stdout.join('');
  for (const s of ['--out', '--junit', '--summary', '--shard', 'Exit status', 'Examples'])
    assert.ok(text.includes(s), s);
});

test('the same scenario and seed give the same results bit for bit', async () => {
  const file = scenario('det', small);
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  await main(['run', '--quiet', '--out', a, file], capture());
  await main(['run', '--quiet', '--out', b, file], capture());
  const strip = (f: string): unknown => {
    const r = JSON.parse(readFileSync(f, 'utf8'));
    return r.variants;
  };
  assert.deepEqual(strip(a), strip(b));
  const c = join(dir, 'c.json');
  await main(['run', '--quiet', '--seed', '7', '--out', c, file], capture());
  assert.notDeepEqual(strip(a), strip(c), 'another seed gives other counts');
});

test('the bin works as a real process (npx vmexit-lab --help)', () => {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), '--help'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /Commands:/);
});

test('run A.yaml B.yaml --junit --summary: one XML document holding both scenarios, one Markdown heading each', async () => {
  const a = scenario(
    'first',
    `${small}thresholds:\n  exits_per_second{reason="CR_ACCESS",variant="bhyve-tpr-v3"}: ["== 0"]\n`,
  );
  const b = scenario('second', `${small}thresholds:\n  exits_per_second{reason="CR_ACCESS"}: ["== 0"]\n`);
  const junit = join(dir, 'two.xml');
  const md = join(dir, 'two.md');
  assert.equal(await main(['run', '--quiet', '--junit', junit, '--summary', md, a, b], capture()), 1);
  const xml = readFileSync(junit, 'utf8');
  // Written one document per scenario, one after the other: two declarations and two roots.
  const shape = checkXml(xml);
  assert.deepEqual(shape.problems, [], xml);
  assert.equal(shape.root?.name, 'testsuites');
  assert.deepEqual(
    shape.elements.filter((e) => e.name === 'testsuite').map((e) => [e.depth, e.attrs.get('name')]),
    [
      [1, 'first/bhyve-12.1'],
      [1, 'first/bhyve-tpr-v3'],
      [1, 'second/bhyve-12.1'],
      [1, 'second/bhyve-tpr-v3'],
    ],
  );
  const root = shape.root.attrs;
  assert.deepEqual(
    ['tests', 'failures', 'errors'].map((k) => root.get(k)),
    ['3', '1', '0'],
    'the sums: one threshold of the first, two of the second (bhyve-12.1 fails CR_ACCESS == 0)',
  );
  const summary = readFileSync(md, 'utf8');
  assert.deepEqual(
    summary.split('\n').filter((l) => l.startsWith('#')),
    ['### vmexit-lab: first', '### vmexit-lab: second'],
  );
  assert.equal(summary.match(/^\| variant \| cpu \|/gm)?.length, 2, 'a table of each');
});
