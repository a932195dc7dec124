/**
 * The profile importers' messages name file:line:col, as every reader of user input does (the report
 * importers, the YAML loaders): the column is where the line's text starts, after a dmesg log prefix
 * ('[1] ', '... kernel: '). They named file:line only.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { importCpuinfo } from '../../src/profiles/importCpuinfo.js';
import { importDmesg, ProfileImportError } from '../../src/profiles/importDmesg.js';

function refusal(read: () => unknown): ProfileImportError {
  try {
    read();
  } catch (e) {
    assert.ok(e instanceof ProfileImportError, String(e));
    return e;
  }
  assert.fail('accepted');
}

const CPU = 'CPU: Intel(R) Core(TM) i7-2620M CPU @ 2.70GHz (2691.30-MHz K8-class CPU)';

describe('profile importers: file:line:col', () => {
  it('dmesg: the column of the line text, after a log prefix', () => {
    const plain = `${CPU}\n  VT-x: Basic Features=0xda0400<SMM,INS/OUTS,TRUE>\n        Pin-Based Controls=0xQQ\n`;
    const e = refusal(() => importDmesg(plain, { sourceName: 'bad.dmesg' }));
    assert.equal(e.column, 9);
    assert.match(e.message, /^bad\.dmesg:3:9: expected Pin-Based Controls=0x/);
    const logged = plain.replace(/^/gm, '[1] ').replace(/\[1\] $/, '');
    assert.match(refusal(() => importDmesg(logged, { sourceName: 'b' })).message, /^b:3:13: expected Pin-Based/);
  });

  it('dmesg: a thing missing at the end is named at column 1 of the line after the last', () => {
    assert.match(refusal(() => importDmesg(`${CPU}\n`, { sourceName: 'b' })).message, /^b:2:1: expected /);
  });

  it('cpuinfo: the column of the line text', () => {
    const e = refusal(() => importCpuinfo('  hello\nworld\n', { sourceName: 'c' }));
    assert.equal(e.message.slice(0, 17), 'c:1:3: expected a');
  });
});
