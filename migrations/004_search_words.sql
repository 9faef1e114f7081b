-- Search by words, one tenant's slice at a time (issue 13, item 4).
--
-- The FTS5 table of 001 answered `word*` over every tenant's rows before the
-- tenant filter: its cost grew with the whole catalog (0.5 ms at 10,000 rows,
-- 43 ms at 1,000,000 for one word), and a prefix query cannot be limited to
-- one tenant's rowids. Here each committed photo's distinct words (folded as
-- src/daemon/db/search-words.ts says, the same function that cuts a search's
-- words) are keyed by tenant first: a prefix is one range of the tenant's own
-- words, so a search costs what the tenant's matching rows cost.
--
-- Rows are written by the catalog's writer when a photo is committed,
-- adopted or renamed (photo-words.ts); they go away with the row, or when it
-- stops being visible, by the triggers below. Only committed photos have
-- words, so counting matches never needs the photos table.
CREATE TABLE photo_words (
  client_id TEXT NOT NULL,
  word TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (client_id, word, seq)
) WITHOUT ROWID;
-- A photo's own words: the deletes below, and checking a search's other words row by row.
CREATE INDEX photo_words_seq ON photo_words (seq, word);

-- How many committed photos each tenant has, so that a search can choose its
-- plan by the tenant's own size (src/daemon/db/photo-search.ts) without
-- counting them. Kept by the triggers below, on every connection.
CREATE TABLE tenant_photos (
  client_id TEXT PRIMARY KEY,
  committed INTEGER NOT NULL CHECK (committed >= 0)
) WITHOUT ROWID;
INSERT INTO tenant_photos (client_id, committed)
SELECT client_id, count(*) FROM photos WHERE state = 'committed' GROUP BY client_id;

CREATE TRIGGER search_after_insert AFTER INSERT ON photos WHEN new.state = 'committed' BEGIN
  INSERT INTO tenant_photos (client_id, committed) VALUES (new.client_id, 1)
  ON CONFLICT (client_id) DO UPDATE SET committed = committed + 1;
END;

CREATE TRIGGER search_after_commit AFTER UPDATE OF state ON photos
WHEN old.state <> 'committed' AND new.state = 'committed'
BEGIN
  INSERT INTO tenant_photos (client_id, committed) VALUES (new.client_id, 1)
  ON CONFLICT (client_id) DO UPDATE SET committed = committed + 1;
END;

CREATE TRIGGER search_after_hide AFTER UPDATE OF state ON photos
WHEN old.state = 'committed' AND new.state <> 'committed'
BEGIN
  DELETE FROM photo_words WHERE seq = old.seq;
  UPDATE tenant_photos SET committed = committed - 1 WHERE client_id = old.client_id;
END;

CREATE TRIGGER search_after_delete AFTER DELETE ON photos BEGIN
  DELETE FROM photo_words WHERE seq = old.seq;
  UPDATE tenant_photos SET committed = committed - 1 WHERE client_id = old.client_id AND old.state = 'committed';
END;

-- Words are cut by the daemon, not by SQL: the rows already committed are
-- indexed when the daemon next opens the file, in one transaction that also
-- removes this marker.
CREATE TABLE photo_words_backfill (singleton INTEGER PRIMARY KEY CHECK (singleton = 1));
INSERT INTO photo_words_backfill (singleton) VALUES (1);

DROP TRIGGER photos_fts_after_insert;
DROP TRIGGER photos_fts_after_delete;
DROP TRIGGER photos_fts_after_update;
DROP TABLE photos_fts;
