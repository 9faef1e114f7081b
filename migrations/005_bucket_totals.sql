-- Per-bucket totals of committed photos, kept by triggers, so that /metrics
-- and `storagectl stats` read a handful of rows instead of grouping the whole
-- photos table on the daemon's event loop at every scrape: at 1,000,000 rows
-- that GROUP BY took 1-6 s, during which no caller was answered.
--
-- SQLite has one writer, so the counter rows cost a write transaction nothing
-- in concurrency; each trigger is one keyed upsert per changed row.
CREATE TABLE bucket_totals (
  bucket TEXT PRIMARY KEY,
  photos INTEGER NOT NULL CHECK (photos >= 0),
  bytes INTEGER NOT NULL CHECK (bytes >= 0)
) WITHOUT ROWID;
INSERT INTO bucket_totals (bucket, photos, bytes)
SELECT bucket, count(*), coalesce(sum(size), 0) FROM photos WHERE state = 'committed' GROUP BY bucket;

CREATE TRIGGER bucket_totals_after_insert AFTER INSERT ON photos WHEN new.state = 'committed' BEGIN
  INSERT INTO bucket_totals (bucket, photos, bytes) VALUES (new.bucket, 1, new.size)
  ON CONFLICT (bucket) DO UPDATE SET photos = photos + 1, bytes = bytes + excluded.bytes;
END;

-- Any change to a row's state, bucket or size: the old row out (if it
-- counted), the new one in (if it counts), as two triggers so that a commit,
-- the common case, runs one upsert. Other updates (metadata, processing) fire
-- neither.
CREATE TRIGGER bucket_totals_after_update_out AFTER UPDATE OF state, bucket, size ON photos
WHEN old.state = 'committed'
BEGIN
  UPDATE bucket_totals SET photos = photos - 1, bytes = bytes - old.size WHERE bucket = old.bucket;
END;

CREATE TRIGGER bucket_totals_after_update_in AFTER UPDATE OF state, bucket, size ON photos
WHEN new.state = 'committed'
BEGIN
  INSERT INTO bucket_totals (bucket, photos, bytes) VALUES (new.bucket, 1, new.size)
  ON CONFLICT (bucket) DO UPDATE SET photos = photos + 1, bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER bucket_totals_after_delete AFTER DELETE ON photos WHEN old.state = 'committed' BEGIN
  UPDATE bucket_totals SET photos = photos - 1, bytes = bytes - old.size WHERE bucket = old.bucket;
END;
