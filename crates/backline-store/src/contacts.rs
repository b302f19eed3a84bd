//! Contacts: the customers interactions are about.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::ContactId;

use crate::rows::ContactRow;
use crate::StoreError;

const COLUMNS: &str = "id, external_id, first_name, last_name, phones, emails, attributes";

/// A contact's fields; lists are JSON arrays.
pub struct ContactFields<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub phones: &'a str,
    pub emails: &'a str,
    pub attributes: &'a str,
}

pub async fn insert(
    conn: &mut WriteTx,
    id: &ContactId,
    external_id: Option<&str>,
    fields: &ContactFields<'_>,
    now: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO contacts (id, external_id, first_name, last_name, phones, emails, attributes, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(id)
    .bind(external_id)
    .bind(fields.first_name)
    .bind(fields.last_name)
    .bind(fields.phones)
    .bind(fields.emails)
    .bind(fields.attributes)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn update(
    conn: &mut WriteTx,
    id: &ContactId,
    fields: &ContactFields<'_>,
    now: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE contacts SET first_name = $2, last_name = $3, phones = $4, emails = $5, attributes = $6, \
         updated_at = $7 WHERE id = $1",
    )
    .bind(id)
    .bind(fields.first_name)
    .bind(fields.last_name)
    .bind(fields.phones)
    .bind(fields.emails)
    .bind(fields.attributes)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get<E: Exec>(executor: E, id: &ContactId) -> Result<Option<ContactRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM contacts WHERE id = $1");
    crate::db::query_as::<ContactRow>(sql)
        .bind(id)
        .fetch_optional(executor)
        .await
}

pub async fn by_external_id<E: Exec>(
    executor: E,
    external_id: &str,
) -> Result<Option<ContactRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM contacts WHERE external_id = $1");
    crate::db::query_as::<ContactRow>(sql)
        .bind(external_id)
        .fetch_optional(executor)
        .await
}
