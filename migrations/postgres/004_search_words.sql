-- Mirrors ../004_search_words.sql, which gives SQLite a word index keyed by
-- tenant (photo_words) in place of its FTS5 table. PostgreSQL needs no new
-- table: search_words (001) is read through the tenant's own rows
-- (photos_client_uploaded), so its searches already cost what the tenant's
-- rows cost. The version exists so that both engines' schemas keep the same
-- numbers, which `storaged migrate-catalog` checks.
SELECT 1;
