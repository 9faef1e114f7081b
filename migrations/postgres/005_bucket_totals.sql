-- Version 5 on PostgreSQL changes nothing; it keeps the two engines' schema
-- versions in step (migrate-catalog copies only between equal versions).
--
-- ../005_bucket_totals.sql keeps per-bucket totals in counter rows updated
-- by triggers, because on SQLite the GROUP BY it replaces ran on the daemon's
-- event loop. Here the server groups the rows at each scrape, off every
-- daemon's loop, and a counter row per bucket would be one hot row that every
-- daemon's commit must lock in turn.
SELECT 1;
