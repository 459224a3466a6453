-- A create with a request_id claims its key first: a row without a response, whose claim_id
-- names the call running it. Concurrent retries find the claim and wait for the response
-- instead of running the create again; a claim older than its lease is taken over.
ALTER TABLE tracking.request_results ALTER COLUMN response DROP NOT NULL;
ALTER TABLE tracking.request_results ADD COLUMN claim_id uuid;
