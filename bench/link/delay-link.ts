/**
 * A user-space delay link for benchmarks: a network namespace the benchmark creates, a TUN device
 * on each side, and the C relay (relay.c) forwarding IP packets between them with a one-way delay
 * and optional loss. Every protocol crosses it at packet level, TCP handshakes included.
 *
 *   outside (this namespace)  10.77.2n.1 ── tun ── relay ── tun ── 10.77.2n+1.1  inside (the namespace)
 *
 * n is the first block whose addresses no other link (of this or another process) has taken, so
 * several links can exist at once.
 *
 * Needs root. Everything created is removed by close(), on exit and on Ctrl-C.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const echoPort = 7;
let linksMade = 0;

export interface DelayLinkOptions {
  /** One-way delay in microseconds. @default 0 */
  delayUs?: number;
  /** Random loss per direction, in parts per million. @default 0 */
  lossPpm?: number;
  /** Seed for the loss decisions. @default 1 */
  seed?: number;
  /** MTU of both TUN devices, 1280 to 9000 (9000: jumbo frames). @default 1500 */
  mtu?: number;
}

export interface LinkSelfCheck {
  delayUs: number;
  /** Median UDP echo RTT through the link with no delay: the kernel's and the relay's own cost. */
  floorRttUs: number;
  /** Median UDP echo RTT at `delayUs`. */
  rttUs: number;
  /** rttUs − floorRttUs: what the link adds; should be 2 × delayUs. */
  addedRttUs: number;
  toleranceUs: number;
  ok: boolean;
}

export interface DelayLink {
  readonly namespace: string;
  /** This side's address on the link. */
  readonly outsideAddress: string;
  /** The namespace's address: servers inside listen on it. */
  readonly insideAddress: string;
  readonly delayUs: number;
  setDelay(delayUs: number): Promise<void>;
  setLoss(lossPpm: number): Promise<void>;
  /** Starts a process inside the namespace. */
  spawnInside(command: string, args: string[], options?: { env?: NodeJS.ProcessEnv }): ChildProcess;
  /** Measures the link with UDP echoes: the added RTT must be 2 × delay within max(10%, 50 µs). */
  selfCheck(samples?: number): Promise<LinkSelfCheck>;
  close(): Promise<void>;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Compiles relay.c when the binary is missing or older than the source. */
export function relayBinary(): string {
  const source = join(here, 'relay.c');
  const binary = join(here, '..', '..', 'node_modules', '.cache', 'qfaas-bench', 'relay');
  let stale = true;
  try {
    stale = statSync(binary).mtimeMs < statSync(source).mtimeMs;
  } catch {
    stale = true;
  }
  if (stale) {
    mkdirSync(dirname(binary), { recursive: true });
    execFileSync('cc', ['-O2', '-Wall', '-o', binary, source], { stdio: 'inherit' });
  }
  return binary;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function tryIp(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    // Already gone.
  }
}

/** A line-oriented child: waits for `ready`, then answers each control line with `ok`. */
function lines(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else queue.push(line);
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const line = queue.shift();
      if (line !== undefined) return resolve(line);
      const onExit = (code: number | null) => reject(new Error(`relay exited with code ${code}`));
      child.once('exit', onExit);
      waiters.push((next) => {
        child.off('exit', onExit);
        resolve(next);
      });
    });
}

/**
 * Claims an address block for a link whose outside device is up: the route to the inside address
 * is the claim, since `ip route add` refuses a route that exists. Tries the first block no route
 * names yet; when another process claims it first, the next one.
 */
function claimAddressBlock(outsideDevice: string): number {
  for (let attempt = 0; attempt < 8; attempt++) {
    const routes = execFileSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' });
    let n = 0;
    while (n < 128 && routes.includes(`10.77.${2 * n + 1}.1 `)) n++;
    if (n === 128) break;
    try {
      ip('route', 'add', `10.77.${2 * n + 1}.1/32`, 'dev', outsideDevice);
      return n;
    } catch {
      // Claimed by another link between the listing and the add: list again.
    }
  }
  throw new Error('no free delay-link address block in 10.77.0.0/16');
}

export async function createDelayLink(options: DelayLinkOptions = {}): Promise<DelayLink> {
  const mtu = options.mtu ?? 1500;
  if (!Number.isInteger(mtu) || mtu < 1280 || mtu > 9000) throw new Error(`the link's mtu must be from 1280 to 9000, not ${mtu}`);
  if (!isRoot()) throw new Error('the delay link needs root (network namespaces and TUN devices)');
  const binary = relayBinary();
  // Device names are at most 15 bytes.
  const tag = `qfl${process.pid % 100_000}x${linksMade++ % 100}`;
  let outsideAddress = '';
  let insideAddress = '';
  const namespace = tag;
  const outsideDevice = `${tag}o`;
  const insideDevice = `${tag}i`;
  const children = new Set<ChildProcess>();
  let closed = false;

  const teardown = () => {
    if (closed) return;
    closed = true;
    for (const child of children) child.kill('SIGKILL');
    tryIp('netns', 'exec', namespace, 'ip', 'link', 'del', insideDevice);
    tryIp('netns', 'del', namespace);
    tryIp('link', 'del', outsideDevice);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    teardown();
    process.kill(process.pid, signal);
  };
  process.once('exit', teardown);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    ip('netns', 'add', namespace);
    ip('tuntap', 'add', 'dev', outsideDevice, 'mode', 'tun');
    ip('tuntap', 'add', 'dev', insideDevice, 'mode', 'tun');
    ip('link', 'set', insideDevice, 'netns', namespace);
    ip('link', 'set', outsideDevice, 'up', 'mtu', String(mtu));
    const index = claimAddressBlock(outsideDevice);
    outsideAddress = `10.77.${2 * index}.1`;
    insideAddress = `10.77.${2 * index + 1}.1`;
    ip('addr', 'add', `${outsideAddress}/32`, 'dev', outsideDevice);
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up');
    ip('netns', 'exec', namespace, 'ip', 'addr', 'add', `${insideAddress}/32`, 'dev', insideDevice);
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', insideDevice, 'up', 'mtu', String(mtu));
    ip('netns', 'exec', namespace, 'ip', 'route', 'add', `${outsideAddress}/32`, 'dev', insideDevice);
  } catch (error) {
    teardown();
    throw error;
  }

  const relay = spawn(
    binary,
    [outsideDevice, `/var/run/netns/${namespace}`, insideDevice, String(options.delayUs ?? 0), String(options.lossPpm ?? 0), String(options.seed ?? 1)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.add(relay);
  const nextLine = lines(relay);
  try {
    if ((await nextLine()) !== 'ready') throw new Error('the relay did not start');
  } catch (error) {
    teardown();
    throw error;
  }
  let delayUs = options.delayUs ?? 0;
  const control = async (line: string) => {
    relay.stdin?.write(`${line}\n`);
    if ((await nextLine()) !== 'ok') throw new Error(`the relay refused: ${line}`);
  };

  const spawnInside = (command: string, args: string[], spawnOptions: { env?: NodeJS.ProcessEnv } = {}) => {
    const child = spawn('ip', ['netns', 'exec', namespace, command, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: spawnOptions.env ?? process.env,
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };

  // The C pinger and echo server spin instead of sleeping: what is measured is the link itself.
  const medianEchoRtt = async (samples: number): Promise<number> => {
    const output = await new Promise<string>((resolve, reject) => {
      const pinger = spawn(binary, ['ping', insideAddress, String(echoPort), String(samples)], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.add(pinger);
      let text = '';
      pinger.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      pinger.once('error', reject);
      pinger.once('exit', (code) => {
        children.delete(pinger);
        if (code === 0) resolve(text);
        else reject(new Error(text.includes('timeout') ? 'no echo through the link in 3 tries of 1 s' : `the pinger exited with code ${code}`));
      });
    });
    const rtts = output.trim().split('\n').map(Number).sort((a, b) => a - b);
    return rtts[Math.floor(rtts.length / 2)] as number;
  };

  return {
    namespace,
    outsideAddress,
    insideAddress,
    get delayUs() {
      return delayUs;
    },
    async setDelay(next) {
      await control(`delay ${Math.round(next)}`);
      delayUs = next;
    },
    async setLoss(lossPpm) {
      await control(`loss ${Math.round(lossPpm)}`);
    },
    spawnInside,
    async selfCheck(samples = 200) {
      const echo = spawnInside(binary, ['echo', String(echoPort)]);
      try {
        if ((await lines(echo)()) !== 'ready') throw new Error('the echo server did not start');
        const target = delayUs;
        let floorRttUs: number;
        try {
          await control('delay 0');
          floorRttUs = await medianEchoRtt(samples);
        } finally {
          await control(`delay ${target}`);
        }
        const rttUs = await medianEchoRtt(samples);
        const addedRttUs = rttUs - floorRttUs;
        const toleranceUs = Math.max(0.1 * 2 * target, 50);
        return { delayUs: target, floorRttUs, rttUs, addedRttUs, toleranceUs, ok: Math.abs(addedRttUs - 2 * target) <= toleranceUs };
      } finally {
        echo.kill('SIGKILL');
      }
    },
    async close() {
      relay.stdin?.end();
      await new Promise<void>((resolve) => {
        if (relay.exitCode !== null) return resolve();
        const timer = setTimeout(() => relay.kill('SIGKILL'), 1000);
        relay.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      teardown();
      process.off('exit', teardown);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
