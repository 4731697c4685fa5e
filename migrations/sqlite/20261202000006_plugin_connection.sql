-- How each agent connects: 'agent' (the wp-agent sidecar's WebSocket) or
-- 'plugin' (the connector plugin alone, pulling bundles over HTTPS).
ALTER TABLE agents ADD COLUMN connection TEXT NOT NULL DEFAULT 'agent';
