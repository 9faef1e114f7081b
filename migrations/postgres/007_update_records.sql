-- Version 7 on PostgreSQL changes nothing; it keeps the two engines' schema
-- versions in step (migrate-catalog copies only between equal versions).
--
-- ../007_update_records.sql marks SQLite rows whose update record in the blob
-- store is owed. PostgreSQL is itself the durable, replicated store of
-- updates: its daemons write no records, and migrate-catalog leaves the mark
-- behind.
SELECT 1;
