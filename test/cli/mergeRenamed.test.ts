/**
 * merge across the variant rename (33b5db7): a matrix over a tunable's numbers names its variants
 * KEY=VALUE ("kvm_intel.enable_apicv=1") where shards written before it say "1". The rename changed
 * names only, so such shards merge with newer ones - equal to the shards of one build merged - and a
 * note on stderr names both spellings. A shard whose names are another matrix's is still refused.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vmexit-merge-renamed-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const scenario = join(dir, 'apicv.yaml');
writeFileSync(
  scenario,
  `name: merge-renamed
seed: 3
host: { cpu: xeon-e5-2667v4, cores: 4, count: 2 }
hypervisor: { policy: kvm }
guests:
  - { os: ubuntu-18.04, vcpus: 2, phases: [{ phase: idle }] }
duration: 1s
matrix:
  tunables.kvm_intel.enable_apicv: [0, 1]
`,
);

const shard = (i: number): string => join(dir, `shard-${i}.json`);

async function run(args: string[]): Promise<{ code: number; io: ReturnType<typeof capture> }> {
  const io = capture();
  const code = await main(args, io);
  return { code, io };
}

/** Shard 1 as a build before the rename wrote it: its variant names bare ("0", "1"), all else as is. */
function writeOldStyle(to: string, rename: (name: string) => string): void {
  const r = JSON.parse(readFileSync(shard(1), 'utf8'));
  for (const v of r.variants) v.name = rename(v.name);
  writeFileSync(to, JSON.stringify(r));
}

function totalsOf(file: string): unknown {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  return r.variants.map((v: { name: string; totals: unknown }) => ({ name: v.name, totals: v.totals }));
}

describe('merge of shards written before and after the KEY=VALUE variant names', () => {
  it('pairs "1" with "kvm_intel.enable_apicv=1": the same merged results, and a note naming both', async () => {
    for (const i of [1, 2]) {
      const r = await run(['run', '--quiet', '--workers', '1', '--shard', `${i}/2`, '--out', shard(i), scenario]);
      assert.equal(r.code, 0, r.io.stderr.join('\n'));
    }
    const same = await run(['merge', '--out', join(dir, 'same.json'), shard(1), shard(2)]);
    assert.equal(same.code, 0, same.io.stderr.join('\n'));
    const old = join(dir, 'shard-1-old.json');
    writeOldStyle(old, (n) => n.replace(/^.*=/, ''));
    const mixed = await run(['merge', '--out', join(dir, 'mixed.json'), old, shard(2)]);
    assert.equal(mixed.code, 0, mixed.io.stderr.join('\n'));
    assert.deepEqual(totalsOf(join(dir, 'mixed.json')), totalsOf(join(dir, 'same.json')));
    assert.match(
      mixed.io.stderr.join('\n'),
      /note: .*shard-1-old\.json names its variants as before .*KEY=VALUE; merged "0" as "kvm_intel\.enable_apicv=0", "1" as "kvm_intel\.enable_apicv=1"/,
    );
    assert.deepEqual(same.io.stderr, []);
  });

  it('a shard of other variant names is refused, naming both', async () => {
    const other = join(dir, 'shard-1-other.json');
    writeOldStyle(other, (n) => n.replace(/^.*=/, 'kvm_intel.other='));
    const r = await run(['merge', other, shard(2)]);
    assert.equal(r.code, 2);
    assert.match(
      r.io.stderr.join('\n'),
      /shard 2: variants differ \("kvm_intel\.enable_apicv=0"; shard 1 has "kvm_intel\.other=0"\)/,
    );
  });
});
