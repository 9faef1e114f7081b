// Which coordinator method each op calls, and with which of the call's
// arguments. This table is the whole of what the socket server knows about
// storage: argument checking is the coordinator's job, as for the HTTP gateway.

import { UnavailableError } from '../../protocol/errors';
import type { Op } from '../../protocol/messages';
import type { CallContext, Coordinator } from '../coordinator/coordinator';

type Args = Record<string, unknown>;
type Handler = (c: Coordinator, ctx: CallContext, args: Args, body: AsyncIterable<Uint8Array>) => Promise<unknown>;

const handlers: Record<Op, Handler> = {
  storePhoto: (c, ctx, a, body) => c.storePhoto(ctx, a.options, body),
  getPhoto: (c, ctx, a) => c.getPhoto(ctx, a.id),
  getPhotoUrl: (c, ctx, a) => c.getPhotoUrl(ctx, a.id, a.expirySeconds),
  readPhoto: (c, ctx, a) => c.readPhoto(ctx, a.id, a.range),
  updatePhotoMetadata: (c, ctx, a) => c.updatePhotoMetadata(ctx, a.id, a.patch),
  deletePhoto: (c, ctx, a) => c.deletePhoto(ctx, a.id),
  searchPhotos: (c, ctx, a) => c.searchPhotos(ctx, a.query),
  getUserPhotos: (c, ctx, a) => c.getUserPhotos(ctx, a.userId, a.options),
  daemonStats: (c, ctx) => (c.daemonStats === undefined ? Promise.reject(new UnavailableError('this daemon keeps no figures')) : c.daemonStats(ctx)),
};

const NO_BODY: AsyncIterable<Uint8Array> = {
  [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ value: undefined, done: true }) }),
};

/** Runs one call. A coordinator that throws synchronously still yields a rejected promise. */
export function dispatchCall(
  coordinator: Coordinator,
  ctx: CallContext,
  op: Op,
  args: Args,
  body: AsyncIterable<Uint8Array> | null,
): Promise<unknown> {
  return Promise.resolve().then(() => handlers[op](coordinator, ctx, args, body ?? NO_BODY));
}

/** What madeAnswer returns when the call has to be dispatched. */
export const NOT_MADE: unique symbol = Symbol('not made');

/**
 * An answer the coordinator already holds, without a promise: a hot getPhoto
 * then costs no promise chain, closures or call record. NOT_MADE when the
 * call must go through dispatchCall; throws as that call would reject.
 */
export function madeAnswer(coordinator: Coordinator, ctx: CallContext, op: Op, args: Args): unknown {
  if (op !== 'getPhoto' || coordinator.madePhotoAnswer === undefined) return NOT_MADE;
  return coordinator.madePhotoAnswer(ctx, args.id) ?? NOT_MADE;
}

/** Ops whose call is followed by body frames. */
export function takesBody(op: Op): boolean {
  return op === 'storePhoto';
}

/** Ops answered with a download (a stream head, chunks, an end) instead of one result. */
export function streamsAnswer(op: Op): boolean {
  return op === 'readPhoto';
}
