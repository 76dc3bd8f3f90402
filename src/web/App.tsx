import { useCallback, useState } from 'react';
import { DEFAULT_SOURCE_SORT, type SourcesQuery } from '../api/source-query.js';
import { closeRoute, navigate, useRoute } from './route/route.js';
import { useSources } from './hooks/useSources.js';
import { SourcesTable } from './sources/SourcesTable.js';
import { SourceDrawer } from './drawer/SourceDrawer.js';
import { formatAgo } from './flame/text.js';
import { useNow } from './hooks/useNow.js';

/** The most rows the Sources list asks for: a fleet's list is cut, and its filter asks the server. */
const SOURCES_PAGE = 500;

export function App() {
  // `#/sources/<key>[?view]` opens that source's drawer, so a link or a reload lands on it.
  const route = useRoute();
  const openKey = route.key;
  const [listQuery, setListQuery] = useState<SourcesQuery>({ q: '', state: 'all', sort: DEFAULT_SOURCE_SORT });
  // The open source comes with every answer, wherever it ranks.
  const src = useSources(2000, { ...listQuery, limit: SOURCES_PAGE, keep: openKey ?? undefined });
  const now = useNow(1000);

  const open = useCallback((key: string) => navigate({ key, hasView: false }, true), []);
  // Keep the history entry clean: back after close should not reopen the drawer.
  const close = useCallback(() => closeRoute(), []);

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
        {/* The filter takes the keyboard when the page opens on the list, not under a drawer a link opened. */}
        <SourcesTable
          sources={src.sources}
          total={src.total}
          matched={src.matched}
          limits={src.limits}
          onOpen={open}
          onQueryChange={setListQuery}
          focusFilter={!openKey}
        />
      </main>
      {openKey && (
        <SourceDrawer
          sourceKey={openKey}
          source={src.sources.find((s) => s.key === openKey)}
          sources={src.sources}
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
