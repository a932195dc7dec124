/**
 * What the docs name must exist, so a renamed file, script or command cannot leave a page pointing
 * at nothing: every repository path written in README.md, CONTRIBUTING.md, docs/*.md, docs/model/,
 * docs/perf/ and data/validation/README.md exists (a glob matches at least one file), every `npm run X` is a
 * script of package.json, and every `vmexit-lab X` in code (a code span or block) is a command
 * that `vmexit-lab --help` lists, with a sub-command or kind its own --help names, and every
 * `--option` written after a command in code is one that command accepts.
 *
 * Not read: docs/research/ and docs/perf/history.md, dated notes that name files as they were
 * then (a reverted experiment's source file, for one). Paths that are another project's, or
 * placeholders a reader fills in, are listed in NOT_OURS with the reason; a rule that no page
 * needs any more fails the test, so the list keeps up with the docs.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { capture } from '../support/cli.js';
import { repoPathExists } from '../support/paths.js';
import { DECLARED_OPTIONS } from '../../src/cli/io.js';

const PAGES = [
  'README.md',
  'CONTRIBUTING.md',
  'data/validation/README.md',
  ...['docs', 'docs/model', 'docs/perf'].flatMap((d) =>
    readdirSync(join(REPO_ROOT, d))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `${d}/${f}`),
  ),
]
  .filter((p) => p !== 'docs/perf/history.md')
  .sort();

/** Paths that look like ours and are not: the reason, and the pages that may write them. */
const NOT_OURS: readonly { path: string; why: string }[] = [
  { path: 'grafana/grafana', why: 'the Grafana container image in `docker run`' },
  { path: 'src/tests/cpu/sb_cpu.c', why: "akopytov/sysbench's source, a cited file" },
  { path: 'docs/hyperv.rst', why: "QEMU's documentation, a cited file" },
  { path: 'docs/kvm-exit.md', why: "OpenCloudOS/perf-prof's documentation, a cited file" },
  { path: 'docs/profilers/kvm-exit.md', why: "OpenCloudOS/perf-prof's documentation (its 2025 layout), a cited file" },
  { path: 'data/cpus/ID.yaml', why: 'a placeholder: the profile id the reader chooses' },
  { path: 'scenarios/NAME.yaml', why: 'a placeholder: a bundled scenario by name' },
  { path: 'src/<folder>', why: 'a placeholder: any folder of src/' },
  { path: 'test/<folder>', why: 'a placeholder: the test folder of a src/ folder' },
];

const read = (page: string): string => readFileSync(join(REPO_ROOT, page), 'utf8');

/** Repository-looking paths of a text with their line numbers (not the tail of a URL or another path). */
function paths(text: string): { path: string; line: number }[] {
  const out: { path: string; line: number }[] = [];
  for (const [i, line] of text.split('\n').entries())
    for (const m of line.matchAll(
      /(?<![\w./@-])((?:src|test|data|scenarios|bench|grafana|deploy|docs)\/[\w.*<>/-]*[\w*>])/g,
    ))
      out.push({ path: m[1], line: i + 1 });
  return out;
}

/** The code of a Markdown page: fenced blocks and inline code spans, one string per piece. */
function code(md: string): string[] {
  const out: string[] = [];
  const prose = md.replace(/^```[^\n]*\n([\s\S]*?)^```$/gm, (_, body: string) => {
    out.push(body);
    return '';
  });
  for (const m of prose.matchAll(/`([^`\n]+)`/g)) out.push(m[1]);
  return out;
}

async function helpOf(args: string[]): Promise<string> {
  const io = capture();
  assert.equal(await main([...args, '--help'], io), 0, `vmexit-lab ${args.join(' ')} --help`);
  return io.stdout.join('');
}

test('the pages read here are the docs, and each names something', () => {
  for (const p of ['README.md', 'CONTRIBUTING.md', 'docs/ARCHITECTURE.md', 'docs/SCENARIOS.md'])
    assert.ok(PAGES.includes(p), p);
  assert.ok(PAGES.length >= 18, PAGES.join(' '));
});

test('every repository path the docs write exists; a glob matches a file; NOT_OURS rules are all needed', () => {
  const missing: string[] = [];
  const used = new Set<string>();
  let named = 0;
  for (const page of PAGES) {
    for (const { path, line } of paths(read(page))) {
      named++;
      if (NOT_OURS.some((n) => n.path === path)) {
        used.add(path);
        continue;
      }
      const found = repoPathExists(path);
      if (!found) missing.push(`${page}:${line}: ${path}`);
    }
  }
  assert.ok(named >= 300, `only ${named} paths named`);
  assert.deepEqual(missing, []);
  assert.deepEqual(
    NOT_OURS.filter((n) => !used.has(n.path)).map((n) => `${n.path} (${n.why})`),
    [],
    'NOT_OURS rules no page needs',
  );
});

test('every `npm run X` in the docs is a script of package.json', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const unknown: string[] = [];
  let named = 0;
  for (const page of PAGES)
    for (const m of read(page).matchAll(/\bnpm run ([\w:-]+)/g)) {
      named++;
      if (!(m[1] in scripts)) unknown.push(`${page}: npm run ${m[1]}`);
    }
  assert.ok(named >= 10, `only ${named} npm run lines`);
  assert.deepEqual(unknown, []);
});

test("every `vmexit-lab X` in the docs' code is a command, and X Y a sub-command or kind its --help names", async () => {
  const usage = await helpOf([]);
  const section = usage.slice(usage.indexOf('Commands:'), usage.indexOf("Run 'vmexit-lab COMMAND"));
  const commands = new Set([...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]));
  // Commands whose second word picks what they do: their --help names each choice in its usage
  // lines or as the first word of a table line (import's formats).
  const withSub = new Map<string, Set<string>>();
  for (const c of ['list', 'cpus', 'import']) {
    const help = await helpOf([c]);
    const usageWords = help.split('\n\n')[0].split(/[\s[\]|]+/);
    const tableWords = [...help.matchAll(/^ {2}([a-z][a-z0-9-]*) {2,}/gm)].map((m) => m[1]);
    withSub.set(c, new Set([...usageWords, ...tableWords]));
  }
  const wrong: string[] = [];
  let named = 0;
  for (const page of PAGES)
    for (const piece of code(read(page)))
      for (const m of piece.matchAll(/(?<![\w/.-])vmexit-lab ([a-z][a-z-]*)(?: ([a-z][a-z0-9-]*))?/g)) {
        named++;
        const [, command, sub] = m;
        if (!commands.has(command)) wrong.push(`${page}: vmexit-lab ${command}: not a command`);
        else if (sub !== undefined && withSub.has(command) && !withSub.get(command)!.has(sub))
          wrong.push(`${page}: vmexit-lab ${command} ${sub}: not in its usage`);
      }
  assert.ok(named >= 40, `only ${named} commands named`);
  assert.deepEqual(wrong, []);
});

test("every --option written after a command in the docs' code (`vmexit-lab run ... --out`, `run --shard`) is one it accepts", async () => {
  const usage = await helpOf([]);
  const section = usage.slice(usage.indexOf('Commands:'), usage.indexOf("Run 'vmexit-lab COMMAND"));
  const commands = [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]);
  const accepted = new Map<string, Set<string>>();
  for (const c of commands) {
    DECLARED_OPTIONS.delete(c);
    await helpOf([c]);
    accepted.set(c, new Set(DECLARED_OPTIONS.get(c)));
  }
  const alternatives = commands.sort((a, b) => b.length - a.length).join('|');
  // A command at the start of a line or span, or after `vmexit-lab `, up to a pipe, a redirect or `&&`.
  const use = new RegExp(`(?:^|(?<![\\w/.-])vmexit-lab )(${alternatives})((?: [^|;&>\\n]*)?)`, 'gm');
  const unknown: string[] = [];
  let named = 0;
  for (const page of PAGES)
    for (const piece of code(read(page)))
      for (const m of piece.matchAll(use))
        for (const o of m[2].matchAll(/(?<=^|\s)(--[a-z][a-z0-9-]*)/g)) {
          named++;
          if (!accepted.get(m[1])!.has(o[1])) unknown.push(`${page}: ${m[1]} ${o[1]}`);
        }
  assert.ok(named >= 60, `only ${named} options named`);
  assert.deepEqual(unknown, []);
});

test("README's Documentation list names every page of docs/", () => {
  const readme = read('README.md');
  const list = readme.slice(readme.indexOf('\n## Documentation\n'));
  assert.ok(list.length > 100, 'README has a "## Documentation" section');
  const listed = new Set([...list.matchAll(/^- `(docs\/[A-Z]+\.md)`/gm)].map((m) => m[1]));
  const pages = PAGES.filter((p) => /^docs\/[A-Z]+\.md$/.test(p));
  assert.deepEqual(
    pages.filter((p) => !listed.has(p)),
    [],
    'pages of docs/ the README does not list',
  );
  assert.deepEqual(
    [...listed].filter((p) => !pages.includes(p)),
    [],
    'README lists a page that is not there',
  );
});
