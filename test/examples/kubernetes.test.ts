import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createPlatformCA, credentialsEnvVar, decodeStoredSession, loadCredentials } from '../../src/zero-rtt/index.js';
import { runToEnd, spawnTs } from '../helpers/processes.js';
import { checkWorker, validateManifest } from './kubernetes-manifests.js';

// Validated against the Kubernetes schemas only: no cluster is started or contacted.
const folder = 'examples/kubernetes';

async function readManifests(): Promise<Array<{ file: string; manifest: unknown }>> {
  const files = (await readdir(folder)).filter((name) => /\.ya?ml$/.test(name)).sort();
  const manifests: Array<{ file: string; manifest: unknown }> = [];
  for (const file of files) {
    for (const document of parseAllDocuments(await readFile(join(folder, file), 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((e) => e.message).join('; ')}`);
      const manifest: unknown = document.toJS();
      if (manifest !== null) manifests.push({ file, manifest });
    }
  }
  return manifests;
}

const parseOne = (text: string): unknown => {
  const documents = parseAllDocuments(text);
  expect(documents).toHaveLength(1);
  expect((documents[0] as { errors: unknown[] }).errors).toEqual([]);
  return (documents[0] as { toJS(): unknown }).toJS();
};

describe('examples/kubernetes (schemas and cross-references; no cluster)', () => {
  let dir: string;
  let secretText: string;
  let sessionText: string;
  let deployment: IDeployment;
  let service: IService;
  let secret: ISecret;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qfaas-k8s-'));
    const f = (name: string) => join(dir, name);
    // A throwaway CA and invoker certificate, made in-process; the real CLI provisions the worker.
    const ca = await createPlatformCA();
    const invoker = await ca.issue({ role: 'invoker', name: 'gateway' });
    await writeFile(f('ca.pem'), ca.certPem);
    await writeFile(f('ca.key'), ca.exportKeyPem(), { mode: 0o600 });
    await writeFile(f('inv.pem'), invoker.certPem);
    await writeFile(f('inv.key'), invoker.keyPem, { mode: 0o600 });
    secretText = await runToEnd(
      spawnTs('src/cli/qfaas.ts', [
        'provision', '--ca-cert', f('ca.pem'), '--ca-key', f('ca.key'), '--invoker-cert', f('inv.pem'), '--invoker-key', f('inv.key'),
        '--function', 'echo', '--instance', 'i-1', '--format', 'k8s-secret', '--out', '-', '--session-out', f('session.json'),
      ]),
    );
    sessionText = await readFile(f('session.json'), 'utf8');

    const manifests = await readManifests();
    const ofKind = <T>(kind: string): T => {
      const found = manifests.filter(({ manifest }) => (manifest as { kind?: unknown }).kind === kind);
      expect(found.map(({ file }) => file), kind).toHaveLength(1);
      return structuredClone((found[0] as { manifest: unknown }).manifest) as T;
    };
    deployment = ofKind<IDeployment>('Deployment');
    service = ofKind<IService>('Service');
    secret = parseOne(secretText) as ISecret;
  }, 30_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('every manifest in examples/kubernetes/ is valid against the Kubernetes schemas, with no unknown field', async () => {
    const manifests = await readManifests();
    expect(manifests.map(({ file }) => file)).toEqual(expect.arrayContaining(['worker-deployment.yaml', 'worker-service.yaml']));
    for (const { file, manifest } of manifests) expect(validateManifest(manifest), file).toEqual([]);
  });

  it('the Secret `qfaas provision --format k8s-secret` writes is valid, and its key is what loadCredentials() reads', () => {
    expect(validateManifest(secret)).toEqual([]);
    expect(secret.metadata?.name).toBe('qfaas-echo-i-1');
    expect(Object.keys(secret.data ?? {})).toEqual([credentialsEnvVar]);
    // The kubelet puts the base64-decoded data value into the env var.
    const envValue = Buffer.from(secret.data?.[credentialsEnvVar] ?? '', 'base64').toString('utf8');
    const credentials = loadCredentials({ env: { [credentialsEnvVar]: envValue } });
    expect(credentials.serverName).toBe('i-1.echo.qfaas.internal');
    // The invoker's session, for the gateway's ticket store, is minted for the same server name.
    expect(decodeStoredSession(sessionText).serverName).toBe(credentials.serverName);
  });

  it('the Deployment, the Service and that Secret agree with each other and with qfaas-watchdog', () => {
    expect(checkWorker(deployment, service, secret)).toEqual([]);
  });

  describe('each check can fail', () => {
    it('the schema check refuses a bad value, the unknown-field check a misspelt field', () => {
      const badProtocol = structuredClone(deployment);
      (badProtocol.spec?.template.spec?.containers[0]?.ports?.[0] as { protocol: string }).protocol = 'QUIC';
      expect(validateManifest(badProtocol).join('\n')).toMatch(/ports\/0\/protocol must be equal to one of the allowed values/);

      const misspelt = structuredClone(deployment) as unknown as { spec: { template: { spec: Record<string, unknown> } } };
      misspelt.spec.template.spec.terminationGracePeriodSecond = 20;
      expect(validateManifest(misspelt)).toEqual(['Deployment: unknown field .spec.template.spec.terminationGracePeriodSecond']);

      const nestedTypo = structuredClone(service) as unknown as { spec: { ports: Array<Record<string, unknown>> } };
      (nestedTypo.spec.ports[0] as Record<string, unknown>).protocl = 'UDP';
      expect(validateManifest(nestedTypo)).toEqual(['Service: unknown field .spec.ports[0].protocl']);

      const badSecret = structuredClone(secret);
      (badSecret.data as Record<string, string>)[credentialsEnvVar] = 'not base64!';
      expect(validateManifest(badSecret).join('\n')).toMatch(/must match format "byte"/);
      expect(validateManifest({ apiVersion: 'v1', kind: 'ConfigMap' })).toEqual(['no schema here for apiVersion v1, kind ConfigMap']);
    });

    type Worker = { deployment: IDeployment; service: IService; secret: ISecret };
    const container = (w: Worker) => w.deployment.spec?.template.spec?.containers[0] as NonNullable<NonNullable<IDeployment['spec']>['template']['spec']>['containers'][number];
    const setEnv = (w: Worker, name: string, value: string | undefined) => {
      const env = container(w).env ?? [];
      const entry = env.find((e) => e.name === name);
      if (value === undefined) container(w).env = env.filter((e) => e.name !== name);
      else if (entry === undefined) env.push({ name, value });
      else entry.value = value;
    };
    const credentialsRef = (w: Worker) => container(w).env?.find((e) => e.name === credentialsEnvVar)?.valueFrom?.secretKeyRef as { name: string; key: string; optional?: boolean };

    const breakages: Array<[string, (w: Worker) => void, RegExp]> = [
      ['the Secret name', (w) => (credentialsRef(w).name = 'qfaas-echo-i-2'), /refers to Secret qfaas-echo-i-2/],
      ['the Secret key', (w) => (credentialsRef(w).key = 'credentials'), /refers to key credentials/],
      ['an optional Secret', (w) => (credentialsRef(w).optional = true), /must not be optional/],
      ['the env var name', (w) => ((container(w).env?.find((e) => e.name === credentialsEnvVar) as { name: string }).name = 'QFAAS_CREDENTIAL'), /must set QFAAS_CREDENTIALS exactly once/],
      ['credentials as a literal', (w) => (container(w).env = [...(container(w).env ?? []).filter((e) => e.name !== credentialsEnvVar), { name: credentialsEnvVar, value: 'eyJ9' }]), /never a literal value/],
      ['the pod labels against the Secret', (w) => ((w.secret.metadata?.labels as Record<string, string>)['qfaas.dev/instance'] = 'i-2'), /pod label qfaas.dev\/instance is i-1, the Secret's is i-2/],
      ['the Service protocol', (w) => ((w.service.spec?.ports?.[0] as { protocol: string }).protocol = 'TCP'), /Service port h3 is TCP/],
      ['the container port protocol', (w) => ((container(w).ports?.[0] as { protocol: string }).protocol = 'SCTP'), /no UDP container port 8080/],
      ['the watchdog port', (w) => setEnv(w, 'port', '9090'), /no UDP container port 9090/],
      ['the readiness path', (w) => ((container(w).readinessProbe?.httpGet as { path: string }).path = '/healthz'), /readinessProbe asks \/healthz, the watchdog answers \/_\/ready/],
      ['the liveness path', (w) => ((container(w).livenessProbe?.httpGet as { path: string }).path = '/_/ready'), /livenessProbe asks \/_\/ready/],
      ['a probe on the UDP port', (w) => ((container(w).startupProbe?.httpGet as { port: string }).port = 'h3'), /startupProbe probes port h3/],
      ['a probe on another number', (w) => ((container(w).livenessProbe?.httpGet as { port: number }).port = 8081), /livenessProbe probes port 8081/],
      ['a grace period shorter than the drain', (w) => ((w.deployment.spec?.template.spec as { terminationGracePeriodSeconds: number }).terminationGracePeriodSeconds = 14), /terminationGracePeriodSeconds \(14\) must be at least/],
      ['a drain longer than the grace period', (w) => setEnv(w, 'write_timeout', '30s'), /terminationGracePeriodSeconds \(20\) must be at least/],
      ['exec_timeout beyond write_timeout', (w) => setEnv(w, 'exec_timeout', '1m'), /write_timeout \(10000 ms\) is shorter than exec_timeout/],
      ['a liveness probe that kills a draining worker', (w) => ((container(w).livenessProbe as { failureThreshold: number }).failureThreshold = 1), /livenessProbe can fail a draining worker/],
      ['a startup probe shorter than read_timeout', (w) => ((container(w).startupProbe as { failureThreshold: number }).failureThreshold = 5), /startupProbe gives up after 4 s/],
      ['an environment the watchdog refuses', (w) => setEnv(w, 'mode', 'streaming'), /qfaas-watchdog refuses the container's environment: .*mode/],
      ['no fprocess', (w) => setEnv(w, 'fprocess', undefined), /qfaas-watchdog refuses .*fprocess/],
      ['two replicas of one bundle', (w) => ((w.deployment.spec as { replicas: number }).replicas = 2), /replicas is 2/],
      ['a rolling update', (w) => ((w.deployment.spec as { strategy: { type: string } }).strategy = { type: 'RollingUpdate' }), /strategy must be Recreate/],
      ['the Service selector', (w) => ((w.service.spec?.selector as Record<string, string>)['qfaas.dev/instance'] = 'i-2'), /Service spec.selector does not select/],
      ['the Deployment selector', (w) => ((w.deployment.spec?.selector.matchLabels as Record<string, string>)['qfaas.dev/function'] = 'other'), /matchLabels do not match/],
      ['the node architecture', (w) => ((w.deployment.spec?.template.spec?.nodeSelector as Record<string, string>)['kubernetes.io/arch'] = 'arm64'), /kubernetes.io\/arch is arm64/],
    ];
    it.each(breakages)('notices a broken %s', (_what, breakIt, expected) => {
      const worker: Worker = structuredClone({ deployment, service, secret });
      breakIt(worker);
      expect(checkWorker(worker.deployment, worker.service, worker.secret).join('\n')).toMatch(expected);
    });

    it('two replicas with QFAAS_REDIS_URL (a shared strike register) are accepted', () => {
      const worker: Worker = structuredClone({ deployment, service, secret });
      (worker.deployment.spec as { replicas: number }).replicas = 2;
      (worker.deployment.spec as { strategy: { type: string } }).strategy = { type: 'RollingUpdate' };
      setEnv(worker, 'QFAAS_REDIS_URL', 'redis://redis.qfaas.svc:6379');
      expect(checkWorker(worker.deployment, worker.service, worker.secret)).toEqual([]);
    });
  });
});
