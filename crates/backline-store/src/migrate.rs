//! Schema migrations: the shared ones (versions below 1000), then the
//! engine's own (full-text search, from 1001). Each runs in its own
//! transaction and is recorded in `backline_migrations`.
//!
//! A database created before the native engines recorded its migrations in
//! sqlx's `_sqlx_migrations`; those versions count as applied.

use sqlx::Executor;

use crate::engine::Source;
use crate::{postgres, sqlite, StoreError};

/// A migration: version, description, SQL.
type Migration = (i64, &'static str, &'static str);

const SHARED: &[Migration] = &[
    (1, "core", include_str!("../migrations/0001_core.sql")),
    (
        2,
        "interactions",
        include_str!("../migrations/0002_interactions.sql"),
    ),
    (3, "voice", include_str!("../migrations/0003_voice.sql")),
    (4, "busy", include_str!("../migrations/0004_busy.sql")),
    (
        5,
        "store probe",
        include_str!("../migrations/0005_store_probe.sql"),
    ),
    (
        6,
        "webhook claims",
        include_str!("../migrations/0006_webhook_claims.sql"),
    ),
    (
        7,
        "compliance",
        include_str!("../migrations/0007_compliance.sql"),
    ),
    (
        8,
        "group offers",
        include_str!("../migrations/0008_group_offers.sql"),
    ),
    (9, "scim", include_str!("../migrations/0009_scim.sql")),
    (
        10,
        "escalation",
        include_str!("../migrations/0010_escalation.sql"),
    ),
    (11, "oidc", include_str!("../migrations/0011_oidc.sql")),
    (
        12,
        "admin console",
        include_str!("../migrations/0012_admin_console.sql"),
    ),
];
const SQLITE: &[Migration] = &[(
    1001,
    "history search",
    include_str!("../migrations-sqlite/1001_history_search.sql"),
)];
const POSTGRES: &[Migration] = &[
    (
        1001,
        "history search",
        include_str!("../migrations-postgres/1001_history_search.sql"),
    ),
    (
        1002,
        "hot rows",
        include_str!("../migrations-postgres/1002_hot_rows.sql"),
    ),
];

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS backline_migrations (\
     version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// Brings the schema up to date; returns the versions it applied.
pub(crate) async fn run(source: &Source) -> Result<Vec<i64>, StoreError> {
    match source {
        Source::Sqlite(path) => {
            let mut conn = sqlite::open(path, sqlite::Role::Writer)?;
            run_sqlite(&mut conn)
        }
        Source::Postgres(options) => {
            let mut conn = postgres::connect(options).await?;
            // Nodes starting together migrate one at a time.
            conn.execute("SELECT pg_advisory_lock(7201198405)")
                .await
                .map_err(postgres::error)?;
            let result = run_postgres(&mut conn).await;
            let _ = conn.execute("SELECT pg_advisory_unlock(7201198405)").await;
            result
        }
    }
}

fn migrate_error(version: i64, e: impl std::fmt::Display) -> StoreError {
    StoreError::Migrate(format!("migration {version}: {e}"))
}

fn run_sqlite(conn: &mut rusqlite::Connection) -> Result<Vec<i64>, StoreError> {
    conn.execute_batch(CREATE_TABLE).map_err(sqlite::error)?;
    let legacy: bool = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            [],
            |row| row.get::<_, i64>(0),
        )
        .map_err(sqlite::error)?
        > 0;
    if legacy {
        conn.execute_batch(
            "INSERT OR IGNORE INTO backline_migrations (version, description, applied_at) \
             SELECT version, description, 0 FROM _sqlx_migrations WHERE success",
        )
        .map_err(sqlite::error)?;
    }
    let mut applied = Vec::new();
    for (version, description, sql) in SHARED.iter().chain(SQLITE) {
        let done: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM backline_migrations WHERE version = ?1",
                [version],
                |row| row.get(0),
            )
            .map_err(sqlite::error)?;
        if done > 0 {
            continue;
        }
        let tx = conn.transaction().map_err(sqlite::error)?;
        tx.execute_batch(sql)
            .map_err(|e| migrate_error(*version, e))?;
        tx.execute(
            "INSERT INTO backline_migrations (version, description, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![version, description, crate::now_ms()],
        )
        .map_err(|e| migrate_error(*version, e))?;
        tx.commit().map_err(|e| migrate_error(*version, e))?;
        applied.push(*version);
    }
    Ok(applied)
}

async fn run_postgres(conn: &mut sqlx::PgConnection) -> Result<Vec<i64>, StoreError> {
    conn.execute(CREATE_TABLE).await.map_err(postgres::error)?;
    let legacy: Option<String> =
        sqlx::query_scalar("SELECT CAST(to_regclass('_sqlx_migrations') AS TEXT)")
            .fetch_one(&mut *conn)
            .await
            .map_err(postgres::error)?;
    if legacy.is_some() {
        conn.execute(
            "INSERT INTO backline_migrations (version, description, applied_at) \
             SELECT version, description, 0 FROM _sqlx_migrations WHERE success \
             ON CONFLICT (version) DO NOTHING",
        )
        .await
        .map_err(postgres::error)?;
    }
    let mut applied = Vec::new();
    for (version, description, sql) in SHARED.iter().chain(POSTGRES) {
        let done: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM backline_migrations WHERE version = $1")
                .bind(version)
                .fetch_one(&mut *conn)
                .await
                .map_err(postgres::error)?;
        if done > 0 {
            continue;
        }
        conn.execute("BEGIN").await.map_err(postgres::error)?;
        let result = async {
            conn.execute(*sql).await?;
            sqlx::query(
                "INSERT INTO backline_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(version)
            .bind(*description)
            .bind(crate::now_ms())
            .execute(&mut *conn)
            .await?;
            conn.execute("COMMIT").await?;
            Ok::<(), sqlx::Error>(())
        }
        .await;
        if let Err(e) = result {
            let _ = conn.execute("ROLLBACK").await;
            return Err(migrate_error(*version, e));
        }
        applied.push(*version);
    }
    Ok(applied)
}
