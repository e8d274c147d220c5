import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { InvalidArgumentError } from '../dist/index.js';
import { checkEnv, memoryMib, quote, shellCommand, timeoutSecs } from '../dist/internal/shell.js';

/** What /bin/sh makes of the text: each argument printed on its own line. */
function words(text) {
  return execFileSync('sh', ['-c', `set -- ${text}; for a in "$@"; do printf '%s\\n' "$a"; done`]).toString();
}

test('an argv survives the shell word for word', () => {
  const argv = ['echo', "it's", '$HOME', 'a b', '*', '`id`', '"q"', '\\', 'semi;colon', ''];
  assert.equal(words(argv.map(quote).join(' ')), argv.map((a) => `${a}\n`).join(''));
});

test('a string command is shell text as it is', () => {
  assert.equal(shellCommand('echo hi | tr a-z A-Z'), 'echo hi | tr a-z A-Z');
  assert.equal(shellCommand(['ls', '-la', 'my dir']), "ls -la 'my dir'");
});

test('cwd is entered with cd -- and a failing cd stops the command', () => {
  const tmp = execFileSync('mktemp', ['-d']).toString().trim();
  const text = shellCommand('pwd', tmp);
  assert.equal(text, `cd -- ${tmp} || exit; pwd`);
  assert.equal(execFileSync('sh', ['-c', text]).toString().trim(), tmp);
  const missing = shellCommand('echo ran', '-no such dir');
  assert.throws(() => execFileSync('sh', ['-c', missing], { stdio: 'pipe' }), (e) => e.status !== 0 && !e.stdout.toString().includes('ran'));
});

test('bad commands, env names, timeouts and sizes are refused with the value named', () => {
  assert.throws(() => shellCommand('  '), InvalidArgumentError);
  assert.throws(() => checkEnv({ 'A-B': 'x' }), /"A-B"/);
  assert.deepEqual(checkEnv({ FOO_1: 'bar' }), { FOO_1: 'bar' });
  assert.throws(() => timeoutSecs(-1, 'exec'), /exec timeout -1/);
  assert.equal(timeoutSecs(1.2, 'exec'), 2);
  assert.equal(memoryMib('2G'), 2048);
  assert.equal(memoryMib('512M'), 512);
  assert.equal(memoryMib(1024), 1024);
  assert.throws(() => memoryMib('lots'), /"lots"/);
});
