-- The agent acts on the vault for other processes: a third actor, 'agent'. SQLite cannot
-- change a CHECK constraint in place, so the table is rebuilt (same ids, same rows).
--
-- Who asked for each hand-out (docs/agent.md): the asking process's pid and program
-- (/proc/PID/exe), its parent's program (the tool behind a helper: git behind
-- `keyhaven git-credential`), and the tool the credential was shaped for. Written by the agent
-- from the kernel's SO_PEERCRED, and by a command on the direct path about itself. Signals for
-- "who took my token", not authentication: a same-user process can exec any program.
CREATE TABLE audit_events_new (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    at                 INTEGER NOT NULL,
    connection_id      TEXT,
    action             TEXT NOT NULL,
    actor              TEXT NOT NULL CHECK (actor IN ('cli', 'desktop', 'agent')),
    detail             TEXT,
    subject            TEXT,
    pid                INTEGER,
    program            TEXT,
    parent_program     TEXT,
    tool               TEXT
) STRICT;

INSERT INTO audit_events_new (id, at, connection_id, action, actor, detail, subject)
    SELECT id, at, connection_id, action, actor, detail, subject FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE INDEX audit_events_by_connection ON audit_events (connection_id, at);
