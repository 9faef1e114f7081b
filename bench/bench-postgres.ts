// The PostgreSQL catalog benchmarks run against: a real server of its own
// (test/support/postgres.ts) with fsync and synchronous commit on, as in
// production, so a commit costs what it would there, and a fresh database.

import { startPostgres } from '../test/support/postgres';

export async function benchCatalogUrl(): Promise<{ url: string; close(): Promise<void> }> {
  const server = await startPostgres(undefined, { durable: true });
  try {
    return { url: await server.createDatabase(), close: () => server.dispose() };
  } catch (err) {
    await server.dispose();
    throw err;
  }
}
