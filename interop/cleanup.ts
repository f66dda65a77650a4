/**
 * What the runner leaves behind must be nothing: every peer process it started is killed by its
 * pid, and every temporary directory (they hold private keys) is removed, also when the run ends
 * early (an exception, Ctrl-C). Adapters call `trackChild` for each process they spawn.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const directories = new Set<string>();
let hooked = false;

function cleanUpNow(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  directories.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', cleanUpNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanUpNow();
      process.exit(130);
    });
  }
}

export function trackChild(child: ChildProcess): void {
  hook();
  children.add(child);
  child.once('close', () => children.delete(child));
}

export function untrackChild(child: ChildProcess): void {
  children.delete(child);
}

/** Processes started and not yet exited. */
export function runningChildren(): number {
  return [...children].filter((child) => child.exitCode === null && child.signalCode === null).length;
}

/** A temporary directory to remove at exit if its owner does not first. */
export function trackDirectory(directory: string): void {
  hook();
  directories.add(directory);
}

export function removeDirectory(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
  directories.delete(directory);
}
