-- The photo catalog. Timestamps are ISO-8601 UTC strings from
-- `new Date().toISOString()`: fixed width, so they sort lexicographically.
--
-- Why `seq` exists: the full-text table below is an external-content FTS5
-- table keyed by the rowid of `photos`. A table whose primary key is TEXT still
-- has an implicit rowid, but VACUUM may renumber implicit rowids, which would
-- silently point every FTS entry at the wrong photo. Declaring
-- `seq INTEGER PRIMARY KEY` makes the rowid an explicit alias that VACUUM must
-- preserve. The public identity stays `id`, enforced by NOT NULL UNIQUE.
CREATE TABLE photos (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL,
  user_id TEXT,
  session_id TEXT,
  original_filename TEXT NOT NULL,
  mime_type TEXT NOT NULL,
  bucket TEXT NOT NULL,
  s3_key TEXT NOT NULL,
  size INTEGER NOT NULL CHECK (size >= 0),
  checksum TEXT NOT NULL CHECK (length(checksum) = 64 AND checksum NOT GLOB '*[^0-9a-f]*'),
  width INTEGER CHECK (width IS NULL OR width >= 0),
  height INTEGER CHECK (height IS NULL OR height >= 0),
  duration INTEGER CHECK (duration IS NULL OR duration >= 0),
  processing_status TEXT NOT NULL DEFAULT 'queued'
    CHECK (processing_status IN ('queued', 'in_progress', 'completed', 'failed', 'cancelled')),
  processing_metadata TEXT CHECK (processing_metadata IS NULL OR json_valid(processing_metadata)),
  processing_error TEXT,
  processing_started_at TEXT,
  processing_completed_at TEXT,
  metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
  -- Two stores, no distributed transaction: see DESIGN.md "Consistency".
  -- Only 'committed' rows are ever visible to callers.
  state TEXT NOT NULL CHECK (state IN ('pending', 'committed', 'deleting')),
  state_changed_at TEXT NOT NULL,
  uploaded_at TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
-- No UNIQUE (bucket, s3_key): object keys are made from the photo id (see
-- src/daemon/coordinator/object-key.ts), so the unique id already keeps them
-- apart, and one index less makes every insert cheaper.

-- Listing and searching a client's visible photos, newest first; `id` is the
-- tie-breaker of every ordering, so keyset pages can walk the index. Partial:
-- only visible rows are listed, so a row enters these indexes once, when it is
-- committed, instead of at insert and again when its state changes.
CREATE INDEX photos_client_uploaded ON photos (client_id, uploaded_at, id) WHERE state = 'committed';
-- getUserPhotos.
CREATE INDEX photos_client_user_uploaded ON photos (client_id, user_id, uploaded_at, id) WHERE state = 'committed';
-- Recovery's work list: the few rows in flight, not the many at rest.
CREATE INDEX photos_unsettled ON photos (state, state_changed_at) WHERE state <> 'committed';

-- unicode61 splits on every character that is not a letter, digit or private
-- use mark, so "beach-sunset_2024.jpg" indexes as beach / sunset / 2024 / jpg
-- and "image/png" as image / png.
CREATE VIRTUAL TABLE photos_fts USING fts5(
  original_filename,
  mime_type,
  content = 'photos',
  content_rowid = 'seq',
  -- No prefix indexes: they cost ~15% of insert speed, and `word*` queries
  -- are answered from the main index by a range scan anyway.
  tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER photos_fts_after_insert AFTER INSERT ON photos BEGIN
  INSERT INTO photos_fts (rowid, original_filename, mime_type)
  VALUES (new.seq, new.original_filename, new.mime_type);
END;

CREATE TRIGGER photos_fts_after_delete AFTER DELETE ON photos BEGIN
  INSERT INTO photos_fts (photos_fts, rowid, original_filename, mime_type)
  VALUES ('delete', old.seq, old.original_filename, old.mime_type);
END;

-- Only when an indexed column really changes: state and processing updates
-- are frequent and must not churn the index.
CREATE TRIGGER photos_fts_after_update AFTER UPDATE OF original_filename, mime_type ON photos
WHEN old.original_filename IS NOT new.original_filename OR old.mime_type IS NOT new.mime_type
BEGIN
  INSERT INTO photos_fts (photos_fts, rowid, original_filename, mime_type)
  VALUES ('delete', old.seq, old.original_filename, old.mime_type);
  INSERT INTO photos_fts (rowid, original_filename, mime_type)
  VALUES (new.seq, new.original_filename, new.mime_type);
END;
