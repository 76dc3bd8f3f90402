import { attributeString, type AttributeValue } from '../otlp/attributes.js';

/** A Source: one workload, keyed `namespace/Kind/name`. */
export interface WorkloadId {
  key: string;
  namespace: string;
  kind: string;
  name: string;
}

/** Kubernetes owner kinds, in the order DESIGN.md gives them precedence. */
const K8S_OWNERS: [attribute: string, kind: string][] = [
  ['k8s.deployment.name', 'Deployment'],
  ['k8s.statefulset.name', 'StatefulSet'],
  ['k8s.daemonset.name', 'DaemonSet'],
  ['k8s.cronjob.name', 'CronJob'],
  ['k8s.job.name', 'Job'],
];

/** The namespace used for workloads that are not on Kubernetes. */
export const HOST_NAMESPACE = 'host';

/**
 * The workload a resource belongs to. On Kubernetes: `k8s.namespace.name` plus the first owner
 * (a bare pod is `ns/Pod/name`). Elsewhere: `service.name` (as a Service), a container, or
 * the process's executable — the same key shape, with the namespace `host`. A service.name
 * equal to the container's or executable's name is the name a sampler gave the workload, not
 * a service: such a resource keys as the container or process.
 */
export function workloadOf(attrs: Record<string, AttributeValue>): WorkloadId {
  const get = (k: string): string => (attributeString(attrs[k]) ?? '').trim();
  const ns = get('k8s.namespace.name');
  if (ns) {
    for (const [attr, kind] of K8S_OWNERS) {
      const name = get(attr);
      if (name) return workloadId(ns, kind, name);
    }
    const pod = get('k8s.pod.name');
    if (pod) return workloadId(ns, 'Pod', pod);
  }
  const service = get('service.name');
  const container = get('container.name') || get('container.id').slice(0, 12);
  const exe = get('process.executable.name') || basename(get('process.executable.path')) || basename(get('process.command'));
  // Samplers give every workload a service.name (backends such as Pyroscope file data by it);
  // one that only repeats the container's or the executable's name names no service.
  if (service && !service.startsWith('unknown_service') && service !== container && service !== exe) {
    return workloadId(get('service.namespace') || HOST_NAMESPACE, 'Service', service);
  }
  if (container) return workloadId(HOST_NAMESPACE, 'Container', container);
  if (exe) return workloadId(HOST_NAMESPACE, 'Process', exe);
  if (service) return workloadId(HOST_NAMESPACE, 'Service', service);
  return workloadId(HOST_NAMESPACE, 'Process', 'unknown');
}

/** The workload with these parts, keyed `namespace/Kind/name`. */
export function workloadId(namespace: string, kind: string, name: string): WorkloadId {
  return { key: `${namespace}/${kind}/${name}`, namespace, kind, name };
}

/** Splits a key at its first two slashes (a service name may itself contain slashes). */
export function parseWorkloadKey(key: string): WorkloadId | undefined {
  const a = key.indexOf('/');
  const b = a < 0 ? -1 : key.indexOf('/', a + 1);
  if (a <= 0 || b <= a + 1 || b === key.length - 1) return undefined;
  return { key, namespace: key.slice(0, a), kind: key.slice(a + 1, b), name: key.slice(b + 1) };
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}
