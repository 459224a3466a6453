-- Background ingestion jobs: a worker holds a lease while it processes; a job whose lease has
-- run out (its worker stopped or crashed) is picked up again, from the archived payload.
ALTER TABLE ingest.ingestions ADD COLUMN lease_owner text;
ALTER TABLE ingest.ingestions ADD COLUMN lease_expire_time timestamptz;
