-- A hash of each sample's compared values (everything an update compares but its rollup key),
-- summed per hourly rollup: a bulk writer whose rows of an hour have the same count and hash
-- sum as the stored hour is resending what is stored, and Tracking skips writing them. Rows
-- written before this migration carry 0, so their hours never match until rewritten.
ALTER TABLE tracking.samples ADD COLUMN row_hash bigint NOT NULL DEFAULT 0;
ALTER TABLE tracking.sample_hours ADD COLUMN hash_sum numeric NOT NULL DEFAULT 0;
