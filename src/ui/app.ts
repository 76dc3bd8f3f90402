import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { flameGraph } from '../profile/flame.js';
import { symbolRowFrames, symbolsTable } from '../profile/symbols.js';
import { toPprof } from '../profile/pprof.js';
import { diffFlameJson, diffProfiles } from '../profile/diff.js';
import { searchFlame } from '../profile/focus.js';
import { chunkTimes, timeline } from '../profile/timeline.js';
import { unsymbolizedOf } from '../profile/unsymbolized.js';
import { parseWorkloadKey, type WorkloadId } from '../profile/workload.js';
import { ProfileStore, StoreError } from '../store/store.js';
import { emptyCpuSeries } from '../store/cpu.js';
import type {
  DiffResponse,
  DiffSide,
  ProfileResponse,
  ProfileTypeInfo,
  ProfileTypeName,
  SlotResponse,
  SourceInfo,
  SourcesResponse,
  StoreLimits,
  TimelineResponse,
} from '../api/types.js';
import type { WorkloadProfile } from '../profile/workload-profile.js';
import type { ProfileType } from '../profile/profile-type.js';
import type { Slot, TypeSummary } from '../store/slot.js';
import { UiError } from './errors.js';
import { registerStoreMetrics } from './metrics.js';
import { serveSlotEvents } from './events.js';
import { PROFILE_MEDIA_TYPE, encodeProfile } from '../api/profile-codec.js';
import { registerPipelineRoutes } from './pipeline-routes.js';
import {
  FIRST_DIR,
  SOURCES_LIMIT_MAX,
  querySources,
  type SortDir,
  type SourceSortKey,
  type SourceStateFilter,
  type SourcesQuery,
} from '../api/source-query.js';

export interface UiAppOptions {
  store: ProfileStore;
  /** Folder of the built web app (index.html + assets); omitted or missing → a short notice page. */
  webRoot?: string;
  logger?: Logger;
  registry?: Registry;
  /** How often an open event stream pings (and keeps its slot alive), ms. */
  eventsHeartbeatMs?: number;
  /** Readiness: e.g. the OTLP receiver is listening. */
  ready?: () => boolean;
}

interface KeyParams {
  key: string;
}

const keyParams = { type: 'object', properties: { key: { type: 'string', minLength: 1, maxLength: 1024 } }, required: ['key'] } as const;

/**
 * The UI's HTTP API over the profile store plus the web app's static files. Built without
 * listening so tests can `inject()`; `startUiServer` puts it on a port next to the OTLP receiver.
 */
export async function buildUiApp(opts: UiAppOptions): Promise<FastifyInstance> {
  const { store } = opts;
  const app: FastifyInstance = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger | undefined,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // Source keys reach ~330 characters (63 for the namespace, 253 for a name), more once
    // URL-encoded; Fastify's default of 100 refused them with 414. The schema caps the key.
    routerOptions: { maxParamLength: 4096 },
    // Event streams never go idle; without this, close() would wait for every open tab.
    forceCloseConnections: true,
  });
  const registry = opts.registry ?? new Registry();
  registerStoreMetrics(registry, store);

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, _req, reply) => {
    if (err instanceof UiError) return sendError(reply, err.statusCode, err.code, err.message);
    if (err instanceof StoreError) {
      const code = { SLOT_NOT_FOUND: 'PL_UI_SLOT_NOT_FOUND', BAD_LIMITS: 'PL_UI_BAD_LIMITS', UNKNOWN_TYPE: 'PL_UI_UNKNOWN_TYPE' }[err.code];
      return sendError(reply, err.code === 'SLOT_NOT_FOUND' ? 404 : 400, code, err.message);
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) app.log.error({ err }, 'request failed');
    return sendError(reply, status, err.code ?? (status === 500 ? 'PL_UI_INTERNAL' : 'PL_UI_BAD_REQUEST'), status === 500 ? 'internal error' : err.message);
  });

  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith('/api/') || req.method !== 'GET') {
      return sendError(reply, 404, 'PL_UI_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`);
    }
    // Client-side routes of the web app fall back to its index page.
    if (webRootOk) return reply.sendFile('index.html');
    return reply.type('text/html').send(NOT_BUILT_PAGE);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ready = opts.ready ? opts.ready() : true;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'starting' });
  });
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  registerPipelineRoutes(app, store);

  app.get<{ Querystring: Record<string, string | undefined> }>('/api/sources', async (req): Promise<SourcesResponse> => {
    const all = store.listSources();
    const { sources, matched } = querySources(all, parseSourcesQuery(req.query));
    return { sources, limits: store.limits, total: all.length, matched };
  });

  app.post<{ Params: KeyParams }>('/api/sources/:key/profiling', { schema: { params: keyParams } }, async (req): Promise<SlotResponse> => {
    const workload = workloadKey(req.params.key);
    store.open(workload);
    return { source: store.sourceInfo(workload.key)!, limits: store.limits };
  });

  app.delete<{ Params: KeyParams }>('/api/sources/:key/profiling', { schema: { params: keyParams } }, async (req): Promise<SlotResponse> => {
    const { key } = workloadKey(req.params.key);
    if (!store.close(key)) throw new UiError('PL_UI_SLOT_NOT_FOUND', `no active profiling slot for ${key}`);
    return { source: store.sourceInfo(key) ?? emptySource(workloadKey(key)), limits: store.limits };
  });

  // What a profile answer is built from changes only when the slot's data does. Each answer
  // carries an ETag naming the data it shows (the slot, its chunks) and the question (type,
  // window, search, format): a client that sends it back in If-None-Match gets 304 with no
  // body until new data arrives. `boot` tells this process's tags from another's.
  const boot = randomBytes(6).toString('base64url');
  const serialOf = serials();
  const profileTag = (slot: Slot, type: string, window: { from?: number; to?: number }, search: string | undefined, format: 'json' | 'binary'): string => {
    const chunks = slot.chunks;
    // Chunks are appended and dropped oldest first at growing logical positions, so the first
    // chunk's position and the end of the last one name the data held.
    const first = chunks[0];
    const last = chunks[chunks.length - 1];
    const data = `${serialOf(slot)}:${first?.pos ?? 0}:${last ? last.pos + last.byteLength : 0}:${chunks.length}`;
    const hash = createHash('sha1')
      .update(JSON.stringify([boot, data, type, window.from ?? null, window.to ?? null, search ?? null, format]))
      .digest('base64url');
    return `W/"${hash.slice(0, 22)}"`;
  };

  // The answer per live profile (tree + version + search + the slot's types), and its
  // serialised forms once asked for: repeated views of a profile that has not changed (a
  // second tab, a client without the ETag) send the same bytes without building them again.
  // Windowed queries build a fresh profile each time and are not cached.
  interface Built {
    version: number;
    samples: number;
    search: string | undefined;
    types: string;
    response: ProfileResponse;
    /** Frame id of each symbols row (for the binary form). */
    symbolFrames?: Int32Array;
    json?: string;
    /** The last binary answer: for a client holding `from` frames, gzip'd or not. */
    binary?: { from: number; gzip: boolean; body: Buffer };
  }
  const built = new WeakMap<WorkloadProfile['tree'], Built>();

  app.get<{ Params: KeyParams; Querystring: { from?: string; to?: string; search?: string; type?: string; frames?: string } }>(
    '/api/sources/:key/profile',
    { schema: { params: keyParams } },
    async (req, reply) => {
      const { key } = workloadKey(req.params.key);
      const window = parseWindow(req.query);
      const query = req.query.search;
      if (query !== undefined && query.length > 1000) throw new UiError('PL_UI_BAD_SEARCH', 'search is longer than 1000 characters');
      const type = store.typeOf([key], parseType(req.query.type));
      const format = acceptsBinaryProfile(req.headers.accept) ? 'binary' : 'json';
      const slot = store.touch(key);
      if (!slot) throw new UiError('PL_UI_SLOT_NOT_FOUND', `no active profiling slot for ${key}; enable profiling first`);
      const tag = profileTag(slot, type.key, window, query, format);
      // no-cache: a cache may keep an answer but must ask (with the tag) before using it.
      const validated = (r: FastifyReply): FastifyReply => r.header('etag', tag).header('cache-control', 'no-cache').header('vary', 'Accept, Accept-Encoding');
      if (etagMatches(req.headers['if-none-match'], tag)) return validated(reply.code(304)).send();

      const profile = store.profile(key, window, type);
      const held = store.types(key);
      const types = JSON.stringify(held.map(typeInfo));
      const live = window.from === undefined && window.to === undefined;
      const hit = live ? built.get(profile.tree) : undefined;
      let b: Built;
      if (hit && hit.version === profile.tree.version && hit.samples === profile.samples && hit.search === query && hit.types === types) {
        b = hit;
      } else {
        const flame = flameGraph(profile.tree);
        let search: ProfileResponse['search'];
        if (query !== undefined && query.trim() !== '') {
          const r = searchFlame(flame, query);
          if (!r.ok) throw new UiError('PL_UI_BAD_SEARCH', r.error);
          search = { query: query.trim(), matchedSamples: r.matchedSamples, totalSamples: r.totalSamples, matchedFrames: r.matchedFrames };
        }
        const response: ProfileResponse = {
          key,
          type: shownType(profile.type, held),
          profileTypes: held.map(typeInfo),
          samples: profile.samples,
          cpuNanos: profile.cpuNanos,
          periodNanos: profile.periodNanos,
          startMs: Number.isNaN(profile.startMs) ? null : profile.startMs,
          endMs: Number.isNaN(profile.endMs) ? null : profile.endMs,
          from: window.from ?? null,
          to: window.to ?? null,
          flame,
          symbols: symbolsTable(profile.tree),
          unsymbolized: unsymbolizedOf(flame),
          ...(search ? { search } : {}),
          generatedAt: Date.now(),
        };
        b = { version: profile.tree.version, samples: profile.samples, search: query, types, response };
        if (live) built.set(profile.tree, b);
      }

      if (format === 'json') {
        b.json ??= JSON.stringify(b.response);
        return validated(reply).type('application/json; charset=utf-8').send(b.json);
      }
      // The binary form: the frames table is the tree's, which only grows; a client that holds
      // its first N frames (`frames=TABLE:N`, TABLE as the last answer named it) gets the rest.
      const frames = profile.tree.frames;
      const table = `${boot}.${serialOf(frames)}`;
      const from = framesHeld(req.query.frames, table, b.response.flame.frames.name.length);
      const gzipIt = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      if (!b.binary || b.binary.from !== from || b.binary.gzip !== gzipIt) {
        if (!b.symbolFrames) {
          const rows = b.response.symbols;
          b.symbolFrames = symbolRowFrames(rows);
          if (!b.symbolFrames) {
            b.symbolFrames = new Int32Array(rows.length);
            for (let i = 0; i < rows.length; i++) b.symbolFrames[i] = frames.find(rows[i].name, rows[i].file, rows[i].binary, rows[i].kind);
          }
        }
        const raw = encodeProfile({ response: b.response, symbolFrames: b.symbolFrames, framesTable: table, framesFrom: from });
        // gzip level 1 on the worker pool: the columns compress well, off the event loop.
        const body = gzipIt && raw.byteLength > 1024 ? await gzipAsync(raw, { level: 1 }) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        b.binary = { from, gzip: gzipIt && raw.byteLength > 1024, body };
      }
      if (b.binary.gzip) reply.header('content-encoding', 'gzip');
      return validated(reply).type(PROFILE_MEDIA_TYPE).send(b.binary.body);
    },
  );

  app.get<{ Params: KeyParams; Querystring: { step?: string; type?: string } }>(
    '/api/sources/:key/timeline',
    { schema: { params: keyParams } },
    async (req): Promise<TimelineResponse> => {
      const { key } = workloadKey(req.params.key);
      const raw = req.query.step;
      const step = raw === undefined || raw === '' ? 10 : Number(raw);
      if (!Number.isFinite(step) || step <= 0) throw new UiError('PL_UI_BAD_STEP', `step=${JSON.stringify(raw)}: expected a positive number of seconds`);
      const slot = store.touch(key);
      if (!slot) throw new UiError('PL_UI_SLOT_NOT_FOUND', `no active profiling slot for ${key}; enable profiling first`);
      const type = store.typeOf([key], parseType(req.query.type));
      const held = store.types(key);
      let t;
      try {
        t = timeline(
          slot.chunks.map((c) => chunkTimes(c.bytes, type.key)),
          { stepMs: step * 1000 },
        );
      } catch (err) {
        if (err instanceof RangeError) throw new UiError('PL_UI_BAD_STEP', err.message);
        throw err;
      }
      return {
        key,
        type: shownType(type, held),
        profileTypes: held.map(typeInfo),
        step,
        points: t.points,
        untimedSamples: t.untimedSamples,
        periodNanos: t.periodNanos,
        generatedAt: Date.now(),
      };
    },
  );

  app.get<{ Querystring: Record<string, string | undefined> }>('/api/diff', async (req, reply) => {
    const q = req.query;
    if (!q.base) throw new UiError('PL_UI_BAD_DIFF', 'base is required: /api/diff?base=KEY[&baseFrom=ms&baseTo=ms][&target=KEY][&from=ms&to=ms][&type=KEY]');
    const base = workloadKey(q.base).key;
    const target = q.target ? workloadKey(q.target).key : base;
    const baseWindow = parseWindow({ from: q.baseFrom, to: q.baseTo }, 'base');
    const targetWindow = parseWindow({ from: q.from, to: q.to });
    // One type for both sides: one either slot holds.
    const type = store.typeOf([target, base], parseType(q.type));
    const b = store.profile(base, baseWindow, type);
    const t = store.profile(target, targetWindow, type);
    const diff = diffProfiles(b, t);
    // A DiffResponse; the flame graph's columns are written straight from typed arrays.
    const rest: Omit<DiffResponse, 'flame'> = {
      type: typeName(type),
      base: diffSide(base, baseWindow, b),
      target: diffSide(target, targetWindow, t),
      symbols: diff.symbols,
      generatedAt: Date.now(),
    };
    return reply.type('application/json; charset=utf-8').send(`{"flame":${diffFlameJson(diff.flame)},${JSON.stringify(rest).slice(1)}`);
  });

  app.get<{ Params: KeyParams; Querystring: { from?: string; to?: string; type?: string } }>(
    '/api/sources/:key/profile.pb.gz',
    { schema: { params: keyParams } },
    async (req, reply) => {
      const workload = workloadKey(req.params.key);
      const profile = store.profile(workload.key, parseWindow(req.query), store.typeOf([workload.key], parseType(req.query.type)));
      // CPU keeps the plain name; another type is named in the file name too.
      const suffix = profile.type.key === 'cpu' ? '' : `-${profile.type.key}`;
      const name = `${workload.namespace}-${workload.kind}-${workload.name}${suffix}`.replace(/[^A-Za-z0-9._-]+/g, '_');
      return reply
        .type('application/octet-stream')
        .header('content-disposition', `attachment; filename="${name}.pb.gz"`)
        .send(await gzipAsync(toPprof(profile)));
    },
  );

  app.get<{ Params: KeyParams }>('/api/sources/:key/events', { schema: { params: keyParams } }, async (req: FastifyRequest<{ Params: KeyParams }>, reply) => {
    const { key } = workloadKey(req.params.key);
    if (!store.slot(key)) throw new UiError('PL_UI_SLOT_NOT_FOUND', `no active profiling slot for ${key}`);
    serveSlotEvents(store, key, req, reply, opts.eventsHeartbeatMs ?? 10_000);
  });

  app.get('/api/slots', async () => store.stats());
  app.put<{ Body: Partial<StoreLimits> }>('/api/slots', async (req) => {
    if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
      throw new UiError('PL_UI_BAD_LIMITS', 'body must be a JSON object of limits, e.g. {"maxSlots": 10}');
    }
    store.setLimits(req.body);
    return store.stats();
  });

  const webRootOk = !!opts.webRoot && existsSync(opts.webRoot);
  if (webRootOk) {
    await app.register(fastifyStatic, { root: opts.webRoot!, prefix: '/', wildcard: false, index: ['index.html'] });
  } else {
    app.get('/', async (_req, reply) => reply.type('text/html').send(NOT_BUILT_PAGE));
  }
  return app;
}

const gzipAsync = promisify(gzip);

/** Numbers per object (a slot, a frames table), for naming them in ETags and tokens; never reused. */
function serials(): (o: object) => number {
  const ids = new WeakMap<object, number>();
  let next = 1;
  return (o) => {
    let id = ids.get(o);
    if (id === undefined) ids.set(o, (id = next++));
    return id;
  };
}

/** Whether `Accept` asks for the binary profile (PROFILE_MEDIA_TYPE, with a q above 0). */
function acceptsBinaryProfile(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (type !== PROFILE_MEDIA_TYPE) continue;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/** If-None-Match against an ETag, by weak comparison (RFC 9110 13.1.2): `*` or any listed tag. */
function etagMatches(header: string | undefined, tag: string): boolean {
  if (!header) return false;
  const opaque = (t: string): string => t.trim().replace(/^W\//, '');
  const want = opaque(tag);
  return header.split(',').some((t) => t.trim() === '*' || opaque(t) === want);
}

/** Frames the client holds of `table`, from `frames=TABLE:N`; 0 (send every frame) for anything else. */
function framesHeld(param: string | undefined, table: string, count: number): number {
  if (!param) return 0;
  const cut = param.lastIndexOf(':');
  if (cut < 0 || param.slice(0, cut) !== table) return 0;
  const n = Number(param.slice(cut + 1));
  return Number.isInteger(n) && n >= 0 && n <= count ? n : 0;
}

function sendError(reply: FastifyReply, statusCode: number, code: string, message: string): FastifyReply {
  return reply
    .code(statusCode)
    .type('application/json')
    .send({ statusCode, code, error: statusText(statusCode), message });
}

function statusText(status: number): string {
  return (
    { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 413: 'Payload Too Large', 415: 'Unsupported Media Type' }[status] ??
    (status >= 500 ? 'Internal Server Error' : 'Error')
  );
}

function workloadKey(key: string): WorkloadId {
  const workload = parseWorkloadKey(key);
  if (!workload) throw new UiError('PL_UI_BAD_KEY', `bad source key ${JSON.stringify(key)}: expected namespace/Kind/name (URL-encoded)`);
  return workload;
}

function emptySource(w: WorkloadId): SourceInfo {
  return {
    ...w,
    lastSeenAt: 0,
    cpuCores: 0,
    cpuSeries: emptyCpuSeries(),
    profiling: { active: false, bytes: 0, chunks: 0, samples: 0, lastDataAt: null, expiresAt: null },
  };
}

/** The `type` query parameter: a profile type key, or undefined when absent or empty. */
function parseType(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw.length > 1000) throw new UiError('PL_UI_UNKNOWN_TYPE', 'type is longer than 1000 characters');
  return raw;
}

function typeName(t: ProfileType): ProfileTypeName {
  return { key: t.key, label: t.label, unit: t.unit };
}

function typeInfo(s: TypeSummary): ProfileTypeInfo {
  return { ...typeName(s.type), samples: s.samples, events: s.events };
}

/** The shown type with what the slot holds of it (nothing, for CPU in a slot without CPU data). */
function shownType(t: ProfileType, held: TypeSummary[]): ProfileTypeInfo {
  const s = held.find((h) => h.type.key === t.key);
  return s ? typeInfo(s) : { ...typeName(t), samples: 0, events: 0 };
}

function diffSide(key: string, window: { from?: number; to?: number }, p: WorkloadProfile): DiffSide {
  return {
    key,
    from: window.from ?? null,
    to: window.to ?? null,
    samples: p.samples,
    cpuNanos: p.cpuNanos,
    periodNanos: p.periodNanos,
    startMs: Number.isNaN(p.startMs) ? null : p.startMs,
    endMs: Number.isNaN(p.endMs) ? null : p.endMs,
  };
}

/** `from`/`to` in ms since the epoch; both optional, from < to. `prefix` names them (baseFrom). */
/** The Sources list query (see SourcesQuery): every parameter optional; a bad one is a 400 naming it. */
function parseSourcesQuery(q: Record<string, string | undefined>): SourcesQuery {
  const bad = (what: string): never => {
    throw new UiError('PL_UI_BAD_SOURCES_QUERY', what);
  };
  const text = q.q ?? '';
  if (text.length > 1000) bad('q is longer than 1000 characters');
  const state = q.state ?? 'all';
  if (state !== 'all' && state !== 'profiling' && state !== 'off') bad(`state=${JSON.stringify(state)}: expected all, profiling or off`);
  const key = q.sort;
  if (key !== undefined && key !== 'name' && key !== 'cpu' && key !== 'lastSeen' && key !== 'profiling')
    bad(`sort=${JSON.stringify(key)}: expected name, cpu, lastSeen or profiling`);
  const dir = q.dir ?? (key === undefined ? undefined : FIRST_DIR[key as SourceSortKey]);
  if (dir !== undefined && dir !== 'asc' && dir !== 'desc') bad(`dir=${JSON.stringify(dir)}: expected asc or desc`);
  if (key === undefined && dir !== undefined) bad('dir needs sort');
  let limit: number | undefined;
  if (q.limit !== undefined) {
    limit = Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > SOURCES_LIMIT_MAX)
      bad(`limit=${JSON.stringify(q.limit)}: expected a whole number from 1 to ${SOURCES_LIMIT_MAX}`);
  }
  if (q.keep !== undefined && q.keep.length > 1024) bad('keep is longer than 1024 characters');
  const sort = key === undefined ? undefined : { key: key as SourceSortKey, dir: dir as SortDir };
  return { q: text, state: state as SourceStateFilter, sort, limit, keep: q.keep };
}

export function parseWindow(q: { from?: string; to?: string }, prefix = ''): { from?: number; to?: number } {
  const fromName = prefix ? `${prefix}From` : 'from';
  const toName = prefix ? `${prefix}To` : 'to';
  const one = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new UiError('PL_UI_BAD_WINDOW', `${name}=${JSON.stringify(v)}: expected milliseconds since the epoch`);
    return n;
  };
  const from = one(fromName, q.from);
  const to = one(toName, q.to);
  if (from !== undefined && to !== undefined && from >= to) throw new UiError('PL_UI_BAD_WINDOW', `${fromName} (${from}) must be before ${toName} (${to})`);
  return { from, to };
}

const NOT_BUILT_PAGE = `<!doctype html><meta charset="utf-8"><title>Pilotlight</title>
<p>Pilotlight's web app is not built. Run <code>npm run build</code>, then reload. The API is at <a href="/api/sources">/api/sources</a>.</p>`;
