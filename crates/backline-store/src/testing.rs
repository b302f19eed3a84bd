//! Helpers for tests that run against a real PostgreSQL: a fresh database per test.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

use crate::StoreError;

/// The server named by `BACKLINE_TEST_POSTGRES_URL`, if set. Prints one line when it is not.
pub fn postgres_url(suite: &str) -> Option<String> {
    match std::env::var("BACKLINE_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("{suite}: PostgreSQL run skipped (BACKLINE_TEST_POSTGRES_URL is not set)");
            None
        }
    }
}

/// Runs one statement without parameters on the server of `url` (test set-up:
/// `pg_terminate_backend`, `CREATE DATABASE` …).
pub async fn postgres_execute(url: &str, sql: &str) -> Result<(), StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(crate::postgres::error)?;
    let mut conn = options.connect().await.map_err(crate::postgres::error)?;
    conn.execute(sqlx::AssertSqlSafe(sql.to_owned()))
        .await
        .map_err(crate::postgres::error)?;
    conn.close().await.map_err(crate::postgres::error)?;
    Ok(())
}

/// Creates an empty database on the server of `admin_url` and returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> Result<String, StoreError> {
    let name = format!("backline_test_{}", uuid_like());
    postgres_execute(admin_url, &format!("CREATE DATABASE {name}")).await?;
    let base = match admin_url.rfind('/') {
        Some(slash)
            if admin_url[..slash].contains("://") && slash > admin_url.find("://").unwrap() + 2 =>
        {
            &admin_url[..slash]
        }
        _ => admin_url,
    };
    let query = admin_url.find('?').map(|q| &admin_url[q..]).unwrap_or("");
    Ok(format!("{base}/{name}{query}"))
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}_{}", std::process::id(), nanos)
}
