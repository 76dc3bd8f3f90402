import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { decodeResponse, JSON_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE, errorText } from '../../otlp/codec.js';
import { gzippedBody } from './compress.js';
import type { ExporterConfig } from './exporter-config.js';
import { parseRetryAfter, PermanentError, RETRYABLE_HTTP_STATUS, RetryableError } from './exporter-errors.js';
import type { SendOutcome, Transport } from './export-item.js';
import { HTTP_PROFILES_PATH } from '../otlp-http.js';
import { decodeRpcStatus } from '../rpc-status.js';

/** Responses are small (a partial_success); more than this from a destination is not OTLP. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

export function profilesUrl(endpoint: string): URL {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith(HTTP_PROFILES_PATH)) url.pathname = url.pathname.replace(/\/+$/, '') + HTTP_PROFILES_PATH;
  return url;
}

/**
 * OTLP/HTTP: POST the body; classify the answer as the OTLP/HTTP spec says, retrying also the
 * statuses the destination's `retryOnHttpStatus` adds.
 */
export function httpTransport(config: ExporterConfig): Transport {
  const url = profilesUrl(config.endpoint);
  const lib = url.protocol === 'https:' ? https : http;
  // Keep connections open between requests; one socket per concurrent sender is enough.
  const tls = config.tls;
  const agent =
    lib === https
      ? new https.Agent({
          keepAlive: true,
          maxSockets: config.sendingQueue.numConsumers,
          rejectUnauthorized: !(tls?.insecureSkipVerify ?? false),
          ca: tls?.caFile ? readFileSync(tls.caFile) : undefined,
        })
      : new http.Agent({ keepAlive: true, maxSockets: config.sendingQueue.numConsumers });
  const contentType = config.encoding === 'json' ? JSON_CONTENT_TYPE : PROTOBUF_CONTENT_TYPE;
  const retryable: ReadonlySet<number> = new Set([...RETRYABLE_HTTP_STATUS, ...config.retryOnHttpStatus]);

  return {
    async send(item, signal) {
      const body = config.enableDataCompression ? await gzippedBody(item) : item.body;
      const headers: Record<string, string | number> = {
        ...config.headers,
        'content-type': contentType,
        'content-length': body.byteLength,
        'user-agent': 'pilotlight-exporter',
      };
      if (config.enableDataCompression) headers['content-encoding'] = 'gzip';
      const res = await post(lib, url, agent, headers, body, signal);
      return classify(res, config.encoding, retryable);
    },
    close() {
      agent.destroy();
    },
  };
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function post(
  lib: typeof http | typeof https,
  url: URL,
  agent: http.Agent,
  headers: Record<string, string | number>,
  body: Uint8Array,
  signal: AbortSignal,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method: 'POST', agent, headers, signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.byteLength;
        if (size > MAX_RESPONSE_BYTES) {
          res.destroy(new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (err) => reject(connectionError(err)));
    });
    // Socket-level failures (refused, reset, DNS) are worth another try.
    req.on('error', (err) => reject(connectionError(err)));
    req.end(body);
  });
}

function connectionError(err: Error): Error {
  if (err.name === 'AbortError') return err;
  const code = (err as NodeJS.ErrnoException).code;
  return new RetryableError(`connection failed: ${code ? `${code} ` : ''}${errorText(err)}`, 'connection_error');
}

function classify(res: RawResponse, encoding: 'protobuf' | 'json', retryable: ReadonlySet<number>): SendOutcome {
  if (res.status >= 200 && res.status < 300) {
    const isJson = (res.headers['content-type'] ?? '').includes('json') || (encoding === 'json' && res.body[0] === 0x7b);
    try {
      const decoded = decodeResponse(res.body, isJson ? 'json' : 'protobuf');
      const ps = decoded.partialSuccess;
      return { rejectedProfiles: Number(ps?.rejectedProfiles ?? 0n), errorMessage: ps?.errorMessage ?? '' };
    } catch {
      // The data was accepted (2xx); an unreadable answer does not make it undelivered.
      return { rejectedProfiles: 0, errorMessage: '' };
    }
  }
  const detail = errorDetail(res);
  const message = `HTTP ${res.status}${detail ? `: ${detail}` : ''}`;
  if (retryable.has(res.status)) {
    throw new RetryableError(message, `http_${res.status}`, parseRetryAfter(headerValue(res.headers['retry-after'])));
  }
  throw new PermanentError(message, `http_${res.status}`);
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The error body is a google.rpc.Status (protobuf or JSON) from OTLP servers, else text. */
function errorDetail(res: RawResponse): string {
  if (res.body.byteLength === 0) return '';
  const type = res.headers['content-type'] ?? '';
  if (type.includes('protobuf')) return decodeRpcStatus(res.body)?.message ?? '';
  const text = res.body.toString('utf8', 0, Math.min(res.body.byteLength, 512));
  if (type.includes('json')) {
    try {
      const j = JSON.parse(text) as { message?: unknown };
      if (typeof j.message === 'string') return j.message;
    } catch {
      // fall through to the raw text
    }
  }
  return text.trim();
}
