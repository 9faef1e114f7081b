// The frame that carries a call's result. A shared answer (see
// coordinator/shared-answer.ts) goes to many calls and can never change, so
// its msgpack bytes are made once and each call only gets its own envelope:
// encoding a 24-field photo for every getPhoto was a good part of the
// daemon's garbage per call.

import { encodeFrame, encodeResultFrame, encodeValue } from '../../protocol/frame-codec';
import { isSharedAnswer } from '../coordinator/shared-answer';

const encoded = new WeakMap<object, Buffer>();

/**
 * `{ t: 'result', id, value }` framed, a shared answer's in memory from
 * `alloc`. Throws ProtocolError when it does not fit in a frame.
 */
export function resultFrame(id: number, value: unknown, alloc: (n: number) => Buffer): Buffer {
  if (!isSharedAnswer(value)) return encodeFrame({ t: 'result', id, value });
  let bytes = encoded.get(value);
  if (bytes === undefined) {
    bytes = encodeValue(value);
    encoded.set(value, bytes);
  }
  return encodeResultFrame(id, bytes, alloc);
}
