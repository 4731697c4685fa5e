-- AI site generation: the SQLite twin of migrations/postgres.

ALTER TABLE jobs ADD COLUMN stage TEXT;
ALTER TABLE jobs ADD COLUMN error TEXT;
ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN input TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(input));
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until TEXT;
CREATE INDEX jobs_unfinished ON jobs (status, updated_at) WHERE status IN ('queued', 'running');
-- One generation at a time per site: two regenerations racing would each
-- store a draft missing the other's change.
CREATE UNIQUE INDEX jobs_one_generation_per_site ON jobs (site_id)
    WHERE kind = 'generation' AND status IN ('queued', 'running');

CREATE TABLE job_stage_outputs (
    job_id     BLOB NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    stage      TEXT NOT NULL,
    output     TEXT NOT NULL CHECK (json_valid(output)),
    created_at TEXT NOT NULL,
    PRIMARY KEY (job_id, stage)
) STRICT;

CREATE TABLE site_drafts (
    site_id    BLOB PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    job_id     BLOB,
    draft      TEXT NOT NULL CHECK (json_valid(draft)),
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE token_usage (
    id                    BLOB PRIMARY KEY,
    user_id               BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    job_id                BLOB REFERENCES jobs (id) ON DELETE SET NULL,
    stage                 TEXT NOT NULL,
    model                 TEXT NOT NULL,
    input_tokens          INTEGER NOT NULL,
    output_tokens         INTEGER NOT NULL,
    cache_read_tokens     INTEGER NOT NULL,
    cache_creation_tokens INTEGER NOT NULL,
    created_at            TEXT NOT NULL
) STRICT;
CREATE INDEX token_usage_user ON token_usage (user_id);
CREATE INDEX token_usage_job ON token_usage (job_id);

CREATE TABLE model_responses (
    key        TEXT PRIMARY KEY,
    response   TEXT NOT NULL CHECK (json_valid(response)),
    created_at TEXT NOT NULL
) STRICT;
