//! Production storage: PostgreSQL.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder};

use super::{Built, Dialect};
use crate::{Backend, Result};

impl Dialect for Postgres {
    const BACKEND: Backend = Backend::Postgres;

    const MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

    const ILIKE: &'static str = "ILIKE";

    const SITE_TAGS: &'static str = "SELECT t.tag, COUNT(*) FROM sites s
         CROSS JOIN LATERAL jsonb_array_elements(
             CASE WHEN jsonb_typeof(s.metadata -> 'tags') = 'array' THEN s.metadata -> 'tags'
                  ELSE '[]'::jsonb END) AS e(value)
         CROSS JOIN LATERAL (SELECT e.value #>> '{}' AS tag) t
         WHERE s.user_id = $1 AND jsonb_typeof(e.value) = 'string'
         GROUP BY t.tag ORDER BY t.tag";

    fn build<'qb, 'args: 'qb>(query: &'qb mut QueryBuilder<'args, Self>) -> Built<'qb, Self> {
        // `PgArguments` borrows nothing, so it is the same type at any lifetime.
        query.build()
    }

    fn connect_options(url: &str) -> Result<PgConnectOptions> {
        let options: PgConnectOptions = url.parse()?;
        Ok(options.application_name("gsw-control-plane"))
    }

    fn pool_options() -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
    }

    fn push_has_tag<'a>(query: &mut QueryBuilder<'a, Postgres>, tag: &'a str) {
        query
            .push("s.metadata -> 'tags' @> jsonb_build_array(")
            .push_bind(tag)
            .push("::text)");
    }
}
