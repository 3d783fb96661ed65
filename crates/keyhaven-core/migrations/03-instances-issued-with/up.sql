-- Schema 3: a connection's identity includes its provider instance (SEC-45), and every
-- connection keeps what it was issued with (SEC-39).
--
-- SQLite cannot change a table's UNIQUE constraint, so `connections` is rebuilt the documented
-- way (create, copy, drop, rename). The migration runs with foreign keys off (schema.rs), so
-- dropping the old table does not cascade into connection_fields or refresh_leases, whose
-- REFERENCES connections(id) then name the new table.

CREATE TABLE connections_v3 (
    id                 TEXT PRIMARY KEY NOT NULL,
    provider_id        TEXT NOT NULL,
    -- The provider's template variables, `name=value` sorted by name and joined by ',' ("" for a
    -- provider without variables): two GitLab hosts, or two services behind the generic
    -- api-key entry, are two instances and never replace each other.
    instance           TEXT NOT NULL DEFAULT '',
    account            TEXT NOT NULL,
    label              TEXT,
    auth_mode          TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'connected'
                       CHECK (status IN ('connected', 'expiring', 'expired', 'needs_reauth')),
    scopes_requested   TEXT NOT NULL DEFAULT '[]',
    scopes_granted     TEXT NOT NULL DEFAULT '[]',
    token_type         TEXT,
    expires_at         INTEGER,
    last_error         TEXT,
    extra              TEXT NOT NULL DEFAULT '{}',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    last_used_at       INTEGER,
    moved_at           INTEGER,
    retry_after        INTEGER,
    failures           INTEGER NOT NULL DEFAULT 0,
    -- JSON (issued.rs): issuer, token and revocation endpoint origins, client id. NULL for
    -- connections made before schema 3: recorded the first time each part is seen.
    issued_with        TEXT,
    UNIQUE (provider_id, instance, account)
) STRICT;

INSERT INTO connections_v3 (id, provider_id, instance, account, label, auth_mode, status,
    scopes_requested, scopes_granted, token_type, expires_at, last_error, extra, created_at,
    updated_at, last_used_at, moved_at, retry_after, failures, issued_with)
SELECT c.id, c.provider_id,
    COALESCE((SELECT group_concat(v.key || '=' || v.value, ',' ORDER BY v.key)
              FROM json_each(c.extra, '$.keyhaven_vars') AS v), ''),
    c.account, c.label, c.auth_mode, c.status, c.scopes_requested, c.scopes_granted,
    c.token_type, c.expires_at, c.last_error, c.extra, c.created_at, c.updated_at,
    c.last_used_at, c.moved_at, c.retry_after, c.failures, NULL
FROM connections c;

DROP TABLE connections;
ALTER TABLE connections_v3 RENAME TO connections;

-- A tombstone keeps the exact revocation endpoint (and, below, the client) it was made with,
-- so a later retry never follows a redefined provider to another server.
ALTER TABLE revocation_tombstones ADD COLUMN revocation_url TEXT;
-- Whether client_id/client_secret are a machine connection's own client (kept whole) or the
-- person's OAuth app (its id only: the secret is used at retry time only while the app is the
-- same). Tombstones made before schema 3 kept a client only for machine connections.
ALTER TABLE revocation_tombstones ADD COLUMN own_client INTEGER NOT NULL DEFAULT 0
    CHECK (own_client IN (0, 1));
UPDATE revocation_tombstones SET own_client = 1 WHERE client_id IS NOT NULL;

-- The default connection of a provider (`keyhaven default CONN`): what `PROVIDER` alone names
-- once a provider has several connections. At most one per provider (enforced in
-- connections.rs, which clears the others in the same transaction).
ALTER TABLE connections ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0
    CHECK (is_default IN (0, 1));

-- Who an audit row is about, as `provider:account` (or `provider:account at instance`), written
-- with the row: rows outlive their connection, and "who took my GitHub token" should still be
-- answerable after it is deleted.
ALTER TABLE audit_events ADD COLUMN subject TEXT;
UPDATE audit_events SET subject = (
    SELECT c.provider_id || ':' || c.account
    FROM connections c WHERE c.id = audit_events.connection_id)
WHERE connection_id IS NOT NULL;
