// The remote client's settings, checked in its constructor so that a wrong
// URL or token fails where the application builds its client, not at the
// first call. Messages never repeat the token.

import { clientIdProblem } from '../protocol/client-id';

export interface RemoteClientOptions {
  /** The gateway's base URL, e.g. `http://storage.internal:3001` (a path prefix is kept). */
  url: string | URL;
  /** Bearer token the gateway maps to one clientId (the tenant). */
  token: string;
  /**
   * The tenant the token belongs to, when the application knows it. Optional:
   * the token decides the tenant. When given, a storePhoto whose
   * options.clientId differs is refused before a byte is sent, as the sidecar
   * client refuses it.
   */
  clientId?: string;
  /** Connections kept to the gateway (keep-alive); also the calls that run at once. Default 32. */
  connections?: number;
  /** Budget of one call until its answer (body upload included; a download's reading is not). Default 30 s. */
  callTimeoutMs?: number;
  /** Budget for opening a TCP (or TLS) connection. Default 5 s. */
  connectTimeoutMs?: number;
}

export interface RemoteSettings {
  origin: string;
  /** Path prefix before every route, without a trailing slash ('' for none). */
  basePath: string;
  authorization: string;
  clientId: string | null;
  connections: number;
  callTimeoutMs: number;
  connectTimeoutMs: number;
}

export const MAX_CONNECTIONS = 1024;
const MAX_TOKEN_CHARS = 4096;
// RFC 6750 b64token: what may follow "Bearer " without quoting.
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TIMEOUT_MS = 24 * 3600 * 1000;

function parseUrl(value: unknown): URL {
  if (typeof value !== 'string' && !(value instanceof URL)) {
    throw new TypeError(`url must be a string or a URL such as 'http://127.0.0.1:3001', got ${value === null ? 'null' : typeof value}`);
  }
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new TypeError(`url must be an absolute http(s) URL such as 'http://127.0.0.1:3001', got '${String(value)}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`url must use http or https, got '${url.protocol}'`);
  }
  // Credentials in a URL end up in logs and error messages; the token is the one credential.
  if (url.username !== '' || url.password !== '') throw new TypeError('url must not contain a user name or password; give the token instead');
  if (url.search !== '' || url.hash !== '') throw new TypeError(`url must not have a query or fragment, got '${url.origin}${url.pathname}${url.search}${url.hash}'`);
  return url;
}

function parseToken(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`token must be a string, got ${value === null ? 'null' : typeof value}`);
  if (value.length === 0) throw new TypeError('token must not be empty');
  if (value.length > MAX_TOKEN_CHARS) throw new RangeError(`token must be at most ${MAX_TOKEN_CHARS} characters, got ${value.length}`);
  if (!BEARER_TOKEN.test(value)) {
    throw new TypeError('token may contain only A-Z a-z 0-9 - . _ ~ + / (and trailing =), as a Bearer token');
  }
  return value;
}

function positiveMs(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMEOUT_MS) {
    throw new RangeError(`${name} must be a positive number of milliseconds up to ${MAX_TIMEOUT_MS}, got ${String(value)}`);
  }
  return value;
}

function connectionCount(value: unknown): number {
  if (value === undefined) return 32;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CONNECTIONS) {
    throw new RangeError(`connections must be an integer between 1 and ${MAX_CONNECTIONS}, got ${String(value)}`);
  }
  return value;
}

export function remoteSettings(opts: unknown): RemoteSettings {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('RemoteClient expects an options object { url, token }');
  const raw = opts as Record<string, unknown>;
  const url = parseUrl(raw['url']);
  const token = parseToken(raw['token']);
  let clientId: string | null = null;
  if (raw['clientId'] !== undefined) {
    const problem = clientIdProblem(raw['clientId']);
    if (problem !== null) throw new TypeError(problem);
    clientId = raw['clientId'] as string;
  }
  return {
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    authorization: `Bearer ${token}`,
    clientId,
    connections: connectionCount(raw['connections']),
    callTimeoutMs: positiveMs('callTimeoutMs', raw['callTimeoutMs'], 30_000),
    connectTimeoutMs: positiveMs('connectTimeoutMs', raw['connectTimeoutMs'], 5_000),
  };
}
