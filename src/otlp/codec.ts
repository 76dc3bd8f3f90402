import { fromBinary, fromJson, toBinary, toJson, type JsonValue } from '@bufbuild/protobuf';
import { gunzip, gunzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { OtlpDecodeError, OtlpInputError } from './errors.js';
import {
  ExportProfilesServiceRequestSchema,
  ExportProfilesServiceResponseSchema,
  type ExportProfilesServiceRequest,
  type ExportProfilesServiceResponse,
} from './messages.js';
import { validateRequest } from './validate.js';

export type Encoding = 'protobuf' | 'json';

export const PROTOBUF_CONTENT_TYPE = 'application/x-protobuf';
export const JSON_CONTENT_TYPE = 'application/json';

/** Decodes and validates a request; throws OtlpInputError (decode or validation) on bad input. */
export function decodeRequest(bytes: Uint8Array, encoding: Encoding): ExportProfilesServiceRequest {
  const req = encoding === 'json' ? requestFromJsonBytes(bytes) : requestFromBinary(bytes);
  validateRequest(req);
  return req;
}

export function encodeRequest(req: ExportProfilesServiceRequest, encoding: Encoding = 'protobuf'): Uint8Array {
  if (encoding === 'json') return Buffer.from(JSON.stringify(requestToJson(req)));
  return toBinary(ExportProfilesServiceRequestSchema, req);
}

function requestFromBinary(bytes: Uint8Array): ExportProfilesServiceRequest {
  try {
    return fromBinary(ExportProfilesServiceRequestSchema, bytes, { readUnknownFields: false });
  } catch (err) {
    throw new OtlpDecodeError(`malformed protobuf ExportProfilesServiceRequest: ${errorText(err)}`);
  }
}

export function requestFromJsonBytes(bytes: Uint8Array): ExportProfilesServiceRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw new OtlpDecodeError(`malformed JSON: ${errorText(err)}`);
  }
  return requestFromJson(parsed);
}

/**
 * OTLP/JSON to a request. OTLP/JSON differs from protobuf's canonical JSON in one way that
 * matters here: trace, span and profile ids are hex strings, not base64.
 */
export function requestFromJson(json: unknown): ExportProfilesServiceRequest {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new OtlpDecodeError('malformed OTLP/JSON: the body must be a JSON object');
  }
  // Deeper JSON than any request needs would overflow the stack in structuredClone or fromJson.
  if (deeperThan(json, MAX_JSON_DEPTH)) {
    throw new OtlpDecodeError(`malformed OTLP/JSON: nested more than ${MAX_JSON_DEPTH} levels deep`);
  }
  const copy = structuredClone(json) as Record<string, unknown>;
  rewriteIds(copy, hexToBase64);
  try {
    return fromJson(ExportProfilesServiceRequestSchema, copy as JsonValue, { ignoreUnknownFields: true });
  } catch (err) {
    if (err instanceof OtlpInputError) throw err;
    throw new OtlpDecodeError(`malformed OTLP/JSON ExportProfilesServiceRequest: ${errorText(err)}`);
  }
}

/**
 * OTLP/JSON's deepest legitimate nesting is an attribute value: validation allows 32 AnyValue
 * levels, up to four JSON levels each ({"kvlistValue":{"values":[{"value":…}]}}), under about
 * ten levels of request. Past this, a body is refused before anything recursive touches it.
 */
export const MAX_JSON_DEPTH = 256;

/** Whether `root` nests more than `max` objects/arrays deep; iterative, so any depth is safe. */
function deeperThan(root: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > max) return true;
    for (const child of Object.values(value as object)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

export function requestToJson(req: ExportProfilesServiceRequest): JsonValue {
  const json = toJson(ExportProfilesServiceRequestSchema, req) as Record<string, unknown>;
  rewriteIds(json, base64ToHex);
  return json as JsonValue;
}

export function encodeResponse(res: ExportProfilesServiceResponse, encoding: Encoding): Uint8Array {
  if (encoding === 'json') return Buffer.from(JSON.stringify(toJson(ExportProfilesServiceResponseSchema, res)));
  return toBinary(ExportProfilesServiceResponseSchema, res);
}

export function decodeResponse(bytes: Uint8Array, encoding: Encoding): ExportProfilesServiceResponse {
  if (bytes.byteLength === 0) return fromBinary(ExportProfilesServiceResponseSchema, bytes);
  if (encoding === 'json') {
    return fromJson(ExportProfilesServiceResponseSchema, JSON.parse(Buffer.from(bytes).toString('utf8')), {
      ignoreUnknownFields: true,
    });
  }
  return fromBinary(ExportProfilesServiceResponseSchema, bytes);
}

type IdRewrite = (value: string, path: string) => string;

function rewriteIds(root: Record<string, unknown>, rewrite: IdRewrite): void {
  const rps = root.resourceProfiles ?? root.resource_profiles;
  if (Array.isArray(rps)) {
    rps.forEach((rp, i) => {
      const sps = isObject(rp) ? (rp.scopeProfiles ?? rp.scope_profiles) : undefined;
      if (!Array.isArray(sps)) return;
      sps.forEach((sp, j) => {
        const profiles = isObject(sp) ? sp.profiles : undefined;
        if (!Array.isArray(profiles)) return;
        profiles.forEach((p, k) => {
          if (!isObject(p)) return;
          for (const name of ['profileId', 'profile_id']) {
            if (typeof p[name] === 'string') {
              p[name] = rewrite(p[name] as string, `resource_profiles[${i}].scope_profiles[${j}].profiles[${k}].profile_id`);
            }
          }
        });
      });
    });
  }
  const dict = root.dictionary;
  const links = isObject(dict) ? (dict.linkTable ?? dict.link_table) : undefined;
  if (Array.isArray(links)) {
    links.forEach((link, i) => {
      if (!isObject(link)) return;
      for (const name of ['traceId', 'trace_id', 'spanId', 'span_id']) {
        if (typeof link[name] === 'string') {
          const field = name.startsWith('trace') ? 'trace_id' : 'span_id';
          link[name] = rewrite(link[name] as string, `dictionary.link_table[${i}].${field}`);
        }
      }
    });
  }
}

function hexToBase64(value: string, path: string): string {
  if (value.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(value)) {
    throw new OtlpDecodeError(`${path}: ids in OTLP/JSON are hex strings, got ${JSON.stringify(value.slice(0, 40))}`);
  }
  return Buffer.from(value, 'hex').toString('base64');
}

function base64ToHex(value: string): string {
  return Buffer.from(value, 'base64').toString('hex');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const gunzipAsync = promisify(gunzip);

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Inflates gzip, refusing (while inflating) to produce more than `maxBytes`. */
export async function gunzipBounded(bytes: Uint8Array, maxBytes: number): Promise<Buffer> {
  try {
    return await gunzipAsync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    throw gunzipError(err, maxBytes);
  }
}

export function gunzipBoundedSync(bytes: Uint8Array, maxBytes: number): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    throw gunzipError(err, maxBytes);
  }
}

export class DecompressedTooLargeError extends OtlpInputError {
  constructor(readonly limit: number) {
    super(`decompressed body exceeds the limit of ${limit} bytes`);
    this.name = 'DecompressedTooLargeError';
  }
}

function gunzipError(err: unknown, maxBytes: number): Error {
  if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
    return new DecompressedTooLargeError(maxBytes);
  }
  return new OtlpDecodeError(`malformed gzip body: ${errorText(err)}`);
}

/** Guesses the encoding of a file's bytes: OTLP/JSON starts with `{` (after white space). */
export function sniffEncoding(bytes: Uint8Array): Encoding {
  for (let i = 0; i < bytes.byteLength && i < 64; i++) {
    const c = bytes[i];
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    return c === 0x7b ? 'json' : 'protobuf';
  }
  return 'protobuf';
}
