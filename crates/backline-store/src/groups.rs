//! Groups of accounts, searchable in the Team Communicator.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::{GroupId, UserId};

use crate::rows::{GroupRow, GroupSettingsRow};
use crate::StoreError;

pub async fn insert(
    conn: &mut WriteTx,
    id: &GroupId,
    name: &str,
    search_key: &str,
    created_at: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO user_groups (id, name, search_key, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(name)
    .bind(search_key)
    .bind(created_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get<E: Exec>(executor: E, id: &GroupId) -> Result<Option<GroupRow>, StoreError> {
    crate::db::query_as::<GroupRow>("SELECT id, name FROM user_groups WHERE id = $1")
        .bind(id)
        .fetch_optional(executor)
        .await
}

pub async fn list<E: Exec>(executor: E) -> Result<Vec<GroupRow>, StoreError> {
    crate::db::query_as::<GroupRow>("SELECT id, name FROM user_groups ORDER BY name")
        .fetch_all(executor)
        .await
}

pub async fn search<E: Exec>(
    executor: E,
    contains: &str,
    limit: i64,
) -> Result<Vec<GroupRow>, StoreError> {
    crate::db::query_as::<GroupRow>(
        "SELECT id, name FROM user_groups WHERE search_key LIKE $1 ESCAPE '\\' ORDER BY name LIMIT $2",
    )
    .bind(contains)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// Renames a group; `Conflict` when the name is taken.
pub async fn rename(
    conn: &mut WriteTx,
    id: &GroupId,
    name: &str,
    search_key: &str,
) -> Result<bool, StoreError> {
    Ok(
        crate::db::query("UPDATE user_groups SET name = $2, search_key = $3 WHERE id = $1")
            .bind(id)
            .bind(name)
            .bind(search_key)
            .execute(conn)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Deletes a group and its memberships.
pub async fn delete(conn: &mut WriteTx, id: &GroupId) -> Result<bool, StoreError> {
    crate::db::query("DELETE FROM group_members WHERE group_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(crate::db::query("DELETE FROM user_groups WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?
        .rows_affected()
        > 0)
}

pub async fn add_member(
    conn: &mut WriteTx,
    group_id: &GroupId,
    user_id: &UserId,
) -> Result<(), StoreError> {
    add_to("group_members", conn, group_id, user_id).await
}

pub async fn remove_member(
    conn: &mut WriteTx,
    group_id: &GroupId,
    user_id: &UserId,
) -> Result<bool, StoreError> {
    remove_from("group_members", conn, group_id, user_id).await
}

/// Adds a (group, user) pair to `table` (members or supervisors) unless it is there.
async fn add_to(
    table: &str,
    conn: &mut WriteTx,
    group_id: &GroupId,
    user_id: &UserId,
) -> Result<(), StoreError> {
    crate::db::query(format!(
        "INSERT INTO {table} (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    ))
    .bind(group_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a (group, user) pair from `table`; false when it was not there.
async fn remove_from(
    table: &str,
    conn: &mut WriteTx,
    group_id: &GroupId,
    user_id: &UserId,
) -> Result<bool, StoreError> {
    Ok(crate::db::query(format!(
        "DELETE FROM {table} WHERE group_id = $1 AND user_id = $2"
    ))
    .bind(group_id)
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Member ids of a group.
pub async fn members<E: Exec>(executor: E, group_id: &GroupId) -> Result<Vec<UserId>, StoreError> {
    crate::db::query_scalar::<UserId>(
        "SELECT user_id FROM group_members WHERE group_id = $1 ORDER BY user_id",
    )
    .bind(group_id)
    .fetch_all(executor)
    .await
}

/// Every (user id, group) membership pair, for rendering many accounts at once.
pub async fn memberships<E: Exec>(
    executor: E,
) -> Result<Vec<(UserId, GroupId, String)>, StoreError> {
    crate::db::query_as::<(UserId, GroupId, String)>(
        "SELECT m.user_id, g.id, g.name FROM group_members m JOIN user_groups g ON g.id = m.group_id \
         ORDER BY g.name",
    )
    .fetch_all(executor)
    .await
}

/// The groups one account belongs to.
pub async fn of_user<E: Exec>(executor: E, user_id: &UserId) -> Result<Vec<GroupRow>, StoreError> {
    crate::db::query_as::<GroupRow>(
        "SELECT g.id, g.name FROM user_groups g JOIN group_members m ON m.group_id = g.id \
         WHERE m.user_id = $1 ORDER BY g.name",
    )
    .bind(user_id)
    .fetch_all(executor)
    .await
}

/// The groups one account supervises.
pub async fn supervised_by<E: Exec>(
    executor: E,
    user_id: &UserId,
) -> Result<Vec<GroupRow>, StoreError> {
    crate::db::query_as::<GroupRow>(
        "SELECT g.id, g.name FROM user_groups g JOIN group_supervisors s ON s.group_id = g.id \
         WHERE s.user_id = $1 ORDER BY g.name",
    )
    .bind(user_id)
    .fetch_all(executor)
    .await
}

/// A group's consultation offer settings.
pub async fn settings<E: Exec>(
    executor: E,
    id: &GroupId,
) -> Result<Option<GroupSettingsRow>, StoreError> {
    crate::db::query_as::<GroupSettingsRow>(
        "SELECT id, name, wave_size, answer_secs, overflow_group_id, escalate_secs, \
         escalate_to_supervisors FROM user_groups WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(executor)
    .await
}

/// A group's offer settings to store.
pub struct OfferSettings<'a> {
    pub wave_size: i64,
    pub answer_secs: i64,
    pub overflow_group_id: Option<&'a GroupId>,
    /// Seconds before an unanswered offer escalates; 0: no target.
    pub escalate_secs: i64,
    pub escalate_to_supervisors: bool,
}

/// Sets a group's offer settings; false when there is no such group.
pub async fn set_settings(
    conn: &mut WriteTx,
    id: &GroupId,
    settings: OfferSettings<'_>,
) -> Result<bool, StoreError> {
    Ok(crate::db::query(
        "UPDATE user_groups SET wave_size = $2, answer_secs = $3, overflow_group_id = $4, \
         escalate_secs = $5, escalate_to_supervisors = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(settings.wave_size)
    .bind(settings.answer_secs)
    .bind(settings.overflow_group_id)
    .bind(settings.escalate_secs)
    .bind(i64::from(settings.escalate_to_supervisors))
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

pub async fn add_supervisor(
    conn: &mut WriteTx,
    group_id: &GroupId,
    user_id: &UserId,
) -> Result<(), StoreError> {
    add_to("group_supervisors", conn, group_id, user_id).await
}

pub async fn remove_supervisor(
    conn: &mut WriteTx,
    group_id: &GroupId,
    user_id: &UserId,
) -> Result<bool, StoreError> {
    remove_from("group_supervisors", conn, group_id, user_id).await
}

/// Supervisor ids of a group.
pub async fn supervisors<E: Exec>(
    executor: E,
    group_id: &GroupId,
) -> Result<Vec<UserId>, StoreError> {
    crate::db::query_scalar::<UserId>(
        "SELECT user_id FROM group_supervisors WHERE group_id = $1 ORDER BY user_id",
    )
    .bind(group_id)
    .fetch_all(executor)
    .await
}

/// The supervisors of the groups `user_id` is a member of: `(supervisor,
/// group)`, whose boards show the member's status.
pub async fn supervisors_of_member<E: Exec>(
    executor: E,
    user_id: &UserId,
) -> Result<Vec<(UserId, GroupId)>, StoreError> {
    crate::db::query_as::<(UserId, GroupId)>(
        "SELECT s.user_id, s.group_id FROM group_supervisors s \
         JOIN group_members m ON m.group_id = s.group_id WHERE m.user_id = $1 \
         ORDER BY s.user_id, s.group_id",
    )
    .bind(user_id)
    .fetch_all(executor)
    .await
}

/// A group's supervisors: `(supervisor, group)`.
pub async fn supervisor_pairs<E: Exec>(
    executor: E,
    group_id: &GroupId,
) -> Result<Vec<(UserId, GroupId)>, StoreError> {
    crate::db::query_as::<(UserId, GroupId)>(
        "SELECT user_id, group_id FROM group_supervisors WHERE group_id = $1 ORDER BY user_id",
    )
    .bind(group_id)
    .fetch_all(executor)
    .await
}
