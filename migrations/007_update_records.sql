-- Update records (src/daemon/update-records/): each acknowledged update of a
-- photo is also written to the blob store, so that losing this file loses no
-- update. `record_owed` = 1 marks a photo whose record may not hold its row's
-- state: set in the same transaction as every update, cleared once the
-- record is durable. A daemon killed between the two, a record write that
-- failed (and whose update was undone: the failed put may still have
-- landed), or an update made before records existed, all leave the mark,
-- and the daemon's recovery passes write those records from the rows. The
-- mark is what makes that survive a restart; an in-memory list would not.
ALTER TABLE photos ADD COLUMN record_owed INTEGER NOT NULL DEFAULT 0;

-- Photos updated before records existed: their updates are in this file alone
-- until the daemon writes their records. (Adopted rows are marked as well, since
-- their updated_at is their adoption's: one record each, harmlessly.)
UPDATE photos SET record_owed = 1 WHERE state = 'committed' AND updated_at <> created_at;

-- Only the marked rows are indexed: the recovery pass reads them, nothing else does.
CREATE INDEX photos_record_owed ON photos (seq) WHERE record_owed = 1;
