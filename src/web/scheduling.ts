/**
 * Lets the browser handle input and paint before the next slice of a long piece of work
 * (decoding a profile, sorting a large table): the next slice is a new task behind whatever
 * is queued (a message-channel task, not setTimeout, which nested calls clamp to 4 ms). Not
 * `scheduler.yield()`: its continuations go ahead of other tasks, React's render of a hover
 * among them, which would then wait for the whole decode.
 */
export function yieldToMain(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(null);
  });
}
