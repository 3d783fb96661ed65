-- Schema 1: the tables every later feature stands on.
-- Times are Unix seconds (UTC). Secret values live only in *_secrets tables, as BLOBs.

-- Per-provider settings the user owns: their own OAuth app for a catalog provider, or a whole
-- custom provider definition (discovery result or explicit endpoints).
CREATE TABLE provider_settings (
    provider_id        TEXT PRIMARY KEY NOT NULL,
    custom_definition  TEXT,              -- JSON, NULL for catalog providers
    client_id          TEXT,
    client_secret      BLOB,              -- secret; NULL for public clients
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;

-- One row per (provider, account).
CREATE TABLE connections (
    id                 TEXT PRIMARY KEY NOT NULL,
    provider_id        TEXT NOT NULL,
    account            TEXT NOT NULL,
    label              TEXT,
    auth_mode          TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'connected'
                       CHECK (status IN ('connected', 'expiring', 'expired', 'needs_reauth')),
    scopes_requested   TEXT NOT NULL DEFAULT '[]',   -- JSON array
    scopes_granted     TEXT NOT NULL DEFAULT '[]',   -- JSON array
    token_type         TEXT,
    expires_at         INTEGER,
    last_error         TEXT,
    extra              TEXT NOT NULL DEFAULT '{}',   -- JSON: non-secret extra response fields
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_used_at       INTEGER,
    UNIQUE (provider_id, account)
) STRICT;

-- Named secret (or plain) fields of a connection: access_token, refresh_token, id_token, or the
-- fields of an API-key credential.
CREATE TABLE connection_fields (
    connection_id      TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    value              BLOB NOT NULL,
    is_secret          INTEGER NOT NULL DEFAULT 1 CHECK (is_secret IN (0, 1)),
    updated_at         INTEGER NOT NULL,
    PRIMARY KEY (connection_id, name)
) STRICT;

-- Authorization flows waiting for their redirect; consumed (deleted) in one transaction.
CREATE TABLE pending_flows (
    state              TEXT PRIMARY KEY NOT NULL,
    provider_id        TEXT NOT NULL,
    redirect_uri       TEXT NOT NULL,
    pkce_verifier      BLOB NOT NULL,
    nonce              TEXT,
    issuer             TEXT,
    request            TEXT NOT NULL DEFAULT '{}',   -- JSON: scopes, template variables
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL
) STRICT;

-- Outcome of a flow, for the process that started it and waits.
CREATE TABLE flow_results (
    state_digest       TEXT PRIMARY KEY NOT NULL,    -- SHA-256 of the state, never the state
    connection_id      TEXT,
    error              TEXT,
    finished_at        INTEGER NOT NULL
) STRICT;

-- Cross-process single-flight refresh: one lease per connection.
CREATE TABLE refresh_leases (
    connection_id      TEXT PRIMARY KEY NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    holder             TEXT NOT NULL,
    expires_at         INTEGER NOT NULL
) STRICT;

-- Who did what, when. Never a secret. Rows outlive their connection on purpose.
CREATE TABLE audit_events (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    at                 INTEGER NOT NULL,
    connection_id      TEXT,
    action             TEXT NOT NULL,
    actor              TEXT NOT NULL CHECK (actor IN ('cli', 'desktop')),
    detail             TEXT
) STRICT;

CREATE INDEX audit_events_by_connection ON audit_events (connection_id, at);
