/**
 * Run by test/transport/batched-udp.test.ts inside a network namespace of its own (`unshare -rn`):
 * loopback behind a slow token bucket (tc tbf), so that datagrams wait in the queue and the
 * sender's small socket buffer fills: the kernel says EAGAIN, as it would on a busy link. Sends
 * `count` datagrams in one batch from a native batched socket to another and prints, as one JSON
 * line, what sendBatch returned, how often onDrain was called and what arrived, in which order.
 */
import { execFileSync } from 'node:child_process';
import { BatchedUdpSocket, loadBatchedUdp } from '../../src/transport/quic/batched-udp.js';

const count = Number(process.argv[2] ?? 200);
execFileSync('ip', ['link', 'set', 'lo', 'up']);
execFileSync('tc', ['qdisc', 'add', 'dev', 'lo', 'root', 'tbf', 'rate', '4mbit', 'burst', '1600', 'limit', '4000000']);
const native = loadBatchedUdp();
if (native instanceof Error) throw native;
const sender = new BatchedUdpSocket(native, 4, { host: '127.0.0.1', port: 0 });
const receiver = new BatchedUdpSocket(native, 4, { host: '127.0.0.1', port: 0 });
sender.setSendBufferSize(4096);
const received: number[] = [];
let drains = 0;
let receivedAtDrain = -1;
const done = new Promise<void>((resolve) => {
  receiver.onDatagram = (message) => {
    received.push(message.readUInt32BE(0));
    if (received.length === count) resolve();
  };
});
sender.onDrain = () => {
  drains++;
  receivedAtDrain = received.length;
};
for (let i = 0; i < count; i++) {
  const offset = i * sender.slotSize;
  sender.sendBuffer.fill(i & 0xff, offset, offset + 1200);
  sender.sendBuffer.writeUInt32BE(i, offset);
  sender.describe(i, offset, 1200, { host: '127.0.0.1', port: receiver.port });
}
const accepted = sender.sendBatch(count);
const queuedAtReturn = sender.stats().queueLength;
let timer: NodeJS.Timeout | undefined;
await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, 15_000)))]);
clearTimeout(timer);
const stats = sender.stats();
console.log(
  JSON.stringify({ accepted, queuedAtReturn, drains, receivedAtDrain, received: received.length, inOrder: received.every((v, i) => v === i), sendErrors: stats.sendErrors, queueLength: stats.queueLength }),
);
sender.close();
receiver.close();
