/**
 * `start --scenario FILE` checks the scenario before the service starts. A scenario with a typo
 * printed the URLs of a service ("listening on http://127.0.0.1:...") and then its errors, and the
 * service was gone again: the URLs led nowhere. A scenario over a cap of the service (a run the
 * service would refuse with 422 when posted: --max-guests, --max-duration, --max-run-cost ...) ran
 * anyway; it is now refused before the service starts, by the rule the API uses (checkCaps).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { checkCaps, serviceLimits } from '../../src/service/caps.js';
import { ScenarioCatalog } from '../../src/service/scenarios.js';
import { capture } from '../support/cli.js';
import { CAP_TEXT, OVER_CAPS_ARGS, OVER_CAPS_ROWS, overCapsYaml } from '../service/overCaps.js';
import { escapeRegExp } from '../support/regex.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-start-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Until `child` (a `start` run of the over-caps scenario) says its run has started, or exits without
 * it: whether it started, its stdout so far, its stderr as collected up to the moment it is read, and
 * its exit.
 */
async function untilRunning(
  child: ChildProcess,
): Promise<{ running: boolean; out: string; err: () => string; exited: Promise<void> }> {
  const exited = new Promise<void>((ok) => child.on('exit', () => ok()));
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const running = await Promise.race([
    new Promise<boolean>((ok) =>
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (/running over-caps at realtime pace/.test(out)) ok(true);
      }),
    ),
    exited.then(() => false),
  ]);
  return { running, out, err: () => err, exited };
}

test('start --scenario with a mistake: exit 2 with file:line:col, no service started, no URL printed', async () => {
  const file = join(dir, 'typo.yaml');
  const text = readFileSync(join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-cr8-exits.yaml'), 'utf8');
  assert.match(text, /\n {4}vcpus: /);
  writeFileSync(file, text.replace(/\n {4}vcpus: /, '\n    vcpu: '));
  const dataDir = join(dir, 'data');
  const io = capture();
  const status = await main(['start', '--port', '0', '--workers', '1', '--data-dir', dataDir, '--scenario', file], io);
  assert.equal(status, 2);
  assert.equal(io.stdout.join(''), '', 'no "listening on" line, no URLs');
  assert.match(
    io.stderr.join(''),
    new RegExp(`^${escapeRegExp(file)}:\\d+:5: error: unknown key "vcpu" \\(did you mean "vcpus"\\?\\)`, 'm'),
  );
  assert.equal(existsSync(dataDir), false, 'no history was opened');

  const missing = capture();
  assert.equal(
    await main(['start', '--port', '0', '--data-dir', dataDir, '--scenario', join(dir, 'none.yaml')], missing),
    2,
  );
  assert.equal(missing.stdout.join(''), '');
  assert.match(missing.stderr.join(''), /none\.yaml: error: cannot read the file: ENOENT/);

  const directory = capture();
  assert.equal(await main(['start', '--port', '0', '--data-dir', dataDir, '--scenario', dir], directory), 2);
  assert.equal(
    directory.stderr.join(''),
    `${dir}: error: is a directory, not a scenario file (expected one scenario file, e.g. one of ${dir}/*.yaml)`,
  );
});

/** 10,000 hosts x 3 guests for 2 h: over the default --max-guests, --max-duration and --max-run-cost. */
const BIG = `name: big-fleet
host: { cpu: i7-6700K, cores: 8, count: 10000 }
hypervisor: { policy: bhyve-12.1 }
guests:
  - { os: freebsd-12.1, count: 3, vcpus: 1, phases: [{ phase: idle }] }
duration: 2h
`;

/** `start ARGS` exits 2 with its lines on stderr, prints nothing on stdout and opens no history. */
async function refusedStartLines(args: string[]): Promise<string[]> {
  const dataDir = join(dir, 'refused');
  const io = capture();
  assert.equal(await main(['start', '--port', '0', '--workers', '1', '--data-dir', dataDir, ...args], io), 2);
  assert.equal(io.stdout.join(''), '', 'no "listening on" line, no URLs');
  assert.equal(existsSync(dataDir), false, 'no history was opened');
  // Each printed line (io.err adds the newline), split too where one call printed several.
  return io.stderr.flatMap((s) => s.replace(/\n$/, '').split('\n'));
}

/** `start ARGS` is refused with one line on stderr: that line. */
async function refusedStart(args: string[]): Promise<string> {
  const lines = await refusedStartLines(args);
  assert.equal(lines.length, 1, lines.join('\n'));
  return lines[0];
}

test('start --scenario over a cap of the service: exit 2 naming the file, the cap, the figure and the option, no service', async () => {
  const file = join(dir, 'big.yaml');
  writeFileSync(file, BIG);
  assert.equal(
    await refusedStart([
      '--scenario',
      file,
      '--max-duration',
      '7200',
      '--max-run-time',
      '7200',
      '--max-run-cost',
      '1000000000',
    ]),
    `vmexit-lab start: ${file}: the scenario simulates 30000 guests; this service allows at most 20000 per run (--max-guests). Not started. To run it, give --max-guests 30000 or more.`,
  );
  // Over four caps at the default values: one line for each, in checkCaps' order (it said the first
  // one only: a user raised --max-guests, was told --max-duration, and so on).
  const lines = await refusedStartLines(['--scenario', file]);
  assert.equal(lines.length, 4, lines.join('\n'));
  assert.deepEqual(lines.slice(0, 3), [
    `vmexit-lab start: ${file}: the scenario simulates 30000 guests; this service allows at most 20000 per run (--max-guests). Not started. To run it, give --max-guests 30000 or more.`,
    `vmexit-lab start: ${file}: the scenario lasts up to 7200 simulated seconds; this service allows at most 3600 (--max-duration). Not started. To run it, give --max-duration 7200 or more.`,
    // start runs it at realtime pace: 7200 wall seconds, and every run stops at --max-run-time.
    `vmexit-lab start: ${file}: the scenario runs at realtime pace for 7200 s; this service stops a run after 3600 s (--max-run-time), so it could only end partial. Not started. To run it, give --max-run-time 7200 or more.`,
  ]);
  const cost = lines[3];
  assert.ok(cost.startsWith(`vmexit-lab start: ${file}: scenario big-fleet is predicted to cost `), cost);
  assert.match(
    cost,
    /this service allows at most 3,600 per run \(--max-run-cost; 1 worker would need about [\d,]+ s\)/,
  );
  assert.match(cost, /Not started\. To run it, give --max-run-cost \d+ or more\.$/);
});

for (const row of OVER_CAPS_ROWS.filter((r) => r.pace === 'realtime' && r.over.length > 0)) {
  test(`start --scenario over several caps: a line for each, in order: ${row.name}`, async () => {
    const file = join(dir, 'over-caps.yaml');
    writeFileSync(file, overCapsYaml(row.shape));
    const lines = await refusedStartLines(['--scenario', file, ...OVER_CAPS_ARGS]);
    assert.equal(lines.length, row.over.length, lines.join('\n'));
    for (const [i, line] of lines.entries()) {
      const { cap, atLeast } = row.over[i];
      const { option, message } = CAP_TEXT[cap];
      const prefix = `vmexit-lab start: ${file}: `;
      assert.ok(line.startsWith(prefix), line);
      assert.match(line.slice(prefix.length), message, `${cap}: ${line}`);
      if (option === undefined) assert.match(line, /\. Not started\.$/, line);
      else
        assert.match(
          line,
          new RegExp(`\\. Not started\\. To run it, give ${option} ${atLeast ?? '\\d+'} or more\\.$`),
          line,
        );
    }
  });
}

test('start without --scenario: the embedded default is held to the caps too (here a lowered one)', async () => {
  assert.equal(
    await refusedStart(['--max-guests', '100']),
    'vmexit-lab start: the embedded default scenario (scenarios/default.yaml): the scenario simulates 400 guests; this service allows at most 100 per run (--max-guests). Not started. To run it, give --max-guests 400 or more.',
  );
  const series = await refusedStart(['--max-series', '10']);
  assert.match(
    series,
    /^vmexit-lab start: the embedded default scenario \(scenarios\/default\.yaml\): scenario default-mixed-fleet would create \d+ metric series; this service exports at most 10 \(--max-series/,
  );
  assert.match(series, /To run it, give --max-series \d+ or more\.$/);
});

test('the embedded default fits the default caps on one worker (the smallest cost cap), at the pace start runs it', () => {
  const { scenario } = new ScenarioCatalog().load('default');
  const figures = checkCaps(
    { ...scenario, pace: 'realtime' },
    { limits: serviceLimits({}, 1), workers: 1, perGuest: false },
  );
  assert.equal(figures.guests, 400);
});

test('start --scenario FILE is loaded by the rule the service loads it by: a workload profile file is refused before the service starts', async () => {
  // The CLI's loader read the profile, the service then refused the scenario after printing its URLs.
  const file = join(REPO_ROOT, 'scenarios', 'library', 'imported-sysbench-policies.yaml');
  assert.match(readFileSync(file, 'utf8'), /\n {2}- workload: /);
  assert.match(
    await refusedStart(['--scenario', file]),
    /imported-sysbench-policies\.yaml:\d+:\d+: error: guests\[0\]\.workload: profile files cannot be read here/,
  );
});

test('start --scenario /dev/stdin: the scenario is read once, and runs (a second read found standard input empty)', async () => {
  const file = join(dir, 'tiny.yaml');
  writeFileSync(file, overCapsYaml({}));
  const cli = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
  const args = ['start', '--port', '0', '--workers', '1', '--data-dir', join(dir, 'stdin'), '--scenario', '/dev/stdin'];
  // A pipe, as a shell makes one (node's own stdio pipes are sockets, which /dev/stdin cannot open);
  // its own process group, so that the pipeline goes at once at the end.
  const child = spawn('sh', ['-c', 'cat "$0" | "$@"', file, process.execPath, cli, ...args], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VMEXIT_LAB_TOKEN: '' },
  });
  const { running, out, err, exited } = await untilRunning(child);
  if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  await exited;
  assert.ok(running, `stdout: ${out}\nstderr: ${err()}`);
});

test('start --scenario FILE: parsed once, by start; the service is handed the scenario, not the text to parse again', async () => {
  const file = join(dir, 'once.yaml');
  writeFileSync(file, overCapsYaml({}));
  const url = (p: string): string => pathToFileURL(join(REPO_ROOT, 'dist', 'src', ...p.split('/'))).href;
  // start in a process of its own, with the service's parse of submitted YAML (the validation
  // threads' entry, ScenarioValidator.validate) saying on stderr each time it is called.
  const script = `
    const { ScenarioValidator } = await import(${JSON.stringify(url('service/scenarioValidator.js'))});
    const validate = ScenarioValidator.prototype.validate;
    ScenarioValidator.prototype.validate = function (yaml, file) {
      process.stderr.write('PARSED AGAIN: ' + file + '\\n');
      return validate.call(this, yaml, file);
    };
    const { main } = await import(${JSON.stringify(url('cli/main.js'))});
    const { processIo } = await import(${JSON.stringify(url('cli/io.js'))});
    process.exitCode = await main(process.argv.slice(1), processIo());
  `;
  const args = ['start', '--port', '0', '--workers', '1', '--data-dir', join(dir, 'once'), '--scenario', file];
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VMEXIT_LAB_TOKEN: '' },
  });
  const { running, out, err, exited } = await untilRunning(child);
  if (child.exitCode === null) child.kill('SIGKILL');
  await exited;
  assert.ok(running, `stdout: ${out}\nstderr: ${err()}`);
  assert.doesNotMatch(err(), /PARSED AGAIN/);
});

test('start --scenario FILE is read as run reads it: a byte order mark is no column, an oversize file is refused at its size', async () => {
  // start read the file a way of its own: the BOM counted as a column of line 1 and an oversize file
  // was said to be 1,048,577 bytes (what was read of it), where run and the service say its size.
  const seed = readFileSync(join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-cr8-exits.yaml'), 'utf8');
  const bom = join(dir, 'bom.yaml');
  writeFileSync(bom, `\uFEFFnmae: x\n${seed}`);
  const big = join(dir, 'oversize.yaml');
  writeFileSync(big, `# ${'x'.repeat(2 * 1024 * 1024)}\n${seed}`);
  for (const file of [bom, big]) {
    const ran = capture();
    assert.equal(await main(['run', '--quiet', file], ran), 2);
    const said = ran.stderr.join('').split('\n')[0];
    assert.match(
      said,
      file === bom
        ? /:1:1: error: unknown key "nmae"/
        : new RegExp(`: error: file is too large.*found ${statSync(big).size} bytes`),
    );
    assert.equal((await refusedStartLines(['--scenario', file]))[0], said);
  }
});
