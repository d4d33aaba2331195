#!/usr/bin/env node
import { Command, Option } from 'commander';
import { TASK_TYPES } from '../contracts/index.js';
import { TOKENIZER_BACKENDS } from '../ingest/token-encoder.js';
import { DEVICE_PROFILES } from '../policy/device-profiles.js';
import { AutomatError } from '../errors/index.js';
import { cancelCommand } from './commands/cancel.js';
import { ingestCommand } from './commands/ingest.js';
import { runCommand } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { showCommand } from './commands/show.js';
import { submitCommand } from './commands/submit.js';

// The AWS SDK tells every Node 20 process, at its first S3 client, that SDK versions published
// after January 2027 will need Node 22. The lockfile pins a version that supports Node 20, so
// the notice concerns an upgrade, not this install (README, "Node versions"); set the variable
// to "false" to see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const program = new Command()
  .name('automat0')
  .description('Fast executor for hyperparameter-search trials')
  .showHelpAfterError();

program
  .command('serve')
  .description('consume TrialSpecs from the RabbitMQ intake queue and run them')
  .addOption(
    new Option('--profile <name>', 'device profile of this machine')
      .choices(Object.keys(DEVICE_PROFILES))
      .default('cpu'),
  )
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

program
  .command('ingest <dataset_uri>')
  .description('tokenize a dataset into cached shards ahead of a search')
  .requiredOption('--tokenizer <ref>', 'tokenizer: registry name, path or s3:// URI')
  .requiredOption('--seq-len <n>', 'tokens per row, 8 to 8192')
  .addOption(new Option('--task <type>', 'task type').choices(TASK_TYPES).default('classification'))
  .option(
    '--val-fraction <f>',
    'share held out for validation, above 0 and at most 0.5 (default 0.2)',
  )
  .option('--seed <n>', 'seed of the train/validation split (default 1337)')
  .option('--max-bad-fraction <f>', 'share of bad lines tolerated, 0 to 1 (default 0.01)')
  .option('--threads <n>', 'tokenizer threads (default: all cores)')
  .addOption(
    new Option('--backend <name>', 'tokenizer implementation')
      .choices(TOKENIZER_BACKENDS)
      .default('native'),
  )
  .option('--json', 'print the result as JSON')
  .action((uri, options) => exit(ingestCommand(uri, options)));

program
  .command('cancel <trial_id>')
  .description('ask the executor running a trial to stop it after its current epoch')
  .option('--reason <text>', 'why; recorded with the stop')
  .option('--timeout <seconds>', "how long to wait for an executor's answer", '10')
  .action((trialId, options) => exit(cancelCommand(trialId, options)));

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
