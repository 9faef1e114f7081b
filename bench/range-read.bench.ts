// s3.rangeRead.2m: the workers' ranged GETs of 2 MiB parts, over the raw
// keep-alive connections with the hand-written response reader (subject)
// against node:http through the same endpoint's agent (baseline), on the same
// MinIO and object, alternated over three pairs. The raw reader stays only
// while it is clearly faster; a store that answers chunked (a proxy) makes the
// endpoint fall back to node:http for good either way.

import { randomBytes } from 'node:crypto';
import { S3Endpoint } from '../src/workers/s3/s3-endpoint';
import { getObjectRange } from '../src/workers/s3/get-object-range';
import { startMinio } from '../test/support/minio-server';
import { interleaved } from './interleaved';
import { report } from './report';

const MIB = 1024 * 1024;
const PART = 2 * MIB;
const OBJECT = 32 * MIB;

export async function benchRangeRead(): Promise<void> {
  const minio = await startMinio();
  try {
    await minio.client.makeBucket('bench');
    await minio.client.putObject('bench', 'obj', randomBytes(OBJECT));
    const settings = { endPoint: minio.endPoint, port: minio.port, useSSL: false, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1', idleTimeoutMs: 30_000 };
    const raw = new S3Endpoint(settings);
    const viaHttp = new S3Endpoint(settings);
    viaHttp.stopRawReads();
    const into = new Uint8Array(PART);
    const readAll = (ep: S3Endpoint) => async () => {
      for (let start = 0; start < OBJECT; start += PART) await getObjectRange(ep, { bucket: 'bench', key: 'obj', start, end: start + PART - 1 }, into);
    };
    const parts = OBJECT / PART;
    const result = await interleaved(
      3,
      { name: 'node:http', callsPerRound: parts, round: readAll(viaHttp) },
      { name: 'raw reader', callsPerRound: parts, round: readAll(raw) },
      { timeMs: 2000, warmupMs: 300 },
    );
    const mibps = (partsPerSecond: number) => (partsPerSecond * PART) / MIB;
    report({
      bench: 's3.rangeRead.2m',
      value: mibps(result.subject),
      unit: 'MiB/s',
      baseline: 'node:http through the same endpoint',
      baseline_value: mibps(result.baseline),
      runs: result.subjectRuns.map((r) => Number(mibps(r).toFixed(1))),
      baseline_runs: result.baselineRuns.map((r) => Number(mibps(r).toFixed(1))),
    });
    raw.close();
    viaHttp.close();
  } finally {
    await minio.stop();
  }
}
