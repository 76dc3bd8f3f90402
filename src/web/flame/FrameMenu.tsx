import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';

/** One entry of a frame's menu. */
export interface FrameMenuItem {
  label: string;
  onSelect: () => void;
  /** A checkbox item (menuitemcheckbox) when set. */
  checked?: boolean;
  disabled?: boolean;
  /** What the item does, at more length (the item's title). */
  title?: string;
  /** A separator goes above this item. */
  group?: boolean;
  /** Opens the menu's pattern form instead of acting (onSelect is not called). */
  opensPattern?: boolean;
}

/** How the pattern form reads a pattern: how many functions of the graph it matches, or why it cannot be read. */
export type PatternCheck = { ok: true; functions: number } | { ok: false; error: string };

interface Props {
  /** The frame's name (profile text: rendered as text). */
  name: string;
  /** Where the menu opens, client px (it moves to stay on screen). */
  at: { x: number; y: number };
  items: FrameMenuItem[];
  /** The "Hide frames matching…" form: what it starts with, what it says while typing, what it does. */
  pattern: { initial: string; check: (text: string) => PatternCheck; onHide: (text: string) => void };
  /** The menu is done (an item picked, Escape, a press elsewhere): unmount it. */
  onClose: () => void;
}

const ITEMS = '[role="menuitem"]:not([aria-disabled="true"]), [role="menuitemcheckbox"]:not([aria-disabled="true"])';

/**
 * A frame's menu: a small popover at the pointer (or at the keyboard's frame). It is a
 * keyboard menu: focus starts on the first item, Up/Down/Home/End move, Enter or Space picks,
 * Escape or Tab closes it and gives the keyboard back to the graph; a click outside closes it.
 * "Hide frames matching…" turns it into a one-field form (Enter hides, Escape closes).
 */
export function FrameMenu({ name, at, items, pattern, onClose }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState(at);
  const [mode, setMode] = useState<'items' | 'pattern'>('items');
  const [text, setText] = useState(pattern.initial);
  const input = useRef<HTMLInputElement>(null);
  const check = pattern.check(text);
  // What had the keyboard when the menu opened (the graph): it gets it back when the menu is
  // left by the keyboard or by picking an item, not when a press elsewhere closed it.
  const opener = useRef<Element | null>(null);
  useLayoutEffect(() => {
    opener.current = document.activeElement;
  }, []);
  const finish = (restoreFocus: boolean): void => {
    const el = opener.current;
    if (restoreFocus && el instanceof HTMLElement && el.isConnected) el.focus();
    onClose();
  };

  // Keep the box on screen: shift it left of a right edge, above a bottom edge.
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const r = el.getBoundingClientRect();
    const x = at.x + r.width + 4 > window.innerWidth ? Math.max(4, window.innerWidth - r.width - 4) : at.x;
    const y = at.y + r.height + 4 > window.innerHeight ? Math.max(4, at.y - r.height) : at.y;
    setPos({ x, y });
  }, [at, mode]);

  useEffect(() => {
    if (mode === 'items') ref.current?.querySelector<HTMLElement>(ITEMS)?.focus();
    else input.current?.select();
  }, [mode]);

  // A press anywhere else closes the menu (and leaves focus to what was pressed).
  useEffect(() => {
    const onDown = (e: PointerEvent): void => {
      if (!(e.target instanceof Node) || !ref.current?.contains(e.target)) onClose();
    };
    document.addEventListener('pointerdown', onDown, true);
    return () => document.removeEventListener('pointerdown', onDown, true);
  }, [onClose]);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    if (e.key === 'Escape' || e.key === 'Tab') {
      // The menu's Escape: neither the graph (zoom out) nor the drawer (close) sees it.
      e.preventDefault();
      e.stopPropagation();
      finish(true);
      return;
    }
    if (mode !== 'items') return;
    const list = [...(ref.current?.querySelectorAll<HTMLElement>(ITEMS) ?? [])];
    const i = list.indexOf(document.activeElement as HTMLElement);
    let next = -1;
    if (e.key === 'ArrowDown') next = (i + 1) % list.length;
    else if (e.key === 'ArrowUp') next = (i - 1 + list.length) % list.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = list.length - 1;
    if (next >= 0 && list.length > 0) {
      e.preventDefault();
      e.stopPropagation();
      list[next].focus();
    }
  };

  return (
    <div
      ref={ref}
      className="frame-menu"
      role={mode === 'items' ? 'menu' : 'dialog'}
      aria-label={mode === 'items' ? `Frame ${name}` : 'Hide frames matching a pattern'}
      style={{ left: pos.x, top: pos.y }}
      onKeyDown={onKeyDown}
      onBlur={(e) => {
        // Focus leaving for somewhere else on the page (not a press: that is handled above).
        if (e.relatedTarget instanceof Node && !e.currentTarget.contains(e.relatedTarget)) onClose();
      }}
      onContextMenu={(e) => e.preventDefault()}
    >
      <div className="frame-menu-title" title={name} aria-hidden="true">
        {name}
      </div>
      {mode === 'items' &&
        items.map((it) => (
          <div key={it.label} role="none">
            {it.group && <div className="frame-menu-sep" role="separator" />}
            <button
              type="button"
              role={it.checked === undefined ? 'menuitem' : 'menuitemcheckbox'}
              aria-checked={it.checked}
              aria-disabled={it.disabled || undefined}
              className="frame-menu-item"
              title={it.title}
              tabIndex={-1}
              // The pointer and the keyboard share one current item.
              onMouseEnter={(e) => {
                if (!it.disabled) e.currentTarget.focus();
              }}
              onClick={() => {
                if (it.disabled) return;
                if (it.opensPattern) {
                  setMode('pattern');
                  return;
                }
                finish(true);
                it.onSelect();
              }}
            >
              {it.checked !== undefined && (
                <span className="frame-menu-check" aria-hidden="true">
                  {it.checked ? '✓' : ''}
                </span>
              )}
              {it.label}
            </button>
          </div>
        ))}
      {mode === 'pattern' && (
        <form
          className="frame-menu-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (!check.ok) return;
            finish(true);
            pattern.onHide(text.trim());
          }}
        >
          <label className="frame-menu-label" htmlFor="frame-menu-pattern">
            Hide functions whose name matches
          </label>
          <input
            id="frame-menu-pattern"
            ref={input}
            className="search"
            value={text}
            onChange={(e) => setText(e.target.value)}
            aria-label="Hide pattern"
            aria-invalid={!check.ok}
            aria-describedby="frame-menu-check"
            placeholder="text or /regex/"
            spellCheck={false}
          />
          <div id="frame-menu-check" className={check.ok ? 'frame-menu-note muted' : 'frame-menu-note search-error'} aria-live="polite">
            {check.ok ? `matches ${check.functions} ${check.functions === 1 ? 'function' : 'functions'} in this graph` : check.error}
          </div>
          <div className="frame-menu-actions">
            <button type="submit" className="btn small" disabled={!check.ok}>
              Hide
            </button>
            <button type="button" className="btn small" onClick={() => finish(true)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
