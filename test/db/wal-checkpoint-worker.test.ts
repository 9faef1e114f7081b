// WAL checkpoints run on a worker thread, not inside the writer's COMMITs.

import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { Catalog } from '../../src/daemon/db/catalog';
import { walCheckpointIn } from '../../src/daemon/workers/checkpoint-task';
import { createWorkerPool } from '../../src/daemon/workers/worker-pool';
import { tempDir } from '../support/temp-dir';
import { newRow } from './catalog-fixture';

test('a worker thread checkpoints the WAL after writes', async (t) => {
  const file = path.join(tempDir(t), 'c.db');
  const pool = createWorkerPool(1);
  t.after(() => pool.close());
  const results: Array<{ busy: number; log: number; checkpointed: number }> = [];
  const inWorker = walCheckpointIn(pool);
  const catalog = Catalog.open({
    path: file,
    logger: pino({ level: 'silent' }),
    checkpoint: async (f) => {
      const r = await inWorker(f);
      results.push(r);
      return r;
    },
  });
  t.after(() => catalog.close());

  await Promise.all(Array.from({ length: 1500 }, () => catalog.insertPending(newRow())));
  const until = Date.now() + 10_000;
  while (!results.some((r) => r.log > 0 && r.checkpointed === r.log) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(results.some((r) => r.log > 0 && r.checkpointed === r.log), `no complete checkpoint: ${JSON.stringify(results)}`);
  assert.equal(pool.completed >= 1, true);

  // Quiet database: no writes since the last checkpoint, so no more tasks are sent.
  const sent = results.length;
  await new Promise((r) => setTimeout(r, 700));
  assert.ok(results.length <= sent + 1, 'checkpoints are asked for only after writes');
});
