/**
 * A time in ns is an integer in every output. On an overcommitted host the engine keeps a vCPU's
 * times as doubles (its share of a core: src/core/engine/state.ts resumeTime), so replay printed
 * `"tNs":12498713408.015783` and the timeline `"ts":1003232.1354825601` (microseconds with a
 * fraction of a nanosecond). The CLI and the trace builder round them at the edge; the core keeps its
 * doubles (results unchanged).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';
import { formatSeconds } from '../../src/input/units.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-integer-times-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// Four vCPUs on one core: each vCPU's share of it is a third or a quarter, so its times are fractions.
const scenario = join(dir, 'overcommitted.yaml');
writeFileSync(
  scenario,
  `name: overcommitted
host: { cpu: i7-6700K, cores: 1 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - os: windows-10-1909
    count: 2
    vcpus: 2
    phases:
      - { phase: idle, duration: 2s }
duration: 2s
`,
);

test('replay prints every tNs as an integer, and t as the same time in seconds', async () => {
  const io = capture();
  assert.equal(await main(['replay', scenario, '--guest', '0', '--at', '1.2', '--window', '0.2'], io), 0);
  const lines = io.stdout.map((l) => JSON.parse(l) as { t?: string; tNs?: number; latencyNs?: number });
  const timed = lines.filter((l) => l.tNs !== undefined);
  assert.ok(timed.length > 10, `${timed.length} records`);
  for (const l of timed) {
    assert.ok(Number.isInteger(l.tNs), `tNs ${l.tNs}`);
    assert.equal(l.t, formatSeconds(l.tNs!));
    if (l.latencyNs !== undefined) assert.ok(Number.isInteger(l.latencyNs), `latencyNs ${l.latencyNs}`);
  }
});

test("the timeline's ts and dur are whole nanoseconds (microseconds with at most 3 decimals)", async () => {
  const file = join(dir, 'trace.json');
  const io = capture();
  assert.equal(
    await main(['run', '-q', '--timeline', file, '--timeline-guest', '0', '--timeline-window', '1..1.2', scenario], io),
    0,
    io.stderr.join('\n'),
  );
  const trace = JSON.parse(readFileSync(file, 'utf8')) as {
    traceEvents: { ph: string; ts: number; dur?: number; args?: { latencyNs?: number } }[];
  };
  // A whole ns in microseconds prints with at most 3 decimals (JSON's shortest form of the double).
  const decimals = (us: number): number => (String(us).split('.')[1] ?? '').length;
  const timed = trace.traceEvents.filter((e) => e.ph !== 'M');
  assert.ok(timed.length > 10, `${timed.length} events`);
  for (const e of timed) {
    assert.ok(decimals(e.ts) <= 3, `ts ${e.ts}`);
    if (e.dur !== undefined) assert.ok(decimals(e.dur) <= 3, `dur ${e.dur}`);
    if (e.args?.latencyNs !== undefined) assert.ok(Number.isInteger(e.args.latencyNs), `latencyNs ${e.args.latencyNs}`);
  }
});
