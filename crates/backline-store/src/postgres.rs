//! The native PostgreSQL engine, on sqlx's PostgreSQL driver.
//!
//! sqlx's driver (not `Any`) caches each statement's server-side
//! preparation per connection and gives typed NULLs; it was already the
//! project's driver, so the engine adds no second client library.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Arguments, Column, ConnectOptions, Either, Executor, Row as _, TypeInfo};

use crate::db::{Param, Rows, Sql, Value};
use crate::StoreError;

pub(crate) fn options(url: &str) -> Result<PgConnectOptions, StoreError> {
    Ok(PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Config(format!("bad PostgreSQL url: {e}")))?
        .statement_cache_capacity(1024))
}

pub(crate) async fn connect(options: &PgConnectOptions) -> Result<PgConnection, StoreError> {
    options.connect().await.map_err(error)
}

pub(crate) async fn pool(options: PgConnectOptions, max: u32) -> Result<PgPool, StoreError> {
    PgPoolOptions::new()
        .max_connections(max.max(1))
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(error)
}

/// Runs one statement on any PostgreSQL executor (the pool, or a connection).
pub(crate) async fn run<'c, E>(
    executor: E,
    sql: Sql,
    params: Vec<Param>,
) -> Result<Rows, StoreError>
where
    E: Executor<'c, Database = sqlx::Postgres>,
{
    let mut args = PgArguments::default();
    for param in params {
        match param {
            Param::Int(v) => args.add(v),
            Param::Real(v) => args.add(v),
            Param::Text(v) => args.add(v),
            Param::TextList(v) => args.add(v),
            Param::IntList(v) => args.add(v),
        }
        .map_err(|e| StoreError::Database(format!("cannot bind a parameter: {e}")))?;
    }
    let query = sqlx::query_with(sqlx::AssertSqlSafe(sql), args);
    let mut stream = executor.fetch_many(query);
    let mut affected = 0;
    let mut rows: Vec<PgRow> = Vec::new();
    while let Some(item) = stream.try_next().await.map_err(error)? {
        match item {
            Either::Left(done) => affected += done.rows_affected(),
            Either::Right(row) => rows.push(row),
        }
    }
    drop(stream);
    decode(rows, affected)
}

/// Runs statements without parameters (transaction control), several at once.
pub(crate) async fn control(conn: &mut PgConnection, sql: &'static str) -> Result<(), StoreError> {
    conn.execute(sql).await.map_err(error)?;
    Ok(())
}

fn decode(rows: Vec<PgRow>, affected: u64) -> Result<Rows, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(Rows {
            columns: Arc::from(Vec::new()),
            values: Vec::new(),
            affected,
        });
    };
    let columns: Arc<[String]> = first
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    let kinds: Vec<String> = first
        .columns()
        .iter()
        .map(|c| c.type_info().name().to_owned())
        .collect();
    let mut values = Vec::with_capacity(rows.len() * columns.len());
    for row in &rows {
        for (i, kind) in kinds.iter().enumerate() {
            let value = match kind.as_str() {
                "INT8" => row.try_get::<Option<i64>, _>(i).map(|v| v.map(Value::Int)),
                "INT4" => row
                    .try_get::<Option<i32>, _>(i)
                    .map(|v| v.map(|v| Value::Int(v.into()))),
                "INT2" => row
                    .try_get::<Option<i16>, _>(i)
                    .map(|v| v.map(|v| Value::Int(v.into()))),
                "BOOL" => row
                    .try_get::<Option<bool>, _>(i)
                    .map(|v| v.map(|v| Value::Int(v.into()))),
                "FLOAT8" => row.try_get::<Option<f64>, _>(i).map(|v| v.map(Value::Real)),
                "FLOAT4" => row
                    .try_get::<Option<f32>, _>(i)
                    .map(|v| v.map(|v| Value::Real(v.into()))),
                "BYTEA" => row
                    .try_get::<Option<Vec<u8>>, _>(i)
                    .map(|v| v.map(Value::Blob)),
                "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => row
                    .try_get::<Option<String>, _>(i)
                    .map(|v| v.map(Value::Text)),
                other => {
                    return Err(StoreError::Decode(format!(
                        "column {:?} has type {other}, which the store does not read",
                        columns[i]
                    )))
                }
            }
            .map_err(|e| StoreError::Decode(e.to_string()))?;
            values.push(value.unwrap_or(Value::Null));
        }
    }
    Ok(Rows {
        columns,
        values,
        affected,
    })
}

/// Maps a sqlx error: unique violations are conflicts, other errors the
/// server reported are statement errors (the transaction can be rolled back
/// to its savepoint), and everything else — the connection lost, I/O, the
/// protocol — is a fault.
pub(crate) fn error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return StoreError::Conflict(db.message().to_owned());
            }
            // Class 08 (connection), 53 (resources), 57 (operator
            // intervention: admin shutdown, terminated backend), 58 (system).
            let code = db.code().unwrap_or_default();
            if ["08", "53", "57", "58", "XX"]
                .iter()
                .any(|class| code.starts_with(class))
            {
                StoreError::Fault(format!("{} ({code})", db.message()))
            } else {
                StoreError::Database(format!("{} ({code})", db.message()))
            }
        }
        sqlx::Error::RowNotFound => StoreError::NotFound("row"),
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("no PostgreSQL connection available".into())
        }
        sqlx::Error::PoolClosed => StoreError::Closed,
        _ => StoreError::Fault(e.to_string()),
    }
}
