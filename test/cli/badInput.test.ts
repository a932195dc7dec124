/**
 * Bad scenario input as a new user writes it, through `vmexit-lab run` and `validate`: every case
 * exits 2 before anything runs, with `file:line:col: error:` and what was expected (docs/CLI.md,
 * "Bad input: what is checked", lists these rows).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture, cli, IDLE_WINDOWS_SCENARIO } from '../support/cli.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { escapeRegExp } from '../support/regex.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-bad-input-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A good scenario with one line replaced: `edit(text)` gets the good text. */
const GOOD = `name: bad-input
hypervisor: { policy: bhyve-12.1 }
host: { cpu: i7-2620M, cores: 4 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases: [{ phase: idle }]
duration: 1s
seed: 1
`;

interface Row {
  readonly what: string;
  /** The file's text, or a path to give as it is. */
  readonly file: { text: string } | { path: string };
  /** What stderr must say (one of its lines). */
  readonly says: RegExp;
}

const ROWS: readonly Row[] = [
  {
    what: 'missing file',
    file: { path: join(dir, 'nope.yaml') },
    says: /nope\.yaml: error: cannot read the file: ENOENT/,
  },
  {
    what: 'a directory',
    file: { path: dir },
    says: /: error: is a directory, not a scenario file \(expected its files/,
  },
  { what: 'empty file', file: { text: '' }, says: /:1:1: error: a scenario file must be a mapping .*found nothing/ },
  {
    what: "a typo'd key",
    file: { text: GOOD.replace('vcpus: 2', 'vcpu: 2') },
    says: /:6:5: error: unknown key "vcpu" \(did you mean "vcpus"\?\)/,
  },
  {
    what: 'a wrong type',
    file: { text: GOOD.replace('vcpus: 2', 'vcpus: two') },
    says: /:6:12: error: wrong type for guests\[0\]\.vcpus \(expected an integer 1\.\.64, found string "two"\)/,
  },
  {
    what: 'vcpus 0',
    file: { text: GOOD.replace('vcpus: 2', 'vcpus: 0') },
    says: /:6:12: error: guests\[0\]\.vcpus out of range \(expected an integer 1\.\.64, found 0\)/,
  },
  {
    what: 'vcpus 1e9',
    file: { text: GOOD.replace('vcpus: 2', 'vcpus: 1e9') },
    says: /:6:12: error: guests\[0\]\.vcpus out of range \(expected an integer 1\.\.64, found 1e9\)/,
  },
  {
    what: 'a negative duration',
    file: { text: GOOD.replace('duration: 1s', 'duration: -5s') },
    says: /:8:11: error: invalid duration for duration \(expected a non-negative duration, found "-5s"\)/,
  },
  {
    what: 'seed 2**64',
    file: { text: GOOD.replace('seed: 1', 'seed: 18446744073709551616') },
    says: /:9:7: error: seed out of range \(expected an integer 0\.\.4294967295, found 18446744073709551616\)/,
  },
  {
    what: 'binary bytes',
    file: { text: '\u0000\u0001\u0002\u00ff' },
    says: /:1:1: error: /,
  },
  {
    what: 'an alias bomb',
    file: {
      text: [
        'a: &a [x, x, x, x, x, x, x, x, x, x]',
        ...'bcdefg'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`),
      ].join('\n'),
    },
    says: /error: too many YAML alias expansions/,
  },
];

test('bad scenario input: exit 2, nothing runs, file:line:col and what was expected', async () => {
  for (const [i, row] of ROWS.entries()) {
    const file = 'path' in row.file ? row.file.path : join(dir, `case-${i}.yaml`);
    if ('text' in row.file) writeFileSync(file, row.file.text);
    for (const command of ['run', 'validate']) {
      const io = capture();
      const args = command === 'run' ? ['run', '--quiet', file] : ['validate', file];
      assert.equal(await main(args, io), 2, `${row.what} (${command}): ${io.stderr.join('')}`);
      assert.ok(
        io.stderr
          .join('\n')
          .split('\n')
          .some((l) => row.says.test(l)),
        `${row.what} (${command}): ${io.stderr.join('')}`,
      );
      if (command === 'run') assert.deepEqual(io.stdout, [], `${row.what}: nothing ran`);
    }
  }
});

test(
  'an endless device (validate /dev/zero) is read up to the size limit, not until memory runs out',
  {
    skip: existsSync('/dev/zero') ? false : 'no /dev/zero',
  },
  () => {
    // A child process: the read that never ends would hold this one.
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), 'validate', '/dev/zero'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.signal, null, 'ended on its own');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^\/dev\/zero:1:1: error: file is too large \(expected at most 1048576 bytes/);
  },
);

test(
  'an endless device given to what-if, import, compare, merge or cpus import is refused past 256 MiB',
  {
    skip: existsSync('/dev/zero') ? false : 'no /dev/zero',
  },
  () => {
    const cases = [
      ['what-if', '/dev/zero'],
      ['import', 'perf-kvm-stat', '/dev/zero', '--cpu', 'i7-2620M', '--duration', '30s'],
      ['compare', '/dev/zero', '/dev/zero'],
      ['merge', '/dev/zero'],
      ['cpus', 'import', '/dev/zero'],
    ];
    for (const args of cases) {
      const r = spawnSync(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), ...args], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(r.signal, null, `${args.join(' ')}: ended on its own`);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /\/dev\/zero.*more than 268435456 bytes \(is it the right file\?\)/, args.join(' '));
    }
  },
);

test(
  'a FIFO or endless device named as a scenario, a workload profile or a CPU profile ends in exit 2, not a hang',
  {
    skip: existsSync('/dev/zero') && spawnSync('mkfifo', ['--help']).status === 0 ? false : 'no /dev/zero or mkfifo',
    timeout: 60_000,
  },
  async () => {
    const fifo = (name: string): string => {
      const path = join(dir, name);
      assert.equal(spawnSync('mkfifo', [path]).status, 0);
      return path;
    };
    const scenario = (name: string, guest: string): string => {
      const path = join(dir, name);
      writeFileSync(path, GOOD.replace(/guests:[^]*duration/, `guests:\n  - { ${guest} }\nduration`));
      return path;
    };
    symlinkSync('/dev/zero', join(dir, 'zero-profile.yaml'));
    fifo('fifo-profile.yaml');
    const cpus = join(dir, 'cpus');
    mkdirSync(cpus);
    symlinkSync('/dev/zero', join(cpus, 'zero.yaml'));
    // Open for reading and writing: a writer that never writes (open(2) on a FIFO does not block with O_RDWR).
    const held = fifo('held.yaml');
    const writer = openSync(held, 'r+');
    const rows: readonly { args: string[]; says: RegExp }[] = [
      { args: ['validate', fifo('nobody.yaml')], says: /nobody\.yaml:1:1: error: a scenario file must be a mapping/ },
      {
        args: ['validate', scenario('s-zero.yaml', 'workload: zero-profile.yaml')],
        says: /invalid workload profile zero-profile\.yaml:\ncannot read it: more than 1048576 bytes/,
      },
      {
        args: ['validate', scenario('s-fifo.yaml', 'workload: fifo-profile.yaml')],
        says: /invalid workload profile fifo-profile\.yaml:\n.*expected a mapping, found nothing/,
      },
      {
        args: ['validate', '--cpus', cpus, scenario('s-cpus.yaml', 'os: linux-6.1, vcpus: 1')],
        says: new RegExp(
          `cannot load the CPU profiles: ${escapeRegExp(join(cpus, 'zero.yaml'))}: cannot read it: more than 1048576 bytes`,
        ),
      },
      { args: ['validate', held], says: /held\.yaml: error: cannot read the file: nothing to read for 10 s/ },
    ];
    try {
      // At once: the held FIFO's row waits its 10 s.
      const results = await Promise.all(
        rows.map(
          (row) =>
            new Promise<{ code: number | null; signal: string | null; stderr: string }>((done) => {
              execFile(
                process.execPath,
                [join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'), ...row.args],
                { timeout: 30_000 },
                (e, _stdout, stderr) =>
                  done({ code: e ? ((e as { code?: number }).code ?? null) : 0, signal: e?.signal ?? null, stderr }),
              );
            }),
        ),
      );
      rows.forEach((row, i) => {
        const r = results[i];
        assert.equal(r.signal, null, `${row.args.join(' ')}: ended on its own`);
        assert.equal(r.code, 2, `${row.args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, row.says, row.args.join(' '));
      });
    } finally {
      closeSync(writer);
    }
  },
);

test('a UTF-8 byte order mark does not count as a column: line 1 is placed as an editor shows it (it said 1:2 for column 1)', async () => {
  const BOM = '\uFEFF';
  const rows: [what: string, text: string, says: RegExp][] = [
    [
      'a typo in the first key',
      `${BOM}nme${IDLE_WINDOWS_SCENARIO.slice('name'.length)}`,
      /:1:1: error: unknown key "nme"/,
    ],
    [
      'a bad value on line 1',
      `${BOM}${IDLE_WINDOWS_SCENARIO.replace('first-user', 'First!')}`,
      /:1:7: error: invalid name/,
    ],
    [
      'CRLF line ends too',
      `${BOM}${IDLE_WINDOWS_SCENARIO.replace('first-user', 'First!').replace(/\n/g, '\r\n')}`,
      /:1:7: error:/,
    ],
    [
      'line 2 was right before',
      `${BOM}${IDLE_WINDOWS_SCENARIO.replace('kvm', 'kvn')}`,
      /:2:23: error: unknown policy "kvn"/,
    ],
  ];
  for (const [i, [what, text, says]] of rows.entries()) {
    const file = join(dir, `bom-${i}.yaml`);
    writeFileSync(file, text);
    const r = await cli(['validate', file]);
    assert.equal(r.status, 2, `${what}: ${r.stderr}`);
    assert.match(r.stderr, says, what);
  }
  // And a good file with a BOM loads.
  const file = join(dir, 'bom-good.yaml');
  writeFileSync(file, `${BOM}${IDLE_WINDOWS_SCENARIO}`);
  assert.equal((await cli(['validate', file])).status, 0);
});

test('a guest\'s "phase:" for "phases:": did you mean "phases" (it said only that "phase" goes under a phase)', async () => {
  const scenario = join(dir, 'phase.yaml');
  writeFileSync(
    scenario,
    `name: phase-key
host: { cpu: i7-6700K, cores: 2 }
hypervisor: { policy: kvm }
guests:
  - os: ubuntu-18.04
    phase:
      - { phase: idle }
duration: 1s
`,
  );
  const r = await cli(['validate', scenario]);
  assert.equal(r.status, 2);
  assert.match(
    r.stderr,
    /phase\.yaml:6:5: error: unknown key "phase" \(did you mean "phases"\?\) in guests\[0\]: "phase" itself goes under a phase \(an item of a guest's phases\)/,
  );
});
