import type { FlameGraph } from '../../profile/flame.js';
import { matchFrames, parseSearch } from '../../profile/focus.js';
import type { FlameTransform, HideRule } from '../../profile/transform.js';
import { formatPercent } from './text.js';

interface Props {
  transform: FlameTransform;
  /** The graph before the transforms (what patterns are counted in and focus is a share of). */
  graph: FlameGraph;
  /** Frames drawn in `graph` (1 per frame id). */
  present: Uint8Array;
  /** The focused graph's total (samples through the focused function). */
  focusTotal: number;
  onRemoveHide: (rule: HideRule) => void;
  onRemoveFocus: () => void;
  onRemoveRecursion: () => void;
  onClearAll: () => void;
}

/** A frame key's parts (transform.ts frameKey): name, file, binary, kind. */
function keyParts(key: string): { name: string; binary: string } {
  const [name = '', , binary = ''] = key.split('\0');
  return { name, binary };
}

function Chip({
  label,
  value,
  note,
  title,
  remove,
  onRemove,
  testId,
}: {
  label: string;
  value: string;
  note?: string;
  title: string;
  remove: string;
  onRemove: () => void;
  testId: string;
}) {
  return (
    <span className="chip tool-chip" title={title} data-testid={testId}>
      <span className="chip-label">{label}</span>
      <strong>{value}</strong>
      {note && <span className="chip-note">{note}</span>}
      <button type="button" className="chip-x" aria-label={remove} title={remove} onClick={onRemove}>
        ×
      </button>
    </span>
  );
}

/**
 * What reshapes the graph, one chip each with × to undo it: hidden functions and patterns, the
 * focused function, collapsed recursion. Names are profile text: rendered as text.
 */
export function TransformChips({ transform: t, graph, present, focusTotal, onRemoveHide, onRemoveFocus, onRemoveRecursion, onClearAll }: Props) {
  const count = (t.focus ? 1 : 0) + t.hide.length + (t.collapseRecursion ? 1 : 0);
  if (count === 0) return null;
  const all = graph.total[0] ?? 0;
  return (
    <div className="tool-chips" role="list" aria-label="Graph transforms">
      {t.focus && (
        <span role="listitem">
          <Chip
            testId="focus-chip"
            label="Focus"
            value={keyParts(t.focus).name}
            note={focusTotal > 0 ? `${formatPercent(all > 0 ? focusTotal / all : 0)} of all` : 'not in this profile'}
            title={`Rooted at ${keyParts(t.focus).name}: every sample through it, merged (${focusTotal > 0 ? `${formatPercent(all > 0 ? focusTotal / all : 0)} of all samples` : 'not in this profile'})`}
            remove={`Remove focus on ${keyParts(t.focus).name}`}
            onRemove={onRemoveFocus}
          />
        </span>
      )}
      {t.hide.map((r) => {
        let value: string;
        let title: string;
        if ('frame' in r) {
          const { name, binary } = keyParts(r.frame);
          value = name;
          title = `Hidden: ${name}${binary ? ` (${binary})` : ''}, merged into its callers`;
        } else {
          const q = parseSearch(r.pattern);
          let n = 0;
          if (q.ok) {
            const m = matchFrames(graph.frames.name, q.test);
            for (let f = 0; f < m.length; f++) n += m[f] & present[f];
          }
          value = `${r.pattern} · ${q.ok ? `${n} ${n === 1 ? 'function' : 'functions'}` : 'invalid'}`;
          title = q.ok ? `Hidden: functions matching ${r.pattern}, merged into their callers` : q.error;
        }
        const what = 'frame' in r ? keyParts(r.frame).name : r.pattern;
        return (
          <span role="listitem" key={'frame' in r ? `f:${r.frame}` : `p:${r.pattern}`}>
            <Chip testId="hide-chip" label="Hidden" value={value} title={title} remove={`Show ${what} again`} onRemove={() => onRemoveHide(r)} />
          </span>
        );
      })}
      {t.collapseRecursion && (
        <span role="listitem">
          <Chip
            testId="rec-chip"
            label="Recursion"
            value="collapsed"
            title="A function calling itself directly is shown once"
            remove="Expand recursion"
            onRemove={onRemoveRecursion}
          />
        </span>
      )}
      {count > 1 && (
        <span role="listitem">
          <button type="button" className="btn small" onClick={onClearAll}>
            Show all
          </button>
        </span>
      )}
    </div>
  );
}
