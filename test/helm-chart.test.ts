/**
 * The Helm chart (deploy/helm/pilotlight), tested with the real Helm: `helm lint`, its
 * values.schema.json as Helm itself enforces it, and what `helm template` renders, every object
 * of which is strictly decoded into its Kubernetes API type by kubecheck (unknown fields, wrong
 * types and kinds Kubernetes does not serve fail). NOTES.txt is rendered by helm-notes, Helm's
 * install action in `helm template`'s client-only mode (`helm template` does not print notes).
 * scripts/peers.sh builds Helm and helm-notes (tools/peers/helm) and kubecheck
 * (tools/peers/kubecheck) from the Go module proxy; without them the tests that need them skip,
 * saying why.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { parseConfig } from '../src/config/load.js';
import type { PilotlightConfig } from '../src/config/schema.js';
import { helmBinary, helmNotesBinary, kubecheckBinary } from './helpers/peers.js';

const REPO = join(import.meta.dirname, '..');
const CHART = join(REPO, 'deploy', 'helm', 'pilotlight');
const CONFIG_PATH = '/etc/pilotlight/pilotlight.yaml';

const HELM = helmBinary();
const HELM_NOTES = helmNotesBinary();
const KUBECHECK = kubecheckBinary();
/** Why the tests that run Helm cannot run here, or false when they can. */
const skipHelm = HELM.why ?? HELM_NOTES.why ?? false;
/** The same for the rendering tests, which also check every object with kubecheck. */
const skipRender = skipHelm || (KUBECHECK.why ?? false);
if (skipRender) process.stderr.write(`helm-chart.test: skipping the tests that run Helm or kubecheck: ${skipRender}\n`);

type Run = { status: number | null; stdout: string; stderr: string };

/** Helm's own folders in a temp dir, so no test reads or writes the user's ~/.config/helm and the like. */
let helmHome = '';
function helmEnv(): NodeJS.ProcessEnv {
  if (!helmHome) {
    helmHome = mkdtempSync(join(tmpdir(), 'pilotlight-helm-home-'));
    process.on('exit', () => rmSync(helmHome, { recursive: true, force: true }));
  }
  return {
    ...process.env,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
    KUBECONFIG: join(helmHome, 'no-kubeconfig'),
  };
}

function exec(path: string, args: string[], input?: string): Run {
  const r = spawnSync(path, args, { encoding: 'utf8', env: helmEnv(), input, timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm SUBCOMMAND [NAME] CHART args...`: args are Helm's own ([NAME] first, then flags). */
function helm(subcommand: 'template' | 'lint', args: string[] = []): Run {
  return exec(HELM.path!, [subcommand, ...args, CHART]);
}

/** The chart's NOTES.txt as `helm install` prints it, for the same [NAME] and flags as `helm template`. */
function notesOf(args: string[] = []): Run {
  return exec(HELM_NOTES.path!, [...args, CHART]);
}

// ---------------------------------------------------------------------------------------------
// Kubernetes object shapes, as far as the assertions need them.

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  ports?: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: { privileged?: boolean; runAsUser?: number; runAsNonRoot?: boolean };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
}
interface PodSpec {
  hostPID?: boolean;
  serviceAccountName?: string;
  containers: Container[];
  volumes?: { name: string; hostPath?: { path: string }; secret?: { secretName: string }; emptyDir?: object }[];
  tolerations?: { operator?: string; key?: string; effect?: string }[];
}
interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
  };
}
interface Service extends K8sObject {
  spec: { type: string; selector: Record<string, string>; ports: { name: string; port: number; targetPort: string | number }[] };
}
interface ClusterRole extends K8sObject {
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}
interface ClusterRoleBinding extends K8sObject {
  roleRef: { kind: string; name: string };
  subjects: { kind: string; name: string; namespace: string }[];
}
interface HorizontalPodAutoscaler extends K8sObject {
  spec: {
    scaleTargetRef: { apiVersion: string; kind: string; name: string };
    minReplicas: number;
    maxReplicas: number;
    metrics: { type: string; resource?: { name: string; target: { type: string; averageUtilization?: number } } }[];
    behavior?: unknown;
  };
}
interface Secret extends K8sObject {
  type: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

class Rendered {
  constructor(readonly objects: K8sObject[]) {}

  find<T extends K8sObject>(kind: string, name?: string): T {
    const hits = this.objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
    assert.equal(
      hits.length,
      1,
      `expected one ${kind}${name ? ` ${name}` : ''}, found ${hits.length}: ${this.objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
    return hits[0] as T;
  }

  all<T extends K8sObject>(kind: string): T[] {
    return this.objects.filter((o) => o.kind === kind) as T[];
  }

  /** The Secret's pilotlight.yaml: its text and what the project's own loader makes of it. */
  config(secretName: string): { text: string; config: PilotlightConfig } {
    const secret = this.find<Secret>('Secret', secretName);
    const b64 = secret.data?.['pilotlight.yaml'];
    assert.ok(b64, 'the Secret carries pilotlight.yaml under data');
    const text = Buffer.from(b64, 'base64').toString('utf8');
    return { text, config: parseConfig(parseYaml(text), `${secretName}/pilotlight.yaml`) };
  }
}

function container(w: Workload, name: string): Container {
  const c = w.spec.template.spec.containers.find((x) => x.name === name);
  assert.ok(c, `${w.kind} ${w.metadata.name} has a container ${name}`);
  return c;
}

function envOf(c: Container): Record<string, string | undefined> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The Service's ports by name, checked to target a container port that exists. */
function servicePorts(svc: Service, pod: Workload): Record<string, { port: number; containerPort: number }> {
  const containerPorts = pod.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
  const out: Record<string, { port: number; containerPort: number }> = {};
  for (const p of svc.spec.ports) {
    const target = containerPorts.find((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort);
    assert.ok(target, `${svc.metadata.name} port ${p.name} targets ${p.targetPort}, which no container declares`);
    out[p.name] = { port: p.port, containerPort: target.containerPort };
  }
  // The Service selects exactly the pods of its workload.
  for (const [k, v] of Object.entries(svc.spec.selector)) {
    assert.equal(pod.spec.template.metadata.labels[k], v, `${svc.metadata.name} selector ${k}=${v} matches the ${pod.metadata.name} pods`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values files used below.

const defaultValues = parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as {
  profiling: { ui: Record<'maxSlots' | 'slotTtlSeconds' | 'slotMaxBytes' | 'cleanupIntervalSeconds' | 'maxSources', number> };
};

/** A realistic production values file: every exporter, UI and destination knob changed. */
const CUSTOM_VALUES = {
  image: { repository: 'registry.internal/platform/pilotlight', tag: '1.2.3', pullPolicy: 'Always' },
  imagePullSecrets: ['regcred'],
  clusterDomain: 'corp.local',
  profiling: {
    enabled: true,
    exporter: {
      enableDataCompression: true,
      timeout: '10s',
      retryOnFailure: { enabled: false, initialInterval: '250ms', maxInterval: '1m', maxElapsedTime: '2h' },
      queue: { maxItems: 50, maxBytes: 1048576 },
    },
    node: {
      hz: 99,
      interval: '2s',
      gateway: { protocol: 'http' },
      resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
      priorityClassName: 'system-node-critical',
    },
    gateway: {
      replicas: 3,
      autoscaling: { enabled: false },
      bearerToken: 's3cret-token',
      ui: { protocol: 'http' },
      service: { grpcPort: 5317, httpPort: 5318 },
      extraVolumes: [{ name: 'pyroscope-ca', secret: { secretName: 'pyroscope-ca' } }],
      extraVolumeMounts: [{ name: 'pyroscope-ca', mountPath: '/etc/pilotlight/ca', readOnly: true }],
    },
    ui: {
      maxSlots: 5,
      slotTtlSeconds: 600,
      slotMaxBytes: 4294967296,
      cleanupIntervalSeconds: 30,
      maxSources: 200000,
      service: { port: 8080 },
    },
  },
  destinations: [
    {
      type: 'pyroscope',
      name: 'grafana',
      url: 'https://pyroscope.monitoring.svc:4040',
      tenant: 'team-a',
      basicAuth: { username: 'pilot', password: 'hunter2' },
      headers: { 'X-Env': 'prod' },
      tls: { insecureSkipVerify: false, caFile: '/etc/pilotlight/ca/ca.crt' },
      attributes: { serviceNameFromWorkload: false, drop: ['process.pid', 'process.environment_variable.*'] },
      retryOnHttpStatus: [500, 408],
    },
    {
      type: 'otlp',
      name: 'collector',
      endpoint: 'http://otel-collector.observability:4318',
      protocol: 'http',
      headers: { 'X-Team': 'perf' },
      attributes: { drop: ['thread.name'] },
      retryOnHttpStatus: [500],
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// values.schema.json

describe('values.schema.json', () => {
  const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as object;
  let work = '';
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'pilotlight-helm-schema-'));
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });
  let n = 0;
  /** A values file holding `values` (JSON is YAML). */
  const valuesFile = (values: unknown): string => {
    const file = join(work, `values-${++n}.yaml`);
    writeFileSync(file, JSON.stringify(values));
    return file;
  };
  /** Helm's verdict on a values file: `helm lint` and `helm template` both check the schema. */
  const lint = (values: unknown) => helm('lint', ['--strict', '-f', valuesFile(values)]);
  const check = (values: unknown) => {
    const r = helm('template', ['-f', valuesFile(values)]);
    return { ok: r.status === 0, errors: r.stderr };
  };

  test('is a draft-07 schema', () => {
    assert.equal((schema as { $schema: string }).$schema, 'http://json-schema.org/draft-07/schema#');
  });

  test('helm lint --strict passes the chart with its defaults and with profiling on', { skip: skipHelm }, () => {
    for (const args of [[], ['--set', 'profiling.enabled=true']]) {
      const r = helm('lint', ['--strict', ...args]);
      assert.equal(r.status, 0, `helm lint --strict ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(r.stdout, /\[(ERROR|WARNING)\]/);
    }
  });

  test('accepts a values file that changes every exporter, UI and destination setting', { skip: skipHelm }, () => {
    const r = lint(CUSTOM_VALUES);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stdout, /\[(ERROR|WARNING)\]/);
    const c = check(CUSTOM_VALUES);
    assert.ok(c.ok, c.errors);
    assert.ok(check({ profiling: { enabled: true } }).ok, 'a minimal override is valid');
  });

  test('a values file that breaks the schema is refused by helm lint, helm template and an install, naming the key', { skip: skipHelm }, () => {
    const file = valuesFile({ profiling: { enabled: true, node: { hz: 5000 } } });
    const lintRun = helm('lint', ['-f', file]);
    assert.notEqual(lintRun.status, 0, 'helm lint fails');
    assert.match(lintRun.stdout, /\[ERROR\] values\.yaml: .*at '\/profiling\/node\/hz': maximum: got 5,000, want 1,000/s);
    assert.match(lintRun.stderr, /1 chart\(s\) linted, 1 chart\(s\) failed/);
    const templateRun = helm('template', ['-f', file]);
    assert.notEqual(templateRun.status, 0, 'helm template fails');
    assert.match(templateRun.stderr, /values don't meet the specifications of the schema/);
    assert.match(templateRun.stderr, /at '\/profiling\/node\/hz': maximum: got 5,000, want 1,000/);
    assert.equal(templateRun.stdout, '', 'and renders nothing');
    const install = notesOf(['-f', file]);
    assert.notEqual(install.status, 0, "Helm's install action fails");
    assert.match(install.stderr, /at '\/profiling\/node\/hz'/);
    // --set is checked too, after the merge.
    const set = helm('template', ['--set', 'profiling.enabled=yes']);
    assert.notEqual(set.status, 0);
    assert.match(set.stderr, /at '\/profiling\/enabled': got string, want boolean/);
  });

  const bad: [string, unknown, RegExp][] = [
    ['an unknown top-level key', { profilling: { enabled: true } }, /at '': additional properties 'profilling' not allowed/],
    ['an unknown key under profiling', { profiling: { enable: true } }, /at '\/profiling': additional properties 'enable' not allowed/],
    [
      'an unknown exporter key',
      { profiling: { exporter: { compression: 'gzip' } } },
      /at '\/profiling\/exporter': additional properties 'compression' not allowed/,
    ],
    ['enabled as a string', { profiling: { enabled: 'yes' } }, /at '\/profiling\/enabled': got string, want boolean/],
    ['a duration without a unit', { profiling: { exporter: { timeout: '5' } } }, /at '\/profiling\/exporter\/timeout': '5' does not match pattern/],
    ['a duration as a number', { profiling: { exporter: { retryOnFailure: { maxInterval: 30 } } } }, /maxInterval': got number, want string/],
    ['a zero queue', { profiling: { exporter: { queue: { maxItems: 0 } } } }, /maxItems': minimum: got 0, want 1/],
    ['hz out of range', { profiling: { node: { hz: 5000 } } }, /at '\/profiling\/node\/hz': maximum: got 5,000, want 1,000/],
    ['an unknown protocol', { profiling: { node: { gateway: { protocol: 'udp' } } } }, /protocol': value must be one of 'grpc', 'http'/],
    [
      'an unknown sampler',
      { profiling: { node: { sampler: 'perf' } } },
      /at '\/profiling\/node\/sampler': value must be one of '', 'bpftrace', 'ebpf-profiler'/,
    ],
    [
      'an unknown autoscaling key',
      { profiling: { gateway: { autoscaling: { targetMemory: 80 } } } },
      /at '\/profiling\/gateway\/autoscaling': additional properties 'targetMemory' not allowed/,
    ],
    [
      'autoscaling to zero pods',
      { profiling: { gateway: { autoscaling: { minReplicas: 0 } } } },
      /at '\/profiling\/gateway\/autoscaling\/minReplicas': minimum: got 0, want 1/,
    ],
    [
      'a CPU target as a string',
      { profiling: { gateway: { autoscaling: { targetCPUUtilizationPercentage: '70%' } } } },
      /targetCPUUtilizationPercentage': got string, want integer/,
    ],
    ['maxSlots of zero', { profiling: { ui: { maxSlots: 0 } } }, /at '\/profiling\/ui\/maxSlots': minimum: got 0, want 1/],
    ['slotMaxBytes as a string', { profiling: { ui: { slotMaxBytes: '8Mi' } } }, /slotMaxBytes': got string, want integer/],
    ['a bad service port', { profiling: { ui: { service: { port: 70000 } } } }, /at '\/profiling\/ui\/service\/port': maximum: got 70,000, want 65,535/],
    ['a bad pull policy', { image: { repository: 'x', pullPolicy: 'Sometimes' } }, /pullPolicy': value must be one of 'Always', 'IfNotPresent', 'Never'/],
    ['a pyroscope destination without url', { destinations: [{ type: 'pyroscope', name: 'p' }] }, /at '\/destinations\/0': missing property 'url'/],
    [
      'an otlp destination with a pyroscope key',
      { destinations: [{ type: 'otlp', endpoint: 'c:4317', tenant: 't' }] },
      /at '\/destinations\/0': additional properties 'tenant' not allowed/,
    ],
    [
      'an unknown destination type',
      { destinations: [{ type: 'jaeger', endpoint: 'j:4317' }] },
      /at '\/destinations\/0\/type': value must be one of 'pyroscope', 'otlp'/,
    ],
    [
      'a destination header that is not a string',
      { destinations: [{ type: 'otlp', endpoint: 'c:4317', headers: { 'X-N': 1 } }] },
      /headers\/X-N': got number, want string/,
    ],
    [
      'an unknown attributes key',
      { destinations: [{ type: 'pyroscope', url: 'http://p:4040', attributes: { keep: [] } }] },
      /at '\/destinations\/0\/attributes': additional properties 'keep' not allowed/,
    ],
    [
      'an empty attribute key to drop',
      { destinations: [{ type: 'pyroscope', url: 'http://p:4040', attributes: { drop: [''] } }] },
      /at '\/destinations\/0\/attributes\/drop\/0': minLength: got 0, want 1/,
    ],
    [
      'a retried HTTP status that is no error',
      { destinations: [{ type: 'pyroscope', url: 'http://p:4040', retryOnHttpStatus: [200] }] },
      /at '\/destinations\/0\/retryOnHttpStatus\/0': minimum: got 200, want 400/,
    ],
    [
      'an unknown gRPC status name',
      { destinations: [{ type: 'otlp', endpoint: 'c:4317', retryOnGrpcStatus: ['BROKEN'] }] },
      /at '\/destinations\/0\/retryOnGrpcStatus\/0': value must be one of 'CANCELLED'/,
    ],
    [
      'retryOnGrpcStatus on a pyroscope destination',
      { destinations: [{ type: 'pyroscope', url: 'http://p:4040', retryOnGrpcStatus: ['INTERNAL'] }] },
      /at '\/destinations\/0': additional properties 'retryOnGrpcStatus' not allowed/,
    ],
  ];
  for (const [what, values, expected] of bad) {
    test(`rejects ${what}`, { skip: skipHelm }, () => {
      const r = check(values);
      assert.equal(r.ok, false, `${what} should be invalid`);
      assert.match(r.errors, expected);
    });
  }

  test('every key of values.yaml is commented', () => {
    // A key line is documented when a comment line sits right above it (or above its block).
    const lines = readFileSync(join(CHART, 'values.yaml'), 'utf8').split('\n');
    const undocumented: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const m = /^(\s*)([A-Za-z][\w]*):/.exec(lines[i]);
      if (!m) continue;
      const indent = m[1].length;
      const prev = lines[i - 1] ?? '';
      const parentLine = lines
        .slice(0, i)
        .reverse()
        .find((l) => /^\s*[A-Za-z][\w]*:/.test(l) && /^\s*/.exec(l)![0].length < indent);
      const isNestedK8sValue = parentLine !== undefined && /^\s*(resources|requests|limits|updateStrategy|rollingUpdate):/.test(parentLine);
      if (/^\s*#/.test(prev) || isNestedK8sValue) continue;
      // A section header may be documented by the comment above its first child.
      const next = lines[i + 1] ?? '';
      if (/:\s*$/.test(lines[i]) && /^\s*#/.test(next)) continue;
      undocumented.push(`${i + 1}: ${lines[i].trim()}`);
    }
    assert.deepEqual(undocumented, []);
  });
});

// ---------------------------------------------------------------------------------------------
// Rendering

describe('kubecheck', { skip: KUBECHECK.why ?? false }, () => {
  test('refuses what the API server would: unknown fields, wrong types, unserved versions, duplicates', () => {
    // As `helm template` writes it: a separator first; empty documents are not counted.
    const manifest = [
      '---',
      '# Source: t/templates/ok.yaml',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: fine, namespace: ns}',
      'data: {a: b}',
      '---',
      '# Source: t/templates/deployment.yaml',
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: d, namespace: ns}',
      'spec:',
      '  replica: 2',
      '  selector: {matchLabels: {a: b}}',
      '  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}',
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata: {name: s, namespace: ns}',
      'spec: {ports: [{name: http, port: "80"}]}',
      '---',
      'apiVersion: autoscaling/v2',
      'kind: HorizontalPodAutoscaler',
      'metadata: {name: h, namespace: ns}',
      'spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: d}, maxReplicas: 3, targetCPUUtilizationPercentage: 70}',
      '---',
      '# Source: t/templates/empty.yaml',
      '---',
      'apiVersion: autoscaling/v3',
      'kind: HorizontalPodAutoscaler',
      'metadata: {name: h3, namespace: ns}',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: fine, namespace: ns}',
      '',
    ].join('\n');
    const r = exec(KUBECHECK.path!, [], manifest);
    assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'ok v1 ConfigMap ns/fine');
    assert.match(lines[1], /^error document 2 \(t\/templates\/deployment\.yaml\): strict decoding error: unknown field "spec\.replica"/);
    assert.match(lines[2], /^error document 3: .*cannot unmarshal string into Go struct field ServicePort\.spec\.ports\.port of type int32/);
    assert.match(
      lines[3],
      /^error document 4: strict decoding error: unknown field "spec\.targetCPUUtilizationPercentage"/,
      'an autoscaling/v1 field in an autoscaling/v2 HPA',
    );
    assert.match(lines[4], /^error document 5: no kind "HorizontalPodAutoscaler" is registered for version "autoscaling\/v3"/);
    assert.equal(lines[5], 'error document 6: v1 ConfigMap ns/fine is also document 1');
    assert.equal(lines.length, 6);
    assert.match(r.stderr, /kubecheck: 5 problem\(s\)/);
  });
});

describe('helm chart rendering', { skip: skipRender }, () => {
  let work = '';

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'pilotlight-helm-'));
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** `helm template [NAME] CHART args...`. */
  function run(args: string[]): Run {
    return helm('template', args);
  }

  /** `helm template`'s objects, each of which kubecheck decoded into its Kubernetes API type. */
  function render(args: string[] = []): Rendered {
    const r = run(args);
    assert.equal(r.status, 0, `helm template ${args.join(' ')} failed: ${r.stderr}`);
    const checked = exec(KUBECHECK.path!, [], r.stdout);
    assert.equal(checked.status, 0, `kubecheck refuses what helm template ${args.join(' ')} rendered:\n${checked.stdout}${checked.stderr}`);
    const docs = parseAllDocuments(r.stdout);
    const objects: K8sObject[] = [];
    for (const doc of docs) {
      assert.deepEqual(doc.errors, [], `rendered YAML parses:\n${r.stdout}`);
      const obj = doc.toJS() as K8sObject | null;
      if (obj === null) continue;
      assert.ok(obj.apiVersion && obj.kind && obj.metadata?.name, `every document is a Kubernetes object: ${JSON.stringify(obj)}`);
      objects.push(obj);
    }
    assert.equal(checked.stdout.split('\n').filter((l) => l.startsWith('ok ')).length, objects.length, 'kubecheck checked every object');
    return new Rendered(objects);
  }

  /**
   * A values file, written as JSON (which is YAML): Helm reads YAML 1.1, where a plain `y`, `no`
   * or `on` is a boolean, so the `yaml` package's 1.2 output could change the values on the way.
   */
  function valuesFile(name: string, values: unknown): string {
    const file = join(work, name);
    writeFileSync(file, JSON.stringify(values, null, 2));
    return file;
  }

  test('by default (profiling.enabled=false) the chart renders no objects at all', () => {
    const r = run([]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '', 'no document, not even an empty one');
    assert.equal(render(['--set', 'profiling.enabled=false']).objects.length, 0);
    // Other settings do not sneak objects in while profiling is off.
    const off = valuesFile('off.yaml', { ...CUSTOM_VALUES, profiling: { ...CUSTOM_VALUES.profiling, enabled: false } });
    assert.equal(render(['-f', off]).objects.length, 0);
    const notes = notesOf();
    assert.match(notes.stdout, /profiling disabled/);
    assert.match(notes.stdout, /--set profiling\.enabled=true/);
  });

  describe('with profiling.enabled=true and the default values', () => {
    const NS = 'observability';
    const REL = 'pl';
    const FULL = 'pl-pilotlight';
    let out: Rendered;
    before(() => {
      out = render([REL, '--namespace', NS, '--set', 'profiling.enabled=true']);
    });

    test('renders exactly the expected objects, all in the release namespace', () => {
      const names = out.objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
      assert.deepEqual(names, [
        `ClusterRole/${FULL}-node`,
        `ClusterRoleBinding/${FULL}-node`,
        `DaemonSet/${FULL}-node`,
        `Deployment/${FULL}-gateway`,
        `Deployment/${FULL}-ui`,
        `HorizontalPodAutoscaler/${FULL}-gateway`,
        `Secret/${FULL}-config`,
        `Service/${FULL}-gateway`,
        `Service/${FULL}-ui`,
        `ServiceAccount/${FULL}-node`,
      ]);
      for (const o of out.objects) {
        if (o.kind.startsWith('Cluster')) assert.equal(o.metadata.namespace, undefined, `${o.kind} is cluster-scoped`);
        else assert.equal(o.metadata.namespace, NS, `${o.kind}/${o.metadata.name} namespace`);
        assert.equal(o.metadata.labels?.['app.kubernetes.io/instance'], REL);
        assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm');
      }
    });

    test('the node DaemonSet is privileged with hostPID, the kernel mounts, NODE_NAME and every-node tolerations', () => {
      const ds = out.find<Workload>('DaemonSet', `${FULL}-node`);
      const pod = ds.spec.template.spec;
      assert.equal(pod.hostPID, true);
      assert.equal(pod.serviceAccountName, `${FULL}-node`);
      const c = container(ds, 'node');
      assert.equal(c.securityContext?.privileged, true);
      assert.equal(c.securityContext?.runAsUser, 0);
      assert.deepEqual(c.args, ['node', '--config', CONFIG_PATH]);
      assert.equal(c.image, 'pilotlight:0.1.0', 'the image tag defaults to the appVersion');

      const nodeName = c.env?.find((e) => e.name === 'NODE_NAME');
      assert.deepEqual(nodeName?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });

      const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.mountPath, m]));
      const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
      const hostMount = (path: string, readOnly: boolean) => {
        const m = mounts.get(path);
        assert.ok(m, `${path} is mounted`);
        assert.equal(m.readOnly ?? false, readOnly, `${path} readOnly`);
        assert.equal(volumes.get(m.name)?.hostPath?.path, path, `${path} comes from the host's ${path}`);
      };
      hostMount('/sys/kernel/debug', false);
      hostMount('/sys/kernel/tracing', false);
      hostMount('/sys/fs/bpf', false);
      hostMount('/lib/modules', true);
      hostMount('/usr/src', true);

      const config = mounts.get('/etc/pilotlight');
      assert.equal(config?.readOnly, true);
      assert.equal(volumes.get(config.name)?.secret?.secretName, `${FULL}-config`);

      assert.ok(
        pod.tolerations?.some((t) => t.operator === 'Exists' && !t.key && !t.effect),
        'tolerates every taint',
      );
      assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory, 'resources are set');
      assert.deepEqual(ds.spec.selector.matchLabels, {
        'app.kubernetes.io/name': 'pilotlight',
        'app.kubernetes.io/instance': REL,
        'app.kubernetes.io/component': 'node',
      });
    });

    test('the node service account may read pods and their owners, cluster-wide', () => {
      const sa = out.find('ServiceAccount', `${FULL}-node`);
      const role = out.find<ClusterRole>('ClusterRole', `${FULL}-node`);
      const binding = out.find<ClusterRoleBinding>('ClusterRoleBinding', `${FULL}-node`);
      const can = (group: string, resource: string) =>
        role.rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && ['get', 'list', 'watch'].every((v) => r.verbs.includes(v)));
      for (const [group, resource] of [
        ['', 'pods'],
        ['apps', 'replicasets'],
        ['apps', 'deployments'],
        ['apps', 'statefulsets'],
        ['apps', 'daemonsets'],
        ['batch', 'jobs'],
        ['batch', 'cronjobs'],
      ]) {
        assert.ok(can(group, resource), `get/list/watch ${group || 'core'}/${resource}`);
      }
      for (const r of role.rules) {
        assert.deepEqual([...r.verbs].sort(), ['get', 'list', 'watch'], 'read-only');
        assert.ok(!r.resources.includes('secrets') && !r.resources.includes('*'), 'no secrets, no wildcards');
      }
      assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name });
      assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: NS }]);
    });

    test('the Services expose the gateway on 4317/4318 and the UI on 3000 and 14317/14318', () => {
      const gw = out.find<Workload>('Deployment', `${FULL}-gateway`);
      const ui = out.find<Workload>('Deployment', `${FULL}-ui`);
      assert.deepEqual(servicePorts(out.find<Service>('Service', `${FULL}-gateway`), gw), {
        'otlp-grpc': { port: 4317, containerPort: 4317 },
        'otlp-http': { port: 4318, containerPort: 4318 },
      });
      assert.deepEqual(servicePorts(out.find<Service>('Service', `${FULL}-ui`), ui), {
        http: { port: 3000, containerPort: 3000 },
        'otlp-grpc': { port: 14317, containerPort: 14317 },
        'otlp-http': { port: 14318, containerPort: 14318 },
      });
      // The gateway selector must not also catch the UI pods (and the other way round).
      assert.notEqual(gw.spec.template.metadata.labels['app.kubernetes.io/component'], ui.spec.template.metadata.labels['app.kubernetes.io/component']);
    });

    test('the gateway and UI run their subcommand, unprivileged, with health probes on their HTTP ports', () => {
      const gw = container(out.find<Workload>('Deployment', `${FULL}-gateway`), 'gateway');
      assert.deepEqual(gw.args, ['gateway', '--config', CONFIG_PATH]);
      assert.deepEqual(gw.readinessProbe?.httpGet, { path: '/readyz', port: 'otlp-http' });
      assert.deepEqual(gw.livenessProbe?.httpGet, { path: '/healthz', port: 'otlp-http' });
      const uiDeploy = out.find<Workload>('Deployment', `${FULL}-ui`);
      assert.equal(uiDeploy.spec.replicas, 1, 'one UI: its store is in memory');
      const ui = container(uiDeploy, 'ui');
      assert.deepEqual(ui.args, ['ui', '--config', CONFIG_PATH]);
      assert.deepEqual(ui.readinessProbe?.httpGet, { path: '/readyz', port: 'http' });
      assert.deepEqual(ui.livenessProbe?.httpGet, { path: '/healthz', port: 'http' });
      for (const c of [gw, ui]) {
        assert.equal(c.securityContext?.privileged, undefined);
        assert.equal(c.securityContext?.runAsNonRoot, true);
        assert.ok(c.volumeMounts?.some((m) => m.mountPath === '/etc/pilotlight' && m.readOnly));
      }
    });

    test('the gateway scales on CPU: an HPA owns its replica count, and its pods request CPU', () => {
      const gw = out.find<Workload>('Deployment', `${FULL}-gateway`);
      assert.equal(gw.spec.replicas, undefined, 'no replicas in the Deployment, or every upgrade would reset what the HPA chose');
      const hpa = out.find<HorizontalPodAutoscaler>('HorizontalPodAutoscaler', `${FULL}-gateway`);
      assert.equal(hpa.apiVersion, 'autoscaling/v2');
      assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: gw.metadata.name });
      assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [2, 20]);
      assert.deepEqual(hpa.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
      assert.equal(hpa.spec.behavior, undefined, "Kubernetes' default behavior");
      assert.equal(hpa.metadata.labels?.['app.kubernetes.io/component'], 'gateway');
      // Utilization is a percentage of the request: without one the HPA cannot compute it.
      assert.ok(container(gw, 'gateway').resources?.requests?.cpu, 'the gateway container requests CPU');
    });

    test("the UI's PROFILES_* environment comes from profiling.ui", () => {
      const env = envOf(container(out.find<Workload>('Deployment', `${FULL}-ui`), 'ui'));
      const ui = defaultValues.profiling.ui;
      assert.deepEqual(
        {
          PROFILES_MAX_SLOTS: env.PROFILES_MAX_SLOTS,
          PROFILES_SLOT_TTL_SECONDS: env.PROFILES_SLOT_TTL_SECONDS,
          PROFILES_SLOT_MAX_BYTES: env.PROFILES_SLOT_MAX_BYTES,
          PROFILES_CLEANUP_INTERVAL_SECONDS: env.PROFILES_CLEANUP_INTERVAL_SECONDS,
          PROFILES_MAX_SOURCES: env.PROFILES_MAX_SOURCES,
        },
        {
          PROFILES_MAX_SLOTS: String(ui.maxSlots),
          PROFILES_SLOT_TTL_SECONDS: String(ui.slotTtlSeconds),
          PROFILES_SLOT_MAX_BYTES: String(ui.slotMaxBytes),
          PROFILES_CLEANUP_INTERVAL_SECONDS: String(ui.cleanupIntervalSeconds),
          PROFILES_MAX_SOURCES: String(ui.maxSources),
        },
      );
      assert.equal(env.PROFILES_SLOT_MAX_BYTES, '8388608', 'a big number is printed whole, not as 8.388608e+06');
    });

    test("the Secret's pilotlight.yaml passes the project's parseConfig, binds 0.0.0.0 and points at the Services", () => {
      const { config } = out.config(`${FULL}-config`);
      const p = config.profiling;
      assert.equal(p.enabled, true);
      assert.deepEqual(p.exporter, {
        enableDataCompression: false,
        timeout: 5000,
        retryOnFailure: { enabled: true, initialInterval: 5000, maxInterval: 30_000, maxElapsedTime: 300_000 },
        queue: { maxItems: 1000, maxBytes: 64 * 1024 * 1024 },
      });
      assert.deepEqual(p.node, {
        hz: 20,
        interval: 1000,
        offCpu: { enabled: false, probability: 0.01 },
        gateway: { endpoint: `http://${FULL}-gateway.${NS}.svc.cluster.local:4318`, protocol: 'http' },
      });
      assert.deepEqual(p.gateway, {
        grpc: { host: '0.0.0.0', port: 4317 },
        http: { host: '0.0.0.0', port: 4318 },
        ui: {
          endpoint: `${FULL}-ui.${NS}.svc.cluster.local:14317`,
          protocol: 'grpc',
          // The gateway forwards to the UI only what it has slots for, asking its Service's API.
          subscription: { enabled: true, api: `http://${FULL}-ui.${NS}.svc.cluster.local:3000`, usageInterval: 1000 },
        },
      });
      assert.deepEqual(p.ui, {
        host: '0.0.0.0',
        port: 3000,
        otlp: { grpc: { host: '0.0.0.0', port: 14317 }, http: { host: '0.0.0.0', port: 14318 } },
        maxSlots: 24,
        slotTtlSeconds: 120,
        slotMaxBytes: 8 * 1024 * 1024,
        cleanupIntervalSeconds: 15,
        maxSources: 50_000,
      });
      assert.deepEqual(config.destinations, []);
    });

    test('every pod carries the checksum of the config, so a config change rolls it', () => {
      const { text } = out.config(`${FULL}-config`);
      const expected = sha256(text);
      const pods = [...out.all<Workload>('DaemonSet'), ...out.all<Workload>('Deployment')];
      assert.equal(pods.length, 3);
      for (const w of pods) assert.equal(w.spec.template.metadata.annotations?.['checksum/config'], expected, `${w.metadata.name}`);
    });

    test('NOTES.txt tells how to reach the UI with a port-forward', () => {
      const notes = notesOf([REL, '--namespace', NS, '--set', 'profiling.enabled=true']);
      assert.equal(notes.status, 0, notes.stderr);
      assert.match(notes.stdout, new RegExp(`kubectl --namespace ${NS} port-forward svc/${FULL}-ui 3000:3000`));
      assert.match(notes.stdout, /http:\/\/localhost:3000/);
    });
  });

  describe('with a values file that changes the exporter, UI and destinations', () => {
    const NS = 'perf';
    const FULL = 'prod-pilotlight';
    let out: Rendered;
    let config: PilotlightConfig;
    before(() => {
      out = render(['prod', '--namespace', NS, '-f', valuesFile('custom.yaml', CUSTOM_VALUES)]);
      config = out.config(`${FULL}-config`).config;
    });

    test('the exporter settings arrive in pilotlight.yaml', () => {
      assert.deepEqual(config.profiling.exporter, {
        enableDataCompression: true,
        timeout: 10_000,
        retryOnFailure: { enabled: false, initialInterval: 250, maxInterval: 60_000, maxElapsedTime: 7_200_000 },
        queue: { maxItems: 50, maxBytes: 1048576 },
      });
    });

    test('the node and gateway send over OTLP/HTTP to the Services on their configured ports', () => {
      assert.deepEqual(config.profiling.node, {
        hz: 99,
        interval: 2000,
        offCpu: { enabled: false, probability: 0.01 },
        gateway: { endpoint: `http://${FULL}-gateway.${NS}.svc.corp.local:5318`, protocol: 'http' },
      });
      assert.deepEqual(config.profiling.gateway.ui, {
        endpoint: `http://${FULL}-ui.${NS}.svc.corp.local:14318`,
        protocol: 'http',
        subscription: { enabled: true, api: `http://${FULL}-ui.${NS}.svc.corp.local:8080`, usageInterval: 1000 },
      });
      assert.equal(config.profiling.gateway.bearerToken, 's3cret-token');
      // The gateway requires the token, so every node sends it: from the Secret, never inline.
      const tokenEnv = container(out.find<Workload>('DaemonSet', `${FULL}-node`), 'node').env?.find((e) => e.name === 'PILOTLIGHT_BEARER_TOKEN');
      assert.deepEqual(tokenEnv, { name: 'PILOTLIGHT_BEARER_TOKEN', valueFrom: { secretKeyRef: { name: `${FULL}-config`, key: 'bearerToken' } } });
      const secret = out.find<Secret>('Secret', `${FULL}-config`);
      assert.equal(Buffer.from(secret.data?.bearerToken ?? '', 'base64').toString('utf8'), 's3cret-token');
      // The container still listens on its own ports; only the Service ports changed.
      assert.deepEqual(config.profiling.gateway.grpc, { host: '0.0.0.0', port: 4317 });
      assert.deepEqual(servicePorts(out.find<Service>('Service', `${FULL}-gateway`), out.find<Workload>('Deployment', `${FULL}-gateway`)), {
        'otlp-grpc': { port: 5317, containerPort: 4317 },
        'otlp-http': { port: 5318, containerPort: 4318 },
      });
      assert.equal(out.find<Service>('Service', `${FULL}-ui`).spec.ports.find((p) => p.name === 'http')?.port, 8080);
    });

    test('the UI store limits arrive both as PROFILES_* env and in pilotlight.yaml', () => {
      const env = envOf(container(out.find<Workload>('Deployment', `${FULL}-ui`), 'ui'));
      assert.equal(env.PROFILES_MAX_SLOTS, '5');
      assert.equal(env.PROFILES_SLOT_TTL_SECONDS, '600');
      assert.equal(env.PROFILES_SLOT_MAX_BYTES, '4294967296');
      assert.equal(env.PROFILES_CLEANUP_INTERVAL_SECONDS, '30');
      assert.equal(env.PROFILES_MAX_SOURCES, '200000');
      const ui = config.profiling.ui;
      assert.deepEqual([ui.maxSlots, ui.slotTtlSeconds, ui.slotMaxBytes, ui.cleanupIntervalSeconds, ui.maxSources], [5, 600, 4294967296, 30, 200000]);
    });

    test('the destinations arrive as written, credentials included (in the Secret only)', () => {
      assert.deepEqual(config.destinations, [
        {
          type: 'pyroscope',
          name: 'grafana',
          url: 'https://pyroscope.monitoring.svc:4040',
          tenant: 'team-a',
          basicAuth: { username: 'pilot', password: 'hunter2' },
          headers: { 'X-Env': 'prod' },
          tls: { insecureSkipVerify: false, caFile: '/etc/pilotlight/ca/ca.crt' },
          attributes: { serviceNameFromWorkload: false, drop: ['process.pid', 'process.environment_variable.*'] },
          retryOnHttpStatus: [500, 408],
        },
        {
          type: 'otlp',
          name: 'collector',
          endpoint: 'http://otel-collector.observability:4318',
          protocol: 'http',
          headers: { 'X-Team': 'perf' },
          attributes: { serviceNameFromWorkload: false, drop: ['thread.name'] },
          retryOnHttpStatus: [500],
          retryOnGrpcStatus: [],
        },
      ]);
      for (const o of out.objects) {
        if (o.kind === 'Secret') continue;
        const text = JSON.stringify(o);
        assert.ok(!text.includes('hunter2') && !text.includes('s3cret-token'), `${o.kind}/${o.metadata.name} carries no credential`);
      }
    });

    test('the Kubernetes settings arrive: image, pull secret, replicas, resources, tolerations, extra volumes', () => {
      const ds = out.find<Workload>('DaemonSet', `${FULL}-node`);
      const gw = out.find<Workload>('Deployment', `${FULL}-gateway`);
      for (const w of out.all<Workload>('DaemonSet').concat(out.all<Workload>('Deployment'))) {
        for (const c of w.spec.template.spec.containers) assert.equal(c.image, 'registry.internal/platform/pilotlight:1.2.3');
        assert.deepEqual((w.spec.template.spec as { imagePullSecrets?: unknown }).imagePullSecrets, [{ name: 'regcred' }]);
      }
      assert.equal(gw.spec.replicas, 3, 'with autoscaling off the Deployment sets replicas');
      assert.deepEqual(out.all('HorizontalPodAutoscaler'), [], 'and there is no HPA');
      assert.deepEqual(container(ds, 'node').resources, CUSTOM_VALUES.profiling.node.resources);
      assert.deepEqual(ds.spec.template.spec.tolerations, CUSTOM_VALUES.profiling.node.tolerations);
      assert.equal((ds.spec.template.spec as { priorityClassName?: string }).priorityClassName, 'system-node-critical');
      assert.ok(gw.spec.template.spec.volumes?.some((v) => v.name === 'pyroscope-ca' && v.secret?.secretName === 'pyroscope-ca'));
      assert.ok(container(gw, 'gateway').volumeMounts?.some((m) => m.mountPath === '/etc/pilotlight/ca'));
    });

    test('a different config gives a different checksum', () => {
      const defaults = render(['prod', '--namespace', NS, '--set', 'profiling.enabled=true']);
      const a = out.find<Workload>('Deployment', `${FULL}-ui`).spec.template.metadata.annotations?.['checksum/config'];
      const b = defaults.find<Workload>('Deployment', `${FULL}-ui`).spec.template.metadata.annotations?.['checksum/config'];
      assert.ok(a && b && a !== b);
    });

    test('NOTES.txt names the UI Service port and the destinations', () => {
      const notes = notesOf(['prod', '--namespace', NS, '-f', join(work, 'custom.yaml')]);
      assert.match(notes.stdout, new RegExp(`port-forward svc/${FULL}-ui 3000:8080`));
      assert.match(notes.stdout, /grafana, collector/);
    });
  });

  test('each component carries its own placement, pod annotations, extra env, Service type and common labels', () => {
    const placement = (component: string) => ({
      nodeSelector: { pool: `${component}-pool` },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: [component] }] }] },
        },
      },
      podAnnotations: { 'example.com/owner': `${component}-team` },
      extraEnv: [{ name: 'EXTRA', value: component }],
    });
    const out = render([
      '-f',
      valuesFile('placement.yaml', {
        commonLabels: { team: 'perf' },
        image: { pullPolicy: 'Never' },
        profiling: {
          enabled: true,
          node: placement('node'),
          gateway: { ...placement('gateway'), service: { type: 'LoadBalancer', annotations: { 'lb.example.com/internal': 'true' } } },
          ui: { ...placement('ui'), service: { type: 'NodePort', annotations: { 'ui.example.com/x': 'y' } } },
        },
      }),
    ]);
    const pods: [string, Workload][] = [
      ['node', out.find<Workload>('DaemonSet')],
      ['gateway', out.find<Workload>('Deployment', 'release-name-pilotlight-gateway')],
      ['ui', out.find<Workload>('Deployment', 'release-name-pilotlight-ui')],
    ];
    for (const [component, w] of pods) {
      const spec = w.spec.template.spec as PodSpec & { nodeSelector?: unknown; affinity?: unknown };
      assert.deepEqual(spec.nodeSelector, { pool: `${component}-pool` }, `${component} nodeSelector`);
      assert.deepEqual(spec.affinity, placement(component).affinity, `${component} affinity`);
      assert.equal(w.spec.template.metadata.annotations?.['example.com/owner'], `${component}-team`, `${component} pod annotation`);
      assert.ok(w.spec.template.metadata.annotations?.['checksum/config'], `${component} keeps its config checksum next to extra annotations`);
      const c = container(w, component);
      assert.equal(envOf(c).EXTRA, component, `${component} extra env`);
      assert.equal((c as Container & { imagePullPolicy?: string }).imagePullPolicy, 'Never');
    }
    // The extra env adds to the chart's own variables, it does not replace them.
    assert.ok(container(pods[0][1], 'node').env?.some((e) => e.name === 'NODE_NAME'));
    assert.equal(envOf(container(pods[2][1], 'ui')).PROFILES_MAX_SLOTS, '24');
    const gwSvc = out.find<Service>('Service', 'release-name-pilotlight-gateway');
    const uiSvc = out.find<Service>('Service', 'release-name-pilotlight-ui');
    assert.equal(gwSvc.spec.type, 'LoadBalancer');
    assert.deepEqual(gwSvc.metadata.annotations, { 'lb.example.com/internal': 'true' });
    assert.equal(uiSvc.spec.type, 'NodePort');
    assert.deepEqual(uiSvc.metadata.annotations, { 'ui.example.com/x': 'y' });
    for (const o of out.objects) assert.equal(o.metadata.labels?.team, 'perf', `${o.kind}/${o.metadata.name} carries the common labels`);
  });

  test('the HPA takes its bounds, CPU target and behavior from profiling.gateway.autoscaling', () => {
    const behavior = { scaleDown: { stabilizationWindowSeconds: 600, policies: [{ type: 'Pods', value: 1, periodSeconds: 120 }] } };
    const out = render([
      '-f',
      valuesFile('hpa.yaml', {
        profiling: {
          enabled: true,
          gateway: {
            replicas: 7,
            autoscaling: { minReplicas: 3, maxReplicas: 40, targetCPUUtilizationPercentage: 60, behavior },
            resources: { requests: { cpu: '1' } },
          },
        },
      }),
    ]);
    const hpa = out.find<HorizontalPodAutoscaler>('HorizontalPodAutoscaler', 'release-name-pilotlight-gateway');
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [3, 40]);
    assert.equal(hpa.spec.metrics[0].resource?.target.averageUtilization, 60);
    assert.deepEqual(hpa.spec.behavior, behavior);
    assert.equal(out.find<Workload>('Deployment', 'release-name-pilotlight-gateway').spec.replicas, undefined, 'replicas is ignored while the HPA is on');
    assert.equal(container(out.find<Workload>('Deployment', 'release-name-pilotlight-gateway'), 'gateway').resources?.requests?.cpu, '1');
  });

  test('an HPA that cannot work fails the render with the key to fix', () => {
    const inverted = run([
      '--set',
      'profiling.enabled=true',
      '--set',
      'profiling.gateway.autoscaling.minReplicas=5',
      '--set',
      'profiling.gateway.autoscaling.maxReplicas=2',
    ]);
    assert.notEqual(inverted.status, 0);
    assert.match(inverted.stderr, /profiling\.gateway\.autoscaling: minReplicas \(5\) is above maxReplicas \(2\)/);
    const noRequest = run([
      '--set',
      'profiling.enabled=true',
      '-f',
      valuesFile('no-cpu-request.yaml', { profiling: { gateway: { resources: { requests: { cpu: null, memory: '256Mi' } } } } }),
    ]);
    assert.notEqual(noRequest.status, 0);
    assert.match(noRequest.stderr, /set profiling\.gateway\.resources\.requests\.cpu/);
    // Without the HPA a CPU request is the user's business.
    const off = render(['--set', 'profiling.enabled=true', '--set', 'profiling.gateway.autoscaling.enabled=false', '-f', join(work, 'no-cpu-request.yaml')]);
    assert.equal(off.find<Workload>('Deployment', 'release-name-pilotlight-gateway').spec.replicas, 2);
  });

  test('profiling.node.sampler and offCpu reach every node', () => {
    // --set-json: Helm's --set turns 0.05 into the string "0.05", which the schema refuses.
    const out = render([
      '--set',
      'profiling.enabled=true',
      '--set',
      'profiling.node.sampler=ebpf-profiler',
      '--set',
      'profiling.node.offCpu.enabled=true',
      '--set-json',
      'profiling.node.offCpu.probability=0.05',
    ]);
    const node = out.config('release-name-pilotlight-config').config.profiling.node;
    assert.equal(node.sampler, 'ebpf-profiler');
    assert.deepEqual(node.offCpu, { enabled: true, probability: 0.05 });
  });

  test('explicit endpoints override the Service addresses', () => {
    const out = render([
      '--set',
      'profiling.enabled=true',
      '--set',
      'profiling.node.gateway.endpoint=gateway.example.internal:4317',
      '--set',
      'profiling.gateway.ui.endpoint=ui.example.internal:14317',
    ]);
    const { config } = out.config('release-name-pilotlight-config');
    assert.equal(config.profiling.node.gateway.endpoint, 'gateway.example.internal:4317');
    assert.equal(config.profiling.gateway.ui.endpoint, 'ui.example.internal:14317');
    // A UI set by hand may be another receiver: it gets every workload.
    assert.equal(config.profiling.gateway.ui.subscription.enabled, false);
  });

  test('serviceAccount.create=false renders no RBAC and uses the named account', () => {
    const out = render([
      '--set',
      'profiling.enabled=true',
      '--set',
      'profiling.node.serviceAccount.create=false',
      '--set',
      'profiling.node.serviceAccount.name=profiler',
    ]);
    assert.deepEqual(out.all('ServiceAccount').concat(out.all('ClusterRole'), out.all('ClusterRoleBinding')), []);
    assert.equal(out.find<Workload>('DaemonSet').spec.template.spec.serviceAccountName, 'profiler');
  });

  test('names follow fullnameOverride, and a release named after the chart is not doubled', () => {
    const a = render(['--set', 'profiling.enabled=true', '--set', 'fullnameOverride=prof']);
    assert.ok(a.find('DaemonSet', 'prof-node') && a.find('Service', 'prof-gateway') && a.find('Secret', 'prof-config'));
    assert.match(a.config('prof-config').config.profiling.node.gateway.endpoint, /^http:\/\/prof-gateway\.default\.svc\.cluster\.local:4318$/);
    const b = render(['pilotlight', '--set', 'profiling.enabled=true']);
    assert.ok(b.find('Deployment', 'pilotlight-ui'));
  });

  test('a bearer token left empty stays out of pilotlight.yaml, the Secret and the node env', () => {
    const out = render(['--set', 'profiling.enabled=true']);
    const { text, config } = out.config('release-name-pilotlight-config');
    assert.equal(config.profiling.gateway.bearerToken, undefined);
    assert.doesNotMatch(text, /bearerToken/);
    assert.deepEqual(Object.keys(out.find<Secret>('Secret').data ?? {}), ['pilotlight.yaml']);
    assert.ok(!container(out.find<Workload>('DaemonSet'), 'node').env?.some((e) => e.name === 'PILOTLIGHT_BEARER_TOKEN'));
  });
});
