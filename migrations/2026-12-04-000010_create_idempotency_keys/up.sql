-- The outcome of a creating request sent with an Idempotency-Key, kept for 24 h so that a
-- repeat answers it again instead of creating a second object. `scope` hashes the caller,
-- the method, the path and the key; `request_hash` the body. `status` is NULL while the
-- first request is being handled (until `locked_until`, after which a repeat may take over:
-- its handler died with its process).
CREATE TABLE idempotency_keys (
    scope BINARY(32) NOT NULL PRIMARY KEY,
    request_hash BINARY(32) NOT NULL,
    status SMALLINT UNSIGNED NULL,
    content_type VARCHAR(255) NULL,
    location VARCHAR(2048) NULL,
    body MEDIUMBLOB NULL,
    locked_until DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    INDEX idempotency_keys_expiry_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
