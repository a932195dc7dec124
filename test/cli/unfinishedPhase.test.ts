/**
 * A work-bound phase some guests had not finished when the run ended (its duration or maxDuration
 * reached). phase_seconds was the mean of the guests that finished, with nothing said of the others:
 * test/fixtures/scenarios/half-installed.yaml's threshold `<= 150` held on the quick guest's ~2 minutes
 * while the slow guest's install never ended, and `run` exited 0. Now results.json counts the guests
 * left in `phaseUnfinished`, the summaries and the HTML report say "(1 unfinished)" beside the phase's
 * time, and a threshold on that time fails with why (docs/RESULTS.md).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import type { RunResults } from '../../src/results/types.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-unfinished-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a phase one of two guests had not finished: counted, shown and not judged on the other guest alone', () => {
  const out = (f: string): string => join(dir, f);
  const r = spawnSync(
    process.execPath,
    [
      join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'),
      'run',
      join(REPO_ROOT, 'test', 'fixtures', 'scenarios', 'half-installed.yaml'),
      '--workers',
      '1',
      '-o',
      out('results.json'),
      '--summary',
      out('summary.md'),
      '--html',
      out('report.html'),
    ],
    { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 120_000 },
  );
  assert.equal(r.status, 1, r.stderr);
  const results = JSON.parse(readFileSync(out('results.json'), 'utf8')) as RunResults;
  const t = results.variants[0].totals;
  assert.deepEqual(t.phaseUnfinished, { install: 1 });
  // The quick guest's time is kept (it is a result), with the count beside it everywhere it is shown.
  assert.equal(typeof t.phaseSeconds['install'], 'number');
  assert.ok(t.phaseSeconds['install'] < 150, `the quick guest alone would pass: ${t.phaseSeconds['install']}`);
  assert.match(r.stdout, /install \d+s \(1 unfinished\)/);
  assert.match(readFileSync(out('summary.md'), 'utf8'), /install \d+ s \(1 unfinished\)/);
  assert.match(readFileSync(out('report.html'), 'utf8'), /\d \(1 unfinished\)/);
  const [outcome] = results.variants[0].thresholds;
  assert.equal(outcome.passed, false);
  assert.match(
    outcome.message ?? '',
    /no data: 1 guest had not finished phase install when the run ended \(its mean covers only those that did\)/,
  );
  assert.match(r.stdout, /FAIL phase_seconds\{phase="install"\}: <= 150/);
});

test('compare: a phase old finished and new did not in every guest is a regression, not a faster phase', async () => {
  const { main } = await import('../../src/cli/main.js');
  const old = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResults;
  const v = old.variants[0];
  // Old: every guest finished (the quick guest's time). New: the same mean, one guest left unfinished -
  // what a patch that slows the slow guest past maxDuration gives.
  const finished: RunResults = { ...old, variants: [{ ...v, totals: { ...v.totals, phaseUnfinished: undefined } }] };
  writeFileSync(join(dir, 'old.json'), JSON.stringify(finished));
  const out: string[] = [];
  const io = {
    out: (s: string) => out.push(s),
    err: (s: string) => out.push(s),
    interactive: false,
    env: {},
    cwd: REPO_ROOT,
  };
  const status = await main(['compare', join(dir, 'old.json'), join(dir, 'results.json'), '--max-regression', '5'], io);
  const text = out.join('\n');
  assert.equal(status, 1, text);
  assert.match(text, /phase install \(s\)\s+[\d.]+ s\s+1 unfinished\s+not finished/);
  assert.match(
    text,
    /regression: base phase install \(s\) [\d.]+ s -> 1 unfinished: the phase no longer finished in every guest before the run ended/,
  );
  // Before, the new side's mean of the guest that finished read the same as old: no regression, exit 0.
});
