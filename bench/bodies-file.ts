import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Request bodies handed to a benchmark's child process in a file: each body after its length
 * (4 bytes, little-endian). A file, not IPC: the bodies are hundreds of MB.
 */
export function writeBodies(file: string, bodies: Uint8Array[]): void {
  const parts: Uint8Array[] = [];
  for (const body of bodies) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(body.byteLength);
    parts.push(len, body);
  }
  writeFileSync(file, Buffer.concat(parts));
}

/** The bodies `writeBodies` wrote to `file`, as views into one buffer. */
export function readBodies(file: string): Buffer[] {
  const all = readFileSync(file);
  const bodies: Buffer[] = [];
  for (let p = 0; p < all.length;) {
    const n = all.readUInt32LE(p);
    bodies.push(all.subarray(p + 4, p + 4 + n));
    p += 4 + n;
  }
  return bodies;
}
