import type { MethodDefinition } from '@grpc/grpc-js';

export const GRPC_EXPORT_PATH = '/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export';

const passBytes = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * ProfilesService/Export with bytes in and bytes out. Decoding happens in our handler, not in
 * grpc-js's deserialize step, because grpc-js answers a throwing deserializer with INTERNAL while
 * a bad request must get INVALID_ARGUMENT and a message naming the bad field.
 */
export const exportMethod: MethodDefinition<Uint8Array, Uint8Array> = {
  path: GRPC_EXPORT_PATH,
  requestStream: false,
  responseStream: false,
  requestSerialize: passBytes,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: passBytes,
  responseDeserialize: (b: Buffer) => b,
};

export const profilesServiceDefinition = { Export: exportMethod };
