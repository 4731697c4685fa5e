-- Users, auth, sites, jobs and subscriptions: the control plane's foundation.

CREATE TABLE users (
    id                UUID PRIMARY KEY,
    email             TEXT NOT NULL UNIQUE,
    password_hash     TEXT NOT NULL,
    role              TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    subscription_tier TEXT NOT NULL DEFAULT 'free',
    created_at        TIMESTAMPTZ NOT NULL
);

-- Refresh tokens are stored only as SHA-256 hashes. Every login starts a
-- family; each refresh marks the presented token used and adds the next one
-- to the same family, so presenting a used token betrays a stolen copy and
-- revokes the whole family.
CREATE TABLE refresh_tokens (
    id          UUID PRIMARY KEY,
    family_id   UUID NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE sites (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    domain       TEXT,
    wp_admin_url TEXT,
    status       TEXT NOT NULL CHECK (status IN ('draft', 'generating', 'active')),
    metadata     JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
-- Ids are UUIDv7, so (user_id, id) is also creation order: the keyset for paging.
CREATE INDEX sites_user ON sites (user_id, id);

CREATE TABLE jobs (
    id         UUID PRIMARY KEY,
    site_id    UUID NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('generation', 'deployment')),
    status     TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    progress   SMALLINT NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    logs       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_site ON jobs (site_id);
CREATE INDEX jobs_user ON jobs (user_id, id);

CREATE TABLE subscriptions (
    id                 UUID PRIMARY KEY,
    user_id            UUID NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    stripe_customer_id TEXT,
    plan_id            TEXT NOT NULL,
    status             TEXT NOT NULL,
    current_period_end TIMESTAMPTZ
);
