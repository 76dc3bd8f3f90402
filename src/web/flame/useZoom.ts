import { useCallback, useMemo, useState } from 'react';
import { keyPath, resolveKeyPath, type FlameLayout } from './layout.js';

export interface Zoom {
  /** The zoomed node in the current layout (0, the root, when not zoomed). */
  node: number;
  /** Frame keys from the root to the zoomed frame: what survives new data. */
  path: readonly string[];
  zoomTo: (node: number) => void;
  reset: () => void;
}

/**
 * Zoom kept as a path of frame keys rather than a node id: live updates renumber nodes and
 * frames, but the path finds the same frame again (or its nearest surviving ancestor, while
 * still remembering the full path should the frame come back).
 */
export function useZoom(layout: FlameLayout, controlled?: readonly string[], onChange?: (path: readonly string[]) => void): Zoom {
  const [own, setOwn] = useState<readonly string[]>([]);
  // Controlled (the path lives in the URL) when the caller passes it, else kept here.
  const path = controlled ?? own;
  const setPath = useCallback((p: readonly string[]) => void (controlled === undefined && setOwn(p)), [controlled]);
  const node = useMemo(() => Math.max(0, resolveKeyPath(layout, path).node), [layout, path]);
  const zoomTo = useCallback(
    (n: number) => {
      const p = n <= 0 ? [] : keyPath(layout, n);
      setPath(p);
      onChange?.(p);
    },
    [layout, onChange, setPath],
  );
  const reset = useCallback(() => {
    setPath([]);
    onChange?.([]);
  }, [onChange, setPath]);
  return { node, path, zoomTo, reset };
}
