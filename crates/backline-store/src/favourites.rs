//! Per-user favourite targets (accounts or groups).

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::UserId;

use crate::StoreError;

pub async fn add(
    conn: &mut WriteTx,
    user_id: &UserId,
    target_id: &str,
    at: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO favourites (user_id, target_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(target_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn remove(
    conn: &mut WriteTx,
    user_id: &UserId,
    target_id: &str,
) -> Result<(), StoreError> {
    crate::db::query("DELETE FROM favourites WHERE user_id = $1 AND target_id = $2")
        .bind(user_id)
        .bind(target_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn list<E: Exec>(executor: E, user_id: &UserId) -> Result<Vec<String>, StoreError> {
    crate::db::query_scalar::<String>(
        "SELECT target_id FROM favourites WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(user_id)
    .fetch_all(executor)
    .await
}
