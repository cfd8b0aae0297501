import { Command } from 'commander';
import { isSluiceError, redactUrlsIn } from '@sluice/core';
import { endOnHangups } from './startup-signals.js';

/** The version `sluice --version` and `sluice version` print. */
const VERSION = '0.1.0';

/** One verb of `sluice`, in the order `sluice --help` lists them, and how to build it: its module is imported then. */
interface Verb {
  readonly name: string;
  readonly build: (onExit: (code: number) => void) => Promise<Command>;
}

/** The one of `commands` named `name` (a module that defines two verbs builds both). */
function named(commands: readonly Command[], name: string): Command {
  const command = commands.find((c) => c.name() === name);
  if (!command) throw new Error(`no command ${name}`);
  return command;
}

/**
 * Every verb, each with its module imported on first use: `sluice validate` loads the configuration checks, not the
 * runtime's HTTP servers, the admin API (express), the metrics (prom-client) or the admin client.
 */
const VERBS: readonly Verb[] = [
  {
    name: 'version',
    build: async (onExit) =>
      new Command('version').description('print the version (same as --version)').action(() => {
        process.stdout.write(`${VERSION}\n`);
        onExit(0);
      }),
  },
  { name: 'run', build: async (onExit) => (await import('./run-command.js')).runCommand(onExit, VERSION) },
  { name: 'validate', build: async (onExit) => (await import('./validate-command.js')).validateCommand(onExit) },
  { name: 'send', build: async (onExit) => (await import('./send.js')).sendCommand(onExit) },
  { name: 'bind', build: async (onExit) => (await import('./bind-command.js')).bindCommand(onExit) },
  { name: 'event-display', build: async (onExit) => (await import('./event-display.js')).eventDisplayCommand(onExit) },
  { name: 'dlq', build: async (onExit) => (await import('./dlq.js')).dlqCommand(onExit) },
  { name: 'get', build: async (onExit) => named((await import('./get.js')).resourceCommands(onExit), 'get') },
  { name: 'describe', build: async (onExit) => named((await import('./get.js')).resourceCommands(onExit), 'describe') },
  { name: 'apply', build: async (onExit) => named((await import('./apply.js')).changeCommands(onExit), 'apply') },
  { name: 'delete', build: async (onExit) => named((await import('./apply.js')).changeCommands(onExit), 'delete') },
  { name: 'replay', build: async (onExit) => (await import('./dlq.js')).replayCommand(onExit) },
  { name: 'tail', build: async (onExit) => (await import('./tail.js')).tailCommand(onExit) },
  { name: 'store', build: async (onExit) => (await import('./store-command.js')).storeCommand(onExit) },
];

/**
 * Builds the `sluice` command tree for `argv`: each verb comes from its own module (run-command.ts, send.ts, dlq.ts, …).
 * When the first argument names a verb, only that verb's module is imported (commander hands the rest to it); otherwise
 * (`--help`, `help`, an unknown verb or option, nothing) every verb, so help, suggestions and errors are the same.
 * A lone `--version` / `-V` needs none. Without `argv`, every verb.
 */
export async function buildProgram(onExit: (code: number) => void, argv?: readonly string[]): Promise<Command> {
  const program = new Command('sluice').description('A standalone CloudEvents broker and trigger engine for Knative Eventing YAML.').version(VERSION).showHelpAfterError('(add --help for usage)');
  const first = argv?.[2];
  const verb = VERBS.find((v) => v.name === first);
  const versionOnly = argv?.length === 3 && (first === '--version' || first === '-V');
  const verbs = verb ? [verb] : versionOnly ? [] : VERBS;
  for (const command of await Promise.all(verbs.map((v) => v.build(onExit)))) program.addCommand(command);
  return program;
}

/** Runs the CLI; resolves with an exit code for one-shot commands, or undefined for long-running ones. */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  let code: number | undefined;
  const program = await buildProgram((c) => {
    code = c;
    process.exitCode = c;
  }, argv);
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
