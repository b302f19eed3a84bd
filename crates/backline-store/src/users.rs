//! Accounts: identity, credentials, roles, status, preferences and the stream head.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::UserId;

use crate::rows::UserRow;
use crate::StoreError;

/// The account's columns; its stream head as `events` defines it (the
/// greater of `stream_head` and its highest stored event).
pub(crate) const COLUMNS: &str = concat!(
    "id, username, display_name, password_hash, roles, im_permitted, disabled, \
     status, status_reason, zoom, ",
    crate::events::head_of_user!(),
    " AS stream_head"
);

/// A new account.
pub struct NewUser<'a> {
    pub id: &'a UserId,
    pub username: &'a str,
    pub display_name: &'a str,
    pub search_key: &'a str,
    pub password_hash: &'a str,
    pub roles: &'a str,
    pub im_permitted: bool,
    pub created_at: i64,
}

pub async fn insert(conn: &mut WriteTx, user: NewUser<'_>) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO users (id, username, display_name, search_key, password_hash, roles, \
         im_permitted, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user.id)
    .bind(user.username)
    .bind(user.display_name)
    .bind(user.search_key)
    .bind(user.password_hash)
    .bind(user.roles)
    .bind(user.im_permitted as i64)
    .bind(user.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get<E: Exec>(executor: E, id: &UserId) -> Result<Option<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    crate::db::query_as::<UserRow>(sql)
        .bind(id)
        .fetch_optional(executor)
        .await
}

pub async fn get_by_username<E: Exec>(
    executor: E,
    username: &str,
) -> Result<Option<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
    crate::db::query_as::<UserRow>(sql)
        .bind(username)
        .fetch_optional(executor)
        .await
}

pub async fn list<E: Exec>(executor: E) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY username");
    crate::db::query_as::<UserRow>(sql)
        .fetch_all(executor)
        .await
}

/// Enabled accounts whose chosen status is `status`.
pub async fn with_status<E: Exec>(executor: E, status: &str) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE status = $1 AND disabled = 0");
    crate::db::query_as::<UserRow>(sql)
        .bind(status)
        .fetch_all(executor)
        .await
}

/// Accounts whose folded name/username contains `pattern` (a LIKE pattern,
/// escaped with `\`), or who belong to a group whose folded name does.
/// Prefix matches of the name come first.
pub async fn search<E: Exec>(
    executor: E,
    contains: &str,
    prefix: &str,
    word_prefix: &str,
    limit: i64,
) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE disabled = 0 AND (search_key LIKE $1 ESCAPE '\\' \
         OR id IN (SELECT m.user_id FROM group_members m JOIN user_groups g ON g.id = m.group_id \
                   WHERE g.search_key LIKE $1 ESCAPE '\\')) \
         ORDER BY CASE WHEN search_key LIKE $2 ESCAPE '\\' THEN 0 \
                       WHEN search_key LIKE $3 ESCAPE '\\' THEN 1 ELSE 2 END, display_name \
         LIMIT $4"
    );
    crate::db::query_as::<UserRow>(sql)
        .bind(contains)
        .bind(prefix)
        .bind(word_prefix)
        .bind(limit)
        .fetch_all(executor)
        .await
}

pub async fn get_many<E: Exec>(executor: E, ids: &[UserId]) -> Result<Vec<UserRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE id IN ({})",
        crate::placeholders(ids.len())
    );
    let mut query = crate::db::query_as::<UserRow>(sql);
    for id in ids {
        query = query.bind(id.as_str());
    }
    query.fetch_all(executor).await
}

pub async fn set_profile(
    conn: &mut WriteTx,
    id: &UserId,
    display_name: &str,
    search_key: &str,
) -> Result<(), StoreError> {
    affected(
        crate::db::query("UPDATE users SET display_name = $2, search_key = $3 WHERE id = $1")
            .bind(id)
            .bind(display_name)
            .bind(search_key)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

pub async fn set_password(conn: &mut WriteTx, id: &UserId, hash: &str) -> Result<(), StoreError> {
    affected(
        crate::db::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(id)
            .bind(hash)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

pub async fn set_roles(conn: &mut WriteTx, id: &UserId, roles: &str) -> Result<(), StoreError> {
    affected(
        crate::db::query("UPDATE users SET roles = $2 WHERE id = $1")
            .bind(id)
            .bind(roles)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

pub async fn set_im_permitted(
    conn: &mut WriteTx,
    id: &UserId,
    value: bool,
) -> Result<(), StoreError> {
    affected(
        crate::db::query("UPDATE users SET im_permitted = $2 WHERE id = $1")
            .bind(id)
            .bind(value as i64)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

pub async fn set_disabled(conn: &mut WriteTx, id: &UserId, value: bool) -> Result<(), StoreError> {
    affected(
        crate::db::query("UPDATE users SET disabled = $2 WHERE id = $1")
            .bind(id)
            .bind(value as i64)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

pub async fn set_status(
    conn: &mut WriteTx,
    id: &UserId,
    status: &str,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    affected(
        // A status chosen during a call is the one that stays after it.
        crate::db::query("UPDATE users SET status = $2, status_reason = $3, status_before_call = NULL WHERE id = $1")
            .bind(id)
            .bind(status)
            .bind(reason)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

pub async fn set_zoom(conn: &mut WriteTx, id: &UserId, zoom: i64) -> Result<(), StoreError> {
    affected(
        crate::db::query("UPDATE users SET zoom = $2 WHERE id = $1")
            .bind(id)
            .bind(zoom)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Not Ready reasons, in display order.
pub async fn reasons<E: Exec>(executor: E) -> Result<Vec<crate::rows::ReasonRow>, StoreError> {
    crate::db::query_as::<crate::rows::ReasonRow>(
        "SELECT code, label FROM status_reasons ORDER BY position, code",
    )
    .fetch_all(executor)
    .await
}

pub async fn insert_reason(conn: &mut WriteTx, code: &str, label: &str) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO status_reasons (code, label, position) \
         VALUES ($1, $2, (SELECT COUNT(*) FROM status_reasons))",
    )
    .bind(code)
    .bind(label)
    .execute(conn)
    .await?;
    Ok(())
}

fn affected(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound("user"))
    } else {
        Ok(())
    }
}

/// Marks an agent Busy for a call, keeping the status chosen before (once).
pub async fn enter_call_busy(conn: &mut WriteTx, id: &UserId) -> Result<bool, StoreError> {
    Ok(crate::db::query(
        "UPDATE users SET status_before_call = status || '|' || COALESCE(status_reason, ''), \
         status = 'busy', status_reason = NULL WHERE id = $1 AND status_before_call IS NULL",
    )
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Restores the status an agent had before their calls; false when not in call-Busy.
pub async fn leave_call_busy(conn: &mut WriteTx, id: &UserId) -> Result<bool, StoreError> {
    let before: Option<Option<String>> = crate::db::query_scalar::<Option<String>>(
        "SELECT status_before_call FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(Some(before)) = before else {
        return Ok(false);
    };
    let (status, reason) = before.split_once('|').unwrap_or((before.as_str(), ""));
    crate::db::query(
        "UPDATE users SET status = $2, status_reason = $3, status_before_call = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind((!reason.is_empty()).then_some(reason))
    .execute(conn)
    .await?;
    Ok(true)
}
