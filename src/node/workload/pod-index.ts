import type { Logger } from 'pino';
import { podContainers, type ObjectMeta, type OwnerFetcher, type Pod } from './k8s-owners.js';

export interface PodSource {
  podsOnNode(nodeName: string): Promise<Pod[]>;
  owner: OwnerFetcher;
}

/** Owners (ReplicaSets, Jobs) change rarely; re-reading them every list would multiply API load. */
const OWNER_TTL_MS = 10 * 60_000;
/** A container id missing from the index triggers an early list, at most this often. */
const MIN_LIST_GAP_MS = 5_000;

/**
 * The pods on this node, listed from the API server (fieldSelector spec.nodeName) every
 * `intervalMs` and early when a process shows a container id the index does not know yet.
 * Maps container id (and `pod:<uid>`) → `k8s.*` resource attributes.
 */
export class PodIndex {
  private byContainer = new Map<string, Record<string, string>>();
  private readonly owners = new Map<string, { at: number; meta: ObjectMeta | undefined }>();
  private timer: NodeJS.Timeout | undefined;
  private listing: Promise<void> | undefined;
  private lastList = 0;
  /** Bumped after each successful list, so callers can retry what they could not resolve. */
  generation = 0;
  lists = 0;
  listErrors = 0;

  constructor(
    private readonly source: PodSource,
    private readonly nodeName: string,
    private readonly log: Logger,
    private readonly intervalMs = 30_000,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get(containerId: string | undefined, podUid: string | undefined): Record<string, string> | undefined {
    const hit = (containerId && this.byContainer.get(containerId)) || (podUid && this.byContainer.get(`pod:${podUid}`)) || undefined;
    if (!hit && (containerId || podUid) && Date.now() - this.lastList > MIN_LIST_GAP_MS) void this.refresh();
    return hit;
  }

  refresh(): Promise<void> {
    this.listing ??= this.list().finally(() => {
      this.listing = undefined;
    });
    return this.listing;
  }

  private async list(): Promise<void> {
    this.lastList = Date.now();
    try {
      const pods = await this.source.podsOnNode(this.nodeName);
      const next = new Map<string, Record<string, string>>();
      const fetch = this.cachedOwner;
      for (const pod of pods) {
        for (const [id, attrs] of await podContainers(pod, fetch)) next.set(id, attrs);
      }
      this.byContainer = next;
      this.generation++;
      this.lists++;
    } catch (err) {
      this.listErrors++;
      this.log.warn({ err: (err as Error).message }, 'listing pods on this node failed; keeping the last list');
    }
  }

  private readonly cachedOwner: OwnerFetcher = async (kind, ns, name) => {
    const key = `${kind}/${ns}/${name}`;
    const hit = this.owners.get(key);
    if (hit && Date.now() - hit.at < OWNER_TTL_MS) return hit.meta;
    let meta: ObjectMeta | undefined;
    try {
      meta = await this.source.owner(kind, ns, name);
    } catch (err) {
      this.log.debug({ err: (err as Error).message, key }, 'owner lookup failed; inferring from names');
    }
    this.owners.set(key, { at: Date.now(), meta });
    return meta;
  };
}
