-- Which tools on this machine were set up to take their credentials from which connection
-- (docs/tools.md): `keyhaven setup git|aws|kube|docker|terraform|cargo` and the desktop's
-- "Tools" buttons write one row per configured target, and the helpers read them to map a
-- request to a connection.
--
-- tool    git, aws, kubectl, docker, terraform or cargo.
-- target  what the tool names in its request: a git or registry host (with :port), an AWS
--         profile, a kube context, a Terraform host, a cargo registry name.
-- config  the file that was changed (absolute), for the person and for the undo.
-- undo    JSON: what `--remove` needs to put the file back as it was (values replaced, whether a
--         section existed before). Never a secret: helper configuration holds none.
-- A row goes with its connection: disconnecting leaves no mapping to a connection that is gone
-- (the tool's config then names a helper that answers "not found", as the tools expect).
CREATE TABLE tool_bindings (
    tool               TEXT NOT NULL,
    target             TEXT NOT NULL,
    connection_id      TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    config             TEXT,
    undo               TEXT NOT NULL DEFAULT '{}',
    created_at         INTEGER NOT NULL,
    PRIMARY KEY (tool, target)
) STRICT;
CREATE INDEX tool_bindings_by_connection ON tool_bindings (connection_id);
