import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { exportMethod } from '../../src/pipeline/otlp-grpc.js';

/** Loopback OTLP sinks for exporter tests and benchmarks: they answer from a script and keep what they accepted. */

export interface HttpAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface Sink {
  /** Bodies (inflated) of the requests answered with success. */
  accepted: Buffer[];
  /** Every request that arrived, success or not. */
  attempts: number;
  /** Request headers / metadata of every attempt. */
  headers: Record<string, string>[];
  endpoint: string;
  close(): Promise<void>;
}

/** An OTLP/HTTP sink. `answer(n)` decides the reply to the n-th attempt (0-based); default 200. */
export async function httpSink(answer: (attempt: number) => HttpAnswer = () => ({ status: 200 })): Promise<Sink> {
  const sink: Sink = { accepted: [], attempts: 0, headers: [], endpoint: '', close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = sink.attempts++;
      sink.headers.push(Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])));
      const a = answer(n);
      const reply = (): void => {
        if (a.status >= 200 && a.status < 300) {
          const raw = Buffer.concat(chunks);
          sink.accepted.push(req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw);
        }
        res.writeHead(a.status, { 'content-type': 'application/x-protobuf', ...a.headers });
        res.end(a.body ?? '');
      };
      if (a.delayMs) setTimeout(reply, a.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return sink;
}

export interface GrpcAnswer {
  code: grpc.status;
  details?: string;
  metadata?: grpc.Metadata;
  delayMs?: number;
}

/** An OTLP/gRPC sink scripted the same way. */
export async function grpcSink(answer: (attempt: number) => GrpcAnswer = () => ({ code: grpc.status.OK })): Promise<Sink> {
  const sink: Sink = { accepted: [], attempts: 0, headers: [], endpoint: '', close: async () => {} };
  const server = new grpc.Server();
  server.addService(
    { Export: exportMethod },
    {
      Export: (call: grpc.ServerUnaryCall<Uint8Array, Uint8Array>, cb: grpc.sendUnaryData<Uint8Array>) => {
        const n = sink.attempts++;
        sink.headers.push(Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)])));
        const a = answer(n);
        const reply = (): void => {
          if (a.code === grpc.status.OK) {
            sink.accepted.push(Buffer.from(call.request));
            cb(null, new Uint8Array(0));
          } else cb({ code: a.code, details: a.details ?? 'scripted failure', metadata: a.metadata });
        };
        if (a.delayMs) setTimeout(reply, a.delayMs);
        else reply();
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  sink.endpoint = `127.0.0.1:${port}`;
  sink.close = async () => {
    server.forceShutdown();
  };
  return sink;
}
