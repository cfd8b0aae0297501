import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram } from '../src/main.js';

const onExit = (): void => undefined;

test('sluice builds only the verb its first argument names, the same command as in the whole tree', async () => {
  const whole = await buildProgram(onExit);
  const names = whole.commands.map((c) => c.name());
  assert.deepEqual(names, ['version', 'run', 'validate', 'send', 'bind', 'event-display', 'dlq', 'get', 'describe', 'apply', 'delete', 'replay', 'tail', 'store']);
  for (const name of names) {
    const program = await buildProgram(onExit, ['node', 'sluice', name, '--help']);
    assert.deepEqual(
      program.commands.map((c) => c.name()),
      [name],
    );
    // Same options, arguments, description and subcommands as when every verb is built.
    assert.equal(program.commands[0]!.helpInformation(), whole.commands.find((c) => c.name() === name)!.helpInformation(), name);
  }
});

test('sluice builds every verb for help, an unknown verb or an option first; none for a lone --version', async () => {
  for (const args of [[], ['--help'], ['help', 'validate'], ['valdate'], ['--bogus', 'validate']]) {
    assert.equal((await buildProgram(onExit, ['node', 'sluice', ...args])).commands.length, 14, args.join(' '));
  }
  for (const args of [['--version'], ['-V']]) {
    assert.deepEqual((await buildProgram(onExit, ['node', 'sluice', ...args])).commands, [], args.join(' '));
  }
});
