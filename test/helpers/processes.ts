import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs a TypeScript file under tsx in a child process. */
export function spawnTs(file: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', `${root}${file}`, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * Waits for output matching `pattern` on the child's stdout (or stderr); rejects with what the
 * child printed if it times out or exits first.
 */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000, from: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; stdout: ${out}; stderr: ${err}`)), timeoutMs);
    const check = () => {
      const match = pattern.exec(from === 'stdout' ? out : err);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (from === 'stderr') check();
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (from === 'stdout') check();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited with ${code} before ${pattern}; stderr: ${err}`));
    });
  });
}

/** {@link waitForLine} on stderr, where qfaas-watchdog reports its ports. */
export function waitForStderr(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return waitForLine(child, pattern, timeoutMs, 'stderr');
}

/** Runs a child to completion and returns its stdout. */
export function runToEnd(child: ChildProcess, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; stderr: ${err}`));
    }, timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`exited with ${code}; stderr: ${err}`));
    });
  });
}

/** Ends a child that waits on stdin, and waits for it to exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
