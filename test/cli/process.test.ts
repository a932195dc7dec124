/**
 * The CLI as a real process meets a shell: a reader that closes the pipe early (`| head -1`), an
 * output path that cannot be written, Ctrl-C in a long run. These need the built bin in a child
 * process: the in-process `main()` has no pipes and no signals.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { CLI, startThenSignal } from '../support/startProcess.js';
import { escapeRegExp } from '../support/regex.js';
const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-process-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** One second of an idle Windows guest; its CR_ACCESS threshold fails (exit status 1). */
const FAILING = `name: closed-pipe
hypervisor: { policy: bhyve-12.1 }
host: { cpu: i7-2620M, cores: 4 }
guests:
  - { os: windows-10-1909, vcpus: 2, phases: [{ phase: idle }] }
duration: 1s
thresholds:
  exits_per_second{reason="CR_ACCESS"}: ["== 0"]
`;

interface Exit {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** Run the bin with its stdout read by nobody: the pipe is closed at once, as `| head -0` would. */
function withClosedStdout(args: readonly string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, CI: 'true' } });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stderr }));
  });
}

test('stdout closed early (| head -1): the command still writes its files and exits with its own status', async () => {
  const file = join(dir, 'failing.yaml');
  writeFileSync(file, FAILING);
  const read = spawnSync(process.execPath, [CLI, 'run', '--quiet', '--workers', '1', file], {
    cwd: dir,
    encoding: 'utf8',
  });
  assert.equal(read.status, 1, `with a reader: ${read.stderr}`);
  const out = join(dir, 'r.json');
  const junit = join(dir, 'j.xml');
  const closed = await withClosedStdout(['run', '--quiet', '--workers', '1', '--out', out, '--junit', junit, file]);
  assert.equal(closed.status, 1, `a failed threshold stays exit status 1 without a reader: ${closed.stderr}`);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).scenario, 'closed-pipe', 'results.json written');
  assert.match(readFileSync(junit, 'utf8'), /<failure /, 'JUnit written, with the failure');
  assert.doesNotMatch(closed.stderr, /EPIPE|Error:|\n\s+at /, 'no error or stack trace');
});

test('stdout closed early on JSON and JSON Lines output: exit status as with a reader, no stack trace', async () => {
  const cases: string[][] = [
    ['list', '--json'],
    ['cpus', '--json'],
    ['trace', join(REPO_ROOT, 'scenarios', 'seed', 'e5-2667v4-apicv-panic-script.yaml')],
  ];
  for (const args of cases) {
    const read = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env } });
    const closed = await withClosedStdout(args);
    assert.equal(closed.status, read.status, `${args.join(' ')}: ${closed.stderr}`);
    assert.doesNotMatch(closed.stderr, /EPIPE|Error:|\n\s+at /, args.join(' '));
  }
});

/**
 * The seed's install scenario run on one worker (`run --out --html --openmetrics`, CI=true), sent
 * `signal` a second after its first progress line: its exit, what it printed and wrote.
 */
async function stoppedRun(
  name: string,
  signal: NodeJS.Signals,
  twice = false,
): Promise<{
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  out: string;
  html: string;
  om: string;
  junit: string;
}> {
  const out = join(dir, `${name}.json`);
  const junit = join(dir, `${name}.xml`);
  const html = join(dir, `${name}.html`);
  const om = join(dir, `${name}.om`);
  const install = join(REPO_ROOT, 'scenarios', 'seed', 'win10-1909-install-tpr-shadowing.yaml');
  const args = ['run', '--workers', '1', '--out', out, '--html', html, '--openmetrics', om, '--junit', junit, install];
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: dir,
    env: { ...process.env, CI: 'true' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  // The first progress line says the pool runs; a second later the first variant is under way.
  let sent = false;
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (!sent && /elapsed/.test(stderr)) {
      sent = true;
      setTimeout(() => child.kill(signal), 1000);
    }
    // `twice`: the second signal as soon as the first one is said (Ctrl-C pressed again).
    if (twice && / stopping within /.test(stderr)) {
      twice = false;
      child.kill(signal);
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [status, ended] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (code, sig) => resolve([code, sig])),
  );
  clearTimeout(killer);
  return { status, signal: ended, stdout, stderr, out, html, om, junit };
}

test('Ctrl-C in a long run: exit 130, the partial results printed and written, marked partial', async () => {
  const { status, signal, stdout, stderr, out, html, om } = await stoppedRun('interrupted', 'SIGINT');
  assert.equal(signal, null, `ended by ${signal}: ${stderr}`);
  assert.equal(status, 130, stderr);
  assert.match(stderr, /vmexit-lab run: interrupted: stopping within one host's simulated second/);
  assert.match(stderr, /partial results, no verdict/);
  assert.match(stdout, /^partial results: interrupted \(Ctrl-C, SIGINT\)/m);
  const r = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(r.partial, true);
  // One worker: the second variant had not started. The reason gives each variant's simulated time
  // in the CLI's words (the pool's default names the service's DELETE; it said "at 0 of 7200").
  const first = r.variants[0].totals.simulatedSeconds;
  assert.ok(first < 2280, 'stopped before the install completed');
  assert.equal(
    r.partialReason,
    first === 0
      ? 'interrupted (Ctrl-C, SIGINT) at 0 of 7200 simulated seconds, 0 of 2 hosts done.'
      : `interrupted (Ctrl-C, SIGINT) at ${first} of 7200 simulated seconds in bhyve-12.1, 0 in bhyve-tpr-v1, 0 of 2 hosts done.`,
  );
  assert.match(readFileSync(html, 'utf8'), /partial results: interrupted \(Ctrl-C, SIGINT\)/);
  // The history up to the stop (it ran on the main thread, where Ctrl-C ended it with nothing written).
  const history = readFileSync(om, 'utf8');
  assert.match(history, /# EOF\n$/);
  const simulated = [
    ...history.matchAll(/^vmexit_lab_run_simulated_seconds\{[^}]*variant="bhyve-12.1"[^}]*\} (\S+) /gm),
  ];
  assert.ok(simulated.length > 0, 'the first variant has points');
  assert.equal(Number(simulated[simulated.length - 1][1]), first, 'its last point is where it stopped');
});

test('Ctrl-C twice: exit 130 at once, and it says which asked-for files it did not write (it said nothing: a junit.xml of an earlier run left there read as this one)', async () => {
  const { status, signal, stderr, out, html, om, junit } = await stoppedRun('twice', 'SIGINT', true);
  assert.equal(signal, null, `ended by ${signal}: ${stderr}`);
  assert.equal(status, 130, stderr);
  const line = /^vmexit-lab run: interrupted again: quitting at once(?:; not written: (.*))?$/m.exec(stderr);
  assert.ok(line, stderr);
  // The second signal may come after the files were written (the stop takes up to a host's second).
  const lost = line[1]?.split(', ') ?? [];
  for (const f of [out, html, om, junit]) assert.notEqual(lost.includes(f), existsSync(f), `${f}: ${line[0]}`);
});

test('SIGTERM in a long run (a CI job cancelled or timed out, `timeout`, a pod stopped): as Ctrl-C, the partial results printed and written, exit 143 (it died of the signal: nothing written, nothing said)', async () => {
  const { status, signal, stdout, stderr, out, html, om, junit } = await stoppedRun('terminated', 'SIGTERM');
  assert.equal(signal, null, `ended by ${signal}: ${stderr}`);
  assert.equal(status, 143, stderr);
  assert.match(
    stderr,
    /vmexit-lab run: SIGTERM: stopping within one host's simulated second, keeping the partial results/,
  );
  assert.match(stderr, /partial results, no verdict/);
  assert.match(stdout, /^partial results: terminated \(SIGTERM\)/m);
  const r = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(r.partial, true);
  assert.match(r.partialReason, /^terminated \(SIGTERM\) at \d+ of 7200 simulated seconds/);
  assert.match(readFileSync(html, 'utf8'), /partial results: terminated \(SIGTERM\)/);
  assert.match(readFileSync(om, 'utf8'), /# EOF\n$/);
  // JUnit agrees with the log's "no verdict": the stop is the one red case, each threshold skipped
  // (they were failures judged on the part that ran: the install had not finished).
  const xml = readFileSync(junit, 'utf8');
  const thresholds = [
    ...r.variants.flatMap((v: { thresholds: unknown[] }) => v.thresholds),
    ...r.crossVariantThresholds,
  ];
  assert.ok(thresholds.length > 0);
  const said = `partial results (${(r.partialReason as string).replace(/\.$/, '')}), no verdict; on the part that ran: `;
  assert.equal(
    [...xml.matchAll(new RegExp(`<skipped message="${escapeRegExp(said)}`, 'g'))].length,
    thresholds.length,
    xml,
  );
  assert.deepEqual(
    [...xml.matchAll(/name="([^"]*)" time="0">\n {6}<failure /g)].map((m) => m[1]),
    ['the run reached its end'],
  );
});

test('Ctrl-C after the last run (here while its metrics are pushed): nothing lost, the results written whole with their own status (the signal ended the process: no push, exit by SIGINT)', async () => {
  const out = join(dir, 'late-signal.json');
  const scenario = join(dir, 'late-signal.yaml');
  writeFileSync(scenario, FAILING.replace(/thresholds:[^]*$/, ''));
  const run: { child?: ChildProcess } = {};
  // A Pushgateway that answers 300 ms after the push, with a Ctrl-C sent to the run in between.
  const gateway = createServer((req, res) => {
    req.resume();
    run.child?.kill('SIGINT');
    setTimeout(() => res.writeHead(200).end(), 300);
  });
  await new Promise<void>((ok) => gateway.listen(0, '127.0.0.1', ok));
  const port = (gateway.address() as AddressInfo).port;
  const args = ['run', '--workers', '1', '--push', `http://127.0.0.1:${port}`, '--out', out, scenario];
  const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, CI: 'true' } });
  run.child = child;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (code, sig) => resolve([code, sig])),
  );
  clearTimeout(killer);
  gateway.close();
  assert.equal(signal, null, `ended by ${signal}: ${stderr}`);
  assert.equal(status, 0, stderr);
  assert.match(
    stderr,
    /vmexit-lab run: interrupted: no further scenario runs; finishing the results of those that ran/,
  );
  assert.match(stderr, /pushed metrics to http:\/\/127\.0\.0\.1/);
  assert.equal(JSON.parse(readFileSync(out, 'utf8')).partial, undefined, 'whole results');
});

test("npm start's script as npm runs it (sh -c SCRIPT ARGS): a SIGTERM to that shell, which npm forwards its own to, reaches the service, which drains and exits 0 (the shell died and left the service running, holding the port and the data directory's lock)", async () => {
  const start = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } })
    .scripts.start;
  const data = join(dir, 'npm-start');
  // Its own process group, so that whatever it leaves behind is ended with it below.
  const child = spawn('sh', ['-c', `${start} --port 0 --workers 1 --data-dir ${data}`], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true' },
  });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (code, sig) => resolve([code, sig])),
  );
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        // Its last line (the live run under way): the service takes signals from there on.
        const m = /listening on (http:\/\/\S+)[^]*\n {2}running /.exec(out);
        if (m) resolve(m[1]);
      });
      void exited.then(() => reject(new Error(`exited before listening: ${out}`)));
    });
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    child.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null], 'the service had the signal and drained (not the shell killed by it)');
    await assert.rejects(fetch(`${url}/healthz`), 'nothing listens on the port any more');
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is gone: nothing was left behind
    }
  }
});

test('start: a SIGTERM that comes once it says where it listens, while its scenario is still starting, drains the service and exits 0 (the handlers came after the scenario started: the signal killed it without a drain)', async () => {
  // The first line launch prints, before the scenario starts (the "running" line comes after).
  const { exit, out, err } = await startThenSignal(join(dir, 'early-signal'), /service listening on /, ['SIGTERM']);
  assert.deepEqual(exit, [0, null], `drained on the signal, not killed by it:\n${out}${err}`);
  assert.match(err, /SIGTERM: draining[^]*drained, bye/);
});

test("Ctrl-C on `npm start`: the terminal's SIGINT and the one npm forwards come together; the service drains once and exits 0 (it took npm's as a second signal: 'exiting now', exit 3, nothing drained)", async () => {
  const { exit, out, err } = await startThenSignal(join(dir, 'double-sigint'), /\n {2}running /, ['SIGINT', 'SIGINT']);
  assert.deepEqual(exit, [0, null], `drained once, not forced out:\n${out}${err}`);
  assert.match(err, /SIGINT: draining[^]*drained, bye/);
  assert.doesNotMatch(err, /second signal/);
});
