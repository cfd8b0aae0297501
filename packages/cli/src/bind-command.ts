import { Command, Option } from 'commander';
import { brokerChecks, loadConfig } from '@sluice/config';
import { redactUrlsIn } from '@sluice/core';
import { resolveBinding, runBoundCommand, sourceChecks } from '@sluice/sources';
import { collect, intArg } from './args.js';
import { printErrors } from './load.js';

/** `sluice bind`: runs a command with the environment a Knative SinkBinding gives a workload; exits with its code. */
export function bindCommand(onExit: (code: number) => void): Command {
  return new Command('bind')
    .description('run a command bound to a sink, as a Knative SinkBinding binds a workload (K_SINK, K_CE_OVERRIDES, K_CA_CERTS)')
    .usage('(--sink <sink> | --binding <name[:namespace]> -f <file>) [options] -- <command> [args...]')
    .argument('<command...>', 'the command to run, after --')
    .option('--sink <sink>', 'broker:NAME[:NAMESPACE] or an http(s) URL')
    .option('--binding <name[:namespace]>', 'use a SinkBinding from the -f files (by its name, or its Process subject name)')
    .option('-f, --filename <path>', 'YAML file or directory with the SinkBinding (repeatable)', collect, [])
    .addOption(new Option('--server <url>', 'base URL of the Sluice ingress, for broker sinks').env('SLUICE_SERVER').default('http://127.0.0.1:8080'))
    .option('--ce-override <key=value>', 'CloudEvent extension every event must carry, passed in K_CE_OVERRIDES (repeatable)', collect, [])
    .option('--sink-timeout <seconds>', 'passed as K_SINK_TIMEOUT', intArg('--sink-timeout', 1))
    .addOption(new Option('--service-url-template <template>', 'URL for Service refs; {name} and {namespace} are replaced').env('SLUICE_SERVICE_URL_TEMPLATE'))
    .addOption(
      new Option('--data-dir <dir>', 'data directory of the sluice run serving the sink: its OIDC token for the SinkBinding is passed in SLUICE_OIDC_TOKEN_FILE')
        .env('SLUICE_DATA_DIR')
        .default('.sluice'),
    )
    .action(
      async (
        command: string[],
        opts: { sink?: string; binding?: string; filename: string[]; server: string; ceOverride: string[]; sinkTimeout?: number; serviceUrlTemplate?: string; dataDir: string },
      ) => {
        let config;
        if (opts.filename.length > 0) {
          // bind serves no webhook, so the webhook secrets of the same files need not be readable here.
          const result = loadConfig(opts.filename, { checks: [brokerChecks(), sourceChecks({ checkSecrets: false })] });
          if (result.errors.length > 0) {
            printErrors(result);
            onExit(2);
            return;
          }
          config = result.config;
        }
        let binding;
        try {
          binding = resolveBinding(opts, config);
        } catch (err) {
          process.stderr.write(`sluice bind: ${redactUrlsIn((err as Error).message)}\n`);
          onExit(2);
          return;
        }
        process.stderr.write(`sluice bind: K_SINK=${redactUrlsIn(binding.sinkUrl)}\n`);
        if (binding.tokenFile !== undefined) process.stderr.write(`sluice bind: SLUICE_OIDC_TOKEN_FILE=${binding.tokenFile}\n`);
        onExit(await runBoundCommand(command, binding.env));
      },
    );
}
