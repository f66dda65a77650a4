import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CredentialsError } from '../errors.js';
import { ticketKeyLength } from '../transport/quic/config.js';
import { parseCredentialsText } from './credentials-text.js';
import { Secret } from './secret.js';
import {
  deserializePeerSettings,
  isSerializedPeerSettings,
  serializedPeerSettingsShape,
  serializePeerSettings,
  type Http3PeerSettings,
  type SerializedPeerSettings,
} from '../transport/h3/settings.js';

/** The name of the environment variable that carries a worker's credentials. */
export const credentialsEnvVar = 'QFAAS_CREDENTIALS';

/** Serializable HTTP/3 SETTINGS remembered with a session (see qfaas/transport). */
/** What function code needs to call the chain gateway, with a session so the first call is 0-RTT. */
export interface ChainCredentials {
  gatewayServerName: string;
  /** Where the chain gateway listens, when the control plane knows it at launch. */
  gatewayHost?: string;
  gatewayPort?: number;
  /** The worker's client certificate towards the gateway (role 'chain'). */
  certificate: { certPem: string; keyPem: Secret<string> };
  session?: Secret<Uint8Array>;
  sessionExpiresAt?: number;
  /** The gateway's HTTP/3 SETTINGS, which the first 0-RTT call relies on. */
  settings?: Http3PeerSettings;
}

/**
 * Everything a worker instance needs to serve the platform over QUIC with 0-RTT: its certificate
 * and key, the platform CA (to authenticate invokers), its own ticket key, and optionally what its
 * function code needs to call other functions. Secrets are wrapped in {@link Secret}.
 */
export interface WorkerCredentials {
  version: 1;
  functionName: string;
  instanceId: string;
  /** The name the worker's certificate carries and invokers dial, e.g. `i-1.echo.qfaas.internal`. */
  serverName: string;
  caPem: string;
  certificate: { certPem: string; keyPem: Secret<string> };
  /** 48 bytes that encrypt this instance's session tickets. */
  ticketKey: Secret<Uint8Array>;
  /** Whether invokers must present a certificate from the platform CA (mutual TLS). */
  clientAuth: 'required' | 'none';
  chain?: ChainCredentials;
  issuedAt: number;
}

// ---- Wire format ------------------------------------------------------------------------------

const pem = (label: string) =>
  z
    .string()
    .max(64 * 1024)
    .refine((value) => value.includes(`-----BEGIN ${label}-----`) && value.includes(`-----END ${label}-----`), {
      message: `must be PEM with a ${label} block`,
    });
const base64 = z.string().max(64 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/, { message: 'must be base64' });
const dnsLabel = z.string().min(1).max(63).regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, { message: 'must be a lowercase DNS label' });
const dnsName = z.string().min(1).max(253).regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, { message: 'must be a lowercase DNS name' });
const settingsSchema = z.custom<SerializedPeerSettings>(isSerializedPeerSettings, serializedPeerSettingsShape);

const chainSchema = z.object({
  gatewayServerName: dnsName,
  gatewayHost: z.string().max(255).optional(),
  gatewayPort: z.number().int().min(1).max(65535).optional(),
  certPem: pem('CERTIFICATE'),
  keyPem: pem('PRIVATE KEY'),
  session: base64.optional(),
  sessionExpiresAt: z.number().int().positive().optional(),
  settings: settingsSchema.optional(),
});

const wireSchema = z.object({
  kind: z.literal('qfaas-worker-credentials'),
  version: z.literal(1),
  functionName: dnsLabel,
  instanceId: dnsLabel,
  serverName: dnsName,
  caPem: pem('CERTIFICATE'),
  certPem: pem('CERTIFICATE'),
  keyPem: pem('PRIVATE KEY'),
  ticketKey: base64,
  clientAuth: z.enum(['required', 'none']),
  chain: chainSchema.optional(),
  issuedAt: z.number().int().positive(),
  /** SHA-256 over the other fields in a fixed order: catches truncation and editing. */
  digest: z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be a hex SHA-256' }),
});

type Wire = z.infer<typeof wireSchema>;
type WireWithoutDigest = Omit<Wire, 'digest'>;

function toWire(credentials: WorkerCredentials): Wire {
  const chain = credentials.chain;
  const body: WireWithoutDigest = {
    kind: 'qfaas-worker-credentials',
    version: 1,
    functionName: credentials.functionName,
    instanceId: credentials.instanceId,
    serverName: credentials.serverName,
    caPem: credentials.caPem,
    certPem: credentials.certificate.certPem,
    keyPem: credentials.certificate.keyPem.reveal(),
    ticketKey: Buffer.from(credentials.ticketKey.reveal()).toString('base64'),
    clientAuth: credentials.clientAuth,
    ...(chain === undefined ? {} : { chain: chainToWire(chain) }),
    issuedAt: credentials.issuedAt,
  };
  return { ...body, digest: digestOf(body) };
}

function chainToWire(chain: ChainCredentials): z.infer<typeof chainSchema> {
  return {
    gatewayServerName: chain.gatewayServerName,
    ...(chain.gatewayHost === undefined ? {} : { gatewayHost: chain.gatewayHost }),
    ...(chain.gatewayPort === undefined ? {} : { gatewayPort: chain.gatewayPort }),
    certPem: chain.certificate.certPem,
    keyPem: chain.certificate.keyPem.reveal(),
    ...(chain.session === undefined ? {} : { session: Buffer.from(chain.session.reveal()).toString('base64') }),
    ...(chain.sessionExpiresAt === undefined ? {} : { sessionExpiresAt: chain.sessionExpiresAt }),
    ...(chain.settings === undefined ? {} : { settings: serializePeerSettings(chain.settings) }),
  };
}

function chainFromWire(chain: z.infer<typeof chainSchema>, ca: X509Certificate, now: number): ChainCredentials {
  checkLeaf(chain.certPem, chain.keyPem, ca, now, 'chain.certPem', 'chain.keyPem');
  return {
    gatewayServerName: chain.gatewayServerName,
    ...(chain.gatewayHost === undefined ? {} : { gatewayHost: chain.gatewayHost }),
    ...(chain.gatewayPort === undefined ? {} : { gatewayPort: chain.gatewayPort }),
    certificate: { certPem: chain.certPem, keyPem: new Secret(chain.keyPem, 'private key') },
    ...(chain.session === undefined ? {} : { session: new Secret(Uint8Array.from(Buffer.from(chain.session, 'base64')), 'session ticket') }),
    ...(chain.sessionExpiresAt === undefined ? {} : { sessionExpiresAt: chain.sessionExpiresAt }),
    ...(chain.settings === undefined ? {} : { settings: deserializePeerSettings(chain.settings) }),
  };
}

function digestOf(body: object): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** JSON with object keys sorted, so the digest does not depend on key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The bundle's digest covers every other field (unkeyed: corruption, not tampering). */
function checkDigest(bundle: { digest: string }): void {
  const { digest, ...body } = bundle;
  if (digestOf(body) !== digest) throw new CredentialsError('digest', 'does not match the bundle: it was edited or truncated');
}

function parseCaCertificate(caPem: string): X509Certificate {
  const ca = parseCertificate(caPem, 'caPem');
  if (!ca.ca) throw new CredentialsError('caPem', 'is not a CA certificate');
  return ca;
}

function fromWire(wire: Wire, now: number): WorkerCredentials {
  checkDigest(wire);
  const ticketKey = Buffer.from(wire.ticketKey, 'base64');
  if (ticketKey.length !== ticketKeyLength) throw new CredentialsError('ticketKey', `must decode to ${ticketKeyLength} bytes, not ${ticketKey.length}`);
  const ca = parseCaCertificate(wire.caPem);
  checkLeaf(wire.certPem, wire.keyPem, ca, now, 'certPem', 'keyPem');
  const leaf = new X509Certificate(wire.certPem);
  if (leaf.checkHost(wire.serverName) === undefined) throw new CredentialsError('serverName', 'is not a name in certPem');
  const credentials: WorkerCredentials = {
    version: 1,
    functionName: wire.functionName,
    instanceId: wire.instanceId,
    serverName: wire.serverName,
    caPem: wire.caPem,
    certificate: { certPem: wire.certPem, keyPem: new Secret(wire.keyPem, 'private key') },
    ticketKey: new Secret(Uint8Array.from(ticketKey), 'ticket key'),
    clientAuth: wire.clientAuth,
    issuedAt: wire.issuedAt,
  };
  if (wire.chain !== undefined) credentials.chain = chainFromWire(wire.chain, ca, now);
  return credentials;
}

function parseCertificate(text: string, field: string): X509Certificate {
  try {
    return new X509Certificate(text);
  } catch {
    throw new CredentialsError(field, 'is not a parsable X.509 certificate');
  }
}

/** How far ahead of this host's clock a certificate's start may be (the CA backdates by as much). */
const clockSkewMs = 5 * 60_000;

/**
 * Refuses a certificate outside its validity. Credentials are issued per worker instance and
 * never renewed in place, so an expired one is fixed only by provisioning the worker again.
 */
function checkValidity(leaf: X509Certificate, now: number, field: string): void {
  const what = field.startsWith('chain.') ? 'the chain certificate' : 'the worker certificate';
  const validTo = Date.parse(leaf.validTo);
  if (validTo < now) {
    throw new CredentialsError(field, `${what} expired on ${new Date(validTo).toISOString()}; re-provision the worker (qfaas provision, or ZeroRttGenerator.provision) and start it with the new credentials`);
  }
  const validFrom = Date.parse(leaf.validFrom);
  if (validFrom > now + clockSkewMs) {
    throw new CredentialsError(field, `${what} is not valid until ${new Date(validFrom).toISOString()}: is this host's clock behind? If it is right, re-provision the worker`);
  }
}

/**
 * @internal Refuses credentials whose certificate expired (or is not valid yet) with the same
 * CredentialsError as `loadCredentials`: a worker may be started from credentials loaded earlier.
 * A certificate that does not parse is left to the QUIC config, which names it.
 */
export function checkCredentialsCurrent(certPem: string, field: 'certPem' | 'chain.certPem', now = Date.now()): void {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch {
    return;
  }
  checkValidity(leaf, now, field);
}

function checkLeaf(certPem: string, keyPem: string, ca: X509Certificate, now: number, certField: string, keyField: string): void {
  const leaf = parseCertificate(certPem, certField);
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) throw new CredentialsError(certField, 'is not signed by caPem');
  checkValidity(leaf, now, certField);
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey({ key: keyPem, format: 'pem' });
  } catch {
    throw new CredentialsError(keyField, 'is not a parsable private key');
  }
  if (!leaf.checkPrivateKey(key)) throw new CredentialsError(keyField, `does not belong to ${certField}`);
}

/** Parses with a zod schema; a refusal names the first offending field. */
function parseWithSchema<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue === undefined ? '' : issue.path.map(String).join('.');
  throw new CredentialsError(field, issue?.message ?? 'is invalid');
}

// ---- Encoding ---------------------------------------------------------------------------------

/** How `encodeCredentials` writes a bundle: a JSON file, an env line or a Kubernetes Secret. */
export type CredentialsFormat = 'env' | 'json' | 'k8s-secret';

/**
 * Serializes credentials: `'json'` (a JSON document), `'env'` (a `QFAAS_CREDENTIALS=…` line for an
 * env file), or `'k8s-secret'` (a Kubernetes Secret manifest whose `QFAAS_CREDENTIALS` key a pod
 * maps to its environment). The output contains private keys: write it only where secrets belong.
 */
export function encodeCredentials(credentials: WorkerCredentials, format: CredentialsFormat): string {
  const json = JSON.stringify(toWire(credentials));
  switch (format) {
    case 'json':
      return `${JSON.stringify(JSON.parse(json), null, 2)}\n`;
    case 'env':
      return `${credentialsEnvVar}=${credentialsEnvValue(credentials)}\n`;
    case 'k8s-secret': {
      const envValue = Buffer.from(json).toString('base64');
      const name = `qfaas-${credentials.functionName}-${credentials.instanceId}`.slice(0, 253).replace(/-+$/, '');
      return [
        'apiVersion: v1',
        'kind: Secret',
        'metadata:',
        `  name: ${name}`,
        '  labels:',
        '    app.kubernetes.io/managed-by: qfaas',
        `    qfaas.dev/function: ${credentials.functionName}`,
        `    qfaas.dev/instance: ${credentials.instanceId}`,
        'type: Opaque',
        'data:',
        `  ${credentialsEnvVar}: ${Buffer.from(envValue).toString('base64')}`,
        '',
      ].join('\n');
    }
    default:
      throw new CredentialsError('format', "must be 'env', 'json' or 'k8s-secret'");
  }
}

/**
 * The value of `QFAAS_CREDENTIALS` for these credentials, exactly as `loadCredentials()` reads it
 * from the environment: for `spawn(…, { env: { QFAAS_CREDENTIALS: credentialsEnvValue(worker) } })`.
 */
export function credentialsEnvValue(credentials: WorkerCredentials): string {
  return Buffer.from(JSON.stringify(toWire(credentials))).toString('base64');
}

/** Where to load credentials from. */
export type CredentialsSource =
  | { env: Readonly<Record<string, string | undefined>> }
  | { file: string }
  | { text: string }
  | WorkerCredentials;

/**
 * Loads and checks a credentials bundle. Without a source, reads `QFAAS_CREDENTIALS` from the
 * process environment. Text may be the JSON, its base64 (the env value), an env file, a
 * Kubernetes Secret's `data` value (base64 once more) or the Secret manifest (credentials-text.ts).
 * Everything is checked: the schema, the digest, the ticket key's length, that both certificates
 * are signed by the bundled CA, unexpired, and match their keys, and that the worker certificate
 * carries the server name. A refusal is a {@link CredentialsError} naming the field.
 */
export function loadCredentials(source: CredentialsSource = { env: process.env }, now = Date.now()): WorkerCredentials {
  if ('version' in source) return fromWire(parseWithSchema(wireSchema, toWire(source)), now);
  let text: string;
  if ('env' in source) {
    const value = source.env[credentialsEnvVar];
    if (value === undefined || value === '') throw new CredentialsError(credentialsEnvVar, 'is not set');
    text = value;
  } else if ('file' in source) {
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (error) {
      throw new CredentialsError('file', `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  } else {
    text = source.text;
  }
  return fromWire(parseWithSchema(wireSchema, parseCredentialsText(text, credentialsEnvVar, true)), now);
}

// ---- Chain credentials alone, for function processes ------------------------------------------

/**
 * The environment variable that carries only what function code needs to call other functions
 * (`chain.invoke`): the platform CA and the chain credentials. qfaas-watchdog gives the function
 * process this instead of `QFAAS_CREDENTIALS`, which holds the worker's private key and ticket key.
 */
export const chainCredentialsEnvVar = 'QFAAS_CHAIN_CREDENTIALS';

/** The platform CA and the chain credentials: no worker key, no ticket key. */
export interface FunctionChainCredentials {
  caPem: string;
  chain: ChainCredentials;
}

const chainWireSchema = z.object({
  kind: z.literal('qfaas-chain-credentials'),
  version: z.literal(1),
  caPem: pem('CERTIFICATE'),
  chain: chainSchema,
  /** Unkeyed, like the worker bundle's: catches corruption, not tampering. */
  digest: z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be a hex SHA-256' }),
});

/** The value of {@link chainCredentialsEnvVar}: base64 of a JSON document. */
export function encodeChainCredentials(credentials: WorkerCredentials | FunctionChainCredentials): string {
  if (credentials.chain === undefined) throw new CredentialsError('chain', 'the worker was provisioned without chain credentials');
  const body = { kind: 'qfaas-chain-credentials' as const, version: 1 as const, caPem: credentials.caPem, chain: chainToWire(credentials.chain) };
  return Buffer.from(JSON.stringify({ ...body, digest: digestOf(body) })).toString('base64');
}

/**
 * Loads chain credentials from {@link chainCredentialsEnvVar} (default: the process environment)
 * or from text (the base64 value or the JSON), checking the CA, the chain certificate and its key.
 */
export function loadChainCredentials(
  source: { env: Readonly<Record<string, string | undefined>> } | { text: string } = { env: process.env },
  now = Date.now(),
): FunctionChainCredentials {
  let text: string;
  if ('env' in source) {
    const value = source.env[chainCredentialsEnvVar];
    if (value === undefined || value === '') throw new CredentialsError(chainCredentialsEnvVar, 'is not set');
    text = value;
  } else {
    text = source.text;
  }
  const wire = parseWithSchema(chainWireSchema, parseCredentialsText(text, chainCredentialsEnvVar, false));
  checkDigest(wire);
  const ca = parseCaCertificate(wire.caPem);
  return { caPem: wire.caPem, chain: chainFromWire(wire.chain, ca, now) };
}
