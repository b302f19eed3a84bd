//! Provisioning with SCIM 2.0 (RFC 7643 and 7644): the subset identity
//! providers (Entra ID, Okta) send, over the existing accounts and groups.
//!
//! `users.rs` and `groups.rs` hold the use cases, `filter.rs` the filter
//! subset, this module the error form, the list answer, and the discovery
//! documents. Every change writes an audit entry whose actor is the
//! integration (`integration:<id>`); disabling or deleting an account goes
//! through [`Backline::update_account`](crate::Backline), which signs it out
//! everywhere. SCIM `roles` and `entitlements` are not mapped: the identity
//! provider creates agents, and roles stay an administrator's decision.

pub mod filter;
mod groups;
mod users;

use backline_protocol::ErrorCode;
use serde_json::{json, Value};

use crate::error::ServiceError;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The most resources one list answer holds (`count` is capped to it).
pub const MAX_PAGE: usize = 200;
/// The most operations one PATCH carries.
pub const MAX_OPERATIONS: usize = 1000;

/// A SCIM error: its HTTP status, `scimType` and detail (RFC 7644 3.12).
#[derive(Debug, Clone)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::new(400, Some("invalidValue"), detail)
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        ScimError::new(404, None, format!("no {what} {id:?}"))
    }

    /// The body, `application/scim+json`.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        body
    }
}

impl From<ServiceError> for ScimError {
    fn from(error: ServiceError) -> Self {
        let code = error.code();
        let detail = error.public_message();
        match code {
            ErrorCode::AlreadyExists => ScimError::new(409, Some("uniqueness"), detail),
            ErrorCode::InvalidRequest | ErrorCode::MalformedRequest => {
                ScimError::invalid_value(detail)
            }
            ErrorCode::UserNotFound | ErrorCode::GroupNotFound | ErrorCode::NotFound => {
                ScimError::new(404, None, detail)
            }
            _ => ScimError::new(code.http_status(), None, detail),
        }
    }
}

impl From<backline_store::StoreError> for ScimError {
    fn from(error: backline_store::StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

pub type ScimResult<T> = std::result::Result<T, ScimError>;

/// `startIndex` (1-based) and `count` of a list request, and its filter.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Option<String>,
    pub start_index: Option<i64>,
    pub count: Option<i64>,
    /// `excludedAttributes` (only `members` of groups is honoured).
    pub excluded_attributes: Option<String>,
}

/// The `ListResponse` of one page of `resources`.
pub(crate) fn list_response(resources: Vec<Value>, query: &ListQuery) -> Value {
    let total = resources.len();
    let start = query.start_index.unwrap_or(1).max(1) as usize;
    let count = query
        .count
        .unwrap_or(MAX_PAGE as i64)
        .clamp(0, MAX_PAGE as i64) as usize;
    let page: Vec<Value> = resources.into_iter().skip(start - 1).take(count).collect();
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": page.len(),
        "Resources": page,
    })
}

/// RFC 3339 in UTC, from unix milliseconds.
pub(crate) fn timestamp(ms: i64) -> String {
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `meta`: `created` and `lastModified` when known, and a weak `version`.
pub(crate) fn meta(resource_type: &str, location: String, times: Option<(i64, i64)>) -> Value {
    let mut meta = json!({"resourceType": resource_type, "location": location});
    if let Some((created, modified)) = times {
        meta["created"] = json!(timestamp(created));
        meta["lastModified"] = json!(timestamp(modified));
        meta["version"] = json!(format!("W/\"{modified}\""));
    }
    meta
}

/// A boolean as identity providers send it: `true`, or Entra's `"True"`.
pub(crate) fn boolean(name: &str, value: &Value) -> ScimResult<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid_value(format!(
            "{name}: true or false, not {value}"
        ))),
    }
}

/// A string attribute, or `invalidValue`.
pub(crate) fn string<'a>(name: &str, value: &'a Value) -> ScimResult<&'a str> {
    value
        .as_str()
        .ok_or_else(|| ScimError::invalid_value(format!("{name}: a string, not {value}")))
}

/// An attribute of an object by name, ignoring case (SCIM names are case-insensitive).
pub(crate) fn attr<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
        .filter(|value| !value.is_null())
}

/// A PATCH request's operations: `(op, path, value)`, `op` in lower case.
pub(crate) fn patch_operations(body: &Value) -> ScimResult<Vec<(String, Option<String>, Value)>> {
    let operations = attr(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ScimError::new(400, Some("invalidSyntax"), "a PatchOp with \"Operations\"")
        })?;
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::new(
            400,
            Some("tooMany"),
            format!("at most {MAX_OPERATIONS} operations"),
        ));
    }
    operations
        .iter()
        .map(|operation| {
            let op = attr(operation, "op")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .filter(|op| matches!(op.as_str(), "add" | "replace" | "remove"))
                .ok_or_else(|| {
                    ScimError::new(
                        400,
                        Some("invalidSyntax"),
                        format!("op: add, replace or remove, in {operation}"),
                    )
                })?;
            let path = match attr(operation, "path") {
                None => None,
                Some(path) => Some(
                    path.as_str()
                        .ok_or_else(|| ScimError::new(400, Some("invalidPath"), "path: a string"))?
                        .trim()
                        .to_owned(),
                ),
            };
            let value = attr(operation, "value").cloned().unwrap_or(Value::Null);
            if path.is_none() && op != "remove" && !value.is_object() {
                return Err(ScimError::new(
                    400,
                    Some("invalidSyntax"),
                    "an operation without a path takes an object value",
                ));
            }
            if path.is_none() && op == "remove" {
                return Err(ScimError::new(400, Some("noTarget"), "remove needs a path"));
            }
            Ok((op, path, value))
        })
        .collect()
}

/// `/ServiceProviderConfig`.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_PAGE},
        "changePassword": {"supported": true},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Integration token",
            "description": "Authorization: Bearer bli_…, of an integration with the scim scope",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}

/// `/ResourceTypes`.
pub fn resource_types(base: &str) -> Value {
    let types = vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User", "name": "User", "endpoint": "/Users", "schema": USER_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group", "name": "Group", "endpoint": "/Groups", "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ];
    list_response(types, &ListQuery::default())
}

fn attribute(name: &str, kind: &str, required: bool, mutability: &str, uniqueness: &str) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": false, "required": required,
        "caseExact": false, "mutability": mutability, "returned": "default",
        "uniqueness": uniqueness,
    })
}

/// `/Schemas`: the attributes Backline keeps.
pub fn schemas(base: &str) -> Value {
    let members = json!({
        "name": "members", "type": "complex", "multiValued": true, "required": false,
        "mutability": "readWrite", "returned": "default",
        "subAttributes": [attribute("value", "string", false, "immutable", "none"),
                          attribute("display", "string", false, "readOnly", "none")],
    });
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA, "name": "User", "description": "An account",
        "attributes": [
            attribute("userName", "string", true, "readWrite", "server"),
            attribute("displayName", "string", false, "readWrite", "none"),
            {
                "name": "name", "type": "complex", "multiValued": false, "required": false,
                "mutability": "readWrite", "returned": "default",
                "subAttributes": [attribute("formatted", "string", false, "readWrite", "none")],
            },
            attribute("active", "boolean", false, "readWrite", "none"),
            {
                "name": "password", "type": "string", "multiValued": false, "required": false,
                "mutability": "writeOnly", "returned": "never", "uniqueness": "none",
            },
            {
                "name": "groups", "type": "complex", "multiValued": true, "required": false,
                "mutability": "readOnly", "returned": "default",
            },
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}")},
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_SCHEMA, "name": "Group", "description": "A group of accounts",
        "attributes": [attribute("displayName", "string", true, "readWrite", "server"), members],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP_SCHEMA}")},
    });
    list_response(vec![user, group], &ListQuery::default())
}
