/**
 * Checks for the manifests in examples/kubernetes/: the Kubernetes schemas (kubernetes-models,
 * Kubernetes 1.33), fields the schemas do not know, and the cross-references a schema cannot see
 * (Secret name and key, ports and protocols, probe paths, grace period against the drain).
 * No cluster is involved.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IContainerPort } from 'kubernetes-models/v1/ContainerPort';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHTTPGetAction } from 'kubernetes-models/v1/HTTPGetAction';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { readWatchdogConfig, type WatchdogConfig } from '../../src/handler-server/watchdog-config.js';
import { credentialsEnvVar } from '../../src/zero-rtt/credentials.js';

/** The kinds the examples use, by `apiVersion/kind`; any other kind is refused. */
const models: Record<string, { prototype: { validate(): void } }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/Secret': Secret,
};

/**
 * Validates one manifest against its kind's schema and lists the fields the schema does not know.
 * kubernetes-models' validators accept unknown fields (a typo such as `terminationGracePeriodSecond`
 * passes), while `kubectl apply` refuses them (strict field validation). The compiled validator
 * reads every property its schema defines, so the object is validated through a proxy that records
 * what was read: a field of an object the validator walked that it never read is unknown.
 * @returns problems, empty when the manifest is valid
 */
export function validateManifest(manifest: unknown): string[] {
  if (manifest === null || typeof manifest !== 'object') return ['not an object'];
  const { apiVersion, kind } = manifest as { apiVersion?: unknown; kind?: unknown };
  const model = models[`${String(apiVersion)}/${String(kind)}`];
  if (model === undefined) return [`no schema here for apiVersion ${String(apiVersion)}, kind ${String(kind)}`];
  const read = new Map<object, Set<PropertyKey>>();
  const proxies = new WeakMap<object, object>();
  const track = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    let proxy = proxies.get(value);
    if (proxy === undefined) {
      const keys = new Set<PropertyKey>();
      read.set(value, keys);
      proxy = new Proxy(value, {
        get(target, key) {
          keys.add(key);
          return track(Reflect.get(target, key));
        },
      });
      proxies.set(value, proxy);
    }
    return proxy;
  };
  const problems: string[] = [];
  try {
    // The model's validate() runs the compiled schema on `this`.
    model.prototype.validate.call(track(manifest));
  } catch (error) {
    problems.push(`${String(kind)}: ${(error as Error).message}`);
  }
  const walk = (value: unknown, path: string): void => {
    if (value === null || typeof value !== 'object') return;
    const keys = read.get(value);
    if (keys === undefined) return; // not walked by the validator: a free-form value, or under an unknown field
    if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, `${path}[${index}]`));
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      if (!keys.has(key)) problems.push(`${String(kind)}: unknown field ${path}.${key}`);
      else walk(child, `${path}.${key}`);
    }
  };
  walk(manifest, '');
  return problems;
}

/**
 * What qfaas-watchdog's stop() adds to `write_timeout` before it exits: the QUIC endpoint waits up
 * to 1 s for its last datagrams (src/transport/quic/endpoint.ts, close()), then the function gets
 * up to 2 s between its SIGTERM and SIGKILL (src/handler-server/watchdog.ts, stop()).
 */
export const watchdogStopOverheadMs = 3000;
/** Slack demanded beyond the watchdog's longest stop before the kubelet's SIGKILL. */
export const graceMarginMs = 2000;
/** The native QUIC binding (@matrixai/quic) ships a Linux build for x64 only. */
const bindingArchitecture = 'amd64';

const defaultProtocol = (port: { protocol?: string }) => port.protocol ?? 'TCP';

/** The container port a probe's or a Service's port means: by name, or by number and protocol. */
function containerPort(container: IContainer, port: number | string | undefined, protocol: string): IContainerPort | undefined {
  const ports = container.ports ?? [];
  return typeof port === 'string'
    ? ports.find((p) => p.name === port && defaultProtocol(p) === protocol)
    : ports.find((p) => p.containerPort === port && defaultProtocol(p) === protocol);
}

/**
 * The earliest a probe that starts failing now can make the kubelet act, in seconds: the first
 * failing probe may come at once, the last `failureThreshold - 1` periods later (timeouts ignored).
 */
function secondsToGiveUp(probe: IProbe, fromStart: boolean): number {
  return (fromStart ? (probe.initialDelaySeconds ?? 0) : 0) + (probe.periodSeconds ?? 10) * ((probe.failureThreshold ?? 3) - 1);
}

const subset = (labels: Record<string, string> | undefined, of: Record<string, string> | undefined) =>
  Object.keys(labels ?? {}).length > 0 && Object.entries(labels ?? {}).every(([key, value]) => of?.[key] === value);

/**
 * Cross-checks a worker Deployment, its Service and its credentials Secret against each other and
 * against what qfaas-watchdog and loadCredentials() read.
 * @returns problems, empty when everything agrees
 */
export function checkWorker(deployment: IDeployment, service: IService, secret: ISecret): string[] {
  const problems: string[] = [];
  const problem = (text: string) => problems.push(text);
  const pod = deployment.spec?.template;
  const podLabels = pod?.metadata?.labels;
  const containers = pod?.spec?.containers ?? [];
  if (containers.length !== 1) return [`the worker pod has ${containers.length} containers, expected 1 (qfaas-watchdog)`];
  const container = containers[0] as IContainer;
  const env = container.env ?? [];

  // Selectors: the API server checks the Deployment's; nothing checks the Service's.
  if (!subset(deployment.spec?.selector.matchLabels, podLabels)) problem('Deployment spec.selector.matchLabels do not match the pod template labels');
  if (!subset(service.spec?.selector, podLabels)) problem('Service spec.selector does not select the worker pod template');

  // Credentials: the env var loadCredentials() reads, from the Secret `qfaas provision` writes.
  const credentials = env.filter((variable) => variable.name === credentialsEnvVar);
  if (credentials.length !== 1) problem(`the container must set ${credentialsEnvVar} exactly once (it sets it ${credentials.length} times)`);
  for (const variable of credentials) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (variable.value !== undefined || ref === undefined) problem(`${credentialsEnvVar} must come from a secretKeyRef, never a literal value`);
    else {
      if (ref.name !== secret.metadata?.name) problem(`${credentialsEnvVar} refers to Secret ${ref.name}, but qfaas provision writes ${secret.metadata?.name}`);
      if (ref.key !== credentialsEnvVar || secret.data?.[ref.key] === undefined) problem(`${credentialsEnvVar} refers to key ${ref.key}, but the Secret's key is ${credentialsEnvVar}`);
      if (ref.optional === true) problem(`${credentialsEnvVar}'s secretKeyRef must not be optional: the watchdog cannot start without it`);
    }
  }
  for (const label of ['qfaas.dev/function', 'qfaas.dev/instance']) {
    if (podLabels?.[label] !== secret.metadata?.labels?.[label]) problem(`pod label ${label} is ${podLabels?.[label]}, the Secret's is ${secret.metadata?.labels?.[label]}`);
  }

  // The watchdog's own reading of the literal environment.
  const literal: Record<string, string> = {};
  for (const variable of env) if (variable.valueFrom === undefined) literal[variable.name] = variable.value ?? '';
  let config: WatchdogConfig;
  try {
    config = readWatchdogConfig(literal);
  } catch (error) {
    problem(`qfaas-watchdog refuses the container's environment: ${(error as Error).message}`);
    return problems;
  }

  // HTTP/3 on UDP `port`, health on TCP `port`.
  const udp = containerPort(container, config.port, 'UDP');
  if (udp === undefined) problem(`no UDP container port ${config.port} (the watchdog's port) for HTTP/3`);
  const servicePorts = service.spec?.ports ?? [];
  if (servicePorts.length === 0) problem('the Service exposes no port');
  for (const port of servicePorts) {
    if (defaultProtocol(port) !== 'UDP') problem(`Service port ${port.name ?? port.port} is ${defaultProtocol(port)}, but the worker serves HTTP/3 over UDP`);
    const target = containerPort(container, port.targetPort ?? port.port, defaultProtocol(port));
    if (target === undefined) problem(`Service port ${port.name ?? port.port} targets ${port.targetPort}/${defaultProtocol(port)}, which is no container port`);
    else if (target.containerPort !== config.port) problem(`Service port ${port.name ?? port.port} reaches container port ${target.containerPort}, not the watchdog's ${config.port}`);
  }

  const probes: Array<[string, IProbe | undefined, string]> = [
    ['startupProbe', container.startupProbe, '/_/health'],
    ['readinessProbe', container.readinessProbe, '/_/ready'],
    ['livenessProbe', container.livenessProbe, '/_/health'],
  ];
  for (const [name, probe, path] of probes) {
    const httpGet: IHTTPGetAction | undefined = probe?.httpGet;
    if (httpGet === undefined) {
      problem(`${name} must be an httpGet probe of ${path}`);
      continue;
    }
    if (httpGet.path !== path) problem(`${name} asks ${httpGet.path}, the watchdog answers ${path}`);
    if ((httpGet.scheme ?? 'HTTP') !== 'HTTP') problem(`${name} uses ${httpGet.scheme}; the watchdog's health endpoint is plain HTTP`);
    const target = containerPort(container, httpGet.port, 'TCP');
    const number = target?.containerPort ?? (typeof httpGet.port === 'number' ? httpGet.port : undefined);
    if (number !== config.port || (typeof httpGet.port === 'string' && target === undefined)) {
      problem(`${name} probes port ${httpGet.port}, but the watchdog's health is TCP ${config.port}`);
    }
  }

  // Start, drain and the kubelet's timers.
  const startup = container.startupProbe;
  if (startup !== undefined && secondsToGiveUp(startup, true) * 1000 <= config.readTimeoutMs) {
    problem(`startupProbe gives up after ${secondsToGiveUp(startup, true)} s, before read_timeout (${config.readTimeoutMs} ms) lets the function come up`);
  }
  if (config.writeTimeoutMs < config.execTimeoutMs) {
    problem(`write_timeout (${config.writeTimeoutMs} ms) is shorter than exec_timeout (${config.execTimeoutMs} ms): a drain cuts requests the exec timeout allows`);
  }
  const graceSeconds = pod?.spec?.terminationGracePeriodSeconds ?? 30;
  const longestStopMs = config.writeTimeoutMs + watchdogStopOverheadMs;
  if (graceSeconds * 1000 < longestStopMs + graceMarginMs) {
    problem(
      `terminationGracePeriodSeconds (${graceSeconds}) must be at least ${(longestStopMs + graceMarginMs) / 1000}: write_timeout (${config.writeTimeoutMs} ms) ` +
        `+ the watchdog's stop (${watchdogStopOverheadMs} ms) + ${graceMarginMs} ms margin`,
    );
  }
  const liveness = container.livenessProbe;
  if (liveness !== undefined && secondsToGiveUp(liveness, false) <= graceSeconds) {
    problem(`livenessProbe can fail a draining worker (503) ${secondsToGiveUp(liveness, false)} s into its drain, within the ${graceSeconds} s grace period`);
  }

  // One process per credentials bundle, unless the strike register is shared (docs/security.md).
  if (!env.some((variable) => variable.name === 'QFAAS_REDIS_URL')) {
    if ((deployment.spec?.replicas ?? 1) !== 1) problem(`replicas is ${deployment.spec?.replicas}: replicas of one bundle need QFAAS_REDIS_URL`);
    if (deployment.spec?.strategy?.type !== 'Recreate') problem('strategy must be Recreate: a rolling update runs two pods of one bundle at once');
  }

  const arch = pod?.spec?.nodeSelector?.['kubernetes.io/arch'];
  if (arch !== bindingArchitecture) problem(`nodeSelector kubernetes.io/arch is ${arch}: the QUIC binding runs on ${bindingArchitecture} only`);
  return problems;
}
