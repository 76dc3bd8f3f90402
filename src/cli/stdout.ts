/**
 * A reader that stops early (`pilotlight profile FILE | head`) closes the pipe under the CLI: its
 * next write to stdout fails with EPIPE, an 'error' event that would otherwise kill the process
 * with a stack trace. What nobody reads is not wanted, so the process ends there, quietly, as
 * SIGPIPE ends a C program, but with its own exit status (0 unless something failed before).
 * Any other error on stdout is thrown as before.
 */
export function exitQuietlyWhenStdoutCloses(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}
