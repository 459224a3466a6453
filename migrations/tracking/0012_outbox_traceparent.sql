-- The W3C traceparent of the request whose write made the row (empty when tracing was off): the
-- relay's span links to it, so a trace of a write leads on to Insight's evaluation of it.
ALTER TABLE tracking.outbox ADD COLUMN traceparent text;
