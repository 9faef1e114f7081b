-- Idempotent stores: a client sends a key with a store, and a repeated store
-- with the same key (a retry after a timeout, a lost answer, a daemon restart)
-- is answered with the first store's result instead of storing twice.
--
-- A store's pending row carries its key, so that whoever commits the row (the
-- store itself, or recovery after a crash) records the key in the same
-- transaction: a key is recorded exactly when its photo becomes visible.
ALTER TABLE photos ADD COLUMN idempotency_key TEXT;

-- One row per (client, key) while the window lasts (STORAGED_IDEMPOTENCY_WINDOW_S,
-- default 24 h). `fingerprint` is the sha256 of what the store asked for (body
-- digest and size, name, type, user, session, metadata): the same key with a
-- different store is a CONFLICT. `result` is the first answer (without its URL,
-- which is made afresh), so a repeat is answered alike even once the photo has
-- been changed or deleted.
CREATE TABLE idempotency_keys (
  client_id TEXT NOT NULL,
  key TEXT NOT NULL,
  photo_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64),
  result TEXT NOT NULL CHECK (json_valid(result)),
  created_at TEXT NOT NULL,
  PRIMARY KEY (client_id, key)
) WITHOUT ROWID;

-- Pruning walks the expired keys only.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
