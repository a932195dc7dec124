/**
 * `-` (standard input for many tools) is a file name here; with no such file, validate and run say
 * how to read standard input: /dev/stdin. They said "cannot read the file: ENOENT: no such file or
 * directory, stat '-'".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

test('validate - and run -: exit 2, one line pointing at /dev/stdin', async () => {
  for (const args of [
    ['validate', '-'],
    ['run', '--quiet', '-'],
  ]) {
    const io = capture();
    assert.equal(await main(args, io), 2, args.join(' '));
    assert.equal(
      io.stderr.join('').trimEnd(),
      '-: error: no file named "-" (to read the scenario from standard input, give /dev/stdin)',
      args.join(' '),
    );
  }
});
