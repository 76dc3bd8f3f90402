import { ownNameStart } from '../flame/text.js';

/**
 * A function name that, cut to fit, loses its middle: the namespaces and classes in front
 * shrink first (with an ellipsis) and the function's own name stays readable. The full name is
 * the row's title. Rendered as text: names come from profiles and are untrusted.
 */
export function SymbolName({ name }: { name: string }) {
  const own = ownNameStart(name);
  if (own === 0) return <span className="sym-text">{name}</span>;
  return (
    <span className="sym-text split">
      <span className="sym-prefix">{name.slice(0, own)}</span>
      <span className="sym-own">{name.slice(own)}</span>
    </span>
  );
}
