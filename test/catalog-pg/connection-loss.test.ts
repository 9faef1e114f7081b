// A catalog connection that PostgreSQL ends while storaged holds it (a fast
// shutdown or restart ends every session with 57P01): pg emits 'error' on a
// client that is checked out of the pool and not running a query, and
// pg-pool listens only to idle ones, so without a listener of ours that error
// was uncaught and took the daemon down. Here it must be an outage the caller
// hears about, and the daemon goes on once PostgreSQL is back.

import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { PostgresCatalog } from '../../src/daemon/catalog-pg/pg-catalog';
import { createLogger } from '../../src/daemon/logger';
import { addCommitted } from '../db/catalog-fixture';
import { startPostgres } from '../support/postgres';
import { waitFor } from '../support/wait-for';

test('a sweep holding its lock\'s connection when PostgreSQL shuts down: the process lives on, the next sweep gets the lock', { timeout: 120_000 }, async (t) => {
  const server = await startPostgres();
  t.after(() => server.dispose());
  const catalog = await PostgresCatalog.open({ url: await server.createDatabase(), logger: createLogger('silent'), nodeId: 'node-a' });
  t.after(() => catalog.close());

  const uncaught: Error[] = [];
  const onUncaught = (err: Error) => uncaught.push(err);
  // node:test fails the test on an uncaught exception anyway; this also says which.
  process.on('uncaughtException', onUncaught);
  t.after(() => process.off('uncaughtException', onUncaught));

  let sweeping!: () => void;
  const started = new Promise<void>((resolve) => {
    sweeping = resolve;
  });
  let finish!: () => void;
  const sweep = catalog.runAlone('sweep', async () => {
    sweeping();
    // The sweep's own work (listing MinIO, say) runs while the lock's connection sits checked out.
    await new Promise<void>((resolve) => {
      finish = resolve;
    });
    return 'swept';
  });
  await started;
  await server.stop();
  // Let the termination notice reach the client before the sweep goes on.
  await new Promise((resolve) => setTimeout(resolve, 500));
  finish();
  // The work itself was done; the lock, which could not be given back, went with the dropped connection.
  assert.equal(await sweep, 'swept');
  assert.deepEqual(uncaught.map((e) => e.message), []);

  await server.restart();
  await waitFor(async () => {
    try {
      await addCommitted(catalog);
      return true;
    } catch {
      return false;
    }
  }, 'a write once PostgreSQL is back', 30_000);
  assert.equal(await catalog.runAlone('sweep', async () => 'swept'), 'swept', 'the next sweep gets a working connection and the lock');
});
