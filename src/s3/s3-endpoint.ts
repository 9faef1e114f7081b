// A thread's way to one S3 endpoint (MinIO), made on first use and kept: the
// signer with its per-day key, a keep-alive agent for uploads and TLS reads,
// and the raw connections for plain-HTTP reads. This replaces minio-js in the
// workers: loading it cost each thread ~17 MiB of resident memory for the two
// requests a worker sends.

import * as http from 'node:http';
import * as https from 'node:https';
import { idleTimeoutTransport, type Transport } from './idle-timeout-transport';
import { amzDate, hostOf, objectAddress } from './sigv4-encoding';
import type { S3Settings } from './s3-settings';
import { ConnectionPool, DEFAULT_MAX_IDLE } from './connection-pool';
import { SigV4HeaderSigner } from './sigv4-header-signer';

/** Where a thread reaches MinIO. The secret stays in memory; it is never logged. */
export interface S3EndpointSettings extends S3Settings {
  /** A request whose connection is silent this long fails as transient. */
  idleTimeoutMs: number;
}

/** Requests sent at once to one endpoint over the agent, as minio-js's agent allowed. */
const MAX_SOCKETS = 16;

export interface SignedHeadersRequest {
  method: 'GET' | 'PUT';
  /** The Host header to sign and send (address()'s host). */
  host: string;
  /** Encoded path (address()'s path). */
  path: string;
  /** Canonical query ('' for none). */
  query: string;
  /** Further headers to sign, as [lowercase name, value]. */
  extra: ReadonlyArray<readonly [string, string]>;
  payloadHash: string;
}

export class S3Endpoint {
  readonly endPoint: string;
  readonly port: number;
  readonly useSSL: boolean;
  readonly idleTimeoutMs: number;
  /** host:port, for messages (never the credentials). */
  readonly where: string;
  /** The Host header, signed. */
  readonly host: string;
  readonly agent: http.Agent;
  readonly transport: Transport;
  /**
   * Plain HTTP only: TLS reads go through the agent, and so do all reads once
   * the endpoint has answered one in a framing the raw reader leaves to
   * node:http (a body ended by the connection; chunked ones it reads itself).
   */
  connections: ConnectionPool | null;
  readonly #signer: SigV4HeaderSigner;
  readonly #pathStyle: boolean;

  /** `tls` adds to the TLS options (a test's own CA); the system's trust store is the default. */
  /** `maxIdleConnections`: raw connections kept between reads (a worker's few, or the main thread's many). */
  constructor(settings: S3EndpointSettings, tls: https.AgentOptions = {}, maxIdleConnections = DEFAULT_MAX_IDLE) {
    this.endPoint = settings.endPoint;
    this.port = settings.port;
    this.useSSL = settings.useSSL;
    this.idleTimeoutMs = settings.idleTimeoutMs;
    this.where = whereOf(settings);
    this.host = hostOf(settings.endPoint, settings.port, settings.useSSL);
    const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS };
    this.agent = settings.useSSL ? new https.Agent({ ...tls, ...agentOptions }) : new http.Agent(agentOptions);
    this.transport = idleTimeoutTransport(settings.useSSL, settings.idleTimeoutMs);
    this.connections = settings.useSSL ? null : new ConnectionPool(settings.endPoint, settings.port, maxIdleConnections);
    this.#signer = new SigV4HeaderSigner(settings.accessKey, settings.secretKey, settings.region);
    this.#pathStyle = settings.pathStyle ?? true;
  }

  /** The headers that authenticate a request made now: the extra ones, host, the payload hash, date and signature. */
  signedHeaders(req: SignedHeadersRequest, now: Date = new Date()): Array<[string, string]> {
    const stamp = amzDate(now);
    const headers: Array<[string, string]> = [
      ...req.extra.map(([name, value]): [string, string] => [name, value]),
      ['host', req.host],
      ['x-amz-content-sha256', req.payloadHash],
      ['x-amz-date', stamp],
    ];
    const authorization = this.#signer.authorization({ method: req.method, path: req.path, query: req.query, headers, payloadHash: req.payloadHash }, stamp);
    headers.push(['authorization', authorization]);
    return headers;
  }

  /** Host header and path of a request for bucket/key, in the configured addressing style. */
  address(bucket: string, key: string): { host: string; path: string } {
    return objectAddress(this.#pathStyle, this.useSSL, this.host, bucket, key);
  }

  /** From now on, reads go through node:http: the endpoint answers in a framing the raw connections do not read. */
  stopRawReads(): void {
    this.connections?.close();
    this.connections = null;
  }

  close(): void {
    this.connections?.close();
    this.agent.destroy();
  }
}

export function whereOf(settings: Pick<S3EndpointSettings, 'endPoint' | 'port'>): string {
  return `${settings.endPoint}:${settings.port}`;
}

const endpoints = new Map<string, S3Endpoint>();

/** This thread's endpoint for `settings`; different credentials, timeouts or addressing styles get their own. */
export function endpointFor(settings: S3EndpointSettings): S3Endpoint {
  const id = [settings.endPoint, settings.port, settings.useSSL, settings.accessKey, settings.secretKey, settings.region, settings.idleTimeoutMs, settings.pathStyle ?? true].join('\0');
  let endpoint = endpoints.get(id);
  if (endpoint === undefined) {
    endpoint = new S3Endpoint(settings);
    endpoints.set(id, endpoint);
  }
  return endpoint;
}
