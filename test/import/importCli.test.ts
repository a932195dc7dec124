/**
 * `vmexit-lab import` as a hypervisor developer reads it: every figure of the fit table in the unit
 * its heading names (exits per vCPU per second), the rows the model has no exit kind for included.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

const REPORTS = join(REPO_ROOT, 'test', 'fixtures', 'reports');

describe('import: rows the model has no kind for', () => {
  it("are measured in exits per vCPU per second like the others, in the table and in --json (bhyvectl's uncategorized exits)", async () => {
    // The constructed 2-vCPU sample: 10,234 exits counted only in 'total number of vm exits' over
    // --duration 60s = 85.3 per vCPU-second (the table printed the count, 10234, under that heading).
    const args = [
      'import',
      'bhyvectl',
      join(REPORTS, 'bhyvectl-intel-2vcpu-constructed.txt'),
      '--cpu',
      'xeon-e5-2667v4',
    ];
    args.push('--policy', 'bhyve-12.1', '--duration', '60s', '--sim-seconds', '2');
    let io = capture();
    await main(args, io);
    const table = io.stderr.join('\n').split('\n');
    assert.match(table[0], /\(exits per vCPU per second\):$/);
    const row = table.find((l) => l.startsWith("exits counted only in 'total number of vm exits'"));
    assert.ok(row, table.join('\n'));
    assert.deepEqual(row.split(/\s{2,}/).slice(1), ['unknown reason', '85.3', '0', '-100 %']);
    io = capture();
    await main([...args, '--json'], io);
    const json = JSON.parse(io.stdout.join('')) as { unknown: { name: string; samples: number; perSecond: number }[] };
    assert.equal(json.unknown.length, 1);
    assert.equal(json.unknown[0].samples, 10234);
    assert.ok(Math.abs(json.unknown[0].perSecond - 10234 / 60 / 2) < 1e-9, String(json.unknown[0].perSecond));
  });
});
