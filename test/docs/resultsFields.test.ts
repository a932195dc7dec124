/**
 * docs/RESULTS.md against what `vmexit-lab run --out` writes: every field of the page's example
 * document is one the code writes (or an optional field of src/results/types.ts the runs below do
 * not produce), and every field the code writes is on the page (in the example, or named in the
 * field notes), so a renamed, added or dropped field cannot leave the page behind.
 *
 * The runs: the seed's %cr8 scenario with --per-guest and --shard 1/1 (perGuest, shard, raw,
 * series, latency exemplars) and the seed's panic scenario (violations with guestIndex and a
 * shrunk reproducer) and the library's PAUSE-loop scenario (a tunables matrix, a cross-variant
 * ratio threshold). Keys of maps keyed by data (exit names, phases, tunables, matrix values, the
 * APIC state, the raw accumulators) are not fields and are not compared.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

const DOC = readFileSync(join(REPO_ROOT, 'docs', 'RESULTS.md'), 'utf8');
const TYPES = readFileSync(join(REPO_ROOT, 'src', 'results', 'types.ts'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-results-fields-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Fields whose value is a map keyed by data, not by field names. */
const MAPS = new Set([
  'exits',
  'hostSecondsInExits',
  'phaseSeconds',
  'phaseUnfinished',
  'params',
  'tunables',
  'state',
  'raw',
]);

/** Optional fields the runs here do not produce: each must be optional (`name?:`) in types.ts. */
const NOT_PRODUCED_HERE = [
  'partial',
  'partialReason',
  'variants[].totals.deviceModelSeconds',
  'variants[].totals.phaseUnfinished',
];

/** JSON with // comments (outside strings) removed. */
export function stripComments(jsonc: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < jsonc.length; i++) {
    const c = jsonc[i];
    if (inString) {
      out += c;
      if (c === '\\') out += jsonc[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && jsonc[i + 1] === '/') {
      while (i < jsonc.length && jsonc[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out;
}

/** Field paths of a document: `variants[].totals.exitsTotal`; arrays as `[]`, map keys left out. */
export function fieldPaths(value: unknown, path = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) fieldPaths(v, `${path}[]`, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = path ? `${path}.${k}` : k;
      out.add(p);
      if (!MAPS.has(k)) fieldPaths(v, p, out);
    }
  }
  return out;
}

function example(): unknown {
  const m = /^```jsonc\n([\s\S]*?)^```$/m.exec(DOC);
  assert.ok(m, 'docs/RESULTS.md has a jsonc example');
  return JSON.parse(stripComments(m[1]));
}

async function written(args: string[], file: string): Promise<unknown> {
  const out = join(dir, file);
  const io = capture();
  const status = await main(['run', '--quiet', '--out', out, ...args], io);
  assert.equal(status, 0, io.stderr.join(''));
  return JSON.parse(readFileSync(out, 'utf8'));
}

test('the comment stripper and the field paths: strings keep their slashes, maps are not fields', () => {
  const doc = stripComments('{ "a": "x // y", // note\n "exits": { "HLT": 1 }, "b": [ { "c": 1 } ] }');
  assert.deepEqual(JSON.parse(doc), { a: 'x // y', exits: { HLT: 1 }, b: [{ c: 1 }] });
  assert.deepEqual([...fieldPaths(JSON.parse(doc))].sort(), ['a', 'b', 'b[].c', 'exits']);
});

test("every field of RESULTS.md's example is written by run, and every field run writes is on the page", async () => {
  const real = new Set<string>();
  for (const r of [
    await written(['--per-guest', '--shard', '1/1', 'scenarios/seed/win10-1909-cr8-exits.yaml'], 'cr8.json'),
    await written(['scenarios/seed/e5-2667v4-apicv-panic.yaml'], 'panic.json'),
    await written(['scenarios/library/pause-loop-exiting.yaml'], 'ple.json'),
  ])
    fieldPaths(r, '', real);
  assert.ok(real.size >= 60, `only ${real.size} fields written`);

  for (const p of NOT_PRODUCED_HERE) {
    const name = p.split('.').pop()!;
    assert.ok(new RegExp(`readonly ${name}\\?:`).test(TYPES), `${name} is optional in src/results/types.ts`);
    assert.ok(!real.has(p), `${p} is produced after all: take it off NOT_PRODUCED_HERE`);
  }
  const shown = fieldPaths(example());
  const notWritten = [...shown].filter((p) => !real.has(p) && !NOT_PRODUCED_HERE.includes(p));
  assert.deepEqual(notWritten, [], 'fields of the example that run does not write');

  // A field missing from the example must be named in the field notes: `name` or "name": ...
  const unexplained = [...real]
    .filter((p) => !shown.has(p))
    .filter((p) => {
      const name = p.split('.').pop()!.replace(/\[\]$/, '');
      return !DOC.includes(`\`${name}\``) && !DOC.includes(`.${name}\``) && !DOC.includes(`"${name}":`);
    });
  assert.deepEqual(unexplained, [], 'fields run writes that docs/RESULTS.md does not name');
});
