import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { checkHtml, externalReferences } from './htmlCheck.js';
import { capture } from '../support/cli.js';

const small = (name: string): string => `name: ${name}
description: "Two policies <side by side> & one guest"
host: { cpu: i7-2620M, cores: 4 }
guests:
  - os: windows-10-1909
    vcpus: 2
    phases:
      - { phase: idle, duration: 2s }
duration: 2s
matrix:
  policy: [bhyve-12.1, bhyve-tpr-v3]
thresholds:
  exits_per_second{reason="CR_ACCESS",variant="bhyve-tpr-v3"}: ["== 0"]
`;

test('run --html writes one self-contained report next to the other outputs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmexit-lab-html-'));
  try {
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    writeFileSync(a, small('html-a'));
    writeFileSync(b, small('html-b'));
    const one = join(dir, 'one.html');
    const out = join(dir, 'r.json');
    assert.equal(await main(['run', '--quiet', '--workers', '1', '--out', out, '--html', one, a], capture()), 0);
    const html = readFileSync(one, 'utf8');
    assert.deepEqual(checkHtml(html).problems, []);
    assert.deepEqual(externalReferences(html), []);
    assert.ok(html.includes('<title>vmexit-lab report: html-a</title>'));
    assert.ok(
      html.includes('<p class="description">Two policies &lt;side by side&gt; &amp; one guest</p>'),
      'the scenario description, escaped',
    );
    assert.ok(html.includes('data-chart="exits"'));
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).scenario, 'html-a', 'the other outputs are still written');

    const both = join(dir, 'both.html');
    assert.equal(await main(['run', '--quiet', '--workers', '1', '--html', both, a, b], capture()), 0);
    const two = readFileSync(both, 'utf8');
    assert.deepEqual(checkHtml(two).problems, []);
    assert.equal((two.match(/<section class="report"/g) ?? []).length, 2, 'one document, a section per scenario');

    const help = capture();
    assert.equal(await main(['run', '--help'], help), 0);
    assert.match(help.stdout.join(''), /--html FILE/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
