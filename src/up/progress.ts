/** The parts `up` runs, in the order it starts them. */
export type Part = 'ui' | 'gateway' | 'demo' | 'node';
export type State = 'starting' | 'waiting' | 'up' | 'skipped' | 'stopping' | 'stopped' | 'failed';

export interface Progress {
  step(part: Part, state: State, detail?: string): void;
  line(text: string): void;
}

/**
 * One line per change, `  part     state    detail`: plain lines (no cursor tricks), so they read
 * the same in a terminal, a log file and a test.
 */
export function lineProgress(write: (text: string) => void): Progress {
  return {
    step(part, state, detail) {
      write(`  ${part.padEnd(8)} ${detail ? `${state.padEnd(9)} ${detail}` : state}\n`);
    },
    line(text) {
      write(`${text}\n`);
    },
  };
}
