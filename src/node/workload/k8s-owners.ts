/** The parts of Kubernetes objects the resolver reads (a subset of the API's JSON). */
export interface OwnerReference {
  kind: string;
  name: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface Pod {
  metadata: ObjectMeta;
  spec?: { nodeName?: string };
  status?: {
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
    ephemeralContainerStatuses?: ContainerStatus[];
  };
}

export interface ContainerStatus {
  name: string;
  /** `containerd://<id>`, `cri-o://<id>`, `docker://<id>`. */
  containerID?: string;
}

/** Fetches an owner's metadata (a ReplicaSet or a Job) or undefined when it cannot. */
export type OwnerFetcher = (kind: 'ReplicaSet' | 'Job', namespace: string, name: string) => Promise<ObjectMeta | undefined>;

const OWNER_ATTRIBUTE: Record<string, string> = {
  ReplicaSet: 'k8s.replicaset.name',
  Deployment: 'k8s.deployment.name',
  StatefulSet: 'k8s.statefulset.name',
  DaemonSet: 'k8s.daemonset.name',
  Job: 'k8s.job.name',
  CronJob: 'k8s.cronjob.name',
};

function controllerOf(meta: ObjectMeta | undefined): OwnerReference | undefined {
  const refs = meta?.ownerReferences ?? [];
  return refs.find((r) => r.controller) ?? refs[0];
}

/**
 * The owner chain of a pod as `k8s.*` attributes: ReplicaSet → Deployment, Job → CronJob,
 * StatefulSet and DaemonSet directly. When the ReplicaSet or Job cannot be read (RBAC, or it
 * is gone), the owner is inferred from the names Kubernetes generates: a ReplicaSet is
 * `<deployment>-<pod-template-hash>`, a CronJob's Job is `<cronjob>-<minutes since epoch>`.
 */
export async function ownerAttributes(pod: Pod, fetch: OwnerFetcher): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const ns = pod.metadata.namespace ?? 'default';
  const owner = controllerOf(pod.metadata);
  if (!owner) return out;
  const attr = OWNER_ATTRIBUTE[owner.kind];
  if (!attr) return out; // a custom controller: the pod stays the workload
  out[attr] = owner.name;
  if (owner.kind === 'ReplicaSet') {
    const rs = await fetch('ReplicaSet', ns, owner.name).catch(() => undefined);
    const next = controllerOf(rs);
    if (next?.kind === 'Deployment') out['k8s.deployment.name'] = next.name;
    else if (!rs) {
      const hash = pod.metadata.labels?.['pod-template-hash'];
      if (hash && owner.name.endsWith(`-${hash}`)) out['k8s.deployment.name'] = owner.name.slice(0, -hash.length - 1);
    }
  } else if (owner.kind === 'Job') {
    const job = await fetch('Job', ns, owner.name).catch(() => undefined);
    const next = controllerOf(job);
    if (next?.kind === 'CronJob') out['k8s.cronjob.name'] = next.name;
    else if (!job) {
      const m = /^(.+)-(\d{8,})$/.exec(owner.name);
      if (m) out['k8s.cronjob.name'] = m[1];
    }
  }
  return out;
}

/** The container id without its runtime scheme (`containerd://abc` → `abc`). */
export function bareContainerId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const i = id.indexOf('://');
  return i >= 0 ? id.slice(i + 3) : id;
}

/** Per-container resource attributes of a pod, keyed by container id. */
export async function podContainers(pod: Pod, fetch: OwnerFetcher): Promise<Map<string, Record<string, string>>> {
  const base: Record<string, string> = {
    'k8s.namespace.name': pod.metadata.namespace ?? 'default',
    'k8s.pod.name': pod.metadata.name,
    ...(pod.metadata.uid ? { 'k8s.pod.uid': pod.metadata.uid } : {}),
    ...(pod.spec?.nodeName ? { 'k8s.node.name': pod.spec.nodeName } : {}),
    ...(await ownerAttributes(pod, fetch)),
  };
  const out = new Map<string, Record<string, string>>();
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.ephemeralContainerStatuses ?? [])];
  for (const s of statuses) {
    const id = bareContainerId(s.containerID);
    if (id) out.set(id, { ...base, 'k8s.container.name': s.name, 'container.id': id });
  }
  // Processes whose container is not (yet) in the status are matched by pod uid.
  if (pod.metadata.uid) out.set(`pod:${pod.metadata.uid}`, base);
  return out;
}
