import { useEffect, useRef, useState, type KeyboardEvent as ReactKeyboardEvent } from 'react';
import type { SlotStatus, SourceInfo, StoreLimits } from '../../api/types.js';
import { ProfilingTab } from './ProfilingTab.js';
import { formatAgo } from '../flame/text.js';
import { useNow } from '../hooks/useNow.js';

interface Props {
  sourceKey: string;
  source: SourceInfo | undefined;
  sources: readonly SourceInfo[];
  limits: StoreLimits | null;
  onClose: () => void;
  onSourceChanged: (source: SourceInfo) => void;
  onSlotClosed: () => void;
  onSlotFigures: (key: string, slot: Partial<SlotStatus>) => void;
}

type Tab = 'profiling' | 'details';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea, [tabindex]:not([tabindex="-1"])';

/** Tab and Shift+Tab cycle inside the dialog instead of walking out to the page behind it. */
function trapTab(e: ReactKeyboardEvent<HTMLElement>): void {
  if (e.key !== 'Tab') return;
  const items = [...e.currentTarget.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null);
  if (items.length === 0) return;
  const first = items[0];
  const last = items[items.length - 1];
  const at = document.activeElement;
  if (e.shiftKey && (at === first || at === e.currentTarget)) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && at === last) {
    e.preventDefault();
    first.focus();
  }
}

/**
 * A source's drawer. Closing it leaves the profiling slot open (the server's TTL decides), so
 * reopening shows the same data.
 */
export function SourceDrawer({ sourceKey, source, sources, limits, onClose, onSourceChanged, onSlotClosed, onSlotFigures }: Props) {
  const [tab, setTab] = useState<Tab>('profiling');
  const now = useNow(1000);
  const dialog = useRef<HTMLElement>(null);
  // The drawer is modal: focus moves into it when it opens and back to what opened it (the
  // source's row) when it closes.
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    dialog.current?.focus();
    return () => {
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  useEffect(() => {
    // Escape closes the drawer, unless typed in a field or used up by what had the keyboard
    // (a menu closing, the flame graph zooming out): those prevent its default.
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape' && !e.defaultPrevented && !(e.target instanceof HTMLInputElement)) onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  return (
    <>
      <div className="drawer-backdrop" onClick={onClose} />
      <aside className="drawer" role="dialog" aria-modal="true" aria-label={`Source ${sourceKey}`} ref={dialog} tabIndex={-1} onKeyDown={trapTab}>
        <header className="drawer-head">
          <div>
            <div className="drawer-kicker">
              {source?.namespace ?? ''} · {source?.kind ?? ''}
            </div>
            <h2 className="drawer-title">{source?.name ?? sourceKey}</h2>
          </div>
          <button type="button" className="btn icon" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        <div className="tabs" role="tablist">
          <button
            type="button"
            role="tab"
            aria-selected={tab === 'profiling'}
            className={tab === 'profiling' ? 'tab active' : 'tab'}
            onClick={() => setTab('profiling')}
          >
            Profiling
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={tab === 'details'}
            className={tab === 'details' ? 'tab active' : 'tab'}
            onClick={() => setTab('details')}
          >
            Details
          </button>
        </div>
        <div className="drawer-body">
          {!source && <p className="muted">This source is no longer reported. It reappears when its data does.</p>}
          {source && tab === 'profiling' && (
            <ProfilingTab
              key={source.key}
              source={source}
              sources={sources}
              limits={limits}
              onSourceChanged={onSourceChanged}
              onSlotClosed={onSlotClosed}
              onSlotFigures={onSlotFigures}
            />
          )}
          {source && tab === 'details' && (
            <dl className="details">
              <dt>Key</dt>
              <dd>
                <code>{source.key}</code>
              </dd>
              <dt>Namespace</dt>
              <dd>{source.namespace}</dd>
              <dt>Kind</dt>
              <dd>{source.kind}</dd>
              <dt>Name</dt>
              <dd>{source.name}</dd>
              <dt>Last data</dt>
              <dd>{formatAgo(source.lastSeenAt || null, now)}</dd>
              <dt>Profiling</dt>
              <dd>{source.profiling.active ? 'enabled' : 'off'}</dd>
            </dl>
          )}
        </div>
      </aside>
    </>
  );
}
