// writer.insert: metadata inserts (FTS5 index included) through the writer
// actor, submitted by many concurrent senders. Baseline: the same rows
// inserted straight through better-sqlite3 in one transaction per round on an
// identical schema, which is the ceiling the actor's batching can approach.

import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { Catalog } from '../src/daemon/db/catalog';
import type { NewPhotoRow } from '../src/daemon/db/catalog';
import { walCheckpointIn } from '../src/daemon/workers/checkpoint-task';
import { createWorkerPool } from '../src/daemon/workers/worker-pool';
import { note, report } from './report';
import { interleaved } from './interleaved';

const PER_ROUND = 2000;
const PAIRS = 3;

function row(i: number): NewPhotoRow {
  const id = randomUUID();
  return {
    id,
    client_id: `client-${i % 8}`,
    user_id: `user-${i % 100}`,
    session_id: null,
    original_filename: `holiday-${i}-beach sunset.jpg`,
    mime_type: 'image/jpeg',
    bucket: 'images',
    s3_key: `2026/11/${id}.jpg`,
    size: 200 * 1024,
    checksum: 'ab'.repeat(32),
    metadata: { album: 'bench' },
  };
}

export async function benchWriterInsert(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-bench-writer-'));
  const logger = pino({ level: 'silent' });
  // Checkpoints on a worker thread, as the daemon runs it.
  const pool = createWorkerPool();
  const catalog = Catalog.open({ path: path.join(dir, 'actor.db'), logger, checkpoint: walCheckpointIn(pool) });
  const baselinePath = path.join(dir, 'baseline.db');
  Catalog.open({ path: baselinePath, logger }).close();
  const raw = new Database(baselinePath);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = FULL');
  const insert = raw.prepare(
    `INSERT INTO photos (id, client_id, user_id, session_id, original_filename, mime_type, bucket, s3_key, size, checksum,
       metadata, state, state_changed_at, uploaded_at, created_at, updated_at)
     VALUES (@id, @client_id, @user_id, @session_id, @original_filename, @mime_type, @bucket, @s3_key, @size, @checksum,
       @metadata, 'pending', @now, @now, @now, @now)`,
  );
  const insertAll = raw.transaction((rows: NewPhotoRow[]) => {
    const now = new Date().toISOString();
    for (const r of rows) insert.run({ ...r, metadata: JSON.stringify(r.metadata), now });
  });

  try {
    let i = 0;
    note(`writer.insert: ${PER_ROUND} concurrent senders a round through the writer actor vs straight inserts, ${PAIRS} alternating pairs`);
    const before = catalog.writerStats();
    const timing = { timeMs: 1500, warmupMs: 300 };
    const result = await interleaved(
      PAIRS,
      {
        name: 'sqlite.insert.one-txn',
        callsPerRound: PER_ROUND,
        round: async () => {
          insertAll(Array.from({ length: PER_ROUND }, () => row(i++)));
        },
      },
      {
        name: 'writer.insert',
        callsPerRound: PER_ROUND,
        round: async () => {
          await Promise.all(Array.from({ length: PER_ROUND }, () => catalog.insertPending(row(i++))));
        },
      },
      timing,
    );
    const after = catalog.writerStats();
    report({
      bench: 'writer.insert',
      value: result.subject,
      unit: 'ops/s',
      runs: result.subjectRuns.map(Math.round),
      writes_per_transaction: Number(((after.writes - before.writes) / (after.transactions - before.transactions)).toFixed(1)),
      baseline: 'sqlite.insert.one-txn',
      baseline_value: result.baseline,
      baseline_runs: result.baselineRuns.map(Math.round),
    });
  } finally {
    await catalog.close();
    await pool.close();
    raw.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
