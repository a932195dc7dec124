/**
 * YAML slips a newcomer makes writing a scenario from docs/SCENARIOS.md alone (the third new-user
 * pass, 2026-12-06, docs/CLI.md "Bad input"): a key indented wrong, a flow mapping without the space
 * after its colon. The error is where the slip is and says what was expected; each failed before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rejected } from './helpers.js';

test('YAML indentation slips: the error is on the line indented wrong and says what was expected', () => {
  // A key indented deeper than the key above it (`- os:` at column 5, `vcpus:` at 6): yaml gave
  // two errors, both at line 5's "os" ("Nested mappings are not allowed in compact mappings",
  // "Implicit keys need to be on a single line"), neither on line 6 nor saying what to do.
  const deeper = rejected(
    'name: x\nhost: { cpu: i7-6700K }\nhypervisor: { policy: kvm }\nguests:\n  - os: ubuntu-18.04\n     vcpus: 2\n',
  );
  assert.equal(deeper.diagnostics.length, 1, deeper.message);
  const d = deeper.diagnostics[0];
  assert.deepEqual([d.line, d.column], [6, 6]);
  assert.match(d.expected ?? '', /the keys of one mapping at the same column/);
  // A key indented less than the one above it, and a list item out of line.
  for (const text of [
    'name: x\nguests:\n  - os: ubuntu-18.04\n  vcpus: 2\n',
    'name: x\nguests:\n  - os: ubuntu-18.04\n    phases:\n    - { phase: boot, duration: 1s }\n     - { phase: idle }\n',
  ]) {
    const e = rejected(text);
    assert.match(
      e.diagnostics[0].message,
      /YAML syntax error: All (mapping|sequence) items must start at the same column/,
    );
    assert.match(e.diagnostics[0].expected ?? '', /at the same column as the (key|item) above it/, text);
  }
  // Line 4 of this one is indented less: the error was at its column 1, the key is at 3.
  assert.deepEqual([rejected('name: x\nguests:\n  - os: ubuntu-18.04\n  vcpus: 2\n').diagnostics[0].column], [3]);
  // A key without its colon is a multi-line key too: the slip is on its first line, where it stays.
  const noColon = rejected('name: x\nhost:\n  cpu i7-6700K\n  cores: 8\n').diagnostics[0];
  assert.deepEqual([noColon.line, noColon.column], [3, 3]);
  const tab = rejected('name: x\nguests:\n\t- os: ubuntu-18.04\n');
  assert.match(tab.diagnostics[0].expected ?? '', /spaces/);
});

test('a flow mapping written without the space after the colon ({cpu:i7-6700K}) says to add it', () => {
  const e = rejected('name: x\nhost: {cpu:i7-6700K}\nhypervisor: { policy: kvm }\nguests: [{ os: ubuntu-18.04 }]\n');
  const unknown = e.diagnostics.find((x) => x.message.includes('unknown key'));
  assert.ok(unknown, e.message);
  assert.match(unknown.message, /YAML needs a space after the colon: write "cpu: i7-6700K"/);
});
