/**
 * docs/IMPORT.md "When the fit cannot reach the report": the example's commands print what the page
 * shows (each shown line, exactly; the exit status after `echo $?`), the profiles they write load, and
 * the prose's figures hold (every other reason within 0.14 % on the i7-2620M, every reason within
 * 0.1 % on the Xeon E5-2667 v4).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { main } from '../../src/cli/main.js';
import { REPO_ROOT } from '../../src/model/data.js';
import { parseWorkloadProfile } from '../../src/scenario/workload.js';
import { capture } from '../support/cli.js';

interface Shown {
  readonly args: string[];
  readonly lines: string[];
  status?: number;
}

/** The `$ vmexit-lab ...` commands of the example block, each with the lines shown after it and its status. */
function exampleCommands(): Shown[] {
  const page = readFileSync(join(REPO_ROOT, 'docs', 'IMPORT.md'), 'utf8');
  const at = page.indexOf('Example, the constructed bhyvectl sample');
  assert.ok(at > 0, 'the example paragraph');
  const open = page.indexOf('```\n', at) + 4;
  const block = page.slice(open, page.indexOf('```', open)).split('\n');
  const out: Shown[] = [];
  for (let i = 0; i < block.length; i++) {
    const line = block[i];
    if (line.startsWith('$ vmexit-lab ')) out.push({ args: line.slice('$ vmexit-lab '.length).split(' '), lines: [] });
    else if (line === '$ echo $?') out[out.length - 1].status = Number(block[++i]);
    else if (line !== '') out[out.length - 1].lines.push(line);
  }
  return out;
}

describe('docs/IMPORT.md: the example of a report the fit cannot reach', () => {
  it('prints what the page shows, exits as it says, and writes profiles that load', async () => {
    const shown = exampleCommands();
    assert.equal(shown.length, 2);
    const dir = mkdtempSync(join(tmpdir(), 'importdoc-'));
    try {
      const errors: Record<string, number>[] = [];
      for (const [n, cmd] of shown.entries()) {
        const file = join(dir, `win${n}.yaml`);
        const args = cmd.args.map((a, i) => (cmd.args[i - 1] === '-o' ? file : a));
        const io = capture();
        const status = await main(args, io);
        const printed = [...io.stdout, ...io.stderr].join('\n').split('\n');
        assert.equal(status, cmd.status, io.stderr.join('\n'));
        for (const line of cmd.lines)
          assert.ok(printed.includes(line), `${cmd.args[2]}: not printed:\n${line}\n---\n${printed.join('\n')}`);
        const text = readFileSync(file, 'utf8');
        parseWorkloadProfile(text, file);
        const fit = (parse(text) as { fit: Record<string, { driver: string; errorPercent: number | null }> }).fit;
        // The fitted reasons: the section also lists the report's rows the model has no exit kind for
        // (the sample's exits without a bhyve counter, 'unknown reason', -100 % by definition).
        const fitted = Object.entries(fit).filter(([, v]) => v.driver !== 'unknown reason');
        errors.push(Object.fromEntries(fitted.map(([k, v]) => [k, Math.abs(v.errorPercent ?? 0)])));
      }
      const [i7, xeon] = errors;
      assert.ok(i7.EPT_VIOLATION > 100, JSON.stringify(i7));
      // The page's "every other reason within 0.6 %" (0.2 % until 2026-12-06): the vCPU runs ~1 % of
      // the time at the interrupt-rate floor, and since a HLT exit's entry part is paid after each of
      // its 286 wake-ups a second (docs/MODEL.md section 3) that floor leaves the reachable reasons
      // 0.1-0.6 % low together; one Poisson standard deviation of the span's HLTs is 0.5 %.
      for (const [reason, e] of Object.entries(i7))
        if (reason !== 'EPT_VIOLATION') assert.ok(e <= 0.6, `${reason} ${e}`);
      for (const [reason, e] of Object.entries(xeon)) assert.ok(e <= 0.1, `${reason} ${e}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
