-- Version 6 on SQLite changes nothing; it keeps the two engines' schema
-- versions in step (migrate-catalog copies only between equal versions).
--
-- postgres/006_tenant_words.sql gives the PostgreSQL catalog the word index
-- keyed by tenant (photo_words) that SQLite has had since 004.
SELECT 1;
