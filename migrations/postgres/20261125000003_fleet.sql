-- Fleet connection: enrollment, agents, releases and the per-agent outbox.

-- Each site's bundles carry a strictly increasing sequence number.
ALTER TABLE sites ADD COLUMN bundle_sequence BIGINT NOT NULL DEFAULT 0;

CREATE TABLE enrollment_tokens (
    id          UUID PRIMARY KEY,
    site_id     UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX enrollment_tokens_site ON enrollment_tokens (site_id);

CREATE TABLE agents (
    id            UUID PRIMARY KEY,
    site_id       UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    public_key    BYTEA NOT NULL,
    agent_version TEXT NOT NULL,
    hostname      TEXT NOT NULL,
    enrolled_at   TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ,
    last_seen     TIMESTAMPTZ,
    last_applied  BIGINT NOT NULL DEFAULT 0
);
-- At most one live agent per site.
CREATE UNIQUE INDEX agents_live_site ON agents (site_id) WHERE revoked_at IS NULL;

-- The items of a deployment, shared by every site it goes to.
CREATE TABLE releases (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    items      JSONB NOT NULL,
    payload    BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- One bundle for one site: the outbox row until the agent confirms it.
CREATE TABLE deployments (
    id           UUID PRIMARY KEY,
    site_id      UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    release_id   UUID NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    sequence     BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'applied', 'failed', 'refused')),
    manifest     BYTEA NOT NULL,
    signature    BYTEA NOT NULL,
    results      JSONB,
    error_code   TEXT,
    error        TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (site_id, sequence)
);
CREATE INDEX deployments_outbox ON deployments (site_id, sequence) WHERE status = 'queued';
CREATE INDEX deployments_user ON deployments (user_id, id);
