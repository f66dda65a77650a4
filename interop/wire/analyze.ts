/**
 * What the interop cases prove from the wire: the relay's capture is grouped into QUIC connections
 * and read the way an on-path observer can. Initial packets are opened with keys anyone can derive
 * (ClientHello and ServerHello: suites, PSK, early data); Retry, 0-RTT and Handshake packets are
 * counted from their cleartext headers; 1-RTT packets are opened with a TLS key log when one of
 * the ends wrote it (key phases, for key updates).
 */
import type { CapturedDatagram, RelayDirection } from '../udp-relay.js';
import { cryptoFrames, openPacket, parseDatagram, unmaskHeader, type PacketType, type WirePacket } from './packets.js';
import { initialKeys, nextSecret, openPayload, packetKeys, type PacketKeys } from './quic-crypto.js';
import { CryptoStream, handshakeMessages, parseClientHello, parseServerHello, type ClientHelloInfo, type ServerHelloInfo } from './tls-messages.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

type Counts = Record<PacketType, { packets: number; bytes: number }>;
const emptyCounts = (): Counts => ({
  initial: { packets: 0, bytes: 0 },
  '0rtt': { packets: 0, bytes: 0 },
  handshake: { packets: 0, bytes: 0 },
  retry: { packets: 0, bytes: 0 },
  'version-negotiation': { packets: 0, bytes: 0 },
  '1rtt': { packets: 0, bytes: 0 },
});

/** A datagram of one connection, its packets parsed. */
interface ConnectionDatagram {
  datagram: CapturedDatagram;
  packets: WirePacket[];
}

/** Address validation and the 3x limit (RFC 9000 section 8.1), as the path saw it. */
export interface AmplificationView {
  /** Bytes of the client's datagrams the server received before its address was validated. */
  clientBytes: number;
  /** Bytes the server sent before that (also the ones the relay dropped: they were sent). */
  serverBytes: number;
  /** Highest ratio of server bytes to client bytes received, at any server datagram before validation. */
  peakRatio: number;
  /** Size of the client's first datagram. */
  firstClientDatagram: number;
  /** Bytes the server sent in Initial and Handshake packets over the whole handshake. */
  serverHandshakeFlight: number;
  /** How the address was validated: a Handshake packet, the server's connection ID, or never seen. */
  validatedBy: 'handshake-packet' | 'server-connection-id' | 'not-seen';
}

/** One QUIC connection as the path saw it. */
export interface WireConnection {
  flow: string;
  /** The client's source connection ID (hex): the connection's name. */
  clientCid: string;
  /** The connection ID the server chose (its first Initial's source), hex. */
  serverCid: string | undefined;
  startedAt: number;
  clientHello: ClientHelloInfo | undefined;
  serverHello: ServerHelloInfo | undefined;
  /** Retry packets the server sent for this connection. */
  retries: number;
  /** Client Initial packets that carried a token. */
  initialsWithToken: number;
  sent: Record<RelayDirection, Counts>;
  amplification: AmplificationView;
  datagrams: ConnectionDatagram[];
}

class ConnectionBuilder {
  readonly connection: WireConnection;
  keyDcid: Uint8Array;
  keys: { client: PacketKeys; server: PacketKeys };
  readonly largest = { toServer: -1, toClient: -1 };
  readonly crypto = { toServer: new CryptoStream(), toClient: new CryptoStream() };

  constructor(flow: string, clientCid: Uint8Array, dcid: Uint8Array, at: number) {
    this.keyDcid = Uint8Array.from(dcid);
    this.keys = initialKeys(this.keyDcid);
    this.connection = {
      flow,
      clientCid: hex(clientCid),
      serverCid: undefined,
      startedAt: at,
      clientHello: undefined,
      serverHello: undefined,
      retries: 0,
      initialsWithToken: 0,
      sent: { toServer: emptyCounts(), toClient: emptyCounts() },
      amplification: { clientBytes: 0, serverBytes: 0, peakRatio: 0, firstClientDatagram: 0, serverHandshakeFlight: 0, validatedBy: 'not-seen' },
      datagrams: [],
    };
  }

  /** Reads an Initial packet's CRYPTO frames (the hellos). */
  readInitial(packet: WirePacket, direction: RelayDirection): void {
    const keys = direction === 'toServer' ? this.keys.client : this.keys.server;
    const opened = openPacket(packet, keys, this.largest[direction]);
    if (opened === undefined) return;
    this.largest[direction] = Math.max(this.largest[direction], opened.packetNumber);
    const stream = this.crypto[direction];
    for (const chunk of cryptoFrames(opened.payload)) stream.add(chunk);
    for (const message of handshakeMessages(stream.contiguous())) {
      if (message.type === 1 && direction === 'toServer') this.connection.clientHello ??= parseClientHello(message.body);
      if (message.type === 2 && direction === 'toClient') {
        const hello = parseServerHello(message.body);
        // A HelloRetryRequest is followed by the real ServerHello on the same stream.
        if (hello !== undefined && (this.connection.serverHello === undefined || this.connection.serverHello.helloRetryRequest)) this.connection.serverHello = hello;
      }
    }
  }
}

/** Groups a relay capture into connections and reads their handshakes. */
export function analyzeCapture(capture: readonly CapturedDatagram[]): WireConnection[] {
  const builders: ConnectionBuilder[] = [];
  const byClientCid = new Map<string, ConnectionBuilder>();
  const latestOnFlow = (flow: string) => builders.filter((builder) => builder.connection.flow === flow).at(-1);

  // Keyed by flow too: a client that owns its socket may use a zero-length connection ID (quic-go does).
  const key = (flow: string, cid: Uint8Array) => `${flow}/${hex(cid)}`;
  for (const datagram of capture) {
    const first = datagram.data[0];
    if (first === undefined) continue;
    let builder: ConnectionBuilder | undefined;
    if ((first & 0x80) !== 0) {
      const head = parseDatagram(datagram.data, undefined)[0];
      if (head === undefined) continue;
      if (datagram.direction === 'toServer') {
        const cid = head.scid ?? new Uint8Array();
        builder = byClientCid.get(key(datagram.flow, cid));
        if (builder === undefined && head.type === 'initial') {
          builder = new ConnectionBuilder(datagram.flow, cid, head.dcid, datagram.at);
          builders.push(builder);
          byClientCid.set(key(datagram.flow, cid), builder);
        }
      } else {
        builder = byClientCid.get(key(datagram.flow, head.dcid));
      }
    } else {
      builder = latestOnFlow(datagram.flow);
    }
    if (builder === undefined) continue;
    const connection = builder.connection;
    const shortDcidLength = datagram.direction === 'toServer' ? (connection.serverCid === undefined ? undefined : connection.serverCid.length / 2) : connection.clientCid.length / 2;
    const packets = parseDatagram(datagram.data, shortDcidLength);
    connection.datagrams.push({ datagram, packets });
    for (const packet of packets) {
      const counts = connection.sent[datagram.direction][packet.type];
      counts.packets++;
      counts.bytes += packet.bytes.length;
      if (packet.type === 'retry' && datagram.direction === 'toClient' && packet.scid !== undefined) {
        // After a Retry the client derives new Initial keys from the Retry's source connection ID.
        connection.retries++;
        builder.keyDcid = Uint8Array.from(packet.scid);
        builder.keys = initialKeys(builder.keyDcid);
        builder.largest.toServer = -1;
        builder.largest.toClient = -1;
      }
      if (packet.type === 'initial') {
        if (datagram.direction === 'toServer' && (packet.token?.length ?? 0) > 0) connection.initialsWithToken++;
        if (datagram.direction === 'toClient' && connection.serverCid === undefined && packet.scid !== undefined) connection.serverCid = hex(packet.scid);
        builder.readInitial(packet, datagram.direction);
      }
    }
  }
  for (const builder of builders) builder.connection.amplification = amplification(builder.connection);
  return builders.map((builder) => builder.connection);
}

function amplification(connection: WireConnection): AmplificationView {
  const view: AmplificationView = { clientBytes: 0, serverBytes: 0, peakRatio: 0, firstClientDatagram: 0, serverHandshakeFlight: 0, validatedBy: 'not-seen' };
  for (const { datagram, packets } of connection.datagrams) {
    if (datagram.direction === 'toClient') {
      view.serverHandshakeFlight += packets.filter((p) => p.type === 'initial' || p.type === 'handshake').reduce((sum, p) => sum + p.bytes.length, 0);
    }
  }
  for (const { datagram, packets } of connection.datagrams) {
    if (datagram.direction === 'toServer') {
      if (view.firstClientDatagram === 0) view.firstClientDatagram = datagram.data.length;
      if (datagram.dropped) continue;
      if (packets.some((p) => p.type === 'handshake')) {
        view.validatedBy = 'handshake-packet';
        break;
      }
      if (connection.serverCid !== undefined && packets.some((p) => hex(p.dcid) === connection.serverCid)) {
        view.validatedBy = 'server-connection-id';
        break;
      }
      view.clientBytes += datagram.data.length;
    } else {
      view.serverBytes += datagram.data.length;
      if (view.clientBytes > 0) view.peakRatio = Math.max(view.peakRatio, view.serverBytes / view.clientBytes);
    }
  }
  return view;
}

/** A TLS key log (NSS format): secrets by client random (hex) and label. */
export type KeyLog = Map<string, Map<string, Buffer>>;

export function parseKeyLog(text: string): KeyLog {
  const log: KeyLog = new Map();
  for (const line of text.split('\n')) {
    const [label, random, secret] = line.trim().split(/\s+/);
    if (label === undefined || random === undefined || secret === undefined || label.startsWith('#')) continue;
    let entry = log.get(random.toLowerCase());
    if (entry === undefined) log.set(random.toLowerCase(), (entry = new Map()));
    entry.set(label, Buffer.from(secret, 'hex'));
  }
  return log;
}

/** One direction's 1-RTT packets, opened with the key log. */
export interface KeyPhaseView {
  /** Packets opened, per key generation (0 before any key update). */
  packetsByGeneration: number[];
  /** When each generation's first packet passed the relay (`performance.now()`). */
  firstAt: number[];
  /** Payload bytes carried by 1-RTT packets of this direction before each generation began. */
  bytesBefore: number[];
  totalBytes: number;
  /** Packets no key of any generation opened. */
  unopened: number;
}

/**
 * Opens a connection's 1-RTT packets with the secrets of its key log entry and follows the key
 * phase through key updates (RFC 9001 section 6). Undefined when the log has no entry for it.
 */
export function keyPhases(connection: WireConnection, keyLog: KeyLog): Record<RelayDirection, KeyPhaseView> | { missing: string } {
  const random = connection.clientHello?.random;
  if (random === undefined) return { missing: 'no ClientHello seen' };
  const suite = connection.serverHello?.cipherSuite;
  if (suite === undefined) return { missing: 'no ServerHello seen' };
  const entry = keyLog.get(random);
  const secrets = { toServer: entry?.get('CLIENT_TRAFFIC_SECRET_0'), toClient: entry?.get('SERVER_TRAFFIC_SECRET_0') };
  if (secrets.toServer === undefined || secrets.toClient === undefined) return { missing: 'the key log has no 1-RTT secrets for this connection' };
  const result = {} as Record<RelayDirection, KeyPhaseView>;
  for (const direction of ['toServer', 'toClient'] as const) {
    const generations: PacketKeys[] = [packetKeys(suite, secrets[direction] as Buffer)];
    let generationSecret = secrets[direction] as Buffer;
    const keysOf = (generation: number): PacketKeys => {
      while (generations.length <= generation) {
        generationSecret = nextSecret(suite, generationSecret);
        generations.push(packetKeys(suite, generationSecret, (generations[0] as PacketKeys).hp));
      }
      return generations[generation] as PacketKeys;
    };
    const view: KeyPhaseView = { packetsByGeneration: [0], firstAt: [], bytesBefore: [], totalBytes: 0, unopened: 0 };
    let current = 0;
    let largest = -1;
    for (const { datagram, packets } of connection.datagrams) {
      if (datagram.direction !== direction) continue;
      for (const packet of packets) {
        if (packet.type !== '1rtt') continue;
        const unmasked = unmaskHeader(packet, keysOf(0), largest);
        if (unmasked === undefined) {
          view.unopened++;
          continue;
        }
        // The phase bit names the generation's parity: this one, the next, or (reordered) the last.
        const candidates = unmasked.keyPhase === current % 2 ? [current, current - 2] : [current + 1, current - 1];
        let opened: number | undefined;
        for (const generation of candidates) {
          if (generation < 0) continue;
          const sealed = packet.bytes.subarray(unmasked.header.length);
          if (openPayload(keysOf(generation), unmasked.packetNumber, unmasked.header, sealed) !== undefined) {
            opened = generation;
            break;
          }
        }
        if (opened === undefined) {
          view.unopened++;
          continue;
        }
        largest = Math.max(largest, unmasked.packetNumber);
        if (opened > current) {
          current = opened;
          view.firstAt[opened] = datagram.at;
          view.bytesBefore[opened] = view.totalBytes;
        }
        if (view.firstAt[0] === undefined) {
          view.firstAt[0] = datagram.at;
          view.bytesBefore[0] = 0;
        }
        view.packetsByGeneration[opened] = (view.packetsByGeneration[opened] ?? 0) + 1;
        view.totalBytes += packet.bytes.length;
      }
    }
    result[direction] = view;
  }
  return result;
}
