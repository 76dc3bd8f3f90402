import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

/**
 * `google.rpc.Status` and `google.rpc.RetryInfo`, written and read by hand: OTLP/HTTP error
 * bodies are a Status, and gRPC servers put pushback (RetryInfo) in `grpc-status-details-bin`.
 * Two tiny messages do not justify generating the googleapis protos.
 */
const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';

export interface RpcStatus {
  code: number;
  message: string;
  /** From a RetryInfo detail, when present. */
  retryDelayMs?: number;
}

export function encodeRpcStatus(status: RpcStatus): Uint8Array {
  const w = new BinaryWriter();
  if (status.code !== 0) w.tag(1, WireType.Varint).int32(status.code);
  if (status.message) w.tag(2, WireType.LengthDelimited).string(status.message);
  if (status.retryDelayMs !== undefined) {
    const seconds = Math.floor(status.retryDelayMs / 1000);
    const nanos = Math.round((status.retryDelayMs % 1000) * 1e6);
    const duration = new BinaryWriter();
    if (seconds) duration.tag(1, WireType.Varint).int64(seconds);
    if (nanos) duration.tag(2, WireType.Varint).int32(nanos);
    const retryInfo = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(duration.finish()).finish();
    const any = new BinaryWriter().tag(1, WireType.LengthDelimited).string(RETRY_INFO_TYPE).tag(2, WireType.LengthDelimited).bytes(retryInfo).finish();
    w.tag(3, WireType.LengthDelimited).bytes(any);
  }
  return w.finish();
}

/** Reads a Status; returns undefined for bytes that are not one (a sender's error body may be anything). */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus | undefined {
  try {
    const r = new BinaryReader(bytes);
    const status: RpcStatus = { code: 0, message: '' };
    while (r.pos < r.len) {
      const [field, type] = r.tag();
      if (field === 1 && type === WireType.Varint) status.code = r.int32();
      else if (field === 2 && type === WireType.LengthDelimited) status.message = r.string();
      else if (field === 3 && type === WireType.LengthDelimited) {
        const delay = retryDelayOfAny(r.bytes());
        if (delay !== undefined) status.retryDelayMs = delay;
      } else r.skip(type, field);
    }
    return status;
  } catch {
    return undefined;
  }
}

function retryDelayOfAny(bytes: Uint8Array): number | undefined {
  const r = new BinaryReader(bytes);
  let typeUrl = '';
  let value: Uint8Array | undefined;
  while (r.pos < r.len) {
    const [field, type] = r.tag();
    if (field === 1 && type === WireType.LengthDelimited) typeUrl = r.string();
    else if (field === 2 && type === WireType.LengthDelimited) value = r.bytes();
    else r.skip(type, field);
  }
  if (typeUrl !== RETRY_INFO_TYPE || !value) return undefined;
  const info = new BinaryReader(value);
  while (info.pos < info.len) {
    const [field, type] = info.tag();
    if (field === 1 && type === WireType.LengthDelimited) {
      const d = new BinaryReader(info.bytes());
      let seconds = 0;
      let nanos = 0;
      while (d.pos < d.len) {
        const [f, t] = d.tag();
        if (f === 1 && t === WireType.Varint) seconds = Number(d.int64());
        else if (f === 2 && t === WireType.Varint) nanos = d.int32();
        else d.skip(t, f);
      }
      return seconds * 1000 + nanos / 1e6;
    }
    info.skip(type, field);
  }
  return undefined;
}
