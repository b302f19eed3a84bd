//! `/Users`: accounts as SCIM resources.

use backline_protocol::admin::UpdateUserRequest;
use backline_store::rows::{GroupRow, ScimUserRow, UserRow};
use backline_store::{groups, scim, users, UserId};
use serde_json::{json, Value};

use super::{
    attr, boolean, filter, list_response, meta, patch_operations, string, ListQuery, ScimError,
    ScimResult, USER_SCHEMA,
};
use crate::accounts::{ChangedBy, Provisioned};
use crate::interactions::Integration;
use crate::Backline;

fn user_resource(
    base: &str,
    row: &UserRow,
    scim_row: Option<&ScimUserRow>,
    groups: &[GroupRow],
) -> Value {
    let mut resource = json!({
        "schemas": [USER_SCHEMA],
        "id": row.id,
        "userName": row.username,
        "displayName": row.display_name,
        "name": {"formatted": row.display_name},
        "active": row.disabled == 0,
        "groups": groups.iter().map(|g| json!({
            "value": g.id,
            "display": g.name,
            "$ref": format!("{base}/Groups/{}", g.id),
        })).collect::<Vec<_>>(),
        "meta": meta(
            "User",
            format!("{base}/Users/{}", row.id),
            scim_row.map(|s| (s.created_at, s.updated_at)),
        ),
    });
    if let Some(external_id) = scim_row.and_then(|s| s.external_id.as_deref()) {
        resource["externalId"] = json!(external_id);
    }
    resource
}

/// What a create or a full replace (PUT) asks for.
struct UserInput {
    username: String,
    display_name: String,
    active: bool,
    external_id: Option<String>,
    password: Option<String>,
}

fn external_id(value: Option<&Value>) -> ScimResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(value) => {
            let text = string("externalId", value)?;
            if text.len() > 256 {
                return Err(ScimError::invalid_value("externalId: at most 256 bytes"));
            }
            Ok(Some(text.to_owned()))
        }
    }
}

/// The display name a user resource carries: `displayName`, `name.formatted`,
/// `name.givenName name.familyName`, or else the user name.
fn display_name(body: &Value, username: &str) -> ScimResult<String> {
    if let Some(value) = attr(body, "displayName") {
        return Ok(string("displayName", value)?.to_owned());
    }
    if let Some(name) = attr(body, "name") {
        if let Some(value) = attr(name, "formatted") {
            return Ok(string("name.formatted", value)?.to_owned());
        }
        let parts: Vec<&str> = ["givenName", "familyName"]
            .iter()
            .filter_map(|key| attr(name, key).and_then(Value::as_str))
            .filter(|s| !s.trim().is_empty())
            .collect();
        if !parts.is_empty() {
            return Ok(parts.join(" "));
        }
    }
    Ok(username.to_owned())
}

fn user_input(body: &Value) -> ScimResult<UserInput> {
    let username = attr(body, "userName")
        .ok_or_else(|| ScimError::invalid_value("userName is required"))
        .and_then(|v| string("userName", v))?
        .trim()
        .to_lowercase();
    Ok(UserInput {
        display_name: display_name(body, &username)?,
        active: attr(body, "active")
            .map(|v| boolean("active", v))
            .transpose()?
            .unwrap_or(true),
        external_id: external_id(attr(body, "externalId"))?,
        password: attr(body, "password")
            .map(|v| string("password", v).map(str::to_owned))
            .transpose()?,
        username,
    })
}

/// A username is not changed through SCIM (`mutability`): it is how the
/// account signs in and how the identity provider finds it.
fn same_username(row: &UserRow, username: &str) -> ScimResult<()> {
    if username.trim().eq_ignore_ascii_case(&row.username) {
        Ok(())
    } else {
        Err(ScimError::new(
            400,
            Some("mutability"),
            format!(
                "userName cannot change (it is {:?}): create a new account",
                row.username
            ),
        ))
    }
}

fn provisioned(
    integration: &Integration,
    action: &'static str,
    detail: String,
    external_id: Option<String>,
) -> Provisioned {
    Provisioned {
        actor: format!("integration:{}", integration.id),
        action,
        detail: format!("by integration {:?}: {detail}", integration.name),
        external_id,
        deleted: false,
    }
}

/// What a change sets, for the audit entry (never the password).
fn describe(request: &UpdateUserRequest, external: &Option<String>) -> String {
    let mut parts = Vec::new();
    if let Some(name) = &request.display_name {
        parts.push(format!("displayName={name:?}"));
    }
    if let Some(disabled) = request.disabled {
        parts.push(format!("active={}", !disabled));
    }
    if request.password.is_some() {
        parts.push("password".into());
    }
    if let Some(external) = external {
        parts.push(format!("externalId={external:?}"));
    }
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join(", ")
    }
}

impl Backline {
    /// An account not deleted by its identity provider, with its SCIM row.
    async fn scim_find_user(&self, id: &str) -> ScimResult<(UserRow, Option<ScimUserRow>)> {
        let reader = self.store().reader();
        let user_id = UserId::from(id.to_owned());
        let row = users::get(reader, &user_id)
            .await?
            .ok_or_else(|| ScimError::not_found("User", id))?;
        let scim_row = scim::user(self.store().reader(), &user_id).await?;
        if scim_row.as_ref().is_some_and(|s| s.deleted_at.is_some()) {
            return Err(ScimError::not_found("User", id));
        }
        Ok((row, scim_row))
    }

    async fn scim_user_resource(&self, base: &str, id: &str) -> ScimResult<Value> {
        let (row, scim_row) = self.scim_find_user(id).await?;
        let groups = groups::of_user(self.store().reader(), &row.id).await?;
        Ok(user_resource(base, &row, scim_row.as_ref(), &groups))
    }

    /// `GET /Users/{id}`.
    pub async fn scim_get_user(&self, base: &str, id: &str) -> ScimResult<Value> {
        self.scim_user_resource(base, id).await
    }

    /// `GET /Users`: every account not deleted by SCIM, in username order,
    /// filtered by `userName`, `externalId`, `id`, `displayName` or `active`.
    pub async fn scim_list_users(&self, base: &str, query: &ListQuery) -> ScimResult<Value> {
        let comparisons = match query.filter.as_deref() {
            Some(text) => filter::parse(text)?,
            None => Vec::new(),
        };
        for c in &comparisons {
            if !matches!(
                c.attr.as_str(),
                "username" | "externalid" | "id" | "displayname" | "active"
            ) {
                return Err(ScimError::new(
                    400,
                    Some("invalidFilter"),
                    format!(
                        "cannot filter Users by {:?}: userName, externalId, id, displayName or active",
                        c.attr
                    ),
                ));
            }
        }
        let rows = users::list(self.store().reader()).await?;
        let scim_rows = scim::users(self.store().reader()).await?;
        let memberships = groups::memberships(self.store().reader()).await?;
        let scim_of = |id: &UserId| scim_rows.iter().find(|s| &s.user_id == id);
        let mut resources = Vec::new();
        for row in &rows {
            let scim_row = scim_of(&row.id);
            if scim_row.is_some_and(|s| s.deleted_at.is_some()) {
                continue;
            }
            let matches = comparisons.iter().all(|c| match c.attr.as_str() {
                "username" => row.username.eq_ignore_ascii_case(&c.value),
                "externalid" => {
                    scim_row.and_then(|s| s.external_id.as_deref()) == Some(c.value.as_str())
                }
                "id" => row.id.as_str() == c.value,
                "displayname" => row.display_name == c.value,
                _ => (row.disabled == 0).to_string() == c.value,
            });
            if !matches {
                continue;
            }
            let groups: Vec<GroupRow> = memberships
                .iter()
                .filter(|(user, _, _)| *user == row.id)
                .map(|(_, id, name)| GroupRow {
                    id: id.clone(),
                    name: name.clone(),
                })
                .collect();
            resources.push(user_resource(base, row, scim_row, &groups));
        }
        Ok(list_response(resources, query))
    }

    /// `POST /Users`: an agent; without a password it has none (password
    /// sign-in is refused as a wrong password is, until an administrator sets one).
    /// A taken userName is `409 uniqueness`.
    pub async fn scim_create_user(
        &self,
        integration: &Integration,
        base: &str,
        body: &Value,
    ) -> ScimResult<Value> {
        let input = user_input(body)?;
        let detail = format!(
            "userName={:?}, displayName={:?}, active={}",
            input.username, input.display_name, input.active
        );
        let created = self
            .create_account(
                &input.username,
                &input.display_name,
                input.password,
                Vec::new(),
                true,
                ChangedBy::Provisioned(provisioned(
                    integration,
                    "scim.user.create",
                    detail,
                    input.external_id.clone(),
                )),
            )
            .await?;
        if !input.active {
            let request = UpdateUserRequest {
                disabled: Some(true),
                ..Default::default()
            };
            self.update_account(
                &created.id,
                request,
                ChangedBy::Provisioned(provisioned(
                    integration,
                    "scim.user.update",
                    "active=false".into(),
                    input.external_id,
                )),
            )
            .await?;
        }
        self.scim_user_resource(base, &created.id).await
    }

    /// `PUT /Users/{id}`: replaces the attributes Backline keeps.
    pub async fn scim_replace_user(
        &self,
        integration: &Integration,
        base: &str,
        id: &str,
        body: &Value,
    ) -> ScimResult<Value> {
        let (row, _) = self.scim_find_user(id).await?;
        let input = user_input(body)?;
        same_username(&row, &input.username)?;
        let request = UpdateUserRequest {
            display_name: Some(input.display_name),
            password: input.password,
            disabled: Some(!input.active),
            ..Default::default()
        };
        let detail = describe(&request, &input.external_id);
        self.update_account(
            row.id.as_str(),
            request,
            ChangedBy::Provisioned(provisioned(
                integration,
                "scim.user.replace",
                detail,
                input.external_id,
            )),
        )
        .await?;
        self.scim_user_resource(base, row.id.as_str()).await
    }

    /// `PATCH /Users/{id}`: `add`, `replace` and `remove` of `active`,
    /// `displayName`, `name.formatted`, `externalId` and `password`, with a
    /// path or as one object (`{"op":"replace","value":{"active":false}}`).
    /// Attributes Backline does not keep (emails, titles …) are ignored.
    pub async fn scim_patch_user(
        &self,
        integration: &Integration,
        base: &str,
        id: &str,
        body: &Value,
    ) -> ScimResult<Value> {
        let (row, scim_row) = self.scim_find_user(id).await?;
        let mut request = UpdateUserRequest::default();
        let mut external = scim_row.and_then(|s| s.external_id);
        let mut changes: Vec<(String, String, Value)> = Vec::new();
        for (op, path, value) in patch_operations(body)? {
            match path {
                Some(path) => changes.push((op, path, value)),
                None => {
                    for (key, value) in value.as_object().into_iter().flatten() {
                        changes.push((op.clone(), key.clone(), value.clone()));
                    }
                }
            }
        }
        for (op, path, value) in changes {
            let remove = op == "remove";
            match path.to_ascii_lowercase().as_str() {
                "active" if !remove => request.disabled = Some(!boolean("active", &value)?),
                "displayname" | "name.formatted" if !remove => {
                    request.display_name = Some(string(&path, &value)?.to_owned());
                }
                "name" if !remove => {
                    if let Some(formatted) = attr(&value, "formatted") {
                        request.display_name =
                            Some(string("name.formatted", formatted)?.to_owned());
                    }
                }
                "externalid" => {
                    external = if remove {
                        None
                    } else {
                        external_id(Some(&value))?
                    };
                }
                "password" if !remove => {
                    request.password = Some(string("password", &value)?.to_owned())
                }
                "username" if !remove => same_username(&row, string("userName", &value)?)?,
                "active" | "displayname" | "name.formatted" | "name" | "password" | "username" => {
                    return Err(ScimError::new(
                        400,
                        Some("mutability"),
                        format!("{path} cannot be removed"),
                    ));
                }
                _ => {}
            }
        }
        let detail = describe(&request, &external);
        self.update_account(
            row.id.as_str(),
            request,
            ChangedBy::Provisioned(provisioned(
                integration,
                "scim.user.patch",
                detail,
                external,
            )),
        )
        .await?;
        self.scim_user_resource(base, row.id.as_str()).await
    }

    /// `DELETE /Users/{id}`: the account is disabled (its tokens revoked, its
    /// sockets closed) and hidden from SCIM; it stays for the history it is
    /// part of, and its username stays taken.
    pub async fn scim_delete_user(&self, integration: &Integration, id: &str) -> ScimResult<()> {
        let (row, scim_row) = self.scim_find_user(id).await?;
        let mut provisioned = provisioned(
            integration,
            "scim.user.delete",
            format!("userName={:?}", row.username),
            scim_row.and_then(|s| s.external_id),
        );
        provisioned.deleted = true;
        let request = UpdateUserRequest {
            disabled: Some(true),
            ..Default::default()
        };
        self.update_account(
            row.id.as_str(),
            request,
            ChangedBy::Provisioned(provisioned),
        )
        .await?;
        Ok(())
    }
}
