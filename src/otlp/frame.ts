/**
 * A frame as the node sampler and the test builder describe one before it is written as an
 * OTLP Location: its function name, file and line, binary, address and kind, and its Lines.
 */

/** A simple attribute value: what an AnyValue of a string, bool, int or double holds. */
export type SimpleValue = string | number | boolean;

export interface FrameSpec {
  /** Function name; omit for a frame known only by binary + address. */
  name?: string;
  file?: string;
  line?: number;
  /** The binary (mapping file name) the frame's code lives in. */
  binary?: string;
  address?: bigint;
  /** `profile.frame.type`: native, kernel, v8js, cpython, jvm, … */
  kind?: string;
  /** Frames inlined into this one, callee first (Location.lines order, before this frame). */
  inlined?: { name: string; file?: string; line?: number }[];
}

/** A frame's Location.lines, callee first: its inlined frames, then itself when named. */
export function frameLines(frame: FrameSpec): { name: string; file?: string; line?: number }[] {
  return [...(frame.inlined ?? []), ...(frame.name !== undefined ? [{ name: frame.name, file: frame.file, line: frame.line }] : [])];
}

/** The identity of a location's lines (function name, file and line of each). */
export function linesKey(lines: readonly { name: string; file?: string; line?: number }[]): string {
  return lines.map((l) => `${l.name}\0${l.file ?? ''}\0${l.line ?? 0}`).join('\x01');
}
