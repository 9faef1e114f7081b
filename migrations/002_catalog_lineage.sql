-- Which catalog this is, and when it was live: the orphan sweep's licence.
--
-- Every object storaged writes names, in its own metadata, the catalog whose
-- store wrote it and when (src/daemon/blobs/object-identity.ts). An object
-- without a row may be removed only if THIS catalog wrote it while it was
-- live: every acknowledged store has a committed row here, so such an object
-- can only be the leftover of a store that was never acknowledged. An object
-- written by another catalog, or while this one was not live (it was lost,
-- or is an older copy restored from a backup), is kept and reported: it is
-- for `storaged restore` or `storaged rebuild` to adopt, never for the sweep.

-- One row: the catalog's id, made once, copied along with the file by backups.
CREATE TABLE catalog_identity (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  catalog_id TEXT NOT NULL CHECK (length(catalog_id) = 32 AND catalog_id NOT GLOB '*[^0-9a-f]*'),
  created_at TEXT NOT NULL
);
INSERT INTO catalog_identity (singleton, catalog_id, created_at)
VALUES (1, lower(hex(randomblob(16))), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

-- One row per daemon run on this file: from its start to its last pending
-- insert. A store's object is dated before its pending insert, in the same
-- run, so it falls inside that run's interval.
CREATE TABLE catalog_sessions (
  started_at TEXT PRIMARY KEY,
  last_write_at TEXT NOT NULL
);
