// A msgpack reader for the values frames carry: maps with string keys,
// arrays, strings, binary, booleans, nil, integers up to 32 bits and float64.
// It exists for the garbage it does not make: msgpackr turned a 950-byte
// getPhoto answer into ~5 KB of short-lived heap (fresh strings for every key,
// the arrays its native string extraction returns), and at tens of thousands
// of answers a second those scavenges were the tail latency of every call in
// flight. Here keys come from a cache, so a map costs its object and its
// values' strings.
//
// It decodes a strict subset on purpose. Anything else (extensions, 64-bit
// integers, float32, non-string keys, a truncated or over-long payload)
// returns NOT_HANDLED and the caller hands the same bytes to msgpackr, so
// every value, and every error message, stays msgpackr's.

/** Returned when the payload uses something this reader leaves to msgpackr. */
export const NOT_HANDLED: unique symbol = Symbol('msgpack-reader: not handled');

/** Keys longer than this are decoded each time rather than cached. */
const MAX_CACHED_KEY_BYTES = 32;
const KEY_SLOTS = 1024;
/** Beyond this nesting the payload goes to msgpackr, which has no recursion budget of its own to lose here. */
const MAX_DEPTH = 64;

class Bail extends Error {}
const BAIL = new Bail();

interface CachedKey {
  bytes: Uint8Array;
  text: string;
}

import { buildObject } from './object-shapes';

const EMPTY = Buffer.alloc(0);

// One decode runs at a time (it is synchronous), so its cursor lives here.
let src: Buffer = EMPTY;
let pos = 0;
let end = 0;
/** A view of the whole ArrayBuffer under src, kept while frames keep coming from the same read. */
let view: DataView = new DataView(EMPTY.buffer, 0, 0);
/** src's offset in view. */
let base = 0;
const keySlots: Array<CachedKey | undefined> = new Array(KEY_SLOTS);
/** Keys and values of the maps being read, nested ones above their parents, reused across frames. */
const keyStack: string[] = [];
const valueStack: unknown[] = [];
let stackTop = 0;

/** Decodes one msgpack value filling `payload` exactly, or returns NOT_HANDLED. */
export function readMessage(payload: Buffer): unknown {
  src = payload;
  pos = 0;
  stackTop = 0;
  end = payload.length;
  if (view.buffer !== payload.buffer) view = new DataView(payload.buffer as ArrayBuffer);
  base = payload.byteOffset;
  try {
    const value = read(0);
    // Trailing bytes are an error msgpackr words its own way.
    return pos === end ? value : NOT_HANDLED;
  } catch (err) {
    if (err === BAIL) return NOT_HANDLED;
    throw err;
  } finally {
    src = EMPTY;
  }
}

function need(n: number): void {
  if (pos + n > end) throw BAIL;
}

function read(depth: number): unknown {
  need(1);
  const byte = src[pos++]!;
  if (byte < 0x80) return byte;
  if (byte < 0x90) return readMap(byte & 0x0f, depth);
  if (byte < 0xa0) return readArray(byte & 0x0f, depth);
  if (byte < 0xc0) return readString(byte & 0x1f);
  if (byte >= 0xe0) return byte - 0x100;
  switch (byte) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return readBin(readUint(1));
    case 0xc5:
      return readBin(readUint(2));
    case 0xc6:
      return readBin(readUint(4));
    case 0xcb: {
      need(8);
      const value = view.getFloat64(base + pos);
      pos += 8;
      return value;
    }
    case 0xcc:
      return readUint(1);
    case 0xcd:
      return readUint(2);
    case 0xce:
      return readUint(4);
    case 0xd0: {
      need(1);
      return view.getInt8(base + pos++);
    }
    case 0xd1: {
      need(2);
      const value = view.getInt16(base + pos);
      pos += 2;
      return value;
    }
    case 0xd2: {
      need(4);
      const value = view.getInt32(base + pos);
      pos += 4;
      return value;
    }
    case 0xd9:
      return readString(readUint(1));
    case 0xda:
      return readString(readUint(2));
    case 0xdb:
      return readString(readUint(4));
    case 0xdc:
      return readArray(readUint(2), depth);
    case 0xdd:
      return readArray(readUint(4), depth);
    case 0xde:
      return readMap(readUint(2), depth);
    case 0xdf:
      return readMap(readUint(4), depth);
    default:
      // float32, 64-bit integers, extensions and the unused 0xc1.
      throw BAIL;
  }
}

function readUint(bytes: 1 | 2 | 4): number {
  need(bytes);
  const value = bytes === 1 ? src[pos]! : bytes === 2 ? view.getUint16(base + pos) : view.getUint32(base + pos);
  pos += bytes;
  return value;
}

function readString(length: number): string {
  need(length);
  const start = pos;
  pos += length;
  // ASCII is most of what travels; latin1 makes the same string from it with half the garbage of utf8.
  return isAscii(start, pos) ? src.toString('latin1', start, pos) : src.toString('utf8', start, pos);
}

function isAscii(from: number, to: number): boolean {
  let i = from;
  // Four bytes a test while they last.
  for (; i + 4 <= to; i += 4) if ((view.getUint32(base + i) & 0x80808080) !== 0) return false;
  for (; i < to; i++) if (src[i]! >= 0x80) return false;
  return true;
}

function readBin(length: number): Buffer {
  need(length);
  const start = pos;
  pos += length;
  // A view, not a copy, as msgpackr gives it (without its copyBuffers option).
  return src.subarray(start, pos);
}

function readArray(length: number, depth: number): unknown[] {
  if (depth >= MAX_DEPTH) throw BAIL;
  // Each element takes at least a byte: a hostile length fails here, not in an allocation.
  need(length);
  const array = new Array<unknown>(length);
  for (let i = 0; i < length; i++) array[i] = read(depth + 1);
  return array;
}

function readMap(length: number, depth: number): Record<string, unknown> {
  if (depth >= MAX_DEPTH) throw BAIL;
  need(length * 2);
  const from = stackTop;
  stackTop += length;
  for (let i = from; i < stackTop; i++) {
    const key = readKey();
    // As msgpackr does: a decoded map must not be able to set its own prototype.
    keyStack[i] = key === '__proto__' ? '__proto_' : key;
    valueStack[i] = read(depth + 1);
  }
  const object = buildObject(keyStack, valueStack, from, length);
  // Values popped off the stack must not stay reachable from it.
  for (let i = from; i < stackTop; i++) valueStack[i] = undefined;
  stackTop = from;
  return object;
}

function readKey(): string {
  need(1);
  const byte = src[pos]!;
  let length: number;
  if (byte >= 0xa0 && byte < 0xc0) {
    length = byte & 0x1f;
    pos += 1;
  } else if (byte === 0xd9) {
    pos += 1;
    length = readUint(1);
  } else {
    // msgpackr turns number and boolean keys into strings; leave that to it.
    throw BAIL;
  }
  need(length);
  if (length > MAX_CACHED_KEY_BYTES) return readString(length);
  // Length and the two ends tell most keys apart; the full comparison below settles it.
  const slot = length === 0 ? 0 : ((length << 5) ^ (src[pos]! << 3) ^ src[pos + length - 1]! ^ (src[pos + (length >> 1)]! << 1)) & (KEY_SLOTS - 1);
  const cached = keySlots[slot];
  if (cached !== undefined && sameBytes(cached.bytes, pos, length)) {
    pos += length;
    return cached.text;
  }
  const bytes = Uint8Array.prototype.slice.call(src, pos, pos + length);
  const text = readString(length);
  keySlots[slot] = { bytes, text };
  return text;
}

function sameBytes(bytes: Uint8Array, at: number, length: number): boolean {
  if (bytes.length !== length) return false;
  for (let i = 0; i < length; i++) if (bytes[i] !== src[at + i]) return false;
  return true;
}
