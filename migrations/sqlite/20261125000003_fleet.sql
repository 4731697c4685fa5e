-- Fleet connection: enrollment, agents, releases and the per-agent outbox.

ALTER TABLE sites ADD COLUMN bundle_sequence INTEGER NOT NULL DEFAULT 0;

CREATE TABLE enrollment_tokens (
    id          BLOB PRIMARY KEY,
    site_id     BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
) STRICT;
CREATE INDEX enrollment_tokens_site ON enrollment_tokens (site_id);

CREATE TABLE agents (
    id            BLOB PRIMARY KEY,
    site_id       BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    public_key    BLOB NOT NULL,
    agent_version TEXT NOT NULL,
    hostname      TEXT NOT NULL,
    enrolled_at   TEXT NOT NULL,
    revoked_at    TEXT,
    last_seen     TEXT,
    last_applied  INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX agents_live_site ON agents (site_id) WHERE revoked_at IS NULL;

CREATE TABLE releases (
    id         BLOB PRIMARY KEY,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    items      TEXT NOT NULL CHECK (json_valid(items)),
    payload    BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE deployments (
    id           BLOB PRIMARY KEY,
    site_id      BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    release_id   BLOB NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    sequence     INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'applied', 'failed', 'refused')),
    manifest     BLOB NOT NULL,
    signature    BLOB NOT NULL,
    results      TEXT CHECK (results IS NULL OR json_valid(results)),
    error_code   TEXT,
    error        TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (site_id, sequence)
) STRICT;
CREATE INDEX deployments_outbox ON deployments (site_id, sequence) WHERE status = 'queued';
CREATE INDEX deployments_user ON deployments (user_id, id);
