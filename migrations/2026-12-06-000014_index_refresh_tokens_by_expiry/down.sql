DROP INDEX refresh_tokens_expires_idx ON refresh_tokens;
