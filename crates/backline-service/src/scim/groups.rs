//! `/Groups`: groups as SCIM resources, their members through the groups model.

use backline_store::rows::{GroupRow, ScimGroupRow};
use backline_store::{audit, groups, now_ms, scim, users, GroupId, StoreError, UserId, WriteTx};
use serde_json::{json, Value};

use super::{
    attr, filter, list_response, meta, patch_operations, string, ListQuery, ScimError, ScimResult,
    GROUP_SCHEMA,
};
use crate::error::{err, ServiceError};
use crate::input::single_line_name;
use crate::interactions::Integration;
use crate::text::fold;
use crate::Backline;

fn group_resource(
    base: &str,
    group: &GroupRow,
    scim_row: Option<&ScimGroupRow>,
    members: Option<&[(String, String)]>,
) -> Value {
    let mut resource = json!({
        "schemas": [GROUP_SCHEMA],
        "id": group.id,
        "displayName": group.name,
        "meta": meta(
            "Group",
            format!("{base}/Groups/{}", group.id),
            scim_row.map(|s| (s.created_at, s.updated_at)),
        ),
    });
    if let Some(members) = members {
        resource["members"] = members
            .iter()
            .map(|(id, username)| {
                json!({"value": id, "display": username, "$ref": format!("{base}/Users/{id}")})
            })
            .collect();
    }
    if let Some(external_id) = scim_row.and_then(|s| s.external_id.as_deref()) {
        resource["externalId"] = json!(external_id);
    }
    resource
}

/// The user ids of a `members` value: `[{"value": "<id>"}, …]`.
fn member_ids(value: &Value) -> ScimResult<Vec<String>> {
    let list = match value {
        Value::Array(list) => list.as_slice(),
        Value::Object(_) => std::slice::from_ref(value),
        _ => {
            return Err(ScimError::invalid_value(
                "members: a list of {\"value\": \"<user id>\"}",
            ))
        }
    };
    list.iter()
        .map(|member| {
            attr(member, "value")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| ScimError::invalid_value("members: each needs a \"value\""))
        })
        .collect()
}

/// `members[value eq "<id>"]` → the id.
fn member_path(path: &str) -> ScimResult<Option<String>> {
    let lower = path.to_ascii_lowercase();
    if lower == "members" {
        return Ok(None);
    }
    let inner = lower
        .strip_prefix("members[")
        .and_then(|_| path.get(8..path.len().saturating_sub(1)))
        .filter(|_| path.ends_with(']'))
        .ok_or_else(|| ScimError::new(400, Some("invalidPath"), format!("path {path:?}")))?;
    match filter::parse(inner)?.as_slice() {
        [c] if c.attr == "value" => Ok(Some(c.value.clone())),
        _ => Err(ScimError::new(
            400,
            Some("invalidFilter"),
            format!("path {path:?}: only members[value eq \"<id>\"]"),
        )),
    }
}

/// The changes one request makes to a group, applied in one write.
#[derive(Default)]
struct GroupChange {
    name: Option<String>,
    external_id: Option<Option<String>>,
    /// Replace every member with these.
    set_members: Option<Vec<String>>,
    add: Vec<String>,
    remove: Vec<String>,
    remove_all: bool,
}

impl GroupChange {
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(name) = &self.name {
            parts.push(format!("displayName={name:?}"));
        }
        if let Some(members) = &self.set_members {
            parts.push(format!("members={members:?}"));
        }
        if self.remove_all {
            parts.push("removed every member".into());
        }
        if !self.add.is_empty() {
            parts.push(format!("added {:?}", self.add));
        }
        if !self.remove.is_empty() {
            parts.push(format!("removed {:?}", self.remove));
        }
        if parts.is_empty() {
            "no change".into()
        } else {
            parts.join(", ")
        }
    }

    fn apply_attribute(&mut self, op: &str, path: &str, value: &Value) -> ScimResult<()> {
        let lower = path.to_ascii_lowercase();
        if lower == "displayname" {
            if op == "remove" {
                return Err(ScimError::new(
                    400,
                    Some("mutability"),
                    "displayName cannot be removed",
                ));
            }
            self.name = Some(string("displayName", value)?.to_owned());
        } else if lower == "externalid" {
            self.external_id = Some(match op {
                "remove" => None,
                _ => Some(string("externalId", value)?.to_owned()),
            });
        } else if lower == "members" || lower.starts_with("members[") {
            let one = member_path(path)?;
            match (op, one) {
                ("remove", Some(id)) => self.remove.push(id),
                ("remove", None) if value.is_null() => self.remove_all = true,
                ("remove", None) => self.remove.extend(member_ids(value)?),
                ("add", None) => self.add.extend(member_ids(value)?),
                ("replace", None) => {
                    self.set_members = Some(member_ids(value)?);
                    self.add.clear();
                    self.remove.clear();
                }
                _ => {
                    return Err(ScimError::new(
                        400,
                        Some("invalidPath"),
                        format!("{op} {path:?}: add and replace take the path \"members\""),
                    ))
                }
            }
        }
        // `id` and attributes Backline does not keep are ignored.
        Ok(())
    }
}

fn audit_entry(
    integration: &Integration,
    action: &'static str,
    group_id: &GroupId,
    detail: String,
) -> (String, &'static str, String, String) {
    (
        format!("integration:{}", integration.id),
        action,
        format!("group:{group_id}"),
        format!("by integration {:?}: {detail}", integration.name),
    )
}

async fn write_audit(
    conn: &mut WriteTx,
    entry: &(String, &'static str, String, String),
    now: i64,
) -> Result<(), StoreError> {
    audit::insert(
        conn,
        audit::NewAudit {
            id: &uuid::Uuid::now_v7().to_string(),
            ts: now,
            actor_id: &entry.0,
            action: entry.1,
            resource: &entry.2,
            allowed: true,
            detail: &entry.3,
        },
    )
    .await
}

/// Applies `change` to group `id` inside a write: a rename, the members
/// (each must be an account), the SCIM row and the audit entry.
async fn apply(
    conn: &mut WriteTx,
    id: &GroupId,
    change: &GroupChange,
    external_id: Option<&str>,
    entry: &(String, &'static str, String, String),
) -> crate::error::Result<()> {
    let now = now_ms();
    if let Some(name) = &change.name {
        match groups::rename(conn, id, name, &fold(name)).await {
            Err(StoreError::Conflict(_)) => {
                return Err(err(
                    backline_protocol::ErrorCode::AlreadyExists,
                    format!("group {name:?} exists"),
                ))
            }
            other => other?,
        };
    }
    if change.remove_all || change.set_members.is_some() {
        for member in groups::members(&mut *conn, id).await? {
            groups::remove_member(conn, id, &member).await?;
        }
    }
    for member in change.set_members.iter().flatten().chain(&change.add) {
        let member = &UserId::from(member.clone());
        if users::get(&mut *conn, member).await?.is_none() {
            return Err(err(
                backline_protocol::ErrorCode::InvalidRequest,
                format!("members: no account {member:?}"),
            ));
        }
        groups::add_member(conn, id, member).await?;
    }
    for member in &change.remove {
        groups::remove_member(conn, id, &UserId::from(member.clone())).await?;
    }
    scim::put_group(conn, id, external_id, now).await?;
    write_audit(conn, entry, now).await?;
    Ok(())
}

impl Backline {
    async fn scim_find_group(&self, id: &str) -> ScimResult<(GroupRow, Option<ScimGroupRow>)> {
        let group_id = GroupId::from(id.to_owned());
        let group = groups::get(self.store().reader(), &group_id)
            .await?
            .ok_or_else(|| ScimError::not_found("Group", id))?;
        let scim_row = scim::group(self.store().reader(), &group_id).await?;
        Ok((group, scim_row))
    }

    /// Members as `(id, username)`.
    async fn scim_members(&self, group_id: &GroupId) -> ScimResult<Vec<(String, String)>> {
        let ids = groups::members(self.store().reader(), group_id).await?;
        let rows = users::get_many(self.store().reader(), &ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.id.into_string(), r.username))
            .collect())
    }

    /// `GET /Groups/{id}`.
    pub async fn scim_get_group(&self, base: &str, id: &str) -> ScimResult<Value> {
        let (group, scim_row) = self.scim_find_group(id).await?;
        let members = self.scim_members(&group.id).await?;
        Ok(group_resource(
            base,
            &group,
            scim_row.as_ref(),
            Some(&members),
        ))
    }

    /// `GET /Groups`, filtered by `displayName`, `externalId` or `id`;
    /// `excludedAttributes=members` leaves the members out.
    pub async fn scim_list_groups(&self, base: &str, query: &ListQuery) -> ScimResult<Value> {
        let comparisons = match query.filter.as_deref() {
            Some(text) => filter::parse(text)?,
            None => Vec::new(),
        };
        if let Some(c) = comparisons
            .iter()
            .find(|c| !matches!(c.attr.as_str(), "displayname" | "externalid" | "id"))
        {
            return Err(ScimError::new(
                400,
                Some("invalidFilter"),
                format!(
                    "cannot filter Groups by {:?}: displayName, externalId or id",
                    c.attr
                ),
            ));
        }
        let with_members = !query
            .excluded_attributes
            .as_deref()
            .unwrap_or("")
            .split(',')
            .any(|a| a.trim().eq_ignore_ascii_case("members"));
        let scim_rows = scim::groups(self.store().reader()).await?;
        let mut resources = Vec::new();
        for group in groups::list(self.store().reader()).await? {
            let scim_row = scim_rows.iter().find(|s| s.group_id == group.id);
            let matches = comparisons.iter().all(|c| match c.attr.as_str() {
                "displayname" => group.name.eq_ignore_ascii_case(&c.value),
                "externalid" => {
                    scim_row.and_then(|s| s.external_id.as_deref()) == Some(c.value.as_str())
                }
                _ => group.id.as_str() == c.value,
            });
            if !matches {
                continue;
            }
            let members = if with_members {
                Some(self.scim_members(&group.id).await?)
            } else {
                None
            };
            resources.push(group_resource(base, &group, scim_row, members.as_deref()));
        }
        Ok(list_response(resources, query))
    }

    /// `POST /Groups`: a group with its members; a taken name is `409 uniqueness`.
    pub async fn scim_create_group(
        &self,
        integration: &Integration,
        base: &str,
        body: &Value,
    ) -> ScimResult<Value> {
        let name = attr(body, "displayName")
            .ok_or_else(|| ScimError::invalid_value("displayName is required"))
            .and_then(|v| string("displayName", v))?;
        let name = single_line_name("displayName", name, 100, false)?;
        let external_id = attr(body, "externalId")
            .map(|v| string("externalId", v).map(str::to_owned))
            .transpose()?;
        let change = GroupChange {
            add: match attr(body, "members") {
                Some(members) => member_ids(members)?,
                None => Vec::new(),
            },
            ..Default::default()
        };
        let id = GroupId::from(uuid::Uuid::now_v7().to_string());
        let entry = audit_entry(
            integration,
            "scim.group.create",
            &id,
            format!("displayName={name:?}, {}", change.describe()),
        );
        let group_id = id.clone();
        self.commit(move |conn| {
            Box::pin(async move {
                match groups::insert(conn, &group_id, &name, &fold(&name), now_ms()).await {
                    Err(StoreError::Conflict(_)) => {
                        return Err(err(
                            backline_protocol::ErrorCode::AlreadyExists,
                            format!("group {name:?} exists"),
                        ))
                    }
                    other => other?,
                }
                apply(conn, &group_id, &change, external_id.as_deref(), &entry).await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        self.scim_get_group(base, id.as_str()).await
    }

    /// `PATCH /Groups/{id}`: members added and removed (Okta's
    /// `members[value eq "…"]` and Entra's value lists), `displayName`
    /// replaced; in one write.
    pub async fn scim_patch_group(
        &self,
        integration: &Integration,
        id: &str,
        body: &Value,
    ) -> ScimResult<()> {
        let (group, scim_row) = self.scim_find_group(id).await?;
        let mut change = GroupChange::default();
        for (op, path, value) in patch_operations(body)? {
            match path {
                Some(path) => change.apply_attribute(&op, &path, &value)?,
                None => {
                    for (key, value) in value.as_object().into_iter().flatten() {
                        change.apply_attribute(&op, key, value)?;
                    }
                }
            }
        }
        if let Some(name) = &change.name {
            change.name = Some(single_line_name("displayName", name, 100, false)?);
        }
        let external_id = match &change.external_id {
            Some(external) => external.clone(),
            None => scim_row.and_then(|s| s.external_id),
        };
        let entry = audit_entry(
            integration,
            "scim.group.patch",
            &group.id,
            change.describe(),
        );
        self.commit(move |conn| {
            Box::pin(async move {
                apply(conn, &group.id, &change, external_id.as_deref(), &entry).await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        Ok(())
    }

    /// `DELETE /Groups/{id}`: the group and its memberships (not the accounts).
    pub async fn scim_delete_group(&self, integration: &Integration, id: &str) -> ScimResult<()> {
        let (group, _) = self.scim_find_group(id).await?;
        let entry = audit_entry(
            integration,
            "scim.group.delete",
            &group.id,
            format!("displayName={:?}", group.name),
        );
        self.commit(move |conn| {
            Box::pin(async move {
                groups::delete(conn, &group.id).await?;
                write_audit(conn, &entry, now_ms()).await?;
                Ok(((), Vec::new()))
            })
        })
        .await
        .map_err(|e: ServiceError| e.into())
    }
}
