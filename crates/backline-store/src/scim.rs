//! The SCIM attributes of accounts and groups an identity provider manages:
//! its `externalId`, the resource's times, and an account's deletion.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::{GroupId, UserId};

use crate::rows::{ScimGroupRow, ScimUserRow};
use crate::StoreError;

const USER_COLUMNS: &str = "user_id, external_id, created_at, updated_at, deleted_at";
const GROUP_COLUMNS: &str = "group_id, external_id, created_at, updated_at";

/// Records a change of an account by SCIM: sets its `externalId` and
/// `lastModified` (and `created`, the first time); a deleted account is
/// provisioned again.
pub async fn put_user(
    conn: &mut WriteTx,
    user_id: &UserId,
    external_id: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO scim_users (user_id, external_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $3) ON CONFLICT (user_id) DO UPDATE \
         SET external_id = excluded.external_id, updated_at = excluded.updated_at, deleted_at = NULL",
    )
    .bind(user_id)
    .bind(external_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks an account deleted by its identity provider; false if it has no SCIM row.
pub async fn delete_user(
    conn: &mut WriteTx,
    user_id: &UserId,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(crate::db::query(
        "UPDATE scim_users SET deleted_at = $2, updated_at = $2 WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

pub async fn user<E: Exec>(
    executor: E,
    user_id: &UserId,
) -> Result<Option<ScimUserRow>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM scim_users WHERE user_id = $1");
    crate::db::query_as::<ScimUserRow>(sql)
        .bind(user_id)
        .fetch_optional(executor)
        .await
}

/// The accounts with this `externalId`.
pub async fn users_by_external_id<E: Exec>(
    executor: E,
    external_id: &str,
) -> Result<Vec<ScimUserRow>, StoreError> {
    let sql =
        format!("SELECT {USER_COLUMNS} FROM scim_users WHERE external_id = $1 ORDER BY user_id");
    crate::db::query_as::<ScimUserRow>(sql)
        .bind(external_id)
        .fetch_all(executor)
        .await
}

pub async fn users<E: Exec>(executor: E) -> Result<Vec<ScimUserRow>, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM scim_users ORDER BY user_id");
    crate::db::query_as::<ScimUserRow>(sql)
        .fetch_all(executor)
        .await
}

/// Records a change of a group by SCIM (as [`put_user`]).
pub async fn put_group(
    conn: &mut WriteTx,
    group_id: &GroupId,
    external_id: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO scim_groups (group_id, external_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $3) ON CONFLICT (group_id) DO UPDATE \
         SET external_id = excluded.external_id, updated_at = excluded.updated_at",
    )
    .bind(group_id)
    .bind(external_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn group<E: Exec>(
    executor: E,
    group_id: &GroupId,
) -> Result<Option<ScimGroupRow>, StoreError> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM scim_groups WHERE group_id = $1");
    crate::db::query_as::<ScimGroupRow>(sql)
        .bind(group_id)
        .fetch_optional(executor)
        .await
}

pub async fn groups<E: Exec>(executor: E) -> Result<Vec<ScimGroupRow>, StoreError> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM scim_groups ORDER BY group_id");
    crate::db::query_as::<ScimGroupRow>(sql)
        .fetch_all(executor)
        .await
}
