import { useCallback, useState, type RefObject, type UIEvent } from 'react';
import { useElementSize } from '../hooks/useElementSize.js';

export interface VirtualRows {
  first: number;
  last: number;
  padTop: number;
  padBottom: number;
  onScroll: (e: UIEvent<HTMLElement>) => void;
}

/** Extra rows rendered above and below the view, so fast scrolling shows no blank rows. */
const OVERSCAN = 10;

/**
 * Windowing for a list of fixed-height rows: only the rows in view (plus a margin) are in the
 * DOM; padding stands in for the rest so the scroll bar keeps its true size.
 */
export function useVirtualRows(count: number, rowHeight: number, container: RefObject<HTMLElement | null>): VirtualRows {
  const [scrollTop, setScrollTop] = useState(0);
  const { height } = useElementSize(container);
  const onScroll = useCallback((e: UIEvent<HTMLElement>) => setScrollTop(e.currentTarget.scrollTop), []);
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scrollTop + Math.max(height, rowHeight * 20)) / rowHeight) + OVERSCAN);
  return { first, last, padTop: first * rowHeight, padBottom: Math.max(0, (count - last) * rowHeight), onScroll };
}
