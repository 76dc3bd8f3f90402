import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ProfileStore } from '../store/store.js';

/** Slots change many times a second under load; the browser needs at most a few updates a second. */
const MIN_EVENT_GAP_MS = 250;

/**
 * Server-Sent Events for one slot: an event `data` (SlotEvent JSON) at connect and whenever the
 * slot changes, at most every 250 ms. An open stream is a view in progress, so each heartbeat
 * also refreshes the slot's TTL: a slot does not expire under a user who is watching it.
 */
export function serveSlotEvents(store: ProfileStore, key: string, req: FastifyRequest, reply: FastifyReply, heartbeatMs: number): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let lastSent = 0;
  let pending: NodeJS.Timeout | undefined;
  const send = (): void => {
    pending = undefined;
    lastSent = Date.now();
    const active = !!store.slot(key);
    res.write(`event: ${active ? 'data' : 'closed'}\ndata: ${JSON.stringify(store.slotEvent(key))}\n\n`);
  };
  const onChange = (): void => {
    if (pending) return;
    const wait = Math.max(0, lastSent + MIN_EVENT_GAP_MS - Date.now());
    pending = setTimeout(send, wait);
  };
  const off = store.subscribe(key, onChange);
  const heartbeat = setInterval(() => {
    store.touch(key);
    res.write(': ping\n\n');
  }, heartbeatMs);
  const cleanup = (): void => {
    off();
    clearInterval(heartbeat);
    if (pending) clearTimeout(pending);
  };
  req.raw.on('close', cleanup);
  res.on('error', cleanup);
  res.write('retry: 2000\n\n');
  send();
}
