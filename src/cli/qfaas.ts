#!/usr/bin/env node
/**
 * qfaas command line: a platform CA, certificates, and worker provisioning for a control plane
 * that is not written in TypeScript.
 *
 *   qfaas ca --cert-out ca.pem --key-out ca.key
 *   qfaas issue --ca-cert ca.pem --ca-key ca.key --role invoker --name gateway --cert-out inv.pem --key-out inv.key
 *   qfaas provision --ca-cert ca.pem --ca-key ca.key --invoker-cert inv.pem --invoker-key inv.key \
 *       --function echo --instance i-1 --host 10.0.0.7 --format env --out worker.env --session-out session.json
 *
 * `qfaas --help` and `qfaas <command> --help` print usage.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isQfaasError } from '../errors.js';
import {
  createPlatformCA,
  encodeCredentials,
  encodeStoredSession,
  loadPlatformCA,
  ZeroRttGenerator,
  type CertificateRole,
  type ChainGatewayIdentity,
  type CredentialsFormat,
} from '../zero-rtt/index.js';

/** Usage of each command; `qfaas --help` prints them all. */
const commandUsage: Readonly<Record<string, string>> = {
  ca: `qfaas ca --cert-out FILE --key-out FILE [--name NAME]
    A new platform CA (ECDSA P-256): its certificate and its private key.`,
  issue: `qfaas issue --ca-cert FILE --ca-key FILE --role worker|gateway|invoker|chain --name NAME [--host H]...
            --cert-out FILE --key-out FILE
    A certificate from the CA: 'invoker' for the gateway's client towards workers, 'gateway' for the
    chain gateway, 'worker' and 'chain' as the generator issues them.`,
  'ticket-key': `qfaas ticket-key --out FILE
    A fresh 48-byte session ticket key (base64), e.g. for the chain gateway.`,
  provision: `qfaas provision --ca-cert FILE --ca-key FILE --invoker-cert FILE --invoker-key FILE
                --function NAME --instance ID [--host H]... [--format env|json|k8s-secret]
                [--out FILE|-] [--session-out FILE|-] [--domain DOMAIN]
                [--chain-gateway-name NAME --chain-gateway-cert FILE --chain-gateway-key FILE
                 --chain-gateway-ticket-key FILE [--chain-gateway-host H --chain-gateway-port P]]
    A worker's credentials (--out) and the invoker's 0-RTT session for it (--session-out, for the
    gateway's ticket store). With the --chain-gateway-* options the credentials also carry chain
    credentials, so the function can call others through that chain gateway (chain.invoke()) from
    its first call in 0-RTT; the gateway must run with the same certificate and ticket key.`,
};

const usage = `usage:\n${Object.values(commandUsage)
  .map((text) => `  ${text}`)
  .join('\n\n')}\n\n  qfaas --help, qfaas <command> --help: this text, or one command's.`;

class UsageError extends Error {}

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** Writes a file readable by its owner only: most of what this tool writes holds a secret. */
function write(path: string, text: string): void {
  if (path === '-') process.stdout.write(text);
  else writeFileSync(path, text, { mode: 0o600 });
}

/** A ticket key file: base64 text (what `qfaas ticket-key` writes) or the 48 raw bytes. */
function readTicketKey(path: string, flag: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (error) {
    throw new UsageError(`cannot read ${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (raw.length === 48) return new Uint8Array(raw);
  const text = raw.toString('utf8').trim();
  const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (decoded?.length !== 48) throw new UsageError(`${flag} ${path} must hold a 48-byte ticket key (base64, as qfaas ticket-key writes it)`);
  return new Uint8Array(decoded);
}

function chainGatewayFrom(values: Record<string, unknown>): ChainGatewayIdentity | undefined {
  const names = ['chain-gateway-name', 'chain-gateway-cert', 'chain-gateway-key', 'chain-gateway-ticket-key', 'chain-gateway-host', 'chain-gateway-port'];
  if (names.every((name) => values[name] === undefined)) return undefined;
  const port = values['chain-gateway-port'];
  const portNumber = port === undefined ? undefined : Number(port);
  if (portNumber !== undefined && !(Number.isInteger(portNumber) && portNumber > 0 && portNumber < 65_536)) {
    throw new UsageError('--chain-gateway-port must be a port number (1-65535)');
  }
  const host = values['chain-gateway-host'];
  return {
    serverName: required(values, 'chain-gateway-name'),
    certificate: {
      certPem: read(required(values, 'chain-gateway-cert'), 'chain gateway certificate'),
      keyPem: read(required(values, 'chain-gateway-key'), 'chain gateway key'),
    },
    ticketKey: readTicketKey(required(values, 'chain-gateway-ticket-key'), '--chain-gateway-ticket-key'),
    ...(typeof host === 'string' ? { host } : {}),
    ...(portNumber === undefined ? {} : { port: portNumber }),
  };
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === undefined) throw new UsageError('a command is required');
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const text = commandUsage[command];
    if (text === undefined) throw new UsageError(`unknown command "${command}"`);
    process.stdout.write(`usage:\n  ${text}\n`);
    return;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      'ca-cert': { type: 'string' },
      'ca-key': { type: 'string' },
      'invoker-cert': { type: 'string' },
      'invoker-key': { type: 'string' },
      'cert-out': { type: 'string' },
      'key-out': { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      host: { type: 'string', multiple: true },
      function: { type: 'string' },
      instance: { type: 'string' },
      format: { type: 'string', default: 'env' },
      out: { type: 'string', default: '-' },
      'session-out': { type: 'string' },
      domain: { type: 'string' },
      'chain-gateway-name': { type: 'string' },
      'chain-gateway-cert': { type: 'string' },
      'chain-gateway-key': { type: 'string' },
      'chain-gateway-ticket-key': { type: 'string' },
      'chain-gateway-host': { type: 'string' },
      'chain-gateway-port': { type: 'string' },
    },
    strict: true,
  });
  const loadCa = () => loadPlatformCA({ certPem: read(required(values, 'ca-cert'), 'CA certificate'), keyPem: read(required(values, 'ca-key'), 'CA key') });

  switch (command) {
    case 'ca': {
      const ca = await createPlatformCA(values.name === undefined ? {} : { commonName: values.name });
      write(required(values, 'cert-out'), ca.certPem);
      write(required(values, 'key-out'), ca.exportKeyPem());
      return;
    }
    case 'issue': {
      const ca = await loadCa();
      const issued = await ca.issue({ role: required(values, 'role') as CertificateRole, name: required(values, 'name'), hosts: values.host ?? [] });
      write(required(values, 'cert-out'), issued.certPem);
      write(required(values, 'key-out'), issued.keyPem);
      return;
    }
    case 'ticket-key': {
      write(required(values, 'out'), `${randomBytes(48).toString('base64')}\n`);
      return;
    }
    case 'provision': {
      const format = values.format as CredentialsFormat;
      if (!['env', 'json', 'k8s-secret'].includes(format)) throw new UsageError('--format must be env, json or k8s-secret');
      const ca = await loadCa();
      const chainGateway = chainGatewayFrom(values);
      const generator = new ZeroRttGenerator({
        ca,
        invokerCertificate: {
          certPem: read(required(values, 'invoker-cert'), 'invoker certificate'),
          keyPem: read(required(values, 'invoker-key'), 'invoker key'),
        },
        ...(values.domain === undefined ? {} : { domain: values.domain }),
        ...(chainGateway === undefined ? {} : { chainGateway }),
      });
      const provisioned = await generator.provision({
        functionName: required(values, 'function'),
        instanceId: required(values, 'instance'),
        hosts: values.host ?? [],
      });
      write(values.out as string, encodeCredentials(provisioned.worker, format));
      const sessionOut = values['session-out'];
      if (sessionOut !== undefined) write(sessionOut, encodeStoredSession(provisioned.serverName, provisioned.session));
      process.stderr.write(`provisioned ${provisioned.serverName}\n`);
      return;
    }
    default:
      throw new UsageError(command === undefined ? 'a command is required' : `unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`qfaas: ${error.message}\n${usage}\n`);
    process.exit(2);
  }
  // Library errors name the field and never quote secrets; anything else is reported by its message only.
  process.stderr.write(`qfaas: ${isQfaasError(error) ? error.message : (error as Error).message}\n`);
  process.exit(1);
});
