// Decoded maps built as objects V8 keeps in fast mode. An object that grows
// one keyed store at a time from `{}` reallocates its property storage again
// and again (~3 KB of garbage for a 24-field photo); a copy of a template
// made once per key sequence gets its final layout in one allocation (~300 B).
// The templates are found through a trie of key sequences, bounded so that a
// peer sending ever new keys only falls back to the plain way.

interface ShapeNode {
  next: Map<string, ShapeNode> | null;
  template: Record<string, unknown> | null;
}

/** Up to this many keys `{}` has room for in the object itself: no template needed. */
const IN_OBJECT_KEYS = 4;
const MAX_TEMPLATE_KEYS = 64;
const MAX_NODES = 4096;

const root: ShapeNode = { next: null, template: null };
let nodeCount = 0;

/** An object with keys[from..from+count) set to values[from..from+count), in that order (a repeated key: the last value wins). */
export function buildObject(keys: string[], values: unknown[], from: number, count: number): Record<string, unknown> {
  const node = count > IN_OBJECT_KEYS && count <= MAX_TEMPLATE_KEYS ? shapeOf(keys, from, count) : null;
  const object: Record<string, unknown> = node === null ? {} : { ...(node.template ??= template(keys, from, count)) };
  for (let i = from; i < from + count; i++) object[keys[i]!] = values[i];
  return object;
}

function shapeOf(keys: string[], from: number, count: number): ShapeNode | null {
  let node = root;
  for (let i = from; i < from + count; i++) {
    const key = keys[i]!;
    let child = node.next?.get(key);
    if (child === undefined) {
      if (nodeCount >= MAX_NODES) return null;
      child = { next: null, template: null };
      nodeCount += 1;
      (node.next ??= new Map()).set(key, child);
    }
    node = child;
  }
  return node;
}

function template(keys: string[], from: number, count: number): Record<string, unknown> {
  // JSON.parse lays an object out with all its fields at once; a JSON key
  // `__proto__` is an own property, never the prototype.
  const fields: string[] = [];
  for (let i = from; i < from + count; i++) fields.push(`${JSON.stringify(keys[i])}:null`);
  return JSON.parse(`{${fields.join(',')}}`) as Record<string, unknown>;
}
