import { Command } from 'commander';
import { isSluiceError, redactUrlsIn } from '@sluice/core';
import { runCommand } from './run-command.js';
import { validateCommand } from './validate-command.js';
import { sendCommand } from './send.js';
import { bindCommand } from './bind-command.js';
import { eventDisplayCommand } from './event-display.js';
import { dlqCommand, replayCommand } from './dlq.js';
import { storeCommand } from './store-command.js';
import { resourceCommands } from './get.js';
import { changeCommands } from './apply.js';
import { tailCommand } from './tail.js';
import { endOnHangups } from './startup-signals.js';

/** The version `sluice --version` and `sluice version` print. */
const VERSION = '0.1.0';

/** Builds the `sluice` command tree: each verb group comes from its own module (run-command.ts, send.ts, dlq.ts, …). */
export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command('sluice').description('A standalone CloudEvents broker and trigger engine for Knative Eventing YAML.').version(VERSION).showHelpAfterError('(add --help for usage)');

  program
    .command('version')
    .description('print the version (same as --version)')
    .action(() => {
      process.stdout.write(`${VERSION}\n`);
      onExit(0);
    });

  program.addCommand(runCommand(onExit, VERSION));
  program.addCommand(validateCommand(onExit));
  program.addCommand(sendCommand(onExit));
  program.addCommand(bindCommand(onExit));
  program.addCommand(eventDisplayCommand(onExit));
  program.addCommand(dlqCommand(onExit));
  for (const command of resourceCommands(onExit)) program.addCommand(command);
  for (const command of changeCommands(onExit)) program.addCommand(command);
  program.addCommand(replayCommand(onExit));
  program.addCommand(tailCommand(onExit));
  program.addCommand(storeCommand(onExit));

  return program;
}

/** Runs the CLI; resolves with an exit code for one-shot commands, or undefined for long-running ones. */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  let code: number | undefined;
  const program = buildProgram((c) => {
    code = c;
    process.exitCode = c;
  });
  // Only `sluice run` serves a SIGHUP; any other command ends on one, as by Node's default, held while loading or not.
  program.hook('preAction', async (_program, command) => {
    if (command.name() === 'run' && command.parent === program) return;
    await endOnHangups();
  });
  // Usage errors exit 2 (commander uses 1); subcommands need the override too.
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const cmd of all(program)) {
    // Commands added with addCommand do not inherit the hint: one line after a usage error, everywhere.
    cmd.showHelpAfterError('(add --help for usage)');
    cmd.exitOverride((err) => {
      throw Object.assign(new Error(err.message), { exitCode: err.exitCode === 1 ? 2 : err.exitCode });
    });
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const exitCode = (err as { exitCode?: number }).exitCode;
    if (exitCode !== undefined) return exitCode;
    if (isSluiceError(err, 'SLUICE_USAGE')) {
      const command = argv.slice(2).find((a) => !a.startsWith('-'));
      process.stderr.write(`sluice${command ? ` ${command}` : ''}: ${err.message}\n(add --help for usage)\n`);
      return 2;
    }
    throw err;
  }
  return code;
}

/** The one line the CLI prints for an error no command handled, with any URL's password shown as `***`. */
export function fatalMessage(err: unknown): string {
  return `sluice: ${redactUrlsIn(err instanceof Error ? err.message : String(err))}\n`;
}
