-- WordPress apply: the site's apply policy, what its agent last reported
-- (inventory and drift), and which deployments are rollbacks.

ALTER TABLE sites ADD COLUMN allow_unfiltered_html INTEGER NOT NULL DEFAULT 0 CHECK (allow_unfiltered_html IN (0, 1));
ALTER TABLE sites ADD COLUMN inventory TEXT CHECK (inventory IS NULL OR json_valid(inventory));
ALTER TABLE sites ADD COLUMN inventory_at TEXT;
ALTER TABLE sites ADD COLUMN drift TEXT CHECK (drift IS NULL OR json_valid(drift));
ALTER TABLE sites ADD COLUMN drift_at TEXT;

ALTER TABLE deployments ADD COLUMN rollback_of BLOB REFERENCES deployments (id) ON DELETE SET NULL;
