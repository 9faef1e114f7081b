-- Search by words, one tenant's slice at a time: the PostgreSQL side of
-- ../004_search_words.sql (issue 13, item 4).
--
-- Until now a text search either read search_words through all of the
-- tenant's committed rows (photos_client_uploaded) or asked the GIN index on
-- search_words, whose posting lists hold every tenant's rows: its cost grew
-- with the tenant's whole catalog, or with everyone's. Here each committed
-- photo's lexemes (the very ones in its search_words, cut by the daemon as
-- src/daemon/catalog-pg/search-words.ts says) are keyed by tenant first: a
-- word prefix is one range of the tenant's own words, and a search
-- (src/daemon/catalog-pg/photo-search.ts) starts from it, so it costs what
-- the tenant's matching rows cost.
--
-- COLLATE "C": byte order, so that `word >= prefix AND word < prefix ||
-- U+10FFFF` is exactly the set of words beginning with prefix, as in
-- SQLite's BINARY photo_words and in tsquery's own `prefix:*` match.
CREATE TABLE photo_words (
  client_id text COLLATE "C" NOT NULL,
  word text COLLATE "C" NOT NULL,
  -- photos.seq: 8 bytes a word, where the photo's id would be ~30.
  seq bigint NOT NULL
);

-- Kept by triggers, so that every writer (the daemon's writer, adopt and
-- rebuild, migrate-catalog's copy, an operator's SQL) keeps it right without
-- knowing it exists. Only committed photos have words, and only under their
-- own client: a search never meets another tenant's photo, nor one pending
-- or being deleted. A photo's words are found again by its own lexemes
-- (OLD.search_words) under the primary key, so no second index is needed.
CREATE FUNCTION photo_words_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND OLD.state = 'committed' THEN
    IF TG_OP = 'UPDATE' AND NEW.state = 'committed' AND NEW.client_id = OLD.client_id AND NEW.seq = OLD.seq
       AND NEW.search_words = OLD.search_words THEN
      RETURN NULL; -- still visible, same words
    END IF;
    DELETE FROM photo_words
    WHERE client_id = OLD.client_id AND word = ANY (tsvector_to_array(OLD.search_words)::text[] COLLATE "C") AND seq = OLD.seq;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.state = 'committed' THEN
    INSERT INTO photo_words (client_id, word, seq)
    SELECT NEW.client_id, word, NEW.seq FROM unnest(tsvector_to_array(NEW.search_words)) AS word;
  END IF;
  RETURN NULL;
END
$$;

-- Inserts are indexed a statement at a time, from the rows it inserted:
-- migrate-catalog's copy and adoption insert a thousand rows in one
-- statement, and one INSERT ... SELECT for all of them costs far less than
-- a function call per row did (catalog.pg.migrate.20k, one sitting under
-- shared load: 7,400 rows/s with a row trigger, 15,000 with no trigger).
-- A pending insert, the daemon's common one, finds no committed row in it.
CREATE FUNCTION photo_words_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO photo_words (client_id, word, seq)
  SELECT n.client_id, w.word, n.seq FROM inserted_photos n CROSS JOIN LATERAL unnest(tsvector_to_array(n.search_words)) AS w (word)
  WHERE n.state = 'committed';
  RETURN NULL;
END
$$;
CREATE TRIGGER photo_words_after_insert AFTER INSERT ON photos
  REFERENCING NEW TABLE AS inserted_photos FOR EACH STATEMENT EXECUTE FUNCTION photo_words_inserted();
-- Updates and deletes one row at a time (a transition table takes no column
-- list); WHEN keeps the function out of the rows it has nothing to do for:
-- updates of other columns, deletes of rows already hidden.
CREATE TRIGGER photo_words_after_update AFTER UPDATE OF state, client_id, seq, search_words ON photos
  FOR EACH ROW WHEN (OLD.state = 'committed' OR NEW.state = 'committed') EXECUTE FUNCTION photo_words_follow();
CREATE TRIGGER photo_words_after_delete AFTER DELETE ON photos
  FOR EACH ROW WHEN (OLD.state = 'committed') EXECUTE FUNCTION photo_words_follow();

-- TRUNCATE fires no row trigger (migrate-catalog --replace empties photos
-- with it, and reuses the SQLite catalog's seq numbers).
CREATE FUNCTION photo_words_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE photo_words;
  RETURN NULL;
END
$$;
CREATE TRIGGER photo_words_after_truncate AFTER TRUNCATE ON photos
  FOR EACH STATEMENT EXECUTE FUNCTION photo_words_truncate();

-- The words of the photos already committed, then the key: one sort builds
-- the index faster than a row at a time. In key order, so that a tenant's
-- range is a few heap pages even before VACUUM lets it be read from the
-- index alone.
INSERT INTO photo_words (client_id, word, seq)
SELECT p.client_id, w.word, p.seq FROM photos p CROSS JOIN LATERAL unnest(tsvector_to_array(p.search_words)) AS w (word)
WHERE p.state = 'committed'
ORDER BY 1, 2, 3;
ALTER TABLE photo_words ADD PRIMARY KEY (client_id, word, seq);

-- Nothing reads the GIN index of 001 any more: a search's candidates come
-- from photo_words, and a phrase (a word unicode61 cuts in several tokens) is
-- checked on each candidate's own search_words. Every commit paid for it,
-- and its posting lists mixed every tenant's rows.
DROP INDEX photos_search_words;
