-- The dashboard (the SQLite twin of migrations/postgres): billing usage
-- counts rows since the start of a period, and a site's page lists its jobs
-- newest first.
CREATE INDEX token_usage_user_time ON token_usage (user_id, created_at);
CREATE INDEX deployments_user_time ON deployments (user_id, created_at);
CREATE INDEX jobs_user_time ON jobs (user_id, created_at);
CREATE INDEX jobs_site_recent ON jobs (site_id, id);
