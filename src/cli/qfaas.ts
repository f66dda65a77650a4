#!/usr/bin/env node
/**
 * qfaas command line: a platform CA, certificates, and worker provisioning for a control plane
 * that is not written in TypeScript.
 *
 *   qfaas ca --cert-out ca.pem --key-out ca.key
 *   qfaas issue --ca-cert ca.pem --ca-key ca.key --role invoker --name gateway --cert-out inv.pem --key-out inv.key
 *   qfaas provision --ca-cert ca.pem --ca-key ca.key --invoker-cert inv.pem --invoker-key inv.key \
 *       --function echo --instance i-1 --host 10.0.0.7 --format env --out worker.env --session-out session.json
 */
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
  type CredentialsFormat,
} from '../zero-rtt/index.js';

const usage = `usage:
  qfaas ca --cert-out FILE --key-out FILE [--name NAME]
  qfaas issue --ca-cert FILE --ca-key FILE --role worker|gateway|invoker|chain --name NAME [--host H]... --cert-out FILE --key-out FILE
  qfaas provision --ca-cert FILE --ca-key FILE --invoker-cert FILE --invoker-key FILE
                  --function NAME --instance ID [--host H]... [--format env|json|k8s-secret]
                  [--out FILE|-] [--session-out FILE|-]`;

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

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
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
    case 'provision': {
      const format = values.format as CredentialsFormat;
      if (!['env', 'json', 'k8s-secret'].includes(format)) throw new UsageError('--format must be env, json or k8s-secret');
      const ca = await loadCa();
      const generator = new ZeroRttGenerator({
        ca,
        invokerCertificate: {
          certPem: read(required(values, 'invoker-cert'), 'invoker certificate'),
          keyPem: read(required(values, 'invoker-key'), 'invoker key'),
        },
        ...(values.domain === undefined ? {} : { domain: values.domain }),
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
