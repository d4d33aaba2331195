import { curveKeyPair } from 'zeromq';

/**
 * Binds a trial attempt's ZeroMQ link to the one worker launched for it, with CURVE.
 *
 * Each attempt gets a fresh server key pair. Both executor sockets are CURVE servers, and a
 * peer can only complete the handshake if it knows the server's public key, which travels to
 * the worker alone (in its environment, never on its command line, where `ps` would show it).
 * So a foreign process on the machine, or a worker left over from an earlier attempt, can
 * neither send heartbeats for the trial nor take its control messages off the PUSH socket; and
 * the frames are encrypted on the wire.
 *
 * Not protected: a process running as the same user can read the worker's environment
 * (`/proc/<pid>/environ`) and so learn the key; isolating trials from each other at that level
 * needs separate users or containers.
 */
export interface ChannelKeys {
  /** Given to the worker: knowing it is what admits a peer. */
  serverPublicKey: string;
  /** Stays in the executor. */
  serverSecretKey: string;
}

/** The environment variable through which the launcher hands the key to the worker. */
export const CHANNEL_KEY_ENV = 'AUTOMAT_WORKER_CHANNEL_KEY';

export function newChannelKeys(): ChannelKeys {
  const { publicKey, secretKey } = curveKeyPair();
  return { serverPublicKey: publicKey, serverSecretKey: secretKey };
}

/** Socket options for an executor-side socket. */
export function serverSocketOptions(keys: ChannelKeys) {
  return {
    curveServer: true,
    curvePublicKey: keys.serverPublicKey,
    curveSecretKey: keys.serverSecretKey,
  };
}

/** Socket options for a worker-side socket: its own throwaway key pair plus the server's key. */
export function clientSocketOptions(serverPublicKey: string) {
  const client = curveKeyPair();
  return {
    curveServerKey: serverPublicKey,
    curvePublicKey: client.publicKey,
    curveSecretKey: client.secretKey,
  };
}
