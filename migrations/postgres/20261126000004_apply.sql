-- WordPress apply: the site's apply policy, what its agent last reported
-- (inventory and drift), and which deployments are rollbacks.

ALTER TABLE sites
    ADD COLUMN allow_unfiltered_html BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN inventory JSONB,
    ADD COLUMN inventory_at TIMESTAMPTZ,
    ADD COLUMN drift JSONB,
    ADD COLUMN drift_at TIMESTAMPTZ;

ALTER TABLE deployments ADD COLUMN rollback_of UUID REFERENCES deployments (id) ON DELETE SET NULL;
