/**
 * The Dockerfile: linted (dockerfile-utils, the validator of the VS Code Docker extension, with
 * every rule an error), checked against the project's rules (pinned Node 20 base, multi-stage,
 * lockfile before npm ci, production dependencies only, numeric non-root USER matching the pods,
 * the port and entrypoint the manifests use), and its runtime stage's file layout assembled from
 * its COPY instructions and run. With a Docker engine (`docker info` succeeds) the image is also
 * built and run; this machine's CI has none, so there the build is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerfileParser, type Copy, type Instruction } from 'dockerfile-ast';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { REPO_ROOT } from '../../src/model/data.js';
import { render } from './kustomize.js';

const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const instructions = DockerfileParser.parse(text).getInstructions();
const objects = render(join(REPO_ROOT, 'deploy', 'k8s', 'base'));
const tmp = mkdtempSync(join(tmpdir(), 'vmexit-lab-docker-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

interface Stage {
  readonly name: string;
  readonly image: string;
  readonly body: Instruction[];
}

const stages: Stage[] = [];
for (const i of instructions) {
  const args = i.getArguments().map((a) => a.getValue());
  if (i.getKeyword() === 'FROM') stages.push({ image: args[0], name: args[2] ?? String(stages.length), body: [] });
  else {
    assert.ok(stages.length > 0 || i.getKeyword() === 'ARG', `${i.getKeyword()} before the first FROM`);
    stages.at(-1)?.body.push(i);
  }
}
const runtime = stages.at(-1)!;
const words = (i: Instruction): string[] => i.getArguments().map((a) => a.getValue());
const keyword = (s: Stage, k: string): Instruction[] => s.body.filter((i) => i.getKeyword() === k);
const jsonArgs = (i: Instruction): string[] => JSON.parse(i.getArgumentsContent() ?? '') as string[];
/** COPY --from=STAGE: the stage, or undefined for the build context. */
const copyFrom = (i: Instruction): string | undefined =>
  (i as unknown as Partial<Copy>).getFromFlag?.()?.getValue() ?? undefined;

test('the Dockerfile passes dockerfile-utils with every rule as an error', () => {
  const all: ValidatorSettings = {
    deprecatedMaintainer: ValidationSeverity.ERROR,
    directiveCasing: ValidationSeverity.ERROR,
    emptyContinuationLine: ValidationSeverity.ERROR,
    instructionCasing: ValidationSeverity.ERROR,
    instructionCmdMultiple: ValidationSeverity.ERROR,
    instructionEntrypointMultiple: ValidationSeverity.ERROR,
    instructionHealthcheckMultiple: ValidationSeverity.ERROR,
    instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
    instructionWorkdirRelative: ValidationSeverity.ERROR,
  };
  const problems = validate(text, all).map(
    (d) => `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`,
  );
  assert.deepEqual(problems, []);
});

test('bases are one pinned Node 20 release on Debian bookworm (slim at run time), never latest', () => {
  assert.ok(stages.length >= 2, 'multi-stage');
  const versions = new Set<string>();
  for (const s of stages) {
    const m = /^node:(20\.\d+\.\d+)-bookworm(-slim)?(@sha256:[0-9a-f]{64})?$/.exec(s.image);
    assert.ok(m, `FROM ${s.image}: node:20.X.Y-bookworm[-slim][@sha256:...]`);
    versions.add(m[1]);
  }
  assert.equal(versions.size, 1, 'one Node release in every stage (the native addon is built for it)');
  assert.match(runtime.image, /-bookworm-slim(@|$)/);
  assert.doesNotMatch(text, /:latest\b/);
  assert.equal(keyword(runtime, 'FROM').length, 0);
});

test('dependencies: lockfile copied before npm ci; the runtime has production dependencies only', () => {
  for (const s of stages) {
    let lock = false;
    for (const i of s.body) {
      if (i.getKeyword() === 'COPY' && words(i).includes('package-lock.json')) lock = true;
      if (i.getKeyword() === 'RUN') {
        const cmd = words(i).join(' ');
        assert.doesNotMatch(cmd, /npm install\b/, `${s.name}: npm ci, not npm install`);
        assert.doesNotMatch(cmd, /\b(curl|wget)\b/, `${s.name}: nothing fetched outside the package registry`);
        if (/npm ci\b/.test(cmd)) assert.ok(lock, `${s.name}: package-lock.json is copied before npm ci`);
      }
    }
    assert.equal(keyword(s, 'ADD').length, 0, `${s.name}: COPY, not ADD`);
  }
  // node_modules of the runtime come from a stage that installed with --omit=dev (or it installs so itself).
  const fromStage = keyword(runtime, 'COPY').find((i) => words(i).some((w) => w.endsWith('node_modules')));
  const installer = fromStage ? stages.find((s) => s.name === copyFrom(fromStage)) : runtime;
  assert.ok(installer, 'the stage that installs the runtime node_modules');
  assert.ok(
    keyword(installer, 'RUN').some((i) => /npm ci\b[^&]*--omit=dev/.test(words(i).join(' '))),
    `${installer.name}: npm ci --omit=dev`,
  );
});

test("runtime: numeric non-root USER = the pods' runAsUser, entrypoint vmexit-lab, port 8080 = the service", () => {
  const users = keyword(runtime, 'USER');
  assert.ok(users.length > 0, 'USER set');
  const [uid, gid] = words(users.at(-1)!)[0].split(':').map(Number);
  assert.ok(
    Number.isInteger(uid) && uid > 0 && Number.isInteger(gid) && gid > 0,
    'numeric, non-root (runAsNonRoot can only verify a numeric USER)',
  );
  for (const o of objects.filter((x) => x.kind === 'Job' || x.kind === 'Deployment')) {
    const sc = (
      o as unknown as { spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number } } } } }
    ).spec.template.spec.securityContext;
    assert.deepEqual([sc.runAsUser, sc.runAsGroup], [uid, gid], `${o.kind}/${o.metadata.name}`);
  }
  assert.deepEqual(jsonArgs(keyword(runtime, 'ENTRYPOINT').at(-1)!), ['vmexit-lab'], 'exec form: signals reach node');
  assert.deepEqual(keyword(runtime, 'EXPOSE').flatMap(words), ['8080']);
  assert.ok(keyword(runtime, 'WORKDIR').every((i) => words(i)[0].startsWith('/')));
});

test('.dockerignore keeps node_modules, dist and .git out, and nothing the Dockerfile copies', () => {
  for (const p of ['node_modules', 'dist', '.git']) assert.ok(dockerignore.includes(p), p);
  for (const s of stages) {
    for (const i of keyword(s, 'COPY')) {
      if (copyFrom(i) !== undefined) continue;
      for (const src of words(i).slice(0, -1)) {
        assert.ok(existsSync(join(REPO_ROOT, src)), `COPY ${src}: in the repository`);
        assert.ok(!dockerignore.includes(src.split('/')[0]), `COPY ${src}: not excluded by .dockerignore`);
      }
    }
  }
});

test("the runtime stage's files, assembled from its COPY and RUN lines, make a working vmexit-lab", () => {
  // COPY --from sources: the build stage's compiled output and the deps stage's node_modules,
  // which the test build has in dist/src and node_modules.
  const fromStages: Record<string, string> = {
    'build:/app/dist/src': join(REPO_ROOT, 'dist', 'src'),
    'deps:/app/node_modules': join(REPO_ROOT, 'node_modules'),
  };
  const root = join(tmp, 'image');
  const bin = join(root, 'usr', 'local', 'bin');
  mkdirSync(bin, { recursive: true });
  let workdir = root;
  for (const i of runtime.body) {
    const w = words(i);
    if (i.getKeyword() === 'WORKDIR') {
      workdir = join(root, w[0]);
      mkdirSync(workdir, { recursive: true });
    } else if (i.getKeyword() === 'COPY') {
      const from = copyFrom(i);
      const args = w;
      const dest = join(workdir, args.at(-1)!);
      for (const src of args.slice(0, -1)) {
        if (from !== undefined) {
          const local = fromStages[`${from}:${src}`];
          assert.ok(local, `no local equivalent of COPY --from=${from} ${src}: update fromStages`);
          if (src.endsWith('node_modules')) symlinkSync(local, dest);
          else cpSync(local, dest, { recursive: true });
        } else {
          const target = args.at(-1)!.endsWith('/') ? join(dest, src) : dest;
          cpSync(join(REPO_ROOT, src), target, { recursive: true });
        }
      }
    } else if (i.getKeyword() === 'RUN') {
      const cmd = w.join(' ');
      const chmod = /chmod 0755 (\S+)/.exec(cmd);
      if (chmod) chmodSync(join(workdir, chmod[1]), 0o755);
      const ln = /ln -s (\S+) (\S+)/.exec(cmd);
      if (ln) symlinkSync(join(root, ln[1]), join(root, ln[2]));
      assert.ok(chmod || ln, `RUN ${cmd}: not modelled by this test`);
    }
  }
  for (const p of ['test', 'bench', 'docs', 'src'])
    assert.equal(existsSync(join(workdir, p)), false, `${p}/ is not in the image`);
  const entry = jsonArgs(keyword(runtime, 'ENTRYPOINT').at(-1)!)[0];
  const env = { PATH: `${bin}:${join(process.execPath, '..')}:/usr/bin:/bin`, HOME: tmp, CI: 'true' };
  const vx = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(entry, args, { cwd: tmp, env, encoding: 'utf8' });
  const list = vx('list');
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /scenarios\/default\.yaml/, 'scenarios/ is found from the installed layout');
  assert.match(list.stdout, /i7-6700K/, 'data/cpus is found from the installed layout');
});

test('docker build and run (only with a Docker engine)', (t) => {
  const info = spawnSync('docker', ['info'], { encoding: 'utf8' });
  if (info.error || info.status !== 0) {
    t.skip('no Docker engine (docker info fails): the Dockerfile is linted and its layout run above instead');
    return;
  }
  const tag = `vmexit-lab:test-${process.pid}`;
  const build = spawnSync('docker', ['build', '-t', tag, REPO_ROOT], { encoding: 'utf8', timeout: 900_000 });
  assert.equal(build.status, 0, build.stderr);
  try {
    const run = spawnSync(
      'docker',
      [
        'run',
        '--rm',
        '--read-only',
        '--tmpfs',
        '/tmp',
        tag,
        'run',
        '--quiet',
        '--workers',
        '1',
        '--shard',
        '1/2',
        'scenarios/default.yaml',
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    const id = spawnSync('docker', ['run', '--rm', '--entrypoint', 'id', tag, '-u'], { encoding: 'utf8' });
    assert.equal(id.stdout.trim(), '1000');
  } finally {
    spawnSync('docker', ['rmi', '-f', tag]);
  }
});
