import type { Registry } from 'prom-client';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { gunzipBounded, DecompressedTooLargeError, JSON_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE, type Encoding } from '../../otlp/codec.js';
import { OtlpInputError } from '../../otlp/errors.js';
import { bearerMatches, receive, refused, type ReceiveCore } from './receive.js';
import type { ReceiverConfig } from './receiver-config.js';
import { bodyTooLarge, decompressedTooLarge, ReceiveError, unauthenticated } from './receiver-errors.js';
import { HTTP_PROFILES_PATH } from '../otlp-http.js';
import { encodeRpcStatus } from '../rpc-status.js';

/** GET /metrics, /healthz, /readyz beside the OTLP route (the gateway's probes use the OTLP/HTTP port). */
export interface AdminRoutes {
  registry: Registry;
  ready: () => boolean;
}

/** The OTLP/HTTP side of the receiver: one route, bodies read as bytes, errors as google.rpc.Status. */
export function buildHttpReceiver(core: ReceiveCore, config: ReceiverConfig, admin?: AdminRoutes): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: config.maxRequestBytes });
  // Our codec parses; Fastify only collects the bytes (and enforces bodyLimit while reading).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser([PROTOBUF_CONTENT_TYPE, JSON_CONTENT_TYPE], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const ageMs = config.maxConnectionAgeSeconds * 1000;
  if (ageMs > 0) {
    // A connection past its age gets `Connection: close` on its next response (Node then
    // closes it after sending): the sender reconnects, possibly to another replica.
    const openedAt = new WeakMap<object, number>();
    app.server.on('connection', (socket: object) => openedAt.set(socket, Date.now()));
    app.addHook('onSend', async (req, reply) => {
      const opened = openedAt.get(req.raw.socket);
      if (opened !== undefined && Date.now() - opened >= ageMs) reply.header('connection', 'close');
    });
  }

  if (config.bearerToken !== undefined) {
    const token = config.bearerToken;
    app.addHook('onRequest', async (req, reply) => {
      if (req.url.split('?')[0] !== HTTP_PROFILES_PATH) return;
      if (!bearerMatches(req.headers.authorization, token)) {
        reply.header('www-authenticate', 'Bearer');
        throw unauthenticated();
      }
    });
  }

  app.post(HTTP_PROFILES_PATH, async (req, reply) => {
    const encoding = encodingOf(req);
    const raw = req.body as Buffer | undefined;
    const wire = raw ?? Buffer.alloc(0);
    const body = await inflate(wire, req.headers['content-encoding'], config.maxDecompressedBytes);
    const response = await receive(core, 'http', body, encoding, wire.byteLength, body !== wire && isPlainGzip(wire, body) ? wire : undefined);
    return reply
      .code(200)
      .type(encoding === 'json' ? JSON_CONTENT_TYPE : PROTOBUF_CONTENT_TYPE)
      .send(Buffer.from(response));
  });

  if (admin) {
    // Not behind the bearer token: kubelet probes and Prometheus scrapes do not carry it.
    app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok\n'));
    app.get('/readyz', async (_req, reply) => {
      const ready = admin.ready();
      return reply
        .code(ready ? 200 : 503)
        .type('text/plain')
        .send(ready ? 'ready\n' : 'not ready\n');
    });
    app.get('/metrics', async (_req, reply) => reply.type(admin.registry.contentType).send(await admin.registry.metrics()));
  }

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const wireBytes = Number(req.headers['content-length'] ?? 0) || 0;
    const e = refused(core, 'http', toReceiveError(err, config), wireBytes);
    return sendStatus(reply, e, encodingOfOrJson(req));
  });
  return app;
}

function toReceiveError(err: FastifyError | Error, config: ReceiverConfig): unknown {
  if (err instanceof ReceiveError) return err;
  const code = (err as FastifyError).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return bodyTooLarge(config.maxRequestBytes);
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return unsupportedType();
  const status = (err as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) return new ReceiveError('PL_RECV_INVALID', err.message);
  return err;
}

function unsupportedType(type?: string): ReceiveError {
  const got = type ? `got ${JSON.stringify(type)}` : 'got none';
  return new ReceiveError('PL_RECV_UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${PROTOBUF_CONTENT_TYPE} or ${JSON_CONTENT_TYPE} (${got})`);
}

function mimeOf(req: FastifyRequest): string | undefined {
  return req.headers['content-type']?.split(';')[0].trim().toLowerCase();
}

function encodingOf(req: FastifyRequest): Encoding {
  const mime = mimeOf(req);
  if (mime === PROTOBUF_CONTENT_TYPE) return 'protobuf';
  if (mime === JSON_CONTENT_TYPE) return 'json';
  throw unsupportedType(mime);
}

/** The error body goes in the request's encoding; when that is unknown, JSON is the readable choice. */
function encodingOfOrJson(req: FastifyRequest): Encoding {
  return mimeOf(req) === PROTOBUF_CONTENT_TYPE ? 'protobuf' : 'json';
}

async function inflate(body: Buffer, contentEncoding: string | undefined, maxBytes: number): Promise<Uint8Array> {
  const enc = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') {
    if (body.byteLength > maxBytes) throw decompressedTooLarge(maxBytes);
    return body;
  }
  if (enc !== 'gzip') {
    throw new ReceiveError('PL_RECV_UNSUPPORTED_MEDIA_TYPE', `Content-Encoding must be gzip or identity (got ${JSON.stringify(enc)})`);
  }
  try {
    return await gunzipBounded(body, maxBytes);
  } catch (err) {
    if (err instanceof DecompressedTooLargeError) throw decompressedTooLarge(maxBytes);
    if (err instanceof OtlpInputError) throw new ReceiveError('PL_RECV_INVALID', err.message);
    throw err;
  }
}

/**
 * Whether `gz`, which gunzipped to `body`, is one gzip member and nothing after it, so it can be
 * sent on as it came: its trailer's ISIZE is `body`'s length (zlib accepts trailing zero bytes,
 * and a second member would end with its own size). An empty body is not sent on so.
 */
function isPlainGzip(gz: Uint8Array, body: Uint8Array): boolean {
  const n = gz.byteLength;
  if (body.byteLength === 0 || n < 18 || gz[0] !== 0x1f || gz[1] !== 0x8b) return false;
  const isize = (gz[n - 4] | (gz[n - 3] << 8) | (gz[n - 2] << 16) | (gz[n - 1] << 24)) >>> 0;
  return isize === body.byteLength % 2 ** 32;
}

function sendStatus(reply: FastifyReply, e: ReceiveError, encoding: Encoding): FastifyReply {
  reply.code(e.httpStatus);
  if (e.code === 'PL_RECV_REFUSED') reply.header('retry-after', '1');
  if (encoding === 'json') return reply.type(JSON_CONTENT_TYPE).send(JSON.stringify({ code: e.grpcStatus, message: e.message, error: e.code }));
  return reply.type(PROTOBUF_CONTENT_TYPE).send(Buffer.from(encodeRpcStatus({ code: e.grpcStatus, message: e.message })));
}
