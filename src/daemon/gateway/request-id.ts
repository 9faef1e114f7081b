import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { REQUEST_ID_HEADER } from '../../protocol/http-api';

/** Ids a caller may choose: they end up in logs, so nothing that could forge or break a log line. */
const SANE_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The caller's X-Request-Id when it is a sane token, otherwise a fresh one. */
export function requestIdOf(req: http.IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_ID.test(given) ? given : randomUUID();
}
