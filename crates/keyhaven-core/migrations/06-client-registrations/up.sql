-- Clients Keyhaven registered itself (RFC 7591 dynamic client registration) at authorization
-- servers found by `keyhaven connect URL` (docs/by-url.md): one per issuer, reused by every
-- resource that server guards, registered again when the server no longer knows it (RFC 7592)
-- or its secret expired.
CREATE TABLE client_registrations (
    issuer                     TEXT PRIMARY KEY NOT NULL,
    client_id                  TEXT NOT NULL,
    client_secret              BLOB,               -- secret; NULL for a public client
    client_secret_expires_at   INTEGER,            -- Unix seconds; NULL or 0: never
    registration_access_token  BLOB,               -- secret (RFC 7592), to read or delete it
    registration_client_uri    TEXT,
    redirect_uris              TEXT NOT NULL DEFAULT '[]',   -- JSON array, as registered
    created_at                 INTEGER NOT NULL
) STRICT;
