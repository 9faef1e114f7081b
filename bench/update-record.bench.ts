// update.record.fs / update.record.minio: what an updatePhotoMetadata costs
// once it writes its photo's update record (update-records/) before it is
// acknowledged, on each blob backend. Baseline: the same updates to the
// catalog alone, as they were acknowledged before records, measured in the
// same run, alternating pairs (interleaved.ts). Both sides run in this process
// on a real SQLite catalog and a real blob store (a loopback MinIO, or a local
// directory), 16 updates in flight over distinct photos, as independent
// callers would send them; `.c1` is one at a time, the latency a single
// caller sees.

import { createHash, randomUUID } from 'node:crypto';
import { objectKey } from '../src/daemon/db/object-key';
import { onBothBlobStores, type RecordsSetting } from './both-blob-stores';
import { concurrentRound } from './concurrent-round';
import { interleaved } from './interleaved';
import { note, report } from './report';

const PHOTOS = 512;
const PAIRS = 3;
const SHAPES = [
  { suffix: '', inFlight: 16, callsPerRound: 256 },
  { suffix: '.c1', inFlight: 1, callsPerRound: 32 },
];

async function benchOn({ backend, catalog, records }: RecordsSetting): Promise<void> {
  const ids: string[] = [];
  for (let i = 0; i < PHOTOS; i++) {
    const id = randomUUID();
    await catalog.insertPending({
      id, client_id: 'bench', user_id: 'u', session_id: null, original_filename: `p${i}.png`, mime_type: 'image/png',
      bucket: 'images', s3_key: objectKey(id, 'p.png', new Date()), size: 1, checksum: createHash('sha256').update(id).digest('hex'), metadata: {},
    });
    await catalog.commitPending(id);
    ids.push(id);
  }
  // A patch of the usual size: a few metadata values, dimensions, and a small processing result.
  let n = 0;
  const patch = () => {
    n++;
    return { metadata: { album: 'bench', round: String(n) }, width: n % 4000, height: 480, processing_metadata: { labels: ['cat', 'sofa'], score: n } };
  };
  const plain = (i: number) => catalog.updateMetadata('bench', ids[i % PHOTOS]!, patch());
  const recorded = (i: number) => {
    const id = ids[i % PHOTOS]!;
    return records.update('bench', id, () => catalog.updateMetadata('bench', id, patch()));
  };
  for (const shape of SHAPES) {
    const name = `update.record.${backend}${shape.suffix}`;
    note(`${name}: ${shape.callsPerRound} updates a round, ${shape.inFlight} in flight, with the record vs the catalog alone, ${PAIRS} alternating pairs`);
    let offset = 0;
    const round = (call: (i: number) => Promise<unknown>) => async () => {
      const base = offset;
      offset += shape.callsPerRound;
      await concurrentRound(shape.callsPerRound, shape.inFlight, (i) => call(base + i));
    };
    const result = await interleaved(
      PAIRS,
      { name: 'update.catalogOnly', callsPerRound: shape.callsPerRound, round: round(plain) },
      { name, callsPerRound: shape.callsPerRound, round: round(recorded) },
      { timeMs: 1500, warmupMs: 300 },
    );
    report({
      bench: name,
      value: result.subject,
      unit: 'ops/s',
      runs: result.subjectRuns.map(Math.round),
      in_flight: shape.inFlight,
      records_written: records.stats().written,
      baseline: `update.catalogOnly${shape.suffix}`,
      baseline_value: result.baseline,
      baseline_runs: result.baselineRuns.map(Math.round),
    });
  }
}

export function benchUpdateRecord(): Promise<void> {
  return onBothBlobStores('storaged-bench-update-', benchOn);
}
