import { Command } from 'commander';
import { collect } from './args.js';
import { loadAndCheck, printErrors, printNotices, printWarnings } from './load.js';

/** `sluice validate`: checks files as `sluice run` would, without running them; exit 1 when any has an error. */
export function validateCommand(onExit: (code: number) => void): Command {
  return new Command('validate')
    .description('validate files without running them; prints file:line:col: message per error')
    .requiredOption('-f, --filename <path>', 'YAML file or directory (repeatable)', collect)
    .option('-R, --recursive', 'also read the subdirectories of directories given with -f')
    .option('--strict', 'references to undeclared resources are errors, not warnings')
    .action((opts: { filename: string[]; recursive?: boolean; strict?: boolean }) => {
      const result = loadAndCheck(opts.filename, { recursive: opts.recursive === true, strict: opts.strict === true });
      printNotices(result);
      printWarnings(result);
      if (result.errors.length > 0) {
        printErrors(result);
        process.stderr.write(`${result.errors.length} error${result.errors.length === 1 ? '' : 's'}\n`);
        onExit(1);
        return;
      }
      const w = result.warnings.length;
      process.stdout.write(
        `${result.config.resources.length} resource${result.config.resources.length === 1 ? '' : 's'} valid${w > 0 ? ` (${w} warning${w === 1 ? '' : 's'}: references to resources not declared)` : ''}\n`,
      );
      onExit(0);
    });
}
