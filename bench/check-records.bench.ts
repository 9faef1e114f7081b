// check.records.10k.fs / check.records.10k.minio: what `storaged check` pays
// for reading every live update record and comparing it with its row
// (check/record-check.ts), on a catalog of 10,000 committed photos, each with
// its object and its record, on each blob backend. Baseline: the same check
// with records counted but not read (what the check did before), measured in
// the same run, alternating pairs (interleaved.ts), one whole check a round.
// Real SQLite catalog, real blob store (a loopback MinIO, or a local
// directory), in this process; the photos and records are written through
// the daemon's own update path (UpdateRecords), 16 in flight.

import { createHash, randomUUID } from 'node:crypto';
import { checkConsistency } from '../src/daemon/check/consistency-check';
import { objectKey } from '../src/daemon/db/object-key';
import { onBothBlobStores, type RecordsSetting } from './both-blob-stores';
import { concurrentRound } from './concurrent-round';
import { interleaved } from './interleaved';
import { note, report } from './report';

const PHOTOS = 10_000;
const PAIRS = 3;
const BATCH = 500;

async function benchOn({ backend, blobs, catalog, records }: RecordsSetting): Promise<void> {
  const name = `check.records.10k.${backend}`;
  note(`${name}: writing ${PHOTOS} photos, their objects and their records`);
  const body = Buffer.alloc(100, 7);
  const checksum = createHash('sha256').update(body).digest('hex');
  const ids: string[] = [];
  for (let start = 0; start < PHOTOS; start += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, PHOTOS - start) }, (_, i) => {
      const id = randomUUID();
      ids.push(id);
      return {
        id, client_id: 'bench', user_id: 'u', session_id: null, original_filename: `p${start + i}.png`, mime_type: 'image/png',
        bucket: 'images', s3_key: objectKey(id, 'p.png', new Date()), size: body.length, checksum, uploaded_at: new Date().toISOString(),
      };
    });
    await catalog.adoptRows(rows);
    await concurrentRound(rows.length, 16, (i) => blobs.put('images', rows[i]!.s3_key, { buffer: body }, body.length, 'image/png'));
  }
  // A patch of the usual size, as update.record.* sends: each photo's record is written by the update that makes it.
  await concurrentRound(PHOTOS, 16, (i) =>
    records.update('bench', ids[i]!, () =>
      catalog.updateMetadata('bench', ids[i]!, { metadata: { album: 'bench', n: String(i) }, width: i % 4000, height: 480, processing_metadata: { labels: ['cat', 'sofa'], score: i } }),
    ),
  );
  const options = { verifyChecksums: false, pendingTimeoutMs: 60_000, orphanGraceMs: 3600_000 };
  const check = (compareRecords: boolean) => async () => {
    const result = await checkConsistency(catalog, blobs, { ...options, compareRecords });
    if (!result.ok || result.updateRecords.live !== PHOTOS || result.committedChecked !== PHOTOS) throw new Error(`unexpected check: ${JSON.stringify(result).slice(0, 500)}`);
  };
  note(`${name}: one check a round, records read vs counted only, ${PAIRS} alternating pairs`);
  const result = await interleaved(
    PAIRS,
    { name: 'check.recordsCounted', callsPerRound: PHOTOS, round: check(false) },
    { name, callsPerRound: PHOTOS, round: check(true) },
    { timeMs: 1, warmupMs: 1, iterations: 1 },
  );
  report({
    bench: name,
    value: result.subject,
    unit: 'photos/s',
    seconds_per_check: Number((PHOTOS / result.subject).toFixed(2)),
    runs: result.subjectRuns.map(Math.round),
    baseline: 'check.recordsCounted (records counted, not read)',
    baseline_value: result.baseline,
    baseline_seconds_per_check: Number((PHOTOS / result.baseline).toFixed(2)),
    baseline_runs: result.baselineRuns.map(Math.round),
  });
}

export function benchCheckRecords(): Promise<void> {
  return onBothBlobStores('storaged-bench-check-', benchOn);
}
