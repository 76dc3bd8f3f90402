import { encodeRequest, requestFromJsonBytes, type Encoding } from './codec.js';
import { readWireRequest, type WireRequest } from './wire/request.js';
import { validateWire } from './wire/validate.js';

/** A request as every part of Pilotlight takes it in: its protobuf encoding, read and validated. */
export interface ReadRequest {
  /** The protobuf encoding: the bytes as received, or OTLP/JSON encoded once. */
  encoded: Uint8Array;
  /** `encoded` read into columns (`readWireRequest`) and validated (`validateWire`). */
  wire: WireRequest;
}

/**
 * The one way a request's bytes come in, from a sender or a file. Protobuf is read and
 * validated on the wire path (typed columns, no message objects). OTLP/JSON is decoded with
 * protobuf-es (its ids are hex, see `requestFromJson`) and encoded to protobuf once, then goes
 * the same way, so everything downstream sees protobuf only. Bad input throws OtlpInputError:
 * OtlpDecodeError naming the encoding, or OtlpValidationError naming the field.
 */
export function readRequest(body: Uint8Array, encoding: Encoding): ReadRequest {
  // protobuf-es reads OTLP/JSON within the nesting protobuf allows, so its encoding reads back.
  const encoded = encoding === 'protobuf' ? body : encodeRequest(requestFromJsonBytes(body));
  const wire = readWireRequest(encoded);
  validateWire(wire);
  return { encoded, wire };
}

/** A read request's counts, for metrics and drop logs. */
export function wireStats(wire: WireRequest): { profiles: number; samples: number } {
  let profiles = 0;
  for (const rp of wire.resourceProfiles) for (const sp of rp.scopes) profiles += sp.profiles.length;
  return { profiles, samples: wire.samples.count };
}
