// gateway.clientAddress.*: what finding the caller behind a trusted proxy
// costs a request (gateway/trusted-proxies.ts), with STORAGED_TRUSTED_PROXIES
// set to `loopback` and the peer 127.0.0.1.
//
// - oneHop: the usual request, one proxy; baseline: the setting unset (the
//   peer's address read, nothing parsed).
// - trustedChain16k: a ~16 KiB X-Forwarded-For (Node's header limit) of
//   `::1` hops, all trusted: the longest walk a caller can ask for; baseline:
//   proxy-addr without the MAX_TRUSTED_HOPS cut-off on the same header.
// - untrustedPeer16k: the same header from a peer that is not a proxy;
//   baseline: proxy-addr on it, which parses it before looking at the peer.
//
// The requests are plain objects with the two fields proxy-addr reads
// (headers and socket.remoteAddress): the cost measured is the walk's, not
// Node's parsing of the request, which both sides would pay alike.

import type * as http from 'node:http';
import proxyaddr from 'proxy-addr';
import { clientAddress, compileTrustedProxies } from '../src/daemon/gateway/trusted-proxies';
import { note, report } from './report';

const HEADER_BYTES = 16 * 1024 - 200;

function requestFrom(peer: string, forwardedFor: string): http.IncomingMessage {
  return { headers: { 'x-forwarded-for': forwardedFor }, socket: { remoteAddress: peer } } as unknown as http.IncomingMessage;
}

async function opsPerSecond(name: string, run: () => unknown): Promise<number> {
  const { Bench } = await import('tinybench');
  const bench = new Bench({ name, time: 1000, warmupTime: 200, warmupIterations: 50 });
  let sink = 0;
  bench.add(name, () => {
    // Used, so the call is not optimised away.
    sink += String(run()).length;
  });
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state === 'errored') throw result.error;
  if (result.state !== 'completed') throw new Error(`benchmark ${name} ended in state ${result.state}`);
  if (sink === 0) throw new Error(`${name} returned nothing`);
  return 1000 / result.latency.mean;
}

export async function benchClientAddress(): Promise<void> {
  const proxies = compileTrustedProxies(['loopback']);
  const uncapped = proxyaddr.compile(['loopback']);
  const longChain = Array<string>(Math.floor(HEADER_BYTES / 4)).fill('::1').join(',');
  note(`X-Forwarded-For of ${longChain.split(',').length} hops, ${longChain.length} bytes`);

  const oneHop = requestFrom('127.0.0.1', '203.0.113.7');
  const trustedChain = requestFrom('127.0.0.1', longChain);
  const untrustedPeer = requestFrom('203.0.113.7', longChain);
  // The answers first: a bench of a wrong answer measures nothing.
  if (clientAddress(oneHop, proxies) !== '203.0.113.7') throw new Error('oneHop: wrong caller');
  if (clientAddress(untrustedPeer, proxies) !== '203.0.113.7') throw new Error('untrustedPeer16k: wrong caller');

  const figures: Array<[string, () => unknown, string, () => unknown]> = [
    ['gateway.clientAddress.oneHop', () => clientAddress(oneHop, proxies), 'setting unset (peer only)', () => clientAddress(oneHop, null)],
    ['gateway.clientAddress.trustedChain16k', () => clientAddress(trustedChain, proxies), 'proxy-addr uncapped', () => proxyaddr(trustedChain, uncapped)],
    ['gateway.clientAddress.untrustedPeer16k', () => clientAddress(untrustedPeer, proxies), 'proxy-addr uncapped', () => proxyaddr(untrustedPeer, uncapped)],
  ];
  for (const [name, run, baseline, runBaseline] of figures) {
    const value = await opsPerSecond(name, run);
    const baselineValue = await opsPerSecond(`${name}.baseline`, runBaseline);
    const micros = (opsPerSec: number) => Number((1e6 / opsPerSec).toPrecision(4));
    report({ bench: name, value, unit: 'ops/s', baseline, baseline_value: baselineValue, us_per_call: micros(value), baseline_us_per_call: micros(baselineValue) });
  }
}
