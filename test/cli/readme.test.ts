/**
 * Every code block of README.md that can run here runs as written and exits as it should (issue
 * #17, item 6): a reader copies them in order into a shell, so this test does the same, in a
 * fresh directory, with `npx vmexit-lab` the built CLI (a shim first on PATH; npx would fetch the
 * package from the registry) and `scenarios/` and `grafana/` of the repository beside it.
 *
 * Only what a reader's machine has and this one cannot is changed, and said so below: ports (the
 * service and the Pushgateway listen on free ports instead of 8080 and 9091, so the test never
 * meets another service), the run id `ID` in the curl line (the one the POST answered), and curl
 * fails on an HTTP error (`--fail-with-body`), since `curl -s` exits 0 on a 422 and the reader
 * would see the error. Lines that cannot run here are listed in NOT_HERE with the reason; a rule
 * that matches no line fails the test, so the list keeps up with the README.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { parse } from 'yaml';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../../src/model/data.js';
import { systemBinary } from '../metrics/support.js';
import { boundPort, PROMETHEUS_LISTENING, SERVE_LISTENING } from '../support/net.js';
import { serverUp } from '../support/http.js';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

interface Block {
  readonly lang: string;
  /** README line of the opening fence. */
  readonly line: number;
  readonly text: string;
}

/** The fenced code blocks of a Markdown text. */
function codeBlocks(md: string): Block[] {
  const out: Block[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    out.push({ lang: open[1], line: start + 1, text: body.join('\n') });
  }
  return out;
}

/** A shell line without its trailing comment (a # after a blank, outside quotes). */
function withoutComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i).trimEnd();
  }
  return line;
}

/** A shell block's commands: one per line, backslash continuations joined, comments dropped. */
function commands(b: Block): { cmd: string; line: number }[] {
  const out: { cmd: string; line: number }[] = [];
  const lines = b.text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = b.line + 1 + i;
    let cmd = lines[i];
    while (cmd.endsWith('\\') && i + 1 < lines.length) cmd = `${cmd.slice(0, -1)} ${lines[++i].trim()}`;
    cmd = withoutComment(cmd.trim());
    if (cmd !== '') out.push({ cmd, line });
  }
  return out;
}

/** Lines a reader runs elsewhere, with the reason this test does not. */
const NOT_HERE: readonly (readonly [RegExp, string])[] = [
  [/^npm ci && npm start/, 'installs and then serves until stopped; the Service block starts `serve` itself'],
  [/^npm ci && npm test/, 'installs and runs the whole suite, which this test is part of'],
  [/^perf kvm stat record/, 'needs perf on a KVM host; report.txt comes from test/fixtures/reports'],
  [/^prometheus --config\.file=/, 'runs until stopped; test/grafana/prometheus.test.ts runs Prometheus on this file'],
  [/^docker run /, 'needs Docker and the network'],
];

const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-readme-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** The virtualization flag /proc/cpuinfo must have for `cpus import`, and whether it has it. */
function cpuinfoHasVirtualization(): boolean {
  try {
    return /^flags\s*:.*\b(vmx|svm)\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

const gateway = systemBinary('prometheus-pushgateway', 'prometheus-pushgateway');
const promtool = systemBinary('promtool', 'prometheus');
const curl = systemBinary('curl', 'curl');

test("README: the scenario block is my-scenario.yaml; the Grafana section is the shipped configuration and docs/GRAFANA.md's commands", () => {
  const yaml = codeBlocks(README).filter((b) => b.lang === 'yaml');
  const scenario = yaml.filter((b) => b.text.startsWith('# yaml-language-server'));
  assert.equal(scenario.length, 1, 'one scenario block, the one the commands call my-scenario.yaml');
  // Its first line points an editor at the schema, relative to my-scenario.yaml, which the reader saves
  // where the commands run: the repository's top directory (it said ../scenarios/..., above it).
  const schema = /^# yaml-language-server: \$schema=(\S+)$/m.exec(scenario[0].text)?.[1];
  assert.ok(schema !== undefined && existsSync(join(REPO_ROOT, schema)), `$schema=${schema} from the top directory`);
  assert.equal(resolve(REPO_ROOT, schema), join(REPO_ROOT, 'scenarios', 'scenario.schema.json'));
  const prom = yaml.filter((b) => /^scrape_configs:/m.test(b.text));
  assert.equal(prom.length, 1, 'the Prometheus configuration of "See it in Grafana"');
  const shown = parse(prom[0].text) as Record<string, unknown>;
  const shipped = parse(
    readFileSync(join(REPO_ROOT, 'grafana', 'provisioning', 'prometheus', 'prometheus.yml'), 'utf8'),
  ) as Record<string, unknown>;
  assert.deepEqual(shown.rule_files, shipped.rule_files);
  const job = (c: Record<string, unknown>): unknown =>
    (c.scrape_configs as { job_name: string; static_configs: unknown }[]).map((s) => [s.job_name, s.static_configs]);
  assert.deepEqual(job(shown), job(shipped));
  assert.equal(yaml.length, 2, 'a new yaml block needs a rule here');
  // The Grafana commands are docs/GRAFANA.md's, so the two pages cannot drift apart.
  const grafanaDoc = codeBlocks(readFileSync(join(REPO_ROOT, 'docs', 'GRAFANA.md'), 'utf8'))
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => commands(b).map((c) => c.cmd));
  const readme = codeBlocks(README)
    .filter((b) => b.lang === 'sh')
    .flatMap((b) => commands(b).map((c) => c.cmd));
  for (const re of [/^docker run /, /^prometheus --config\.file=/]) {
    const shown = readme.filter((c) => re.test(c));
    assert.equal(shown.length, 1, `README: one ${re} line`);
    assert.ok(grafanaDoc.includes(shown[0]), `README's ${re} line is docs/GRAFANA.md's: ${shown[0]}`);
  }
});

test(
  'README: every shell block runs as written, in order, and each command exits as it should',
  { timeout: 600_000 },
  async (t) => {
    if (!existsSync(CLI)) assert.fail(`${CLI} missing: npm run build`);
    // The reader's directory: the scenario block saved, the repository's scenarios/ and grafana/.
    const blocks = codeBlocks(README);
    const scenario = blocks.find((b) => b.lang === 'yaml' && b.text.startsWith('# yaml-language-server'))!;
    writeFileSync(join(dir, 'my-scenario.yaml'), `${scenario.text}\n`);
    symlinkSync(join(REPO_ROOT, 'scenarios'), join(dir, 'scenarios'));
    symlinkSync(join(REPO_ROOT, 'grafana'), join(dir, 'grafana'));
    const bin = join(dir, '.bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'npx'),
      `#!/bin/sh\nif [ "$1" = vmexit-lab ]; then shift; exec "${process.execPath}" "${CLI}" "$@"; fi\necho "npx $1: not in this test" >&2\nexit 127\n`,
    );
    chmodSync(join(bin, 'npx'), 0o755);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, CI: 'true' };
    delete env.VMEXIT_LAB_TOKEN;

    const used = new Set<RegExp>();
    const ran: string[] = [];
    const ports = new Map<string, string>();
    let runId: string | undefined;
    let serve: ChildProcess | undefined;

    const sh = (cmd: string): { status: number | null; stdout: string; stderr: string } => {
      const r = spawnSync('bash', ['-c', cmd], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };

    for (const block of blocks.filter((b) => b.lang === 'sh')) {
      for (const { cmd: written, line } of commands(block)) {
        const where = `README.md:${line}: ${written}`;
        const skip = NOT_HERE.find(([re]) => re.test(written));
        if (skip) {
          used.add(skip[0]);
          t.diagnostic(`not run here: ${where} (${skip[1]})`);
          continue;
        }
        let cmd = written;
        for (const [from, to] of ports) cmd = cmd.split(from).join(to);
        let expected = 0;
        let expectedErr: RegExp | undefined;

        if (/^npx vmexit-lab cpus import \/var\/run\/dmesg\.boot/.test(cmd) && !existsSync('/var/run/dmesg.boot')) {
          t.diagnostic(`not run here: ${where} (a FreeBSD file; the Linux line below runs)`);
          continue;
        }
        if (/cpus import \/proc\/cpuinfo/.test(cmd) && !cpuinfoHasVirtualization()) {
          // As the README says: without vmx or svm the import names the missing flag and exits 2.
          expected = 2;
          expectedErr = /expected the "(vmx|svm)" flag/;
        }
        if (/^promtool /.test(cmd) && !promtool.path) {
          if (promtool.skip === false) assert.fail(promtool.missing);
          t.diagnostic(`SKIPPED (loud): ${where}: ${promtool.missing}`);
          continue;
        }
        if (/^npx vmexit-lab import perf-kvm-stat report\.txt/.test(cmd))
          copyFileSync(
            join(REPO_ROOT, 'test', 'fixtures', 'reports', 'perf-intel-sysbench-2020.txt'),
            join(dir, 'report.txt'),
          );
        if (/^npx vmexit-lab compare baseline\.json /.test(cmd) && !existsSync(join(dir, 'baseline.json')))
          // A previous run's results, as CI keeps them: the same scenario and seed give the same figures.
          copyFileSync(join(dir, 'results.json'), join(dir, 'baseline.json'));
        if (/--push http:\/\/127\.0\.0\.1:9091/.test(cmd)) {
          if (!gateway.path) {
            if (gateway.skip === false) assert.fail(gateway.missing);
            t.diagnostic(`SKIPPED (loud): ${where}: ${gateway.missing}`);
            continue;
          }
          // Port 0: the port it binds is the one it says it listens on (test/support/net.ts boundPort).
          const g = spawn(gateway.path, ['--web.listen-address=127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
          children.push(g);
          const port = String(await boundPort(g, PROMETHEUS_LISTENING));
          assert.ok(await serverUp(`http://127.0.0.1:${port}/-/ready`), 'the Pushgateway started');
          cmd = cmd.replace('127.0.0.1:9091', `127.0.0.1:${port}`);
        }
        if (/^curl /.test(cmd) && !curl.path) {
          if (curl.skip === false) assert.fail(curl.missing);
          t.diagnostic(`SKIPPED (loud): ${where}: ${curl.missing}`);
          continue;
        }
        if (/^curl /.test(cmd)) {
          cmd = cmd.replace(/^curl /, 'curl --fail-with-body ');
          if (/\/api\/runs\/ID\b/.test(cmd)) {
            assert.ok(runId, `${where}: no run id from the POST before`);
            cmd = cmd.replace('/api/runs/ID', `/api/runs/${runId}`);
          }
        }
        if (/^npx vmexit-lab serve\b/.test(cmd)) {
          // Runs until stopped: started in the background, on port 0 instead of 8080 (the port it
          // binds is the one it says it listens on, test/support/net.ts boundPort).
          serve = spawn('bash', ['-c', `exec ${cmd} --port 0`], {
            cwd: dir,
            env,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          children.push(serve);
          let log = '';
          serve.stdout!.on('data', (d: Buffer) => (log += d.toString()));
          serve.stderr!.on('data', (d: Buffer) => (log += d.toString()));
          const port = String(await boundPort(serve, SERVE_LISTENING));
          ports.set('127.0.0.1:8080', `127.0.0.1:${port}`);
          assert.ok(
            await serverUp(`http://127.0.0.1:${port}/metrics`),
            `${where}: the service did not come up\n${log}`,
          );
          ran.push(written);
          continue;
        }

        const t0 = Date.now();
        const r = sh(cmd);
        t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${where}`);
        assert.equal(
          r.status,
          expected,
          `${where}\nexit status ${r.status}, expected ${expected}\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-2000)}`,
        );
        if (expectedErr) assert.match(r.stderr, expectedErr, where);
        if (/-X POST .*\/api\/runs$/.test(cmd)) {
          const posted = JSON.parse(r.stdout) as { id?: string };
          assert.ok(typeof posted.id === 'string', `${where}: the answer has the run id: ${r.stdout}`);
          runId = posted.id;
        }
        ran.push(written);
      }
    }

    if (serve) {
      // SIGTERM drains (docs/SERVICE.md): the service stops with status 0.
      const done = new Promise<number | null>((ok) => serve.once('exit', (code) => ok(code)));
      serve.kill('SIGTERM');
      assert.equal(await done, 0, 'serve exits 0 on SIGTERM');
    }
    for (const [re, why] of NOT_HERE) assert.ok(used.has(re), `NOT_HERE rule ${re} (${why}) matches no README line`);
    for (const want of [
      'my-scenario.yaml',
      'compare baseline.json',
      'serve --workers',
      'what-if',
      'trace ',
      '/api/runs',
    ])
      assert.ok(
        ran.some((c) => c.includes(want)),
        `a README line with "${want}" ran: ${ran.join(' | ')}`,
      );
    assert.ok(
      existsSync(join(dir, 'report.html')) && existsSync(join(dir, 'junit.xml')),
      'the CI line wrote its files',
    );
  },
);
