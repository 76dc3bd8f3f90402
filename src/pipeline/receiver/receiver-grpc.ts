import * as grpc from '@grpc/grpc-js';
import { errorText } from '../../otlp/codec.js';
import { profilesServiceDefinition } from '../otlp-grpc.js';
import { bearerMatches, receive, refused, type ReceiveCore } from './receive.js';
import type { ReceiverConfig } from './receiver-config.js';
import { unauthenticated } from './receiver-errors.js';

/**
 * The OTLP/gRPC side of the receiver. grpc-js inflates compressed messages itself and refuses,
 * while inflating, anything past `grpc.max_receive_message_length` (RESOURCE_EXHAUSTED); it
 * applies that one limit to the message as framed on the wire and to its inflated size, and it
 * hides from handlers whether a message was compressed. So over gRPC both sizes are bounded by
 * maxDecompressedBytes; maxRequestBytes (a wire-size limit) applies to OTLP/HTTP only.
 */
export function buildGrpcReceiver(core: ReceiveCore, config: ReceiverConfig): grpc.Server {
  const age = config.maxConnectionAgeSeconds * 1000;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.maxDecompressedBytes,
    ...(age > 0 ? { 'grpc.max_connection_age_ms': age, 'grpc.max_connection_age_grace_ms': 30_000 } : {}),
  });
  const token = config.bearerToken;
  server.addService(profilesServiceDefinition, {
    Export: (call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>, callback: grpc.sendUnaryData<Uint8Array>) => {
      const body = call.request;
      handle(call, body)
        .then((response) => callback(null, response))
        .catch((err: unknown) => {
          const e = refused(core, 'grpc', err, body.byteLength);
          callback({ code: e.grpcStatus, details: e.message, metadata: errorMetadata(e.code) });
        });
    },
  });

  async function handle(call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>, body: Uint8Array): Promise<Uint8Array> {
    if (token !== undefined) {
      const auth = call.metadata.get('authorization')[0];
      if (!bearerMatches(typeof auth === 'string' ? auth : auth?.toString(), token)) throw unauthenticated();
    }
    return receive(core, 'grpc', body, 'protobuf', body.byteLength);
  }
  return server;
}

function errorMetadata(code: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('pilotlight-error-code', code);
  return md;
}

export function grpcAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function bindGrpc(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(grpcAddress(host, port), grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(new Error(`gRPC receiver cannot listen on ${grpcAddress(host, port)}: ${errorText(err)}`));
      else resolve(bound);
    });
  });
}
