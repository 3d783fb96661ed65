-- Schema 2: moved connections (encrypted backup with --move), revocation tombstones (SEC-31),
-- refresh backoff (SEC-35).

-- Exported with `vault export --move`: another vault refreshes this connection now, so this one
-- never presents its refresh token again (a rotated refresh token works in one place only).
ALTER TABLE connections ADD COLUMN moved_at INTEGER;

-- After a transient refresh failure (5xx, 429, network): no new attempt before this time, and
-- how many such failures in a row (for exponential backoff with jitter).
ALTER TABLE connections ADD COLUMN retry_after INTEGER;
ALTER TABLE connections ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;

-- Tokens of a deleted connection whose revocation did not get a definite answer (503, timeout):
-- they may still be live at the provider, so revocation is retried from here until it is
-- confirmed or abandoned. The connection row is gone; this keeps only what revocation needs.
CREATE TABLE revocation_tombstones (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id      TEXT NOT NULL,
    provider_id        TEXT NOT NULL,
    token_kind         TEXT NOT NULL CHECK (token_kind IN ('refresh_token', 'access_token')),
    token              BLOB NOT NULL,     -- secret
    client_id          TEXT,              -- a machine connection's own client (NULL: the provider's app)
    client_secret      BLOB,              -- secret
    vars               TEXT NOT NULL DEFAULT '{}',
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER NOT NULL,
    last_error         TEXT,
    created_at         INTEGER NOT NULL
) STRICT;
