// What a PostgreSQL failure means to a caller. A catalog that cannot be
// reached (refused, reset, timed out, shutting down, out of connections or
// disk) is an outage: UNAVAILABLE, retryable, the same code a MinIO outage
// gives, so clients retry and the daemon carries on when it returns. Errors
// storaged raises itself (NOT_FOUND, CONFLICT, …) pass through unchanged;
// anything else PostgreSQL says is a bug of ours and stays INTERNAL.

import type { Pool } from 'pg';
import { StorageError, UnavailableError } from '../../protocol/errors';

/**
 * SQLSTATE classes and codes that say "the server, not the statement":
 * 08 connection exception, 53 insufficient resources (disk full, too many
 * connections), 57P01-57P03 admin/crash shutdown and cannot connect now,
 * 57014 query_canceled (our statement_timeout), 40001/40P01 serialization
 * failure and deadlock (safe to try again).
 */
function isOutageCode(code: string): boolean {
  return code.startsWith('08') || code.startsWith('53') || ['57P01', '57P02', '57P03', '57014', '40001', '40P01'].includes(code);
}

/** Node's socket errors and pg's own for a connection that could not be made or was lost. */
const NODE_OUTAGE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const PG_OUTAGE_MESSAGES = [/timeout exceeded when trying to connect/i, /Connection terminated/i, /Query read timeout/i, /Client has encountered a connection error/i, /Connection closed/i];

export function isCatalogOutage(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NODE_OUTAGE.has(code) || (/^[0-9A-Z]{5}$/.test(code) && isOutageCode(code)))) return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && PG_OUTAGE_MESSAGES.some((re) => re.test(message));
}

/**
 * PostgreSQL stopped the statement at its statement_timeout. 57014 alone
 * also means a cancel request (pg_cancel_backend, an operator's Ctrl-C),
 * which says nothing about the statement's cost. The English message tells
 * them apart ("canceling statement due to statement timeout" against "due
 * to user request"), but a server's lc_messages may translate it, and only
 * a superuser may set it per session. So the caller also says whether the
 * work already ran at least as long as the bound (`ranPastBound`): a
 * statement_timeout can only fire then, since the server's clock starts
 * after the client's. A cancel that comes after the bound is read as a
 * timeout, which is what the search had become anyway.
 */
export function isStatementTimeout(err: unknown, ranPastBound = false): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return code === '57014' && (ranPastBound || (typeof message === 'string' && /statement timeout/.test(message)));
}

/**
 * The connection itself failed (lost, reset, or no answer within the read
 * timeout), not a statement: nothing more can be said on it, and
 * PostgreSQL rolls back its open transaction once it is closed.
 */
export function isConnectionBroken(err: unknown): boolean {
  if (!isCatalogOutage(err)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code);
}

/**
 * The server or the network had ended the connection the statement was sent
 * on (a FATAL from an ended backend, a reset): another connection may
 * succeed at once. Not a timeout (the server may be alive and slow) nor a
 * refused connect (it is down). Only for statements safe to run twice.
 */
export function isConnectionEnded(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (code === '57P01' || code === '57P02' || code === 'ECONNRESET' || code === 'EPIPE') return true;
  return typeof message === 'string' && /Connection terminated unexpectedly/i.test(message);
}

/**
 * Runs `work`, a statement safe to repeat, again while it fails because the
 * server had ended the connection it was given (isConnectionEnded): each
 * failed try drops its connection, and after a restart every idle one may be
 * dead, so one more try than `pool` holds reaches a new connection. Each
 * such failure comes back at once (the FATAL is already there to be read).
 */
export async function retryingEndedConnections<T>(pool: Pool, work: () => Promise<T>): Promise<T> {
  const tries = (pool.options.max ?? DEFAULT_PG_POOL_MAX) + 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= tries || !isConnectionEnded(err)) throw err;
    }
  }
}

/** pg-pool's own default size, for a pool configured without one. */
const DEFAULT_PG_POOL_MAX = 10;

/** `err` as the caller should see it: UNAVAILABLE for an outage, else unchanged (the door maps the rest to INTERNAL). */
export function catalogError(err: unknown): unknown {
  if (err instanceof StorageError) return err;
  if (isCatalogOutage(err)) {
    return new UnavailableError('the catalog (PostgreSQL) cannot be reached or is not answering; retry shortly', { cause: err });
  }
  return err;
}
