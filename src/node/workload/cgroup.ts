/** What a process's /proc/PID/cgroup says about where it runs. */
export interface CgroupInfo {
  /** The full container id (64 hex digits) when the process runs in a container. */
  containerId?: string;
  /** docker, containerd, cri-o, podman — from the cgroup naming pattern, when recognisable. */
  runtime?: string;
  /** The Kubernetes pod uid (with dashes) when the path names one. */
  podUid?: string;
  /** The innermost systemd service unit (`nginx.service`), outside containers. */
  systemdUnit?: string;
  /** The path used (the unified v2 path when present, else the first v1 path that says most). */
  path: string;
}

const CONTAINER_ID = /(?:^|[/\-:])([0-9a-f]{64})(?:\.scope)?$/;
const POD_UID = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/;

/**
 * Parses /proc/PID/cgroup (v1 `ID:controllers:/path` lines, v2 `0::/path`, or both on hybrid
 * hosts). Patterns recognised:
 * - containerd/CRI under systemd: `…/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope`
 * - CRI-O: `…/crio-<id>.scope` (`crio-conmon-<id>.scope` is the monitor, not the container)
 * - cgroupfs drivers: `/kubepods/burstable/pod<uid>/<id>`, docker `/docker/<id>`
 * - docker and podman under systemd: `/system.slice/docker-<id>.scope`, `libpod-<id>.scope`
 * - systemd services: `/system.slice/nginx.service`, `/user.slice/…/user@1000.service/app.slice/x.service`
 */
export function parseCgroup(text: string): CgroupInfo {
  const paths: string[] = [];
  let unified: string | undefined;
  let systemd: string | undefined;
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const controllers = line.slice(a + 1, b);
    const path = line.slice(b + 1).trim();
    if (line.slice(0, a) === '0' && controllers === '') unified = path;
    if (controllers === 'name=systemd') systemd = path;
    paths.push(path);
  }
  // Prefer the unified path; on v1 hosts any controller's path may carry the container.
  const ordered = [...(unified !== undefined ? [unified] : []), ...(systemd !== undefined ? [systemd] : []), ...paths];
  for (const path of ordered) {
    const info = fromPath(path);
    if (info.containerId) return info;
  }
  for (const path of ordered) {
    const info = fromPath(path);
    if (info.systemdUnit || info.podUid) return info;
  }
  return { path: ordered[0] ?? '/' };
}

function fromPath(path: string): CgroupInfo {
  const info: CgroupInfo = { path };
  const segments = path.split('/').filter((s) => s !== '');
  const pod = POD_UID.exec(path);
  if (pod) info.podUid = pod[1].replace(/_/g, '-');
  const last = segments[segments.length - 1] ?? '';
  const id = CONTAINER_ID.exec(last);
  if (id && !last.startsWith('crio-conmon-')) {
    info.containerId = id[1];
    info.runtime = runtimeOf(last, path);
    return info;
  }
  if (!pod) {
    // The innermost service unit; user@UID.service is the user's manager, not an app.
    for (let i = segments.length - 1; i >= 0; i--) {
      const s = segments[i];
      if (s.endsWith('.service') && !/^user@\d+\.service$/.test(s)) {
        info.systemdUnit = s;
        break;
      }
    }
  }
  return info;
}

function runtimeOf(segment: string, path: string): string | undefined {
  if (segment.startsWith('cri-containerd-') || path.includes('containerd')) return 'containerd';
  if (segment.startsWith('crio-')) return 'cri-o';
  if (segment.startsWith('docker-') || path.startsWith('/docker/')) return 'docker';
  if (segment.startsWith('libpod-')) return 'podman';
  if (path.includes('kubepods')) return undefined; // cgroupfs driver: the runtime is not named
  return undefined;
}

/** `nginx.service` → `nginx`; template instances keep their instance (`getty@tty1`). */
export function serviceNameOfUnit(unit: string): string {
  return unit.replace(/\.service$/, '');
}
