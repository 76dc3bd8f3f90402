/** One request on its way out, as the links of an exporter pass it along. */
export interface ExportItem {
  /** The request in the exporter's encoding, uncompressed. */
  body: Uint8Array;
  profiles: number;
  samples: number;
  /**
   * `body` gzipped: the received bytes when the sender gzipped this very body, else set by the
   * first send attempt when compression is on, so retries do not gzip again.
   */
  gzipped?: Uint8Array;
}

/** What the destination said about a request it accepted (its partial_success). */
export interface SendOutcome {
  rejectedProfiles: number;
  errorMessage: string;
}

/** A link of the chain: sends (or passes on) one item; rejects with a classified error. */
export type SendFn = (item: ExportItem, signal: AbortSignal) => Promise<SendOutcome>;

/** The last link: puts bytes on the wire. */
export interface Transport {
  send: SendFn;
  close(): void;
}
