import { test } from 'node:test';
import assert from 'node:assert/strict';
import { didYouMean, formatDiagnostic, showInvisible, suggestions } from '../../src/input/diagnostics.js';
import { parseScenario } from '../../src/scenario/load.js';
import { GUEST_OS_NAMES } from '../../src/scenario/types.js';

// The names a scenario's `os:` takes (the loader adds `scripted`).
const OSES = [...GUEST_OS_NAMES, 'scripted'];

// [typed, suggested]: case and punctuation first, then the names the word begins, then edit distance.
const CASES: [string, string[]][] = [
  ['Windows-10-1909', ['windows-10-1909']],
  ['windows_10_1909', ['windows-10-1909']],
  ['windows10', ['windows-10-1903', 'windows-10-1909']],
  ['windows-10', ['windows-10-1903', 'windows-10-1909']],
  ['ubuntu', ['ubuntu-18.04']],
  ['freebsd', ['freebsd-12.1']],
  ['freebsd12', ['freebsd-12.1']],
  ['ubuntu-20.04', ['ubuntu-18.04']],
  ['windows', ['windows-7']], // begins five names, too many to offer: the nearest by edits
  ['linux', []],
  ['zzzzzz', []],
];

for (const [typed, want] of CASES)
  test(`suggestions: "${typed}" -> ${want.length === 0 ? 'none' : want.join(', ')}`, () => {
    assert.deepEqual(suggestions(typed, OSES), want);
  });

// A command's options: the two dashes are not letters the limit counts ("--history" is 4 edits from "--host").
const SERVE_OPTIONS = ['--host', '--port', '--workers', '--data-dir', '--keep-runs', '--keep-days', '--help'];
const OPTION_CASES: [string, string[]][] = [
  ['--history', []],
  ['--prot', ['--port']],
  ['--hots', ['--host']],
  ['--worker', ['--workers']],
  ['--datadir', ['--data-dir']],
  ['--keep-run', ['--keep-runs']],
];

for (const [typed, want] of OPTION_CASES)
  test(`suggestions among options: "${typed}" -> ${want.length === 0 ? 'none' : want.join(', ')}`, () => {
    assert.deepEqual(suggestions(typed, SERVE_OPTIONS), want);
  });

test('didYouMean says one name, two with "or", three with commas', () => {
  assert.equal(didYouMean('ubuntu', OSES), ' (did you mean "ubuntu-18.04"?)');
  assert.equal(didYouMean('windows10', OSES), ' (did you mean "windows-10-1903" or "windows-10-1909"?)');
  assert.equal(didYouMean('abc', ['abcd', 'abce', 'abcf']), ' (did you mean "abcd", "abce" or "abcf"?)');
  assert.equal(didYouMean('zzzzzz', OSES), '');
});

test('a scenario with os: windows10 is told both Windows 10 builds', () => {
  assert.throws(
    () =>
      parseScenario(
        `name: t
seed: 1
host: { cpu: i7-6700K, cores: 4, count: 1 }
hypervisor: { policy: kvm }
guests:
  - os: windows10
    phases: [{ phase: idle }]
duration: 3s
`,
        't.yaml',
      ),
    /t\.yaml:6:\d+: error: unknown os "windows10" \(did you mean "windows-10-1903" or "windows-10-1909"\?\)/,
  );
});

test('diagnostics show bidi overrides and control characters of the input as escapes', () => {
  assert.equal(showInvisible('a\u202Eb\u0000c\u001bd'), 'a\\u202eb\\u0000c\\u001bd');
  assert.equal(showInvisible('tab\tand\nnewline stay'), 'tab\tand\nnewline stay');
  const line = formatDiagnostic({ file: 'f.yaml', line: 3, column: 5, message: 'unknown key "ab\u202Ecd"' });
  assert.equal(line, 'f.yaml:3:5: error: unknown key "ab\\u202ecd"');
  assert.ok(!line.includes('\u202E'));
});

test('a key or value the user wrote is quoted as a JSON string: a " inside it cannot close the quotes early', () => {
  const yaml = (key: string, os: string): string =>
    [
      'name: q',
      'host: { cpu: i7-6700K, cores: 4 }',
      'hypervisor: { policy: kvm }',
      `guests: [{ os: ${JSON.stringify(os)}, vcpus: 1, phases: [{ phase: idle, duration: 1s }] }]`,
      'duration: 1s',
      `${JSON.stringify(key)}: 1`,
    ].join('\n');
  assert.throws(() => parseScenario(yaml('a"b', 'ubuntu-18.04'), 'q.yaml'), /unknown key "a\\"b"/);
  assert.throws(() => parseScenario(yaml('seed', 'win"dows'), 'q.yaml'), /unknown os "win\\"dows"/);
});
