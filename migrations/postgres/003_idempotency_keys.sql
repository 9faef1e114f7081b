-- Idempotent stores; the same rows as ../003_idempotency_keys.sql, which
-- explains them.
ALTER TABLE photos ADD COLUMN idempotency_key text;

CREATE TABLE idempotency_keys (
  client_id text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  photo_id text COLLATE "C" NOT NULL,
  fingerprint text COLLATE "C" NOT NULL CHECK (length(fingerprint) = 64),
  result text NOT NULL CHECK (json_typeof(result::json) IS NOT NULL),
  created_at text COLLATE "C" NOT NULL,
  PRIMARY KEY (client_id, key)
);

-- Pruning walks the expired keys only.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
