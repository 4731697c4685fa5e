//! The embedded default: SQLite in a file, WAL mode.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite};

use super::{Built, Dialect};
use crate::{Backend, Result};

impl Dialect for Sqlite {
    const BACKEND: Backend = Backend::Sqlite;

    const MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

    // SQLite's LIKE ignores ASCII case already.
    const ILIKE: &'static str = "LIKE";

    const SITE_TAGS: &'static str =
        "SELECT t.value, COUNT(*) FROM sites s, json_each(s.metadata, '$.tags') t
         WHERE s.user_id = $1 AND json_type(s.metadata, '$.tags') = 'array' AND t.type = 'text'
         GROUP BY t.value ORDER BY t.value";

    fn build<'qb, 'args: 'qb>(query: &'qb mut QueryBuilder<'args, Self>) -> Built<'qb, Self> {
        // `SqliteArguments<'args>` is covariant: here it shortens to `'qb` by itself.
        query.build()
    }

    fn connect_options(url: &str) -> Result<SqliteConnectOptions> {
        Ok(SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5)))
    }

    fn pool_options() -> SqlitePoolOptions {
        SqlitePoolOptions::new().max_connections(8)
    }

    fn push_has_tag<'a>(query: &mut QueryBuilder<'a, Sqlite>, tag: &'a str) {
        query
            .push(
                "EXISTS (SELECT 1 FROM json_each(s.metadata, '$.tags') t
                  WHERE json_type(s.metadata, '$.tags') = 'array' AND t.type = 'text' AND t.value = ",
            )
            .push_bind(tag)
            .push(")");
    }
}
