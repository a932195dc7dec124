import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CpuProfile } from '../../src/core/cpu/profile.js';
import { Default1, PinBased, ProcBased, ProcBased2 } from '../../src/core/vmx/controls.js';
import {
  cachedCpuCatalog,
  CpuCatalogError,
  CpuProfileNotFoundError,
  defaultCatalogDir,
  findCpuProfile,
  loadCpuCatalog,
} from '../../src/profiles/catalog.js';
import { importDmesg } from '../../src/profiles/importDmesg.js';
import { ProfileYamlError, profileToYaml } from '../../src/profiles/serialize.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const catalog = loadCpuCatalog();
const byId = (id: string): CpuProfile => {
  const p = catalog.find((c) => c.id === id);
  assert.ok(p, `profile ${id} missing`);
  return p;
};
const secondary = (p: CpuProfile): number =>
  (p.vmx!.procBased.allowed1 & ProcBased.ActivateSecondaryControls) !== 0 ? p.vmx!.procBased2.allowed1 : 0;

describe('data/cpus catalog', () => {
  it('loads from the repository by default (relative to the compiled module) and validates every file', () => {
    assert.equal(defaultCatalogDir(), join(ROOT, 'data', 'cpus'));
    assert.ok(catalog.length >= 8);
    for (const id of ['i7-2620M', 'i7-4771', 'i7-6700K', 'xeon-silver-4110', 'xeon-e5-2667v4']) byId(id);
  });

  it('uses the required microarchitecture keys', () => {
    assert.equal(byId('i7-2620M').microarchitecture, 'sandy-bridge');
    assert.equal(byId('i7-4771').microarchitecture, 'haswell');
    assert.equal(byId('i7-6700K').microarchitecture, 'skylake');
    assert.equal(byId('xeon-silver-4110').microarchitecture, 'skylake-sp');
    assert.equal(byId('xeon-e5-2667v4').microarchitecture, 'broadwell');
    for (const p of catalog.filter((c) => c.vendor === 'amd'))
      assert.ok(['zen', 'zen2', 'zen3', 'zen4'].includes(p.microarchitecture), p.id);
  });

  it('desktop i7 parts: TPR shadow and virtualize APIC accesses, but no APIC-register virtualization, VID or posted interrupts', () => {
    for (const id of ['i7-2620M', 'i7-4771', 'i7-6700K']) {
      const p = byId(id);
      assert.notEqual(p.vmx!.procBased.allowed1 & ProcBased.UseTprShadow, 0, id);
      assert.notEqual(secondary(p) & ProcBased2.VirtualizeApicAccesses, 0, id);
      assert.equal(secondary(p) & ProcBased2.ApicRegisterVirtualization, 0, id);
      assert.equal(secondary(p) & ProcBased2.VirtualInterruptDelivery, 0, id);
      assert.equal(p.vmx!.pinBased.allowed1 & PinBased.ProcessPostedInterrupts, 0, id);
    }
  });

  it('Xeons: APIC-register virtualization, virtual-interrupt delivery and posted interrupts (APICv)', () => {
    for (const id of ['xeon-silver-4110', 'xeon-e5-2667v4']) {
      const p = byId(id);
      assert.notEqual(p.vmx!.procBased.allowed1 & ProcBased.UseTprShadow, 0, id);
      assert.notEqual(secondary(p) & ProcBased2.ApicRegisterVirtualization, 0, id);
      assert.notEqual(secondary(p) & ProcBased2.VirtualInterruptDelivery, 0, id);
      assert.notEqual(p.vmx!.pinBased.allowed1 & PinBased.ProcessPostedInterrupts, 0, id);
    }
  });

  it('has at least one AMD profile with AVIC and one without', () => {
    const amd = catalog.filter((p) => p.vendor === 'amd');
    assert.ok(amd.some((p) => p.svm!.avic));
    assert.ok(amd.some((p) => !p.svm!.avic));
    for (const p of amd) assert.equal(p.vmx, undefined);
  });

  it('the E5-2667 v4 profile is what importing the seed dmesg yields (apart from sources/notes)', () => {
    const seed = readFileSync(join(ROOT, 'test/fixtures/profiles/freebsd-xeon-e5-2667v4.dmesg'), 'utf8');
    const imported = importDmesg(seed, { cores: 8, threads: 16 });
    const { sources: _s1, notes: _n1, ...fromSeed } = imported;
    const { sources: _s2, notes: _n2, ...fromData } = byId('xeon-e5-2667v4');
    assert.deepEqual(fromData, fromSeed);
  });

  it('every Intel mask keeps the SDM default1 bits settable and every profile cites sources', () => {
    for (const p of catalog) {
      assert.ok(p.sources.length > 0, p.id);
      if (!p.vmx) continue;
      assert.equal(p.vmx.pinBased.allowed1 & Default1.pinBased, Default1.pinBased, p.id);
      assert.equal((p.vmx.procBased.allowed1 & Default1.procBased) >>> 0, Default1.procBased >>> 0, p.id);
      assert.equal(p.vmx.exit.allowed1 & Default1.exit, Default1.exit, p.id);
    }
  });
});

describe('findCpuProfile', () => {
  it('accepts ids case-insensitively', () => {
    assert.equal(findCpuProfile(catalog, 'I7-2620m').id, 'i7-2620M');
    assert.equal(findCpuProfile(catalog, 'XEON-E5-2667V4').id, 'xeon-e5-2667v4');
  });

  it('accepts natural aliases', () => {
    assert.equal(findCpuProfile(catalog, 'E5-2667 v4').id, 'xeon-e5-2667v4');
    assert.equal(findCpuProfile(catalog, 'Xeon Silver 4110').id, 'xeon-silver-4110');
    assert.equal(findCpuProfile(catalog, 'silver 4110').id, 'xeon-silver-4110');
    assert.equal(findCpuProfile(catalog, 'Core i7-6700K').id, 'i7-6700K');
    assert.equal(findCpuProfile(catalog, 'Intel(R) Core(TM) i7-4771 CPU @ 3.50GHz').id, 'i7-4771');
    assert.equal(findCpuProfile(catalog, 'Ryzen 5 3600X').id, 'ryzen-5-3600x');
    assert.equal(findCpuProfile(catalog, 'EPYC 7763').id, 'epyc-7763');
  });

  it("throws with a did-you-mean and the known ids, worded as a scenario's other unknown names (policy, os)", () => {
    assert.throws(
      () => findCpuProfile(catalog, 'i7-2602M'),
      (e: unknown) => {
        assert.ok(e instanceof CpuProfileNotFoundError);
        assert.equal(e.suggestion, 'i7-2620M');
        assert.match(
          e.message,
          /^unknown CPU profile "i7-2602M" \(did you mean "i7-2620M"\?\) \(expected one of .*xeon-silver-4110\)$/,
        );
        assert.deepEqual([...e.knownIds].sort(), catalog.map((p) => p.id).sort());
        return true;
      },
    );
    assert.throws(
      () => findCpuProfile(catalog, 'E5-2667 v3'),
      (e: unknown) => e instanceof CpuProfileNotFoundError && e.suggestion === 'xeon-e5-2667v4',
    );
    assert.throws(
      () => findCpuProfile(catalog, 'zzzzzzzzzzzzzzzzzzzzzzzzz'),
      (e: unknown) => e instanceof CpuProfileNotFoundError && e.suggestion === undefined,
    );
  });
});

describe('loadCpuCatalog on other directories', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-cpus-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const good = profileToYaml(byId('i7-4771'));

  it('reports the file, line and column of an invalid profile', () => {
    writeFileSync(join(dir, 'i7-4771.yaml'), good.replace('cores: 4', 'cores: four'));
    assert.throws(
      () => loadCpuCatalog(dir),
      // Named by its path in the directory given, so that it can be opened as written.
      (e: unknown) => e instanceof ProfileYamlError && e.fileName === join(dir, 'i7-4771.yaml') && e.line === 6,
    );
  });

  it('requires the file name to be the lower-cased id', () => {
    writeFileSync(join(dir, 'i7-4771.yaml'), good);
    writeFileSync(join(dir, 'other.yaml'), good);
    assert.throws(
      () => loadCpuCatalog(dir),
      (e: unknown) =>
        e instanceof CpuCatalogError && e.message.startsWith(`${join(dir, 'other.yaml')}: file name must be`),
    );
    rmSync(join(dir, 'other.yaml'));
    assert.equal(loadCpuCatalog(dir).length, 1);
  });

  it('fails clearly for a missing directory', () => {
    assert.throws(() => loadCpuCatalog(join(dir, 'nope')), CpuCatalogError);
  });
});

describe('cachedCpuCatalog', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-cpus-cache-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const good = profileToYaml(byId('i7-4771'));

  it('answers the same catalog while no file changes, and reads again when one is added, changed or removed', () => {
    writeFileSync(join(dir, 'i7-4771.yaml'), good);
    const first = cachedCpuCatalog(dir);
    assert.equal(first.length, 1);
    assert.ok(Object.isFrozen(first));
    assert.equal(cachedCpuCatalog(dir), first, 'unchanged: the same array');

    writeFileSync(join(dir, 'i7-6700k.yaml'), profileToYaml(byId('i7-6700K')));
    const added = cachedCpuCatalog(dir);
    assert.deepEqual(
      added.map((p) => p.id),
      ['i7-4771', 'i7-6700K'],
    );

    // Same size, new time: a change the cache must see (an edit that keeps the length).
    writeFileSync(join(dir, 'i7-4771.yaml'), good.replace('cores: 4', 'cores: 8'));
    utimesSync(join(dir, 'i7-4771.yaml'), new Date(), new Date(Date.now() + 5_000));
    assert.equal(cachedCpuCatalog(dir).find((p) => p.id === 'i7-4771')!.cores, 8);

    rmSync(join(dir, 'i7-6700k.yaml'));
    assert.equal(cachedCpuCatalog(dir).length, 1);
  });

  it('by default is the repository catalog, equal to a fresh read', () => {
    assert.deepEqual(cachedCpuCatalog(), loadCpuCatalog());
    assert.equal(cachedCpuCatalog(), cachedCpuCatalog(defaultCatalogDir()));
  });

  it('fails like loadCpuCatalog for a missing directory, and for an invalid file', () => {
    assert.throws(() => cachedCpuCatalog(join(dir, 'nope')), CpuCatalogError);
    writeFileSync(join(dir, 'other.yaml'), good);
    assert.throws(() => cachedCpuCatalog(dir), CpuCatalogError);
    rmSync(join(dir, 'other.yaml'));
  });
});
