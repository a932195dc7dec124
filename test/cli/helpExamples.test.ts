/**
 * The examples of `serve --help` and `start --help` run as written, one after the other: each curl
 * addresses the port the service example before it listens on. `serve --help` started the service
 * on port 9090 and then sent its curl to 8080, where nothing listened (connection refused).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';
import { capture } from '../support/cli.js';

/** The lines of a command's "Examples:" section. */
async function examples(command: string): Promise<string[]> {
  const io = capture();
  assert.equal(await main([command, '--help'], io), 0);
  const help = io.stdout.join('');
  const at = help.indexOf('Examples:');
  assert.ok(at >= 0, `${command} --help has examples`);
  return help
    .slice(at)
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

for (const command of ['serve', 'start']) {
  test(`${command} --help: every curl example addresses the port the service example before it listens on`, async () => {
    let port: number | undefined;
    let curls = 0;
    for (const line of await examples(command)) {
      const code = line.replace(/\s+#.*$/, '');
      if (/^(npm start|vmexit-lab (serve|start))\b/.test(code)) {
        const m = /--port[ =](\d+)/.exec(code);
        port = m ? Number(m[1]) : 8080;
        continue;
      }
      for (const url of code.matchAll(/http:\/\/127\.0\.0\.1:(\d+)\//g)) {
        curls++;
        assert.notEqual(port, undefined, `${line}: no service example before it`);
        assert.equal(Number(url[1]), port, `${line}: the service example before it listens on ${port}`);
      }
    }
    assert.ok(curls > 0, `${command} --help has a curl example`);
  });
}

test("every command's --help: the options' descriptions start in one column (rules' -h and import's --interrupts-per-second N were out of it)", async () => {
  const commands = ['start', 'serve', 'run', 'validate', 'trace', 'replay', 'list', 'compare', 'merge', 'rules'];
  for (const command of [...commands, 'cpus', 'import', 'what-if', 'validate-model']) {
    const io = capture();
    assert.equal(await main([command, '--help'], io), 0, command);
    // An option line with its description beside it: the option, its value, two or more spaces.
    const starts = new Map<number, string>();
    for (const line of io.stdout.join('').split('\n')) {
      const m = /^( {2}(?:-\w, )?--?[\w-]+(?: \S+)?)( {2,})\S/.exec(line);
      if (m !== null) starts.set(m[1].length + m[2].length, line);
    }
    assert.equal(starts.size, 1, `${command}:\n${[...starts.values()].join('\n')}`);
  }
});
