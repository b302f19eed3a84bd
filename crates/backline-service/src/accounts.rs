//! Accounts, groups, Not Ready reasons, "My Status", preferences and presence.

use backline_protocol::admin::{
    CreateUserRequest, GroupView, UpdateGroupRequest, UpdateUserRequest, UserView,
};
use backline_protocol::events::EventBody;
use backline_protocol::model::{
    GroupRef, Me, Preferences, PresenceView, Role, Status, StatusReason,
};
use backline_protocol::ErrorCode;
use backline_store::rows::UserRow;
use backline_store::{audit, groups, now_ms, scim, users, GroupId, Locks, UserId, WriteTx};

use crate::shared::audit_change;
use crate::shared::board::BoardNotices;

use crate::auth::{format_roles, Account};
use crate::bus::BusMessage;
use crate::error::{err, Result};
use crate::input::single_line_name;
use crate::stream::emit;
use crate::text::fold;
use crate::Backline;

/// A username: 1 to 64 characters among a-z, 0-9 and `.`, `_`, `-`, `@`,
/// `+` (an identity provider's user principal name is an e-mail address).
pub(crate) fn validate_username(username: &str) -> Result<()> {
    let ok = (1..=64).contains(&username.len())
        && username.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@' | '+')
        });
    if ok {
        Ok(())
    } else {
        Err(err(
            ErrorCode::InvalidRequest,
            "username: 1 to 64 characters among a-z, 0-9, '.', '_', '-', '@' and '+'",
        ))
    }
}

/// A display name: one line, trimmed, 1 to 100 characters (see
/// [`single_line_name`] for the characters refused).
pub(crate) fn validate_display_name(name: &str) -> Result<String> {
    single_line_name("display_name", name, 100, false)
}

pub(crate) fn validate_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(err(
            ErrorCode::InvalidRequest,
            "password: at least 8 characters",
        ));
    }
    Ok(())
}

pub(crate) fn user_search_key(display_name: &str, username: &str) -> String {
    fold(&format!("{display_name} {username}"))
}

fn user_view(row: &UserRow, groups: Vec<GroupRef>) -> UserView {
    let account = Account::from_row(row);
    UserView {
        id: account.id.into_string(),
        username: account.username,
        display_name: account.display_name,
        roles: account.roles,
        groups,
        im_permitted: account.im_permitted,
        disabled: account.disabled,
    }
}

fn group_refs(rows: Vec<backline_store::rows::GroupRow>) -> Vec<GroupRef> {
    rows.into_iter()
        .map(|g| GroupRef {
            id: g.id.into_string(),
            name: g.name,
        })
        .collect()
}

/// An account change made by an identity provider through SCIM: written with
/// the change, its `externalId` and `lastModified`, and an audit entry whose
/// actor is the integration.
#[derive(Debug, Clone)]
pub(crate) struct Provisioned {
    /// `integration:<id>`.
    pub actor: String,
    /// `scim.user.create`, `scim.user.replace`, …
    pub action: &'static str,
    pub detail: String,
    pub external_id: Option<String>,
    /// The identity provider deleted the account (`DELETE /Users/{id}`).
    pub deleted: bool,
}

impl Provisioned {
    pub(crate) async fn record(&self, conn: &mut WriteTx, user_id: &UserId) -> Result<()> {
        let now = now_ms();
        scim::put_user(&mut *conn, user_id, self.external_id.as_deref(), now).await?;
        if self.deleted {
            scim::delete_user(&mut *conn, user_id, now).await?;
        }
        audit::insert(
            conn,
            audit::NewAudit {
                id: &uuid::Uuid::now_v7().to_string(),
                ts: now,
                actor_id: &self.actor,
                action: self.action,
                resource: &format!("user:{user_id}"),
                allowed: true,
                detail: &self.detail,
            },
        )
        .await?;
        Ok(())
    }
}

/// Who changes an account, for the change's audit entry: an administrator
/// (or, `None`, the operator's command line), or an identity provider.
pub(crate) enum ChangedBy {
    Admin(String),
    Provisioned(Provisioned),
}

impl ChangedBy {
    pub(crate) fn admin(by: Option<&Account>) -> ChangedBy {
        ChangedBy::Admin(crate::shared::actor(by))
    }

    /// Writes the change's audit entry (and a provisioned account's SCIM
    /// attributes) in the change's own write.
    async fn record(
        &self,
        conn: &mut WriteTx,
        user_id: &UserId,
        action: &str,
        detail: &str,
    ) -> Result<()> {
        match self {
            ChangedBy::Provisioned(provisioned) => provisioned.record(conn, user_id).await,
            ChangedBy::Admin(actor) => {
                let resource = format!("user:{user_id}");
                audit_change(conn, actor, action, &resource, detail, now_ms()).await
            }
        }
    }
}

/// What an account change changed, for its audit entry (never a password).
fn update_detail(request: &UpdateUserRequest) -> String {
    let mut parts = Vec::new();
    if let Some(name) = &request.display_name {
        parts.push(format!("display name {name:?}"));
    }
    if request.password.is_some() {
        parts.push("password reset".to_owned());
    }
    if let Some(roles) = &request.roles {
        parts.push(format!("roles {}", format_roles(roles)));
    }
    if let Some(value) = request.im_permitted {
        parts.push(format!("IM permitted {value}"));
    }
    if let Some(value) = request.disabled {
        parts.push(format!("disabled {value}"));
    }
    parts.join(", ")
}

/// A user's place in a group.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GroupRole {
    Member,
    Supervisor,
}

/// The stored status of a row (never `offline`).
pub(crate) fn chosen_status(row: &UserRow) -> Status {
    Status::parse(&row.status).unwrap_or(Status::NotReady)
}

impl Backline {
    /// What others see: the chosen status while a desktop is connected, else `offline`.
    pub(crate) fn effective_status(&self, row: &UserRow) -> (Status, Option<String>) {
        if self.hub().is_online(row.id.as_str()) {
            let status = chosen_status(row);
            let reason = if status == Status::NotReady {
                row.status_reason.clone()
            } else {
                None
            };
            (status, reason)
        } else {
            (Status::Offline, None)
        }
    }

    /// Creates an account (admin API and CLI), audited.
    pub async fn create_user(
        &self,
        by: Option<&Account>,
        request: CreateUserRequest,
    ) -> Result<UserView> {
        self.create_account(
            &request.username,
            &request.display_name,
            Some(request.password),
            request.roles,
            request.im_permitted,
            ChangedBy::admin(by),
        )
        .await
    }

    /// Creates an account; without a password it cannot sign in with one
    /// (`invalid_credentials`, as a wrong password) until an administrator sets one. The audit entry (and a provisioned
    /// account's SCIM attributes) are written in the same write.
    pub(crate) async fn create_account(
        &self,
        username: &str,
        display_name: &str,
        password: Option<String>,
        roles: Vec<Role>,
        im_permitted: bool,
        by: ChangedBy,
    ) -> Result<UserView> {
        let username = username.trim().to_owned();
        validate_username(&username)?;
        let display_name = validate_display_name(display_name)?;
        let hash = match password {
            Some(password) => {
                validate_password(&password)?;
                self.hash_password(password).await?
            }
            None => String::new(),
        };
        let roles = if roles.is_empty() {
            vec![Role::Agent]
        } else {
            roles
        };
        let id = UserId::from(uuid::Uuid::now_v7().to_string());
        let row = {
            let id = id.clone();
            let username = username.clone();
            self.commit(move |conn| {
                Box::pin(async move {
                    if users::get_by_username(&mut *conn, &username)
                        .await?
                        .is_some()
                    {
                        return Err(err(
                            ErrorCode::AlreadyExists,
                            format!("username {username:?} is taken"),
                        ));
                    }
                    users::insert(
                        conn,
                        users::NewUser {
                            id: &id,
                            username: &username,
                            display_name: &display_name,
                            search_key: &user_search_key(&display_name, &username),
                            password_hash: &hash,
                            roles: &format_roles(&roles),
                            im_permitted,
                            created_at: now_ms(),
                        },
                    )
                    .await?;
                    let detail = format!(
                        "username {username:?}, roles {}, IM permitted {im_permitted}",
                        format_roles(&roles)
                    );
                    by.record(conn, &id, "user_created", &detail).await?;
                    let row = users::get(&mut *conn, &id)
                        .await?
                        .ok_or_else(|| err(ErrorCode::Internal, "lost"))?;
                    Ok((row, Vec::new()))
                })
            })
            .await?
        };
        Ok(user_view(&row, Vec::new()))
    }

    pub async fn list_users(&self) -> Result<Vec<UserView>> {
        let rows = users::list(self.store().reader()).await?;
        let memberships = groups::memberships(self.store().reader()).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let refs = memberships
                    .iter()
                    .filter(|(user, _, _)| *user == row.id)
                    .map(|(_, id, name)| GroupRef {
                        id: id.to_string(),
                        name: name.clone(),
                    })
                    .collect();
                user_view(row, refs)
            })
            .collect())
    }

    /// Finds an account by id or username.
    pub async fn find_user(&self, id_or_username: &str) -> Result<UserRow> {
        let id = UserId::from(id_or_username.to_owned());
        if let Some(row) = users::get(self.store().reader(), &id).await? {
            return Ok(row);
        }
        users::get_by_username(self.store().reader(), id_or_username)
            .await?
            .ok_or_else(|| {
                err(
                    ErrorCode::UserNotFound,
                    format!("no account {id_or_username:?}"),
                )
            })
    }

    pub async fn user_view(&self, id: &str) -> Result<UserView> {
        let row = self.find_user(id).await?;
        let refs = group_refs(groups::of_user(self.store().reader(), &row.id).await?);
        Ok(user_view(&row, refs))
    }

    /// Changes the fields present in `request`, on behalf of an administrator,
    /// who cannot lock themselves out (disable their own account or drop their
    /// own admin role): another administrator must do that.
    pub async fn update_user_as(
        &self,
        admin: &Account,
        id: &str,
        request: UpdateUserRequest,
    ) -> Result<UserView> {
        let target = self.find_user(id).await?;
        if target.id == admin.id {
            let drops_admin = request
                .roles
                .as_ref()
                .is_some_and(|roles| !roles.contains(&Role::Admin));
            if request.disabled == Some(true) || drops_admin {
                return Err(err(
                    ErrorCode::InvalidState,
                    "you cannot disable your own account or remove your own administrator role",
                ));
            }
        }
        self.update_user(Some(admin), id, request).await
    }

    /// Changes the fields present in `request`, audited.
    pub async fn update_user(
        &self,
        by: Option<&Account>,
        id: &str,
        request: UpdateUserRequest,
    ) -> Result<UserView> {
        self.update_account(id, request, ChangedBy::admin(by)).await
    }

    /// Changes the fields present in `request`; the audit entry (and a
    /// provisioned change's SCIM attributes) are written in the same write. Disabling an
    /// account or changing its password signs it out everywhere (its tokens
    /// revoked, its sockets closed on every node).
    pub(crate) async fn update_account(
        &self,
        id: &str,
        request: UpdateUserRequest,
        by: ChangedBy,
    ) -> Result<UserView> {
        let row = self.find_user(id).await?;
        let display_name = request
            .display_name
            .as_deref()
            .map(validate_display_name)
            .transpose()?;
        let hash = match &request.password {
            Some(password) => {
                validate_password(password)?;
                Some(self.hash_password(password.clone()).await?)
            }
            None => None,
        };
        let user_id = row.id.clone();
        let username = row.username.clone();
        let disable = request.disabled == Some(true);
        let req = request.clone();
        let detail = update_detail(&request);
        self.commit(move |conn| {
            Box::pin(async move {
                if let Some(name) = &display_name {
                    users::set_profile(conn, &user_id, name, &user_search_key(name, &username))
                        .await?;
                }
                if let Some(hash) = &hash {
                    users::set_password(conn, &user_id, hash).await?;
                }
                if let Some(roles) = &req.roles {
                    users::set_roles(conn, &user_id, &format_roles(roles)).await?;
                }
                if let Some(value) = req.im_permitted {
                    users::set_im_permitted(conn, &user_id, value).await?;
                }
                if let Some(value) = req.disabled {
                    users::set_disabled(conn, &user_id, value).await?;
                }
                by.record(conn, &user_id, "user_updated", &detail).await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        if disable || request.password.is_some() {
            self.sign_out_everywhere(&row.id).await?;
        }
        self.user_view(row.id.as_str()).await
    }

    /// Creates a group (admin API and CLI), audited.
    pub async fn create_group(&self, by: Option<&Account>, name: &str) -> Result<GroupView> {
        let name = single_line_name("name", name, 100, false)?;
        let id = GroupId::from(uuid::Uuid::now_v7().to_string());
        let group_id = id.clone();
        let group_name = name.clone();
        let actor = crate::shared::actor(by);
        self.commit(move |conn| {
            Box::pin(async move {
                match groups::insert(conn, &group_id, &group_name, &fold(&group_name), now_ms())
                    .await
                {
                    Err(backline_store::StoreError::Conflict(_)) => {
                        return Err(err(
                            ErrorCode::AlreadyExists,
                            format!("group {group_name:?} exists"),
                        ))
                    }
                    other => other?,
                };
                let (resource, detail) =
                    (format!("group:{group_id}"), format!("name {group_name:?}"));
                audit_change(conn, &actor, "group_created", &resource, &detail, now_ms()).await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        self.group_view(id.as_str()).await
    }

    pub async fn list_groups(&self) -> Result<Vec<GroupView>> {
        let mut out = Vec::new();
        for group in groups::list(self.store().reader()).await? {
            out.push(self.group_view(group.id.as_str()).await?);
        }
        Ok(out)
    }

    /// A group with its members, supervisors and offer settings.
    pub async fn group_view(&self, id: &str) -> Result<GroupView> {
        let reader = self.store().reader();
        let group = groups::settings(reader, &GroupId::from(id.to_owned()))
            .await?
            .ok_or_else(|| err(ErrorCode::GroupNotFound, format!("no group {id:?}")))?;
        Ok(GroupView {
            members: ids_text(groups::members(reader, &group.id).await?),
            supervisors: ids_text(groups::supervisors(reader, &group.id).await?),
            wave_size: group.wave_size as u32,
            answer_secs: group.answer_secs as u32,
            overflow_group_id: group.overflow_group_id.map(|id| id.into_string()),
            escalate_secs: group.escalate_secs as u32,
            escalate_to_supervisors: group.escalate_to_supervisors != 0,
            id: group.id.into_string(),
            name: group.name,
        })
    }

    /// Changes a group's consultation offer settings (wave size, answer
    /// time, overflow group, answer-time target and escalation to the
    /// supervisors); absent fields stay as they are.
    pub async fn update_group(
        &self,
        by: Option<&Account>,
        group: &str,
        request: UpdateGroupRequest,
    ) -> Result<GroupView> {
        let group = self.find_group(group).await?;
        let current = groups::settings(self.store().reader(), &group.id)
            .await?
            .ok_or_else(|| err(ErrorCode::GroupNotFound, format!("no group {:?}", group.id)))?;
        let wave_size = match request.wave_size {
            Some(n) if !(1..=100).contains(&n) => {
                return Err(err(ErrorCode::InvalidRequest, "wave_size: 1 to 100"))
            }
            Some(n) => n as i64,
            None => current.wave_size,
        };
        let answer_secs = match request.answer_secs {
            Some(n) if !(1..=3600).contains(&n) => {
                return Err(err(
                    ErrorCode::InvalidRequest,
                    "answer_secs: 1 to 3600 (seconds)",
                ))
            }
            Some(n) => n as i64,
            None => current.answer_secs,
        };
        let overflow = match request.overflow_group_id.as_deref() {
            None => current.overflow_group_id,
            Some("") => None,
            Some(other) => {
                let other = self.find_group(other).await?;
                if other.id == group.id {
                    return Err(err(
                        ErrorCode::InvalidRequest,
                        "overflow_group_id: a group cannot overflow to itself",
                    ));
                }
                Some(other.id)
            }
        };
        let escalate_secs = match request.escalate_secs {
            Some(n) if n > 86_400 => {
                return Err(err(
                    ErrorCode::InvalidRequest,
                    "escalate_secs: 0 (no answer-time target) to 86400 (seconds)",
                ))
            }
            Some(n) => n as i64,
            None => current.escalate_secs,
        };
        let escalate_to_supervisors = request
            .escalate_to_supervisors
            .unwrap_or(current.escalate_to_supervisors != 0);
        let id = group.id.clone();
        let actor = crate::shared::actor(by);
        let detail = format!(
            "wave size {wave_size}, answer time {answer_secs} s, overflow {}, escalation {}",
            overflow.as_ref().map_or("none", GroupId::as_str),
            match (escalate_secs, escalate_to_supervisors) {
                (0, _) => "none".to_owned(),
                (secs, true) => format!("after {secs} s, to the supervisors"),
                (secs, false) => format!("after {secs} s"),
            }
        );
        self.commit(move |conn| {
            Box::pin(async move {
                let settings = groups::OfferSettings {
                    wave_size,
                    answer_secs,
                    overflow_group_id: overflow.as_ref(),
                    escalate_secs,
                    escalate_to_supervisors,
                };
                groups::set_settings(conn, &id, settings).await?;
                let resource = format!("group:{id}");
                audit_change(conn, &actor, "group_updated", &resource, &detail, now_ms()).await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        self.group_view(group.id.as_str()).await
    }

    /// Adds or removes a group's supervisor (offered its unanswered consultations last), audited.
    pub async fn set_group_supervisor(
        &self,
        by: Option<&Account>,
        group: &str,
        user: &str,
        supervisor: bool,
    ) -> Result<()> {
        self.set_group_role(by, group, user, GroupRole::Supervisor, supervisor)
            .await
    }

    /// Finds a group by id or name.
    pub async fn find_group(&self, id_or_name: &str) -> Result<backline_store::rows::GroupRow> {
        let id = GroupId::from(id_or_name.to_owned());
        if let Some(group) = groups::get(self.store().reader(), &id).await? {
            return Ok(group);
        }
        groups::list(self.store().reader())
            .await?
            .into_iter()
            .find(|g| g.name == id_or_name)
            .ok_or_else(|| err(ErrorCode::GroupNotFound, format!("no group {id_or_name:?}")))
    }

    /// Adds or removes a group's member, audited.
    pub async fn set_group_member(
        &self,
        by: Option<&Account>,
        group: &str,
        user: &str,
        member: bool,
    ) -> Result<()> {
        self.set_group_role(by, group, user, GroupRole::Member, member)
            .await
    }

    /// Adds (`on`) or removes a user's role in a group, with its audit entry
    /// in the same write.
    async fn set_group_role(
        &self,
        by: Option<&Account>,
        group: &str,
        user: &str,
        role: GroupRole,
        on: bool,
    ) -> Result<()> {
        let group = self.find_group(group).await?;
        let user = self.find_user(user).await?;
        let actor = crate::shared::actor(by);
        self.commit(move |conn| {
            Box::pin(async move {
                let (group_id, user_id) = (&group.id, &user.id);
                let action = match (role, on) {
                    (GroupRole::Member, true) => {
                        groups::add_member(conn, group_id, user_id).await?;
                        "group_member_added"
                    }
                    (GroupRole::Member, false) => {
                        groups::remove_member(conn, group_id, user_id).await?;
                        "group_member_removed"
                    }
                    (GroupRole::Supervisor, true) => {
                        groups::add_supervisor(conn, group_id, user_id).await?;
                        "group_supervisor_added"
                    }
                    (GroupRole::Supervisor, false) => {
                        groups::remove_supervisor(conn, group_id, user_id).await?;
                        "group_supervisor_removed"
                    }
                };
                let (resource, detail) = (format!("group:{group_id}"), format!("user:{user_id}"));
                audit_change(conn, &actor, action, &resource, &detail, now_ms()).await?;
                // The group's supervisors (and one just removed) see the change on their board.
                let mut out = Vec::new();
                let also = (role == GroupRole::Supervisor).then_some(user_id);
                BoardNotices::default()
                    .group(conn, &mut out, now_ms(), group_id, also)
                    .await?;
                Ok(((), out))
            })
        })
        .await
    }

    pub async fn status_reasons(&self) -> Result<Vec<StatusReason>> {
        Ok(users::reasons(self.store().reader())
            .await?
            .into_iter()
            .map(|r| StatusReason {
                code: r.code,
                label: r.label,
            })
            .collect())
    }

    /// Creates a Not Ready reason (admin API and CLI), audited.
    pub async fn create_status_reason(
        &self,
        by: Option<&Account>,
        code: &str,
        label: &str,
    ) -> Result<StatusReason> {
        let code = single_line_name("code", code, 64, false)?;
        let label = single_line_name("label", label, 100, false)?;
        if code.len() > 64 {
            return Err(err(ErrorCode::InvalidRequest, "code: 1 to 64 bytes"));
        }
        let (c, l) = (code.clone(), label.clone());
        let actor = crate::shared::actor(by);
        self.commit(move |conn| {
            Box::pin(async move {
                match users::insert_reason(conn, &c, &l).await {
                    Err(backline_store::StoreError::Conflict(_)) => {
                        return Err(err(
                            ErrorCode::AlreadyExists,
                            format!("reason {c:?} exists"),
                        ))
                    }
                    other => other?,
                };
                let (resource, detail) = (format!("status_reason:{c}"), format!("label {l:?}"));
                audit_change(
                    conn,
                    &actor,
                    "status_reason_created",
                    &resource,
                    &detail,
                    now_ms(),
                )
                .await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        Ok(StatusReason { code, label })
    }

    /// The signed-in account's own view.
    pub async fn me(&self, user_id: &UserId) -> Result<Me> {
        let row = users::get(self.store().reader(), user_id)
            .await?
            .ok_or_else(|| err(ErrorCode::UserNotFound, "account not found"))?;
        let refs = group_refs(groups::of_user(self.store().reader(), user_id).await?);
        let account = Account::from_row(&row);
        let status = chosen_status(&row);
        Ok(Me {
            id: account.id.into_string(),
            username: account.username,
            display_name: account.display_name,
            roles: account.roles,
            groups: refs,
            im_permitted: account.im_permitted,
            status,
            reason: if status == Status::NotReady {
                row.status_reason.clone()
            } else {
                None
            },
            preferences: Preferences {
                zoom: row.zoom as u32,
            },
            head: row.stream_head as u64,
        })
    }

    /// "My Status": stores the choice, tells the user's other tabs (stream) and watchers (presence).
    pub async fn set_status(
        &self,
        account: &Account,
        status: Status,
        reason: Option<String>,
    ) -> Result<Me> {
        if status == Status::Offline {
            return Err(err(
                ErrorCode::InvalidRequest,
                "status: offline cannot be chosen; it means no desktop is connected",
            ));
        }
        let reason = match (status, reason) {
            (Status::NotReady, Some(code)) => {
                if !self.status_reasons().await?.iter().any(|r| r.code == code) {
                    return Err(err(
                        ErrorCode::InvalidRequest,
                        format!("reason: {code:?} is not a Not Ready reason"),
                    ));
                }
                Some(code)
            }
            (Status::NotReady, None) => None,
            (_, Some(_)) => {
                return Err(err(
                    ErrorCode::InvalidRequest,
                    "reason: only Not Ready takes a reason",
                ));
            }
            (_, None) => None,
        };
        let user_id = account.id.clone();
        let online = self.hub().is_online(user_id.as_str());
        // The write appends to the user's stream and to their groups'
        // supervisors' (the board): named, so that PostgreSQL locks them with
        // the batch's other rows in one order, not one by one as it goes.
        let mut streams: Vec<UserId> =
            backline_store::groups::supervisors_of_member(self.store().reader(), &user_id)
                .await?
                .into_iter()
                .map(|(supervisor, _)| supervisor)
                .collect();
        streams.push(user_id.clone());
        let locks = Locks::users(&streams.iter().collect::<Vec<_>>());
        self.commit_locking(locks, move |conn| {
            Box::pin(async move {
                let was_ready = users::get(&mut *conn, &user_id)
                    .await?
                    .is_some_and(|u| u.status == Status::Ready.as_str());
                users::set_status(conn, &user_id, status.as_str(), reason.as_deref()).await?;
                if status == Status::Ready && !was_ready {
                    // Group offers go to the longest idle first.
                    backline_store::offers::set_idle_since(conn, &user_id, now_ms()).await?;
                }
                let mut out = Vec::new();
                let body = EventBody::Status {
                    status,
                    reason: reason.clone(),
                };
                emit(conn, &mut out, &user_id, now_ms(), &body).await?;
                // The member's groups' supervisors see it on their board.
                BoardNotices::default()
                    .member(conn, &mut out, now_ms(), &user_id)
                    .await?;
                if online {
                    out.push(BusMessage::Presence {
                        user: user_id.to_string(),
                        status,
                        reason,
                    });
                }
                Ok(((), out))
            })
        })
        .await?;
        if status != Status::Ready {
            self.withdraw_offers(&account.id, crate::sessions::Withdrawal::NotReady)
                .await?;
        }
        self.me(&account.id).await
    }

    pub async fn set_preferences(&self, account: &Account, zoom: u32) -> Result<Me> {
        if !(50..=200).contains(&zoom) {
            return Err(err(ErrorCode::InvalidRequest, "zoom: 50 to 200 (percent)"));
        }
        let user_id = account.id.clone();
        self.commit(move |conn| {
            Box::pin(async move {
                users::set_zoom(conn, &user_id, zoom as i64).await?;
                let mut out = Vec::new();
                emit(
                    conn,
                    &mut out,
                    &user_id,
                    now_ms(),
                    &EventBody::Preferences { zoom },
                )
                .await?;
                Ok(((), out))
            })
        })
        .await?;
        self.me(&account.id).await
    }

    /// Effective statuses of some users.
    pub async fn presence(&self, ids: &[String]) -> Result<Vec<PresenceView>> {
        let ids: Vec<UserId> = ids.iter().cloned().map(UserId::from).collect();
        let rows = users::get_many(self.store().reader(), &ids).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let (status, reason) = self.effective_status(row);
                PresenceView {
                    user_id: row.id.to_string(),
                    status,
                    reason,
                }
            })
            .collect())
    }

    /// Tells this node's watchers about users whose node was lost (offline,
    /// unless connected elsewhere) and about users a returning node's
    /// heartbeat showed online again. Each node does this for its own
    /// watchers, so nothing is published.
    pub async fn sweep_presence(&self) {
        let sweep = self.hub().sweep_remote();
        for user in &sweep.gone {
            self.hub().deliver_presence(user, Status::Offline, None);
        }
        if sweep.revived.is_empty() {
            return;
        }
        let revived: Vec<UserId> = sweep.revived.iter().cloned().map(UserId::from).collect();
        match users::get_many(self.store().reader(), &revived).await {
            Ok(rows) => {
                for row in &rows {
                    let (status, reason) = self.effective_status(row);
                    self.hub().deliver_presence(row.id.as_str(), status, reason);
                }
            }
            Err(error) => tracing::warn!(error.message = %error, "presence sweep failed"),
        }
    }

    /// Announces a user's effective status after their connectedness changed on this node.
    pub async fn announce_presence(&self, user_id: &UserId, online_here: bool) {
        let row = match users::get(self.store().reader(), user_id).await {
            Ok(Some(row)) => row,
            _ => return,
        };
        let (status, reason) = self.effective_status(&row);
        self.bus().publish(vec![
            BusMessage::Online {
                user: user_id.to_string(),
                online: online_here,
            },
            BusMessage::Presence {
                user: user_id.to_string(),
                status,
                reason,
            },
        ]);
    }
}

/// Ids as the wire carries them.
fn ids_text(ids: Vec<UserId>) -> Vec<String> {
    ids.into_iter().map(UserId::into_string).collect()
}
