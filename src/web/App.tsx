import { useCallback, useEffect, useState } from 'react';
import { useSources } from './hooks/useSources.js';
import { SourcesTable } from './sources/SourcesTable.js';
import { SourceDrawer } from './drawer/SourceDrawer.js';
import { formatAgo } from './flame/text.js';
import { useNow } from './hooks/useNow.js';

/** `#/sources/<key>` opens that source's drawer, so a link or a reload lands on it. */
function keyFromHash(): string | null {
  const m = /^#\/sources\/(.+)$/.exec(window.location.hash);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

export function App() {
  const src = useSources(2000);
  const [openKey, setOpenKey] = useState<string | null>(keyFromHash);
  const now = useNow(1000);

  useEffect(() => {
    const onHash = (): void => setOpenKey(keyFromHash());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const open = useCallback((key: string) => {
    window.location.hash = `#/sources/${encodeURIComponent(key)}`;
  }, []);
  const close = useCallback(() => {
    // Keep the history entry clean: back after close should not reopen the drawer.
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    setOpenKey(null);
  }, []);

  return (
    <div className="app">
      <header className="topbar">
        <span className="logo" aria-hidden="true">
          ◢
        </span>
        <h1>Pilotlight</h1>
        <span className="muted">continuous CPU profiling</span>
        <span className="spacer" />
        <span className={src.error ? 'conn bad' : 'conn'} title={src.error ?? ''}>
          {src.error ? `Disconnected: ${src.error}` : src.loadedAt ? `Sources updated ${formatAgo(src.loadedAt, now)}` : 'Connecting…'}
        </span>
      </header>
      <main className="content">
        <h2 className="page-title">Sources</h2>
        <SourcesTable sources={src.sources} limits={src.limits} onOpen={open} />
      </main>
      {openKey && (
        <SourceDrawer
          sourceKey={openKey}
          source={src.sources.find((s) => s.key === openKey)}
          limits={src.limits}
          onClose={close}
          onSourceChanged={src.update}
          onSlotClosed={src.refresh}
          onSlotFigures={src.patchSlot}
        />
      )}
    </div>
  );
}
