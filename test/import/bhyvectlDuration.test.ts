/**
 * `vmexit-lab import bhyvectl FILE --duration 60s`: the notes said "the measurement duration is
 * unknown" (the parser's note on 'vcpu total runtime', printed whatever --duration said), beside a fit
 * header that used the 60 s. The notes now say what the report lacks and where the span came from.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';

const REPORT = join(REPO_ROOT, 'test', 'fixtures', 'reports', 'bhyvectl-intel-2vcpu-constructed.txt');

describe('import bhyvectl --duration', () => {
  it('does not call the duration unknown once --duration gave it, and says the rates use it', async () => {
    const io = capture();
    const args = ['import', 'bhyvectl', REPORT, '--cpu', 'xeon-e5-2667v4', '--policy', 'bhyve-12.1'];
    await main([...args, '--duration', '60s', '--sim-seconds', '2', '-o', '/dev/null'], io);
    const err = io.stderr.join('\n');
    assert.doesNotMatch(err, /duration is unknown/, err);
    const runtime = err.split('\n').find((l) => l.startsWith('note: vcpu total runtime'));
    assert.ok(runtime, err);
    assert.match(runtime, /--duration/);
  });
});
