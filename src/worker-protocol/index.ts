export { TrialChannel, type TrialChannelOptions } from './trial-channel.js';
export { WorkerEndpoint, type WorkerEndpointOptions } from './worker-endpoint.js';
export { launchWorker, type WorkerLaunchOptions, type WorkerProcess } from './worker-launcher.js';
export {
  WorkerExitCode,
  classifyExit,
  looksLikeOutOfMemory,
  type ExitClassification,
  type WorkerExit,
} from './worker-exit.js';
export { formatWorkerArgs, parseWorkerArgs, type WorkerArgs } from './worker-args.js';
export type { ControlInput, HeartbeatInput } from './frame-codec.js';
export { ChannelClosedError, ChannelError } from './channel-error.js';
export { CHANNEL_KEY_ENV, newChannelKeys, type ChannelKeys } from './channel-keys.js';
