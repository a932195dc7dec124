/**
 * A guest's `name:` is held to what a scenario's name is (1 to 128 letters, digits, ".", "_" or
 * "-"), refused at its position, by the loader the CLI and the service share (parseScenario).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScenario } from '../../src/scenario/load.js';
import { rejected } from './helpers.js';

const withGuestName = (name: string, os = 'freebsd-12.1'): string => `name: guest-names
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - os: ${os}
    name: ${name}
    phases: [{ phase: idle }]
duration: 1s
`;

test('a guest name past 128 characters is refused at its position, as a scenario name is (it had no cap but the body: 400,000 characters made a 227 KB run page)', () => {
  assert.ok(
    JSON.stringify(parseScenario(withGuestName('g'.repeat(128)), 't.yaml').variants).includes(`"${'g'.repeat(128)}"`),
    'a 128-character name loads',
  );
  const e = rejected(withGuestName('g'.repeat(129)));
  assert.match(e.message, /^t\.yaml:6:11: error: .*guests\[0\]\.name/);
  assert.match(e.message, /a name of 1 to 128 letters, digits, "\.", "_" or "-"/);
});
