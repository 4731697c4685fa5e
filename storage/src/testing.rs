//! Fresh, throw-away databases for tests (feature `testing`).
//!
//! Every test gets a database of its own: an SQLite file in a temporary
//! folder, or a PostgreSQL database named by a UUID on the server at
//! `GSW_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! dropped again when the [`TestDatabase`] is dropped.

use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

use crate::Backend;

/// The server fresh PostgreSQL test databases are created on.
pub fn postgres_admin_url() -> String {
    std::env::var("GSW_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists for one test.
pub struct TestDatabase {
    /// URL to hand to [`crate::connect`] or to the control plane.
    pub url: String,
    backend: Backend,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// Creates an empty database on the given backend.
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("creating a temporary folder");
                let path = dir.path().join("gsw.db");
                Self {
                    url: format!("sqlite://{}", path.display()),
                    backend,
                    name: String::new(),
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("gsw_test_{}", Uuid::new_v4().simple());
                let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin} is needed for this test (set GSW_TEST_POSTGRES_URL): {e}")
                });
                conn.execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
                    .await
                    .expect("creating the test database");
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Self {
                    url: format!("{base}/{name}"),
                    backend,
                    name,
                    _dir: None,
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.backend != Backend::Postgres {
            return;
        }
        let name = std::mem::take(&mut self.name);
        // Drop may run inside a Tokio runtime, which cannot be blocked on: use
        // a thread of our own with its own small runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime
                .block_on(async {
                    let mut conn = PgConnection::connect(&postgres_admin_url()).await?;
                    conn.execute(
                        format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#).as_str(),
                    )
                    .await?;
                    Ok::<_, sqlx::Error>(())
                })
                .map_err(std::io::Error::other)
        })
        .join();
    }
}
