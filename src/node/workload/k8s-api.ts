import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { ObjectMeta, OwnerFetcher, Pod } from './k8s-owners.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** In-cluster API access: the service-account token (re-read: it rotates) and CA. */
export interface InClusterConfig {
  host: string;
  port: number;
  tokenPath: string;
  ca: Buffer;
}

/** The in-cluster config when running in a pod, else undefined. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): InClusterConfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) return undefined;
  try {
    return { host, port: Number(env.KUBERNETES_SERVICE_PORT ?? 443), tokenPath: `${dir}/token`, ca: readFileSync(`${dir}/ca.crt`) };
  } catch {
    return undefined;
  }
}

export class KubeApi {
  constructor(
    private readonly cfg: InClusterConfig,
    private readonly timeoutMs = 10_000,
  ) {}

  getJson(path: string): Promise<unknown> {
    const token = readFileSync(this.cfg.tokenPath, 'utf8').trim();
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.cfg.host,
          port: this.cfg.port,
          path,
          method: 'GET',
          ca: this.cfg.ca,
          headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 0) >= 300) reject(new Error(`GET ${path}: HTTP ${res.statusCode} ${body.slice(0, 200)}`));
            else {
              try {
                resolve(JSON.parse(body));
              } catch (err) {
                reject(err as Error);
              }
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
      req.on('error', reject);
      req.end();
    });
  }

  async podsOnNode(nodeName: string): Promise<Pod[]> {
    const list = (await this.getJson(`/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${nodeName}`)}`)) as { items?: Pod[] };
    return list.items ?? [];
  }

  readonly owner: OwnerFetcher = async (kind, namespace, name) => {
    const path =
      kind === 'ReplicaSet'
        ? `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/replicasets/${encodeURIComponent(name)}`
        : `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs/${encodeURIComponent(name)}`;
    const obj = (await this.getJson(path)) as { metadata?: ObjectMeta };
    return obj.metadata;
  };
}
