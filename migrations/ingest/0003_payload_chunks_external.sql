-- Payload chunks are compressed already (LZ4 frames, zlib before): PostgreSQL need not try to
-- compress them again, which took ~0.3 s of an upload's 50 MB for nothing.
ALTER TABLE ingest.payload_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
