-- What produced each sample (an ingestion or a device, by resource name: ~90 bytes) is the same
-- for every row of an import: kept once here, and each sample refers to it by number. That is
-- a third of a sample row, and of the WAL an import writes.
CREATE TABLE tracking.sample_origins (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    CONSTRAINT uq_sample_origins_name UNIQUE (name)
);

INSERT INTO tracking.sample_origins (name)
SELECT DISTINCT ingest_id FROM tracking.samples WHERE ingest_id <> '';

ALTER TABLE tracking.samples ADD COLUMN origin integer;  -- NULL: written by a client itself
UPDATE tracking.samples s SET origin = o.id FROM tracking.sample_origins o WHERE o.name = s.ingest_id;
ALTER TABLE tracking.samples DROP COLUMN ingest_id;
