import { CredentialsError } from '../errors.js';

/**
 * The text forms a credentials bundle arrives in. A refusal never quotes the text: it holds keys.
 *
 * - its JSON, or the base64 of that JSON (the environment variable's value);
 * - a Kubernetes Secret's `data` value: base64 once more. Kubernetes removes that layer when it
 *   maps the key into a pod's environment, but a value copied out of the manifest still has it;
 * - with `containers`: an env file with an `<envVar>=` line, or the Secret manifest itself, as
 *   `encodeCredentials(…, 'k8s-secret')` and `kubectl get secret -o yaml` write it, or kubectl's
 *   JSON. The YAML reader knows exactly that shape (top-level `data:` or `stringData:`, one
 *   `key: value` line per key), not YAML in general: the package has no YAML parser.
 */
export function parseCredentialsText(text: string, envVar: string, containers: boolean): unknown {
  let body = text.trim();
  if (containers) {
    const fromManifest = yamlSecretValue(body, envVar);
    if (fromManifest !== undefined) return parseEncoded(fromManifest, envVar);
    const envLine = body.split(/\r?\n/).find((line) => line.startsWith(`${envVar}=`));
    if (envLine !== undefined) body = envLine.slice(envVar.length + 1).trim().replace(/^["']|["']$/g, '');
  }
  if (body.startsWith('{')) {
    const value = parseJson(body, 'is not valid JSON (truncated?)');
    return containers && isSecretManifest(value) ? parseEncoded(jsonSecretValue(value, envVar), envVar) : value;
  }
  return parseEncoded(body, envVar);
}

const base64Text = /^[A-Za-z0-9+/]+={0,2}$/;

/** Base64 JSON, or base64 of base64 JSON (a Secret's data value). */
function parseEncoded(body: string, envVar: string): unknown {
  if (!base64Text.test(body)) throw new CredentialsError('', 'is neither JSON nor base64 JSON');
  const decoded = Buffer.from(body, 'base64').toString('utf8').trim();
  if (!decoded.startsWith('{') && base64Text.test(decoded)) {
    const inner = Buffer.from(decoded, 'base64').toString('utf8').trim();
    if (inner.startsWith('{')) {
      return parseJson(
        inner,
        `this looks like a Kubernetes Secret value (base64 of the ${envVar} value), and decoded once it is still not valid JSON (truncated?)`,
      );
    }
  }
  return parseJson(decoded, 'is not valid JSON (truncated?)');
}

function parseJson(text: string, refusal: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CredentialsError('', refusal);
  }
}

function missingKey(envVar: string): CredentialsError {
  return new CredentialsError(
    `data.${envVar}`,
    `is missing: this is a Kubernetes Secret manifest without a ${envVar} key (qfaas provision --format k8s-secret writes one)`,
  );
}

/** A `data` value is base64 of the environment value; a `stringData` value is the value itself. */
function secretEntry(section: 'data' | 'stringData', value: string, envVar: string): string {
  if (section === 'stringData') return value;
  if (!base64Text.test(value)) throw new CredentialsError(`data.${envVar}`, 'is not base64');
  return Buffer.from(value, 'base64').toString('utf8').trim();
}

/** The environment value a YAML Secret manifest holds for `envVar`; undefined when the text is no such manifest. */
function yamlSecretValue(body: string, envVar: string): string | undefined {
  if (body.startsWith('{') || !/^kind:[ \t]*["']?Secret["']?[ \t]*$/m.test(body)) return undefined;
  const lines = body.split(/\r?\n/);
  for (const section of ['data', 'stringData'] as const) {
    const start = lines.findIndex((line) => line.replace(/[ \t]+$/, '') === `${section}:`);
    if (start < 0) continue;
    for (const line of lines.slice(start + 1)) {
      // The section ends at the next top-level key.
      if (/^\S/.test(line)) break;
      const entry = /^[ \t]+("[^"]*"|'[^']*'|[^\s:]+):[ \t]*(.*?)[ \t]*$/.exec(line);
      if (entry !== null && unquote(entry[1] as string) === envVar) return secretEntry(section, unquote(entry[2] as string), envVar);
    }
  }
  throw missingKey(envVar);
}

function unquote(text: string): string {
  return /^(["']).*\1$/.test(text) ? text.slice(1, -1) : text;
}

function isSecretManifest(value: unknown): value is { data?: unknown; stringData?: unknown } {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Secret';
}

/** The environment value a JSON Secret manifest (`kubectl get secret -o json`) holds for `envVar`. */
function jsonSecretValue(manifest: { data?: unknown; stringData?: unknown }, envVar: string): string {
  for (const section of ['data', 'stringData'] as const) {
    const entries = manifest[section];
    const value = typeof entries === 'object' && entries !== null ? (entries as Record<string, unknown>)[envVar] : undefined;
    if (typeof value === 'string') return secretEntry(section, value.trim(), envVar);
  }
  throw missingKey(envVar);
}
