/**
 * A benchmark's servers run in a child process of their own, so that each end's CPU and memory are
 * its own; behind the delay link the process runs inside the link's namespace. The benchmark talks
 * to it over IPC.
 */
import { fork, type ForkOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DelayLink } from '../link/delay-link.js';

/** A benchmark's server process: messages answered one each, in order. */
export interface ServerProcess<Message> {
  ask<T>(message: Message): Promise<T>;
  /** Disconnects (the process closes its servers and exits) and waits for the exit. */
  close(): Promise<void>;
}

/** Datagrams a qfaas server endpoint sent and received so far, as a server process reports them. */
export interface ServerDatagrams {
  sent: number;
  received: number;
  /** The batched socket's counters, when the server uses it (QFAAS_UDP=batched). */
  batchedIo?: unknown;
}

/**
 * Forks `script` (TypeScript, through tsx) as a server process; behind a delay link it starts
 * inside the link's namespace, and the IPC channel crosses `ip netns exec`. `env` adds variables
 * to the child's environment.
 */
export function forkServerProcess<Message>(script: URL, link?: DelayLink, env?: NodeJS.ProcessEnv): ServerProcess<Message> {
  const common: ForkOptions = { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(env === undefined ? {} : { env: { ...process.env, ...env } }) };
  const forkOptions: ForkOptions =
    link === undefined
      ? { ...common, execArgv: ['--import', 'tsx'] }
      : { ...common, execPath: 'ip', execArgv: ['netns', 'exec', link.namespace, process.execPath, '--import', 'tsx'] };
  const child = fork(fileURLToPath(script), forkOptions);
  const replies: Array<(reply: unknown) => void> = [];
  child.on('message', (reply) => replies.shift()?.(reply));
  return {
    ask: <T>(message: Message) =>
      new Promise<T>((resolve) => {
        replies.push(resolve as (reply: unknown) => void);
        child.send(message as object);
      }),
    async close() {
      if (child.connected) child.disconnect();
      if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
