/**
 * A report whose counts give a vCPU more exits a second than any CPU can take (a damaged count, a
 * --duration or --vcpus far too small) is refused before the fit: fitted, its rates were capped at
 * the profile's 1e8 a second and simulated for ever (a kvmexit count of 1e23: no answer in 200 s,
 * polish40). Table-driven over the formats that count (kvmexit, bhyvectl, perf).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { refused } from '../support/cli.js';

const REPORTS = join(REPO_ROOT, 'test', 'fixtures', 'reports');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-rates-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const CASES: readonly { what: string; fixture: string; edit: (t: string) => string; args: readonly string[] }[] = [
  {
    what: 'kvmexit, a count of 1e23 (23 digits)',
    fixture: 'kvmexit-vcpu-bcc-2021.txt',
    edit: (t) => t.replace(/^(HLT\s+)1827$/m, '$199999999999999999999999'),
    args: ['kvmexit', '--cpu', 'i7-6700K'],
  },
  {
    what: 'bhyvectl, its counts over a --duration of 1 ms',
    fixture: 'bhyvectl-intel-2vcpu-constructed.txt',
    edit: (t) => t,
    args: ['bhyvectl', '--cpu', 'xeon-e5-2667v4', '--policy', 'bhyve-12.1', '--duration', '1ms'],
  },
  {
    what: 'perf kvm stat, its counts over a --duration of 1 us',
    fixture: 'perf-intel-sysbench-2020.txt',
    edit: (t) => t,
    args: ['perf-kvm-stat', '--cpu', 'xeon-e5-2667v4', '--duration', '1us'],
  },
];

for (const c of CASES) {
  test(`import refuses exits no vCPU can take, before fitting: ${c.what}`, async () => {
    const file = join(dir, c.fixture);
    const text = readFileSync(join(REPORTS, c.fixture), 'utf8');
    writeFileSync(file, c.edit(text));
    const [format, ...rest] = c.args;
    const err = await refused(['import', format, file, ...rest, '--sim-seconds', '10']);
    assert.match(
      err,
      /: [\d.e+]+ exits per vCPU-second \(its counts over .* and \d+ vCPU\(s\)\); expected at most 1e\+7 \(a VM exit and its entry take more than 100 ns\): check the report's counts, --duration and --vcpus$/,
    );
  });
}
