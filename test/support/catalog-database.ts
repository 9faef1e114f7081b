// A PostgreSQL catalog for one test: a real server (postgres.ts) and a fresh
// database on it. The server is stopped only after every hook the test
// registers later (its daemons' close) has run, so no daemon sees its catalog
// vanish while it shuts down.

import type { TestContext } from 'node:test';
import { startPostgres, type PostgresHandle } from './postgres';

export interface TestCatalogDatabase {
  server: PostgresHandle;
  url: string;
}

/**
 * Starts the server and makes the database. Call `t.after(done)` with the
 * returned `done` once the daemons are started (their hooks then run first).
 */
export async function startCatalogDatabase(t: TestContext): Promise<TestCatalogDatabase & { disposeLast(): void }> {
  const server = await startPostgres();
  let url: string;
  try {
    url = await server.createDatabase();
  } catch (err) {
    await server.dispose();
    throw err;
  }
  return { server, url, disposeLast: () => t.after(() => server.dispose()) };
}
