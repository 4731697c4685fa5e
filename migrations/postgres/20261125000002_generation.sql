-- AI site generation: job stages, leases and errors; each stage's output (so a
-- resumed job continues where it stopped); site drafts; token usage; and the
-- model response cache of the embedded set-up.

ALTER TABLE jobs ADD COLUMN stage TEXT;
ALTER TABLE jobs ADD COLUMN error TEXT;
ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- What the job works from (a generation brief, a regeneration request).
ALTER TABLE jobs ADD COLUMN input JSONB NOT NULL DEFAULT '{}'::jsonb;
-- The worker holding a running job, and until when: a job whose lease ran out
-- may be claimed again, so a dead worker's job is finished by another.
ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until TIMESTAMPTZ;
CREATE INDEX jobs_unfinished ON jobs (status, updated_at) WHERE status IN ('queued', 'running');
-- One generation at a time per site: two regenerations racing would each
-- store a draft missing the other's change.
CREATE UNIQUE INDEX jobs_one_generation_per_site ON jobs (site_id)
    WHERE kind = 'generation' AND status IN ('queued', 'running');

CREATE TABLE job_stage_outputs (
    job_id     UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    stage      TEXT NOT NULL,
    output     JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (job_id, stage)
);

CREATE TABLE site_drafts (
    site_id    UUID PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    job_id     UUID,
    draft      JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Usage stays with the user when a site (and its jobs) is deleted.
CREATE TABLE token_usage (
    id                    UUID PRIMARY KEY,
    user_id               UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    job_id                UUID REFERENCES jobs (id) ON DELETE SET NULL,
    stage                 TEXT NOT NULL,
    model                 TEXT NOT NULL,
    input_tokens          BIGINT NOT NULL,
    output_tokens         BIGINT NOT NULL,
    cache_read_tokens     BIGINT NOT NULL,
    cache_creation_tokens BIGINT NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL
);
CREATE INDEX token_usage_user ON token_usage (user_id);
CREATE INDEX token_usage_job ON token_usage (job_id);

-- Keyed by a hash of model, prompt and schema: unchanged input costs no tokens.
CREATE TABLE model_responses (
    key        TEXT PRIMARY KEY,
    response   JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
