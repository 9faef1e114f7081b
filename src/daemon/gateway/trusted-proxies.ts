// Who is calling, when the gateway sits behind a reverse proxy: every TCP
// peer is then the proxy, so the failed-token allowance (keyed by address)
// would be one allowance for everyone behind it, and the request log would
// name the proxy alone. STORAGED_TRUSTED_PROXIES lists the peers whose
// X-Forwarded-For is believed. The chain is walked from the right (the
// address the nearest proxy saw) and stops at the first hop that is not a
// trusted proxy: that hop is the caller. Anything to its left was written by
// the caller and is ignored, so a caller cannot choose its own address.
//
// The walk is proxy-addr's (expressjs): it is what Express's `trust proxy`
// runs, with the IPv4/IPv6 range matching (mapped addresses included) that
// would otherwise be written and tested here again.

import * as net from 'node:net';
import type * as http from 'node:http';
import proxyaddr from 'proxy-addr';

/** proxy-addr's named sets: 127.0.0.0/8 and ::1; 169.254.0.0/16 and fe80::/10; 10/8, 172.16/12, 192.168/16 and fc00::/7. */
export const NAMED_PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'] as const;

/**
 * Trusted hops walked at most, the peer included; past this many trusted
 * proxies in a row the hop after them is taken as the caller. Real chains
 * (CDN, load balancer, ingress) are a handful of hops. Unbounded, the walk
 * costs an address parse per hop: a 16 KiB X-Forwarded-For of `::1` hops
 * (4,046 of them, about the most Node's header limit lets through) took
 * proxy-addr 12.6 ms of event loop per request; cut off here (and only the
 * hops in reach handed to it), 63 µs (bench gateway.clientAddress.trustedChain16k,
 * 2026-12-04, shared 2-core machine). Only a caller whose own address is
 * trusted gets that far: a trusted proxy appends the address it saw, and
 * the walk stops there when that is not a proxy's.
 */
export const MAX_TRUSTED_HOPS = 16;

export interface TrustedProxies {
  /** The setting's entries, as given (for the start-up log). */
  readonly entries: readonly string[];
  /** proxy-addr's trust function, compiled once, cut off after MAX_TRUSTED_HOPS. */
  readonly trusts: (address: string, hop: number) => boolean;
}

/** A setting entry refused: `entry` is the one at fault, `problem` what is wrong with it. */
export class TrustedProxyEntryError extends Error {
  readonly entry: string;
  constructor(entry: string, problem: string) {
    super(`'${entry}' ${problem}`);
    this.name = 'TrustedProxyEntryError';
    this.entry = entry;
  }
}

/**
 * Checks each entry (an address, a CIDR range or a named set) and compiles
 * them into one trust function. Stricter than proxy-addr alone, which takes
 * `10` or `127.1` as addresses and netmasks after the slash: an operator who
 * wrote those most likely meant something else, and is told at start.
 */
export function compileTrustedProxies(entries: readonly string[]): TrustedProxies {
  for (const entry of entries) checkEntry(entry);
  const compiled = proxyaddr.compile([...entries]);
  return {
    entries: [...entries],
    trusts: (address, hop) => hop < MAX_TRUSTED_HOPS && compiled(address, hop),
  };
}

function checkEntry(entry: string): void {
  if ((NAMED_PROXY_RANGES as readonly string[]).includes(entry)) return;
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = net.isIP(address);
  if (family === 0) {
    throw new TrustedProxyEntryError(entry, `is not an IP address, a CIDR range (10.0.0.0/8, fd00::/8) or one of ${NAMED_PROXY_RANGES.join(', ')}`);
  }
  if (slash !== -1) {
    const prefix = entry.slice(slash + 1);
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
      throw new TrustedProxyEntryError(entry, `has no prefix length between 1 and ${max} after the slash`);
    }
    if (Number(prefix) === 0) {
      throw new TrustedProxyEntryError(entry, 'trusts every address, so any caller could name its own address in X-Forwarded-For; list the proxies');
    }
  }
  try {
    proxyaddr.compile(entry);
  } catch (err) {
    throw new TrustedProxyEntryError(entry, `is refused by proxy-addr: ${(err as Error).message}`);
  }
}

/**
 * The caller's address: the socket's peer, unless that is a trusted proxy,
 * in which case the rightmost X-Forwarded-For hop that is not one. An
 * untrusted peer's X-Forwarded-For is not even parsed. A hop a trusted proxy
 * reported that is not an IP address (`unknown`, junk) names nobody: the
 * proxy that reported it stands for the caller then.
 */
export function clientAddress(req: http.IncomingMessage, proxies: TrustedProxies | null): string | undefined {
  const peer = req.socket.remoteAddress;
  const header = req.headers['x-forwarded-for'];
  if (proxies === null || peer === undefined || header === undefined || !proxies.trusts(peer, 0)) return peer;
  // Node joins repeated X-Forwarded-For lines with commas; the typings allow an array all the same.
  const hops = nearestHops(typeof header === 'string' ? header : header.join(','));
  // proxy-addr reads these two fields of a request; it is handed only the hops the walk can reach.
  const nearest: Pick<http.IncomingMessage, 'headers' | 'socket'> = { headers: { 'x-forwarded-for': hops }, socket: req.socket };
  const chain = proxyaddr.all(nearest as http.IncomingMessage, proxies.trusts);
  for (let hop = chain.length - 1; hop > 0; hop--) {
    if (net.isIP(chain[hop]!) !== 0) return chain[hop];
  }
  return peer;
}

/**
 * The rightmost MAX_TRUSTED_HOPS entries of an X-Forwarded-For, found
 * without splitting the rest: proxy-addr splits the whole header into an
 * array first, which for the 16 KiB header above cost 210 µs a request even
 * with the walk cut off (63 µs with this).
 */
function nearestHops(header: string): string {
  let cut = header.length;
  for (let found = 0; found < MAX_TRUSTED_HOPS && cut > 0; found++) cut = header.lastIndexOf(',', cut - 1);
  return cut <= 0 ? header : header.slice(cut + 1);
}
