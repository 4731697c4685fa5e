-- Users, auth, sites, jobs and subscriptions: the control plane's foundation.
-- The SQLite twin of migrations/postgres: UUIDs are 16-byte BLOBs, timestamps
-- RFC 3339 TEXT in UTC (so they sort as text), JSON is TEXT.

CREATE TABLE users (
    id                BLOB PRIMARY KEY,
    email             TEXT NOT NULL UNIQUE,
    password_hash     TEXT NOT NULL,
    role              TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    subscription_tier TEXT NOT NULL DEFAULT 'free',
    created_at        TEXT NOT NULL
) STRICT;

CREATE TABLE refresh_tokens (
    id          BLOB PRIMARY KEY,
    family_id   BLOB NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE sites (
    id           BLOB PRIMARY KEY,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    domain       TEXT,
    wp_admin_url TEXT,
    status       TEXT NOT NULL CHECK (status IN ('draft', 'generating', 'active')),
    metadata     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;
CREATE INDEX sites_user ON sites (user_id, id);

CREATE TABLE jobs (
    id         BLOB PRIMARY KEY,
    site_id    BLOB NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('generation', 'deployment')),
    status     TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    progress   INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    logs       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX jobs_site ON jobs (site_id);
CREATE INDEX jobs_user ON jobs (user_id, id);

CREATE TABLE subscriptions (
    id                 BLOB PRIMARY KEY,
    user_id            BLOB NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    stripe_customer_id TEXT,
    plan_id            TEXT NOT NULL,
    status             TEXT NOT NULL,
    current_period_end TEXT
) STRICT;
