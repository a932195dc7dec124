/**
 * docs/SCENARIOS.md, the scenario reference, is in step with the loader: every key it accepts at
 * every place, every phase, matrix key, tunable, clocksource, enlightenment, host OS and guest model
 * is on the page, and every YAML example that is a scenario validates and runs with its thresholds
 * passing (exit 0), as a reader would run it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { LINUX_CLOCKSOURCES } from '../../src/core/guests/linuxClock.js';
import { HV_ENLIGHTENMENTS } from '../../src/core/hypervisor/hyperv.js';
import { POLICY_NAMES, TUNABLES } from '../../src/core/hypervisor/policy.js';
import { HOST_OS_NAMES } from '../../src/model/hostOs.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { ACCEPTED_KEYS } from '../../src/scenario/load.js';
import { MATRIX_KEYS } from '../../src/scenario/matrix.js';
import { METRIC_NAMES } from '../../src/scenario/thresholds.js';
import { GUEST_OS_NAMES, PHASE_NAMES } from '../../src/scenario/types.js';
import { capture } from '../support/cli.js';

const DOC = readFileSync(join(REPO_ROOT, 'docs', 'SCENARIOS.md'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-scenarios-doc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('docs/SCENARIOS.md names every key, value and name the loader accepts', () => {
  const names = [
    ...Object.values(ACCEPTED_KEYS).flat(),
    ...PHASE_NAMES,
    ...MATRIX_KEYS,
    ...TUNABLES.map((t) => t.name),
    ...LINUX_CLOCKSOURCES,
    ...HV_ENLIGHTENMENTS,
    ...HOST_OS_NAMES,
    ...POLICY_NAMES,
    ...GUEST_OS_NAMES,
    ...METRIC_NAMES,
    'scripted',
    'until-complete',
  ];
  const missing = [...new Set(names)].filter((n) => !DOC.includes(`\`${n}\``));
  assert.deepEqual(missing, []);
});

test('every scenario example of docs/SCENARIOS.md validates and runs, its thresholds passing', async () => {
  const blocks = [...DOC.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]).filter((b) => /^name: /m.test(b));
  assert.ok(blocks.length >= 4, `only ${blocks.length} scenario examples`);
  for (const [i, text] of blocks.entries()) {
    const file = join(dir, `example-${i}.yaml`);
    writeFileSync(file, text);
    const v = capture();
    assert.equal(await main(['validate', file], v), 0, `${text}\n${v.stdout.join('')}${v.stderr.join('')}`);
    const r = capture();
    assert.equal(await main(['run', '--quiet', '--workers', '1', file], r), 0, `${text}\n${r.stdout.join('')}`);
  }
});
