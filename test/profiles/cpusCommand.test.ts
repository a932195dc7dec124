import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cpusCommand, detectProfileSource } from '../../src/cli/commands/cpus.js';
import { findCpuProfile, loadCpuCatalog } from '../../src/profiles/catalog.js';
import { parseProfileYaml } from '../../src/profiles/serialize.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FIX = join(ROOT, 'test/fixtures/profiles');

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cpusCommand(args, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('cpus command', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'vmexit-lab-cli-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('lists the catalog as a table with the APIC capability columns', async () => {
    const r = await run();
    assert.equal(r.code, 0);
    assert.equal(r.err, '');
    const lines = r.out.trimEnd().split('\n');
    assert.match(lines[0], /^ID\s+VENDOR\s+MICROARCH\s+TPR SHADOW\s+vAPIC\s+APIC-REG\s+VID\s+POSTINTR\s+AVIC$/);
    const row = (id: string): string[] => lines.find((l) => l.startsWith(`${id} `))!.split(/\s+/);
    assert.deepEqual(row('i7-2620M'), ['i7-2620M', 'intel', 'sandy-bridge', 'yes', 'yes', 'no', 'no', 'no', '-']);
    assert.deepEqual(row('xeon-e5-2667v4'), [
      'xeon-e5-2667v4',
      'intel',
      'broadwell',
      'yes',
      'yes',
      'yes',
      'yes',
      'yes',
      '-',
    ]);
    assert.deepEqual(row('epyc-7763').slice(3), ['-', '-', '-', '-', '-', 'no']);
    assert.equal(lines.length, loadCpuCatalog().length + 1);
  });

  it('--json emits the profiles with an apic summary', async () => {
    const r = await run('--json');
    assert.equal(r.code, 0);
    const data = JSON.parse(r.out) as Array<{
      id: string;
      apic: { virtualInterruptDelivery: boolean | null; avic: boolean | null };
    }>;
    assert.equal(data.find((d) => d.id === 'i7-6700K')!.apic.virtualInterruptDelivery, false);
    assert.equal(data.find((d) => d.id === 'xeon-silver-4110')!.apic.virtualInterruptDelivery, true);
    assert.equal(data.find((d) => d.id === 'epyc-7281')!.apic.avic, true);
  });

  it('show ID prints the profile YAML (aliases accepted)', async () => {
    const r = await run('show', 'E5-2667 v4');
    assert.equal(r.code, 0);
    assert.deepEqual(parseProfileYaml(r.out, 'show.yaml'), findCpuProfile(loadCpuCatalog(), 'xeon-e5-2667v4'));
  });

  it('show with an unknown id exits 2 with a did-you-mean', async () => {
    const r = await run('show', 'i7-6700');
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown CPU profile "i7-6700" \(did you mean "i7-6700K"\?\)/);
    assert.match(r.err, /'vmexit-lab cpus --help' lists the options$/m);
    assert.equal(r.out, '');
  });

  it('import of the seed dmesg prints YAML equal to the data file (with --cores/--threads)', async () => {
    const r = await run('import', join(FIX, 'freebsd-xeon-e5-2667v4.dmesg'), '--cores', '8', '--threads', '16');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    const imported = parseProfileYaml(r.out, 'imported.yaml');
    const data = findCpuProfile(loadCpuCatalog(), 'xeon-e5-2667v4');
    assert.deepEqual(imported.vmx, data.vmx);
    assert.equal(imported.model, data.model);
  });

  it('import without topology warns on stderr but still prints the profile', async () => {
    const r = await run('import', join(FIX, 'freebsd-xeon-e5-2667v4.dmesg'));
    assert.equal(r.code, 0);
    assert.match(r.err, /--cores N --threads N/);
    assert.match(r.out, /^cores: 0$/m);
  });

  it('import of a /proc/cpuinfo prints validating YAML', async () => {
    const r = await run('import', join(FIX, 'cpuinfo-core-i7-6600u.txt'), '--id', 'my-laptop');
    assert.equal(r.code, 0, r.err);
    const p = parseProfileYaml(r.out, 'laptop.yaml');
    assert.equal(p.id, 'my-laptop');
    assert.equal(p.microarchitecture, 'skylake');
  });

  it('import of malformed input exits 2 and names the line', async () => {
    const bad = join(tmp, 'bad.dmesg');
    writeFileSync(
      bad,
      'CPU: Intel(R) Core(TM) i7-2620M CPU @ 2.70GHz (2691.30-MHz K8-class CPU)\n  VT-x: Basic Features=0xda0400<SMM,INS/OUTS,TRUE>\n        Pin-Based Controls=0xQQ\n',
    );
    const r = await run('import', bad);
    assert.equal(r.code, 2);
    assert.match(r.err, /bad\.dmesg:3:9: error: cannot import this CPU \(expected Pin-Based Controls=0x/);
  });

  it('import of an unrecognised or missing file exits 2', async () => {
    const other = join(tmp, 'notes.txt');
    writeFileSync(other, 'hello\n');
    assert.equal((await run('import', other)).code, 2);
    assert.equal((await run('import', join(tmp, 'missing.txt'))).code, 2);
  });

  it('bad usage exits 2; --help exits 0 with examples', async () => {
    assert.equal((await run('frobnicate')).code, 2);
    assert.equal((await run('--bogus')).code, 2);
    assert.equal((await run('show')).code, 2);
    assert.equal((await run('import', 'a', '--cores', 'x')).code, 2);
    const h = await run('--help');
    assert.equal(h.code, 0);
    assert.match(h.out, /Examples:/);
    assert.match(h.out, /cpus import/);
  });

  it('detects dmesg vs cpuinfo', () => {
    assert.equal(detectProfileSource('[105]   VT-x: Basic Features=0x1'), 'dmesg');
    assert.equal(detectProfileSource('processor\t: 0\nvendor_id\t: GenuineIntel\n'), 'cpuinfo');
    assert.equal(detectProfileSource('nothing'), undefined);
  });
});
