// Reads a test daemon's catalog rows directly, whichever engine holds them
// (the SQLite file read-only, or PostgreSQL through a client of its own), so
// that one contract check can look at the rows behind an answer on both.
// Queries use `?` placeholders; they are numbered for PostgreSQL.

import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import type { DaemonConfig } from '../../src/daemon/config/daemon-config';

export interface CatalogRows {
  all<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]>;
  /** The first column of the first row (counts are numbers on both engines). */
  value(sql: string, ...params: unknown[]): Promise<unknown>;
}

export function catalogRows(t: TestContext, config: DaemonConfig): CatalogRows {
  if (config.postgres === null) {
    const db = new Database(config.sqlitePath, { readonly: true });
    t.after(() => db.close());
    return {
      all: async <T>(sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as T[],
      value: async (sql, ...params) => db.prepare(sql).pluck().get(...params),
    };
  }
  const client = new Client({ connectionString: config.postgres.url });
  const connected = client.connect();
  t.after(() => client.end());
  const numbered = (sql: string) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  const all = async <T>(sql: string, ...params: unknown[]): Promise<T[]> => {
    await connected;
    const { rows } = await client.query({ text: numbered(sql), values: params });
    return rows as T[];
  };
  return {
    all,
    value: async (sql, ...params) => {
      const [row] = await all<Record<string, unknown>>(sql, ...params);
      if (row === undefined) return undefined;
      const first = Object.values(row)[0];
      return typeof first === 'string' && /^count/i.test(Object.keys(row)[0]!) ? Number(first) : first;
    },
  };
}
