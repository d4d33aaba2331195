/**
 * The fault scenarios. Each submits real SpamAssassin trials to its own executor on the private
 * services, injects one fault, and reports what survived.
 */
import { hostileSpecs } from './hostile-specs.js';
import type { FaultWorld } from './fault-harness.js';
import { services, sleep, type ScenarioResult } from './fault-harness.js';

const DATASET = 'examples/data/spam-assassin.jsonl';
const TRIAL_TIMEOUT_MS = 240_000;
/** After the trials ended, how long the outbox may take to deliver what an outage held back. */
export const DELIVERY_TIMEOUT_MS = 90_000;

export function validSpec(trialId: string): object {
  return {
    trial_id: trialId,
    task_type: 'classification',
    tokenizer_ref: 'llama2',
    device_profile: 'cpu',
    seq_len: 64,
    embed_dim: 16,
    budget_seconds: 300,
    dataset_uri: DATASET,
    primary_metric: 'val_accuracy',
    hparams: { epochs: 4, batch_size: 64, learning_rate: 0.02 },
  };
}

export type Scenario = (world: FaultWorld) => Promise<Partial<ScenarioResult>>;

/** Submits one trial and waits until its worker reported a first epoch. */
async function oneTrialRunning(world: FaultWorld): Promise<string> {
  const trialId = `${world.root}-t1`;
  world.trialIds.push(trialId);
  await world.submit([validSpec(trialId)]);
  await world.waitFor(
    () => world.messages(trialId).some((m) => m.type === 'heartbeat.epoch'),
    TRIAL_TIMEOUT_MS,
    'the first epoch',
  );
  return trialId;
}

/** Time from `since` until the trial's next state change seen on the bus. */
function recoveredAfter(world: FaultWorld, trialId: string, since: number): number | null {
  const later = world
    .messages(trialId)
    .filter((m) => m.type === 'trial.state_changed' && Date.parse(String(m.ts)) > since)
    .map((m) => Date.parse(String(m.ts)));
  return later.length > 0 ? Math.min(...later) - since : null;
}

export const scenarios: Record<string, Scenario> = {
  'worker SIGKILL mid-epoch': async (world) => {
    const trialId = await oneTrialRunning(world);
    const hello = world.messages(trialId).find((m) => m.type === 'heartbeat.hello');
    const killedAt = Date.now();
    process.kill(Number(hello?.pid), 'SIGKILL');
    await world.waitTerminal(TRIAL_TIMEOUT_MS);
    return { recoverMs: recoveredAfter(world, trialId, killedAt) };
  },

  'executor SIGKILL mid-epoch, restart': async (world) => {
    const trialId = await oneTrialRunning(world);
    await world.stopExecutor('SIGKILL');
    const restartedAt = Date.now();
    world.startExecutor();
    await world.waitTerminal(TRIAL_TIMEOUT_MS);
    return { recoverMs: recoveredAfter(world, trialId, restartedAt) };
  },

  // Recovery here is the time from the broker's return until the bus has every event, which the
  // outbox held back meanwhile.
  'RabbitMQ stopped 15 s and restarted': async (world) => {
    await oneTrialRunning(world);
    services('stop-rabbitmq');
    await sleep(15_000);
    services('start-rabbitmq');
    const backAt = Date.now();
    await world.waitTerminal(TRIAL_TIMEOUT_MS);
    return { recoverMs: await world.waitDelivered(backAt, DELIVERY_TIMEOUT_MS) };
  },

  'Postgres restarted': async (world) => {
    const trialId = await oneTrialRunning(world);
    services('stop-postgres');
    await sleep(10_000);
    services('start-postgres');
    const backAt = Date.now();
    await world.waitTerminal(TRIAL_TIMEOUT_MS);
    return { recoverMs: recoveredAfter(world, trialId, backAt) };
  },

  'S3 gateway stopped 15 s during checkpoint uploads': async (world) => {
    const trialId = `${world.root}-t1`;
    world.trialIds.push(trialId);
    await world.submit([validSpec(trialId)]);
    await world.waitFor(
      () => world.messages(trialId).some((m) => m.type === 'heartbeat.checkpoint'),
      TRIAL_TIMEOUT_MS,
      'the first checkpoint',
    );
    services('stop-s3-gateway');
    await sleep(15_000);
    services('start-s3-gateway');
    const backAt = Date.now();
    await world.waitTerminal(TRIAL_TIMEOUT_MS);
    return { recoverMs: recoveredAfter(world, trialId, backAt) };
  },

  '1,000 malformed or hostile specs + 5 valid': async (world) => {
    const hostile = hostileSpecs(world.root, 1000);
    const bodies: Array<object | Buffer> = [];
    for (let i = 0; i < hostile.length; i += 1) {
      bodies.push(hostile[i] as Buffer);
      if (i % 200 === 199) {
        const trialId = `${world.root}-v${world.trialIds.length + 1}`;
        world.trialIds.push(trialId);
        bodies.push(validSpec(trialId));
      }
    }
    await world.submit(bodies);
    await world.waitTerminal(TRIAL_TIMEOUT_MS * 2);
    const alive = world.executor?.exitCode === null && world.executor.signalCode === null;
    const dead = await world.deadLetters();
    const extraTrials = (await world.storedTrialCount()) - world.trialIds.length;
    return {
      notes: [
        `executor ${alive ? 'alive' : 'DEAD'}`,
        `dead-lettered with a reason ${dead.withReason}/${hostile.length}`,
        `hostile specs run as trials: ${extraTrials}`,
      ].join('; '),
      ok: alive && dead.withReason === hostile.length && extraTrials === 0,
    };
  },
};
