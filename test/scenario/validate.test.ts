import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateCommand } from '../../src/cli/commands/validate.js';
import { FIXTURES } from './helpers.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await validateCommand(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const good = (f: string): string => join(FIXTURES, 'good', f);
const bad = (f: string): string => join(FIXTURES, 'bad', f);

describe('vmexit-lab validate', () => {
  it('prints ok with variant and guest counts, exit 0', async () => {
    const r = await run([good('minimal.yaml'), good('matrix.yaml')]);
    assert.equal(r.code, 0);
    assert.equal(r.err, '');
    assert.equal(
      r.out,
      `${good('minimal.yaml')}: ok (1 variant, 1 guest)\n${good('matrix.yaml')}: ok (16 variants, 22 guests)\n`,
    );
  });

  it('prints diagnostics and exits 2 when any file is invalid', async () => {
    const r = await run([good('minimal.yaml'), bad('unknown-key-top.yaml'), bad('zero-count.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.out, /minimal\.yaml: ok/);
    assert.ok(
      r.err.includes(`${bad('unknown-key-top.yaml')}:5:1: error: unknown key "gusets" (did you mean "guests"?)\n`),
    );
    assert.ok(r.err.includes(`${bad('unknown-key-top.yaml')}: 1 error\n`));
    assert.ok(
      r.err.includes(
        `${bad('zero-count.yaml')}:7:12: error: guests[0].count out of range (expected an integer 1..100000, found 0)\n`,
      ),
    );
  });

  it('reports unreadable files', async () => {
    const r = await run([join(FIXTURES, 'nope.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /nope\.yaml: error: cannot read the file/);
  });

  it('answers a directory and a workload profile in one line each, saying what was expected', async () => {
    const dir = await run([FIXTURES]);
    assert.equal(dir.code, 2);
    assert.equal(
      dir.err,
      `${FIXTURES}: error: is a directory, not a scenario file (expected its files, e.g. ${FIXTURES}/*.yaml)\n${FIXTURES}: 1 error\n`,
    );
    const profile = await run([bad('workload-profile-as-scenario.yaml')]);
    assert.equal(profile.code, 2);
    assert.equal(
      profile.err,
      `${bad('workload-profile-as-scenario.yaml')}:2:1: error: this is a workload profile (workloadProfile:), not a scenario (expected a scenario naming it as a guest, guests: [{ workload: FILE }], or vmexit-lab what-if FILE)\n${bad('workload-profile-as-scenario.yaml')}: 1 error\n`,
    );
  });

  it('shows help with examples', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await run([flag]);
      assert.equal(r.code, 0);
      assert.match(r.out, /^Usage: vmexit-lab validate/);
      assert.match(r.out, /Examples:\n {2}vmexit-lab validate /);
      assert.match(r.out, /yaml-language-server: \$schema=/);
    }
  });

  it('rejects no files and unknown options with exit 2', async () => {
    const none = await run([]);
    assert.equal(none.code, 2);
    assert.match(none.err, /no scenario file given/);
    const opt = await run(['--frobnicate', good('minimal.yaml')]);
    assert.equal(opt.code, 2);
    assert.match(opt.err, /unknown option --frobnicate/);
  });

  it('accepts --cpus and reports a missing catalog', async () => {
    const r = await run(['--cpus', join(FIXTURES, 'no-such-dir'), good('minimal.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /--cpus .*no-such-dir: no such directory \(expected a directory of CPU profiles/);
  });
});
