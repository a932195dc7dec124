import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../../src/model/data.js';
import { BHYVE_EXIT_STATS, BHYVE_TOTAL_STAT, parseBhyvectlStats } from '../../src/import/bhyvectl.js';
import { modelExitName } from '../../src/import/exitNames.js';
import { ReportFormatError } from '../../src/import/report.js';

const DIR = join(REPO_ROOT, 'test/fixtures/reports');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');

/** The test's own reading: per description, the sum over sections of the value after the tab. */
function sums(text: string): { sections: number; byDesc: Map<string, number> } {
  const byDesc = new Map<string, number>();
  let sections = 0;
  for (const line of text.split('\n')) {
    if (/^vcpu\d+ stats:$/.test(line)) sections++;
    const [d, v] = line.split('\t');
    if (v === undefined) continue;
    byDesc.set(d.trim(), (byDesc.get(d.trim()) ?? 0) + Number(v));
  }
  return { sections, byDesc };
}

describe('parseBhyvectlStats: constructed samples (layout of bhyvectl.c get_stats, %-40s\\t%ld)', () => {
  for (const [file, vendor] of [
    ['bhyvectl-intel-2vcpu-constructed.txt', 'intel'],
    ['bhyvectl-amd-1vcpu-constructed.txt', 'amd'],
  ] as const) {
    it(`${file}: sums over vCPUs, totals and the uncategorized remainder agree with the text`, () => {
      const text = read(file);
      const want = sums(text);
      const r = parseBhyvectlStats(text, file);
      assert.equal(r.format, 'bhyvectl');
      assert.equal(r.vendor, vendor);
      assert.equal(r.vcpus, want.sections);
      assert.equal(r.totalSamples, want.byDesc.get(BHYVE_TOTAL_STAT));
      let exitSum = 0;
      for (const row of r.rows) {
        if (row.reason === 'UNCATEGORIZED') continue;
        assert.equal(row.samples, want.byDesc.get(row.name), row.name);
        exitSum += row.samples;
      }
      const other = r.rows.find((x) => x.reason === 'UNCATEGORIZED')!;
      assert.equal(other.samples, want.byDesc.get(BHYVE_TOTAL_STAT)! - exitSum);
      assert.equal(
        r.rows.reduce((a, x) => a + x.samples, 0),
        r.totalSamples,
        'rows add up to the total',
      );
      assert.equal(r.stats!['vcpu total runtime'], want.byDesc.get('vcpu total runtime'));
      assert.equal(r.durationSeconds, undefined);
      assert.match(r.notes.join('\n'), /TSC ticks/);
      assert.ok(
        r.rows.every((x) => x.samples > 0),
        'zero counters are not rows',
      );
    });
  }

  it('Intel: codes and model kinds from vmx_exit_process()', () => {
    const r = parseBhyvectlStats(read('bhyvectl-intel-2vcpu-constructed.txt'), 'x');
    const by = new Map(r.rows.map((x) => [x.reason, x]));
    assert.deepEqual(
      [
        'EXTERNAL_INTERRUPT',
        'HLT',
        'CR_ACCESS',
        'MSR_READ',
        'MSR_WRITE',
        'INTERRUPT_WINDOW',
        'IO_INSTRUCTION',
        'CPUID',
        'NESTED_PAGE_FAULT',
        'MMIO_EMULATION',
        'EXCEPTION',
      ].map((k) => [k, by.get(k)!.code, modelExitName(by.get(k)!)]),
      [
        ['EXTERNAL_INTERRUPT', 1, 'EXTERNAL_INTERRUPT'],
        ['HLT', 12, 'HLT'],
        ['CR_ACCESS', 28, 'CR_ACCESS'],
        ['MSR_READ', 31, 'MSR_READ'],
        ['MSR_WRITE', 32, 'MSR_WRITE'],
        ['INTERRUPT_WINDOW', 7, 'INTERRUPT_WINDOW'],
        ['IO_INSTRUCTION', 30, 'IO_INSTRUCTION'],
        ['CPUID', 10, 'CPUID'],
        ['NESTED_PAGE_FAULT', 48, 'EPT_VIOLATION'],
        ['MMIO_EMULATION', 48, 'EPT_VIOLATION'],
        ['EXCEPTION', 0, 'EXCEPTION_NMI'],
      ],
    );
    assert.equal(r.stats!['ipis sent to vcpu[1]'], 295 + Math.trunc(295 * 0.7));
  });

  it('AMD: RDMSR and WRMSR are both VMEXIT_MSR (0x7c); the interrupt window is the AMD-only VMEXIT_VINTR counter', () => {
    const r = parseBhyvectlStats(read('bhyvectl-amd-1vcpu-constructed.txt'), 'x');
    const by = new Map(r.rows.map((x) => [x.reason, x]));
    assert.equal(by.get('MSR_READ')!.code, 0x7c);
    assert.equal(by.get('MSR_WRITE')!.code, 0x7c);
    assert.equal(modelExitName(by.get('MSR_WRITE')!), 'VMEXIT_MSR');
    assert.equal(by.get('INTERRUPT_WINDOW')!.name, 'VM exits due to interrupt window');
    assert.equal(by.get('INTERRUPT_WINDOW')!.code, 0x64);
    assert.equal(by.get('PAUSE')!.code, 0x77);
    assert.equal(modelExitName(by.get('PAUSE')!), 'VMEXIT_PAUSE');
    assert.equal(by.get('EXCEPTION')!.code, undefined);
  });

  it('spaces instead of the tab, CRLF, no vendor-specific counter', () => {
    const text = [
      'vcpu0 stats:',
      'total number of vm exits        12',
      'number of times hlt was intercepted  7',
      'vcpu migration across host cpus 3',
      // The other counters every bhyve prints (a section without them was cut), all 0.
      ...[
        'vm exits due to external interrupt',
        'number of times %cr access was intercepted',
        'number of times rdmsr was intercepted',
        'number of times wrmsr was intercepted',
        'number of monitor trap exits',
        'number of times pause was intercepted',
        'vm exits due to interrupt window opening',
        'vm exits due to nmi window opening',
        'number of times in/out was intercepted',
        'number of times cpuid was intercepted',
        'vm exits due to nested page fault',
        'number of vm exits for unknown reason',
      ].map((d) => `${d}  0`),
      '',
    ].join('\r\n');
    const r = parseBhyvectlStats(text, 'x');
    assert.equal(r.vendor, 'unknown');
    assert.equal(r.totalSamples, 12);
    assert.deepEqual(
      r.rows.map((x) => [x.reason, x.samples, x.code]),
      [
        ['HLT', 7, undefined],
        ['UNCATEGORIZED', 5, undefined],
      ],
    );
    assert.match(r.notes.join('\n'), /15 statistic line\(s\) had spaces/);
    assert.match(r.notes.join('\n'), /vendor unknown/);
  });

  it('statistics it does not know are kept and noted', () => {
    const r = parseBhyvectlStats('vcpu0 stats:\nvm exits due to external interrupt\t4\nsome future counter\t9\n', 'x');
    assert.equal(r.stats!['some future counter'], 9);
    assert.match(r.notes.join('\n'), /not known to this parser, kept in stats: some future counter/);
  });

  it('every exit counter description is unique and maps to a reason', () => {
    for (const [desc, st] of Object.entries(BHYVE_EXIT_STATS)) assert.ok(st.reason.length > 0, desc);
  });
});

const MALFORMED: ReadonlyArray<readonly [string, string]> = [
  [
    'bhyvectl-no-section.txt',
    `:1:1: expected 'vcpuN stats:' (the output of bhyvectl --get-stats), found "total number of vm exits                \\t118867"`,
  ],
  [
    'bhyvectl-bad-value.txt',
    `:3:42: expected a statistic line '<description><TAB><integer>' or 'vcpuN stats:', found "total number of vm exits                \\tmany"`,
  ],
  [
    'bhyvectl-total-too-small.txt',
    `:2:1: expected 'total number of vm exits' >= the sum of vcpu0's per-reason exit counters (110), found 100`,
  ],
  ['bhyvectl-duplicate-vcpu.txt', ':3:1: expected each vCPU once (vcpu0 already at line 1), found "vcpu0 stats:"'],
  [
    'bhyvectl-mixed-vendor.txt',
    ':4:1: expected counters of one vendor (line 3 "Number of vpid invalidations saved" is intel-only), found the amd-only counter "VM exits during event delivery"',
  ],
];

describe('parseBhyvectlStats: malformed input', () => {
  for (const [file, message] of MALFORMED) {
    it(`${file} -> file:line:col, expected, found`, () => {
      const name = `malformed/${file}`;
      assert.throws(
        () => parseBhyvectlStats(read(name), name),
        (e: unknown) => e instanceof ReportFormatError && e.message === `${name}${message}`,
      );
    });
  }

  it('a total in some sections only', () => {
    assert.throws(
      () =>
        parseBhyvectlStats(
          'vcpu0 stats:\ntotal number of vm exits\t3\nvcpu1 stats:\nvcpu migration across host cpus\t1\n',
          'p.txt',
        ),
      {
        message:
          "p.txt:3:1: expected 'total number of vm exits' in every vCPU section (it is in 1 of 2), found vcpu1 without it",
      },
    );
  });

  it('a section cut short (it has the total, not every counter bhyve prints) is refused: its exits were fitted as uncategorized, exit 0 (polish40)', () => {
    const text = readFileSync(join(DIR, 'bhyvectl-intel-2vcpu-constructed.txt'), 'utf8');
    const lines = text.split('\n');
    const vcpu1 = lines.findIndex((l) => l.startsWith('vcpu1 stats:'));
    const cut = lines.filter((l, i) => !(i > vcpu1 && /^number of times (%cr access|cpuid) was intercepted/.test(l)));
    assert.throws(() => parseBhyvectlStats(cut.join('\n'), 'c.txt'), {
      message: `c.txt:${vcpu1 + 1}:1: expected every exit counter bhyvectl prints in each vCPU section (bhyve has printed 13 of them since its first release; the output was cut when it was copied?), found vcpu1 without "number of times %cr access was intercepted" and 1 more`,
    });
  });

  it('a negative counter', () => {
    assert.throws(() => parseBhyvectlStats('vcpu0 stats:\ntotal number of vm exits\t-3\n', 'n.txt'), {
      message: 'n.txt:2:26: expected a non-negative counter, found -3',
    });
  });
});
