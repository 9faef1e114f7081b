// One minio Client per worker thread and MinIO endpoint, made on first use and
// kept: its keep-alive agent then reuses connections across parts. The minio
// package itself is loaded on first use too: it costs each thread ~15 MiB of
// resident memory, which a thread that only hashes or checkpoints never needs.

import * as http from 'node:http';
import * as https from 'node:https';
import type * as Minio from 'minio';
import { idleTimeoutTransport } from '../daemon/blobs/idle-timeout-transport';
import type { WorkerMinioSettings } from './task-types';

const clients = new Map<string, Minio.Client>();

export function minioFor(settings: WorkerMinioSettings): Minio.Client {
  const id = [settings.endPoint, settings.port, settings.useSSL, settings.accessKey, settings.secretKey, settings.region, settings.idleTimeoutMs].join('\0');
  let client = clients.get(id);
  if (client === undefined) {
    const agentOptions = { keepAlive: true, maxSockets: 16 };
    const { Client } = require('minio') as typeof Minio;
    client = new Client({
      endPoint: settings.endPoint,
      port: settings.port,
      useSSL: settings.useSSL,
      accessKey: settings.accessKey,
      secretKey: settings.secretKey,
      region: settings.region,
      pathStyle: true,
      transport: idleTimeoutTransport(settings.useSSL, settings.idleTimeoutMs),
      transportAgent: settings.useSSL ? new https.Agent(agentOptions) : new http.Agent(agentOptions),
      // The main thread retries a whole part with backoff; minio-js's own retry
      // would resend a stream body that is already consumed.
      retryOptions: { disableRetry: true },
    });
    clients.set(id, client);
  }
  return client;
}

export function whereOf(settings: WorkerMinioSettings): string {
  return `${settings.endPoint}:${settings.port}`;
}
