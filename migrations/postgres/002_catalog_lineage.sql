-- Which catalog this is, and when it was live: the orphan sweep's licence.
-- The same rows as ../002_catalog_lineage.sql, which explains them.

-- One row: the catalog's id, made once. `storaged migrate-catalog` replaces it
-- with the SQLite catalog's id, since the objects in MinIO name that one.
CREATE TABLE catalog_identity (
  singleton integer PRIMARY KEY CHECK (singleton = 1),
  catalog_id text COLLATE "C" NOT NULL CHECK (catalog_id ~ '^[0-9a-f]{32}$'),
  created_at text COLLATE "C" NOT NULL
);
-- gen_random_uuid() is built in from PostgreSQL 13: 122 random bits, as hex.
INSERT INTO catalog_identity (singleton, catalog_id, created_at)
VALUES (1, replace(gen_random_uuid()::text, '-', ''),
        to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));

-- One row per daemon run: from its start to its last pending insert.
CREATE TABLE catalog_sessions (
  started_at text COLLATE "C" PRIMARY KEY,
  last_write_at text COLLATE "C" NOT NULL
);
