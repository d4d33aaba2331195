#!/usr/bin/env node
import { Command } from 'commander';
import { AutomatError } from '../errors/index.js';
import { runCommand } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { showCommand } from './commands/show.js';
import { submitCommand } from './commands/submit.js';

const program = new Command()
  .name('automat0')
  .description('Fast executor for hyperparameter-search trials')
  .showHelpAfterError();

program
  .command('serve')
  .description('consume TrialSpecs from the RabbitMQ intake queue and run them')
  .option('--profile <name>', 'device profile of this machine', 'cpu')
  .action((options) => exit(serveCommand(options)));

program
  .command('submit <spec>')
  .description('publish a TrialSpec file to the intake queue')
  .option('--raw', 'publish without validating first')
  .action((spec, options) => exit(submitCommand(spec, options)));

program
  .command('run <spec>')
  .description('run one trial in-process, with no servers (embedded database, local files)')
  .option('--trial-id <id>', 'override the trial_id in the file')
  .action((spec, options) => exit(runCommand(spec, options)));

program
  .command('show <trial_id>')
  .description('print a stored trial, its result and its epochs')
  .option('--server', "read the executor's Postgres database instead of the local one")
  .action((trialId, options) => exit(showCommand(trialId, options)));

function exit(result: Promise<number>): void {
  result.then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const code = error instanceof AutomatError ? ` [${error.code}]` : '';
      console.error(`automat0: ${error instanceof Error ? error.message : String(error)}${code}`);
      process.exitCode = 2;
    },
  );
}

await program.parseAsync();
