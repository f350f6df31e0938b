-- The worker's upkeep deletes refresh tokens past their expiry; this finds them without
-- reading the whole table.
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
