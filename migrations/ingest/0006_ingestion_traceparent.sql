-- The W3C traceparent of the request that queued the ingestion (empty when tracing was off): a
-- background job's span links to it, so the upload's trace leads on to its processing.
ALTER TABLE ingest.ingestions ADD COLUMN traceparent text;
