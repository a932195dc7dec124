import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { CpuProfile } from '../../src/core/cpu/profile.js';
import { importCpuinfo } from '../../src/profiles/importCpuinfo.js';
import { importDmesg } from '../../src/profiles/importDmesg.js';
import { ProfileYamlError, parseProfileYaml, profileToYaml } from '../../src/profiles/serialize.js';
import { MINIMAL_INTEL } from './helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const DATA = join(ROOT, 'data/cpus');
const FIXTURES = join(ROOT, 'test/fixtures/profiles');

function expectYamlError(text: string, line: number, fieldPattern: RegExp, expectedPattern: RegExp): ProfileYamlError {
  try {
    parseProfileYaml(text, 'bad.yaml');
  } catch (e) {
    assert.ok(e instanceof ProfileYamlError, `expected ProfileYamlError, got ${String(e)}`);
    assert.equal(e.fileName, 'bad.yaml');
    assert.equal(e.line, line, e.message);
    assert.ok(e.column >= 1);
    assert.match(e.field, fieldPattern);
    assert.match(e.expected, expectedPattern);
    assert.match(e.message, new RegExp(`^bad\\.yaml:${line}:${e.column}: `));
    return e;
  }
  assert.fail('no error thrown');
}

describe('profileToYaml / parseProfileYaml', () => {
  it('the minimal Intel profile parses', () => {
    const p = parseProfileYaml(MINIMAL_INTEL, 'min.yaml');
    assert.equal(p.vmx!.procBased.allowed1, 0xfff9fffe);
    assert.equal(p.notes, undefined);
  });

  it('round-trips every data/cpus file (YAML -> profile -> YAML -> profile is identity)', () => {
    const files = readdirSync(DATA).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 7);
    for (const f of files) {
      const p = parseProfileYaml(readFileSync(join(DATA, f), 'utf8'), f);
      const again = parseProfileYaml(profileToYaml(p), `${f} (re-serialized)`);
      assert.deepEqual(again, p, f);
      assert.equal(profileToYaml(again), profileToYaml(p));
    }
  });

  it('round-trips imported profiles', () => {
    const dmesg = importDmesg(readFileSync(join(FIXTURES, 'freebsd-xeon-e5-2667v4.dmesg'), 'utf8'), {
      cores: 8,
      threads: 16,
    });
    const cpuinfo = importCpuinfo(readFileSync(join(FIXTURES, 'cpuinfo-core-i7-6600u.txt'), 'utf8'));
    const amd = importCpuinfo(readFileSync(join(FIXTURES, 'cpuinfo-epyc-7281.txt'), 'utf8'), { id: 'epyc-7281' });
    for (const p of [dmesg, cpuinfo, { ...amd, threads: 32 }]) {
      assert.deepEqual(parseProfileYaml(profileToYaml(p), 'x.yaml'), p);
    }
  });

  it('writes masks as hex', () => {
    const y = profileToYaml(parseProfileYaml(MINIMAL_INTEL, 'min.yaml'));
    assert.match(y, /^ {4}allowed1: 0xfff9fffe$/m);
    assert.match(y, /^ {4}allowed0: 0x16$/m);
    assert.match(y, /^ {4}allowed0: 0x0$/m);
  });

  it('round-trips arbitrary valid profiles (property)', () => {
    const word = fc
      .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }))
      .map(([a, b]) => ({ allowed0: (a & b) >>> 0, allowed1: b >>> 0 }));
    const text = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0);
    const intel = fc.record({
      id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/),
      model: text,
      microarchitecture: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,15}$/),
      baseClockMHz: fc.integer({ min: 1, max: 10000 }),
      cores: fc.integer({ min: 1, max: 256 }),
      extraThreads: fc.integer({ min: 0, max: 256 }),
      trueControls: fc.boolean(),
      pinBased: word,
      procBased: word.map((w) => ({ allowed0: w.allowed0, allowed1: (w.allowed1 | 0x80000000) >>> 0 })),
      procBased2: word,
      exit: word,
      sources: fc.array(text, { minLength: 1, maxLength: 3 }),
      notes: fc.option(text, { nil: undefined }),
    });
    fc.assert(
      fc.property(intel, (r) => {
        const p: CpuProfile = {
          id: r.id,
          model: r.model,
          vendor: 'intel',
          microarchitecture: r.microarchitecture,
          baseClockMHz: r.baseClockMHz,
          cores: r.cores,
          threads: r.cores + r.extraThreads,
          vmx: {
            trueControls: r.trueControls,
            pinBased: r.pinBased,
            procBased: r.procBased,
            procBased2: r.procBased2,
            exit: r.exit,
          },
          sources: r.sources,
          ...(r.notes !== undefined ? { notes: r.notes } : {}),
        };
        assert.deepEqual(parseProfileYaml(profileToYaml(p), 'prop.yaml'), p);
      }),
      { numRuns: 200 },
    );
  });
});

describe('parseProfileYaml: validation errors name file, line, column, found vs expected', () => {
  it('unknown key', () => {
    const e = expectYamlError(
      MINIMAL_INTEL.replace('cores: 4\n', 'cores: 4\nsockets: 2\n'),
      7,
      /^sockets$/,
      /one of the keys/,
    );
    assert.match(e.found, /unknown key "sockets"/);
    assert.equal(e.column, 1);
  });

  it('unknown key inside vmx', () => {
    expectYamlError(
      MINIMAL_INTEL.replace('  trueControls: true\n', '  trueControls: true\n  tertiary: 0\n'),
      10,
      /^vmx\.tertiary$/,
      /one of the keys/,
    );
  });

  it('a mask given as a string', () => {
    const e = expectYamlError(
      MINIMAL_INTEL.replace('allowed1: 0x7f', 'allowed1: "0x7f"'),
      12,
      /vmx\.pinBased\.allowed1/,
      /32-bit mask/,
    );
    assert.match(e.found, /string "0x7f"/);
    assert.equal(e.column, 15);
  });

  it('a mask out of range', () => {
    expectYamlError(
      MINIMAL_INTEL.replace('allowed1: 0x7f', 'allowed1: 0x1ffffffff'),
      12,
      /pinBased\.allowed1/,
      /0xffffffff/,
    );
  });

  it('allowed0 not a subset of allowed1', () => {
    const e = expectYamlError(
      MINIMAL_INTEL.replace('allowed0: 0x16', 'allowed0: 0x116'),
      11,
      /pinBased\.allowed0/,
      /subset of allowed1/,
    );
    assert.match(e.found, /0x100/);
  });

  it('secondary controls without "activate secondary controls"', () => {
    expectYamlError(MINIMAL_INTEL.replace('allowed1: 0xfff9fffe', 'allowed1: 0x7ff9fffe'), 16, /procBased2/, /bit 31/);
  });

  it('a bad vendor', () => {
    expectYamlError(MINIMAL_INTEL.replace('vendor: intel', 'vendor: via'), 3, /^vendor$/, /"intel" or "amd"/);
  });

  it('an svm block on an Intel profile', () => {
    expectYamlError(`${MINIMAL_INTEL}svm:\n  avic: true\n`, 24, /^svm$/, /no "svm" block/);
  });

  it('a missing required key', () => {
    expectYamlError(MINIMAL_INTEL.replace('model: Test CPU\n', ''), 1, /^model$/, /"model" key/);
  });

  it('an empty value', () => {
    expectYamlError(MINIMAL_INTEL.replace('cores: 4', 'cores:'), 6, /^cores$/, /positive integer/);
  });

  it('threads below cores', () => {
    expectYamlError(MINIMAL_INTEL.replace('threads: 8', 'threads: 2'), 7, /^threads$/, /at least cores/);
  });

  it('an empty sources list', () => {
    expectYamlError(
      MINIMAL_INTEL.replace('sources:\n  - "a test"\n', 'sources: []\n'),
      22,
      /^sources$/,
      /non-empty list/,
    );
  });

  it('x2avic without avic', () => {
    const amd = `id: a\nmodel: A\nvendor: amd\nmicroarchitecture: zen4\nbaseClockMHz: 2000\ncores: 1\nthreads: 1\nsvm:\n  avic: false\n  x2avic: true\n  nestedPaging: true\n  nripSave: true\n  decodeAssists: true\n  pauseFilter: true\n  pauseFilterThreshold: true\nsources: [x]\n`;
    expectYamlError(amd, 10, /svm\.x2avic/, /x2AVIC extends AVIC/);
  });

  it('a YAML syntax error', () => {
    expectYamlError('id: [unclosed\nmodel: x\n', 2, /^$/, /valid YAML/);
  });

  it('a document that is not a mapping', () => {
    expectYamlError('- 1\n- 2\n', 1, /^$/, /mapping/);
  });

  it('a document nested too deeply says so, with the bound and where, as the CLI does (was "expected valid YAML")', () => {
    const e = expectYamlError(`id: x\nvmx: ${'['.repeat(300)}\n`, 2, /^$/, /nested at most 200 levels deep/);
    assert.equal(
      e.message,
      `bad.yaml:2:205: YAML nested too deeply: a collection 201 levels deep opens here (nothing else was checked) (expected collections nested at most 200 levels deep (each [ or {, block mapping and block sequence is a level; scenarios and profiles need under 10): flatten it, or look for brackets left open)`,
    );
    assert.doesNotMatch(e.message, /valid YAML/);
  });
});
