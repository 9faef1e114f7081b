// A real catalog on a real SQLite file in a temp dir, closed and removed when
// the test ends, plus a way to add committed photos in one line.

import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';
import type { Photo } from '../../src/protocol/types';
import { Catalog, type NewPhotoRow } from '../../src/daemon/db/catalog';
import { createLogger } from '../../src/daemon/logger';

export const silentLogger = createLogger('silent');

/**
 * A temp dir removed when the test ends. Connections registered with
 * `closeLater` are closed first, newest first (node:test runs after-hooks in
 * registration order, so separate hooks would remove the files too early).
 */
export class TempDir {
  readonly path = fs.mkdtempSync(path.join(os.tmpdir(), 'storaged-db-'));
  readonly #closers: Array<() => unknown> = [];

  constructor(t: TestContext) {
    t.after(async () => {
      for (const close of this.#closers.reverse()) await close();
      fs.rmSync(this.path, { recursive: true, force: true });
    });
  }

  closeLater(close: () => unknown): void {
    this.#closers.push(close);
  }
}

export interface TestCatalog {
  catalog: Catalog;
  file: string;
  /** A second, independent connection for arranging data (e.g. equal timestamps) and inspecting the file. */
  raw(): Database.Database;
}

export function openTestCatalog(t: TestContext, options: { maxBatch?: number } = {}): TestCatalog {
  const dir = new TempDir(t);
  const file = path.join(dir.path, 'db', 'catalog.sqlite');
  const catalog = Catalog.open({ path: file, logger: silentLogger, ...options });
  let raw: Database.Database | null = null;
  dir.closeLater(() => catalog.close());
  dir.closeLater(() => raw?.close());
  return {
    catalog,
    file,
    raw() {
      raw ??= new Database(file);
      return raw;
    },
  };
}

export function newRow(overrides: Partial<NewPhotoRow> = {}): NewPhotoRow {
  const id = overrides.id ?? randomUUID();
  return {
    id,
    client_id: 'client-a',
    user_id: 'user-1',
    session_id: null,
    original_filename: 'photo.jpg',
    mime_type: 'image/jpeg',
    bucket: 'images',
    s3_key: `2024/01/${id}.jpg`,
    size: 1000,
    checksum: createHash('sha256').update(id).digest('hex'),
    metadata: {},
    ...overrides,
  };
}

export async function addCommitted(catalog: Catalog, overrides: Partial<NewPhotoRow> = {}): Promise<Photo> {
  const row = newRow(overrides);
  await catalog.insertPending(row);
  return catalog.commitPending(row.id);
}
