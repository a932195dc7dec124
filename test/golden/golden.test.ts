/**
 * Golden digests: every shipped scenario's results.json (with per-guest records, wall-clock fields
 * aside) and the trace of every scripted scenario, as SHA-256 digests in test/golden/digests.json.
 *
 * A change that must not move results (a refactor, a speed-up) leaves every digest as it is. A
 * change that moves results on purpose (a model fix) re-takes them in a commit of its own, with the
 * figures that moved in its message: `npm run golden:update`.
 *
 * The scenarios run through the real CLI in child processes (the interface users meet), two at a
 * time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { shippedYamlFiles } from '../support/paths.js';

const DIGESTS_FILE = join(REPO_ROOT, 'test', 'golden', 'digests.json');
const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
/** results.json fields that depend on the wall clock, not on the simulation. */
const WALL_CLOCK_FIELDS = new Set(['startedAt', 'wallSeconds']);

interface Golden {
  /** sha256 of the canonical output. */
  readonly digest: string;
  /** Exits per variant: not compared, printed so a failing digest says what moved. */
  readonly exitsTotal?: Record<string, number>;
}

/** The shipped scenario files, relative to the repository, sorted. */
function shippedScenarios(): string[] {
  return shippedYamlFiles().map((p) => relative(REPO_ROOT, p));
}

function isScript(file: string): boolean {
  return /^\s*script:/m.test(readFileSync(join(REPO_ROOT, file), 'utf8'));
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: REPO_ROOT, env: { ...process.env, CI: 'true' }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** JSON with the wall-clock fields dropped at every level, keys in document order. */
function canonical(json: string): { text: string; exitsTotal: Record<string, number> } {
  const doc = JSON.parse(json, (key, value: unknown) => (WALL_CLOCK_FIELDS.has(key) ? undefined : value)) as {
    variants: { name: string; totals: { exitsTotal: number } }[];
  };
  const exitsTotal: Record<string, number> = {};
  for (const v of doc.variants) exitsTotal[v.name] = v.totals.exitsTotal;
  return { text: JSON.stringify(doc), exitsTotal };
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

async function goldenOf(key: string, dir: string): Promise<Golden> {
  const [kind, file] = key.split(':') as ['results' | 'trace', string];
  if (kind === 'trace') {
    const r = await cli(['trace', file]);
    assert.ok(r.code === 0 || r.code === 3, `trace ${file} exited ${r.code}: ${r.stderr}`);
    return { digest: sha256(r.stdout) };
  }
  const out = join(dir, `${sha256(file).slice(0, 12)}.json`);
  const r = await cli(['run', '--quiet', '--per-guest', '--workers', '1', '--out', out, file]);
  assert.ok(r.code === 0 || r.code === 1 || r.code === 3, `run ${file} exited ${r.code}: ${r.stderr}`);
  const c = canonical(readFileSync(out, 'utf8'));
  return { digest: sha256(c.text), exitsTotal: c.exitsTotal };
}

async function computeAll(): Promise<Record<string, Golden>> {
  const keys: string[] = [];
  for (const f of shippedScenarios()) keys.push(isScript(f) ? `trace:${f}` : `results:${f}`);
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-golden-'));
  const out: Record<string, Golden> = {};
  try {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next++];
        out[key] = await goldenOf(key, dir);
      }
    };
    await Promise.all([lane(), lane()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return Object.fromEntries(keys.map((k) => [k, out[k]]));
}

if (process.env.GOLDEN_UPDATE === '1') {
  const all = await computeAll();
  writeFileSync(DIGESTS_FILE, JSON.stringify(all, null, 2) + '\n');
  process.stdout.write(`wrote ${Object.keys(all).length} digests to ${relative(REPO_ROOT, DIGESTS_FILE)}\n`);
} else {
  test('golden digests: every shipped scenario gives the results and traces pinned in test/golden/digests.json', async () => {
    const pinned = JSON.parse(readFileSync(DIGESTS_FILE, 'utf8')) as Record<string, Golden>;
    const now = await computeAll();
    assert.deepEqual(
      Object.keys(now).sort(),
      Object.keys(pinned).sort(),
      'the set of shipped scenarios changed: re-take the digests (npm run golden:update)',
    );
    const moved: string[] = [];
    for (const [key, g] of Object.entries(now)) {
      if (g.digest !== pinned[key].digest) {
        moved.push(
          `${key}: exits ${JSON.stringify(pinned[key].exitsTotal ?? {})} -> ${JSON.stringify(g.exitsTotal ?? {})}`,
        );
      }
    }
    assert.deepEqual(
      moved,
      [],
      'results moved; if on purpose, re-take them in a commit of their own (npm run golden:update)',
    );
  });
}
