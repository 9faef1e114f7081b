// s3.rangeRead.2m: the workers' ranged GETs of 2 MiB parts, over the raw
// keep-alive connections with the hand-written response reader (subject)
// against node:http through the same endpoint's agent (baseline), on the same
// MinIO and object, alternated over three pairs. s3.rangeRead.2m.chunked: the
// same through a proxy that re-sends every answer chunked (a thread of its
// own, so that it does not share the readers' event loop). The raw reader
// stays only while it is clearly faster.

import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { S3Endpoint } from '../src/s3/s3-endpoint';
import { getObjectRange } from '../src/s3/get-object-range';
import { startMinio } from '../test/support/minio-server';
import { interleaved } from './interleaved';
import { report } from './report';

const MIB = 1024 * 1024;
const PART = 2 * MIB;
const OBJECT = 32 * MIB;

/** test/support/chunking-proxy.ts in a worker thread; resolves with its port and a way to stop it. */
async function proxyThread(target: { host: string; port: number }): Promise<{ port: number; stop: () => Promise<number> }> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { startChunkingProxy } = require(workerData.module);
    startChunkingProxy({ after() {} }, workerData.target).then((proxy) => parentPort.postMessage(proxy.port));`;
  const worker = new Worker(source, { eval: true, workerData: { module: require.resolve('../test/support/chunking-proxy'), target } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { port, stop: () => worker.terminate() };
}

async function compare(bench: string, through: { host: string; port: number }, keys: { accessKey: string; secretKey: string }): Promise<void> {
  const settings = { endPoint: through.host, port: through.port, useSSL: false, ...keys, region: 'us-east-1', idleTimeoutMs: 30_000 };
  const raw = new S3Endpoint(settings);
  const viaHttp = new S3Endpoint(settings);
  viaHttp.stopRawReads();
  const into = new Uint8Array(PART);
  const readAll = (ep: S3Endpoint) => async () => {
    for (let start = 0; start < OBJECT; start += PART) await getObjectRange(ep, { bucket: 'bench', key: 'obj', start, end: start + PART - 1 }, into);
  };
  const parts = OBJECT / PART;
  try {
    const result = await interleaved(
      3,
      { name: `${bench} node:http`, callsPerRound: parts, round: readAll(viaHttp) },
      { name: `${bench} raw reader`, callsPerRound: parts, round: readAll(raw) },
      { timeMs: 2000, warmupMs: 300 },
    );
    if (raw.connections === null) throw new Error(`${bench}: the raw reader gave up its connections`);
    const mibps = (partsPerSecond: number) => (partsPerSecond * PART) / MIB;
    report({
      bench,
      value: mibps(result.subject),
      unit: 'MiB/s',
      baseline: 'node:http through the same endpoint',
      baseline_value: mibps(result.baseline),
      runs: result.subjectRuns.map((r) => Number(mibps(r).toFixed(1))),
      baseline_runs: result.baselineRuns.map((r) => Number(mibps(r).toFixed(1))),
    });
  } finally {
    raw.close();
    viaHttp.close();
  }
}

export async function benchRangeRead(): Promise<void> {
  const minio = await startMinio();
  try {
    await minio.client.makeBucket('bench');
    await minio.client.putObject('bench', 'obj', randomBytes(OBJECT));
    const keys = { accessKey: minio.accessKey, secretKey: minio.secretKey };
    await compare('s3.rangeRead.2m', { host: minio.endPoint, port: minio.port }, keys);
    const proxy = await proxyThread({ host: minio.endPoint, port: minio.port });
    try {
      await compare('s3.rangeRead.2m.chunked', { host: '127.0.0.1', port: proxy.port }, keys);
    } finally {
      await proxy.stop();
    }
  } finally {
    await minio.stop();
  }
}
