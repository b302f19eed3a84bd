//! Single sign-on with OpenID Connect (authorization code + PKCE).
//!
//! 1. [`Backline::sso_start`]: a `state`, a nonce and a PKCE verifier are
//!    kept in the store (any node can finish the sign-in; the state as
//!    SHA-256), and the browser goes to the provider. The state is also
//!    handed back to be kept in the browser (a cookie), which binds the
//!    sign-in to the browser that started it.
//! 2. [`Backline::sso_callback`]: only the browser that started the sign-in
//!    may finish it (its cookie holds the state: otherwise someone could make
//!    a victim's browser finish the sign-in the attacker started, and sign
//!    the victim in as the attacker); the state is consumed once (a replay
//!    is `sso_state_invalid`), the code exchanged, the ID token validated
//!    (`provider.rs`), the claims mapped by `oidc.rules` (`rules.rs`) onto an
//!    account created or updated just in time, and a one-time hand-off code
//!    (SHA-256 in the store, 60 s) is left for the desktop.
//! 3. [`Backline::sso_finish`]: the desktop trades the hand-off code, once,
//!    for the same opaque session token a password sign-in issues.
//!
//! Refusals are audited (`sso_sign_in`, not allowed, with the reason); an
//! account the rules no longer let in is refused and signed out everywhere.

mod http;
mod provider;
mod rules;

use std::net::IpAddr;

use backline_protocol::ErrorCode;
use backline_store::{groups, now_ms, oidc, users, GroupId, UserId};
use serde_json::{Map, Value};

use crate::accounts::{user_search_key, validate_display_name, validate_username};
use crate::auth::{format_roles, parse_roles, token_hash, Account};
use crate::error::{err, Result, ServiceError};
use crate::shared::{audit_change, AuditEntry};
use crate::Backline;

pub(crate) use provider::Provider;

/// How long a sign-in may stay at the provider (the user types a password there).
const STATE_TTL_MS: i64 = 10 * 60 * 1000;
/// How long the desktop has to trade its hand-off code.
const HANDOFF_TTL_MS: i64 = 60 * 1000;
/// Sign-ins one client address may start per minute, sustained, and at once.
pub(crate) const STARTS_PER_MINUTE: u32 = 30;
pub(crate) const STARTS_BURST: u32 = 10;
/// The audit actor of accounts created and changed at sign-in.
const ACTOR: &str = "sso";

/// The provider's answer on the callback URL.
#[derive(Debug, Clone, Default)]
pub struct SsoCallback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// The provider's refusal (`access_denied`, …).
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207: the issuer of the answer, when the provider says it.
    pub iss: Option<String>,
    /// The state the browser kept when it started the sign-in (its cookie).
    pub browser_state: Option<String>,
}

/// A sign-in started: where to send the browser, and the state it keeps
/// until it comes back (the caller puts it in a cookie).
#[derive(Debug, Clone)]
pub struct SsoStart {
    pub url: String,
    pub browser_state: String,
}

/// The account the claims describe.
struct Claimed {
    subject: String,
    username: String,
    display_name: String,
    /// `None` when no rule lets the account in.
    grant: Option<rules::Grant>,
}

impl Backline {
    fn provider(&self) -> Result<&Provider> {
        self.inner.sso.as_ref().ok_or_else(|| {
            err(
                ErrorCode::SsoNotConfigured,
                "single sign-on is not configured on this server",
            )
        })
    }

    /// "Sign in with <name>", when single sign-on is configured.
    pub fn sso_display_name(&self) -> Option<&str> {
        self.inner
            .sso
            .as_ref()
            .map(|p| p.config().display_name.as_str())
    }

    /// Starts a sign-in from a client address: returns the provider's
    /// authorization URL and the state the browser keeps. An address may
    /// start [`STARTS_PER_MINUTE`].
    pub async fn sso_start(&self, from: IpAddr) -> Result<SsoStart> {
        let provider = self.provider()?;
        self.admit_sso_start(from)?;
        let authorization = provider.authorize().await?;
        let state_hash = token_hash(&authorization.state);
        let start = SsoStart {
            url: authorization.url.clone(),
            browser_state: authorization.state.clone(),
        };
        let now = now_ms();
        self.commit(move |conn| {
            Box::pin(async move {
                oidc::prune(conn, now).await?;
                oidc::begin(
                    conn,
                    oidc::NewLogin {
                        state_hash: &state_hash,
                        nonce: &authorization.nonce,
                        pkce_verifier: &authorization.pkce_verifier,
                        created_at: now,
                        expires_at: now + STATE_TTL_MS,
                    },
                )
                .await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        Ok(start)
    }

    /// Finishes a sign-in at the provider's callback: returns the one-time
    /// hand-off code for the desktop. A refusal is audited.
    ///
    /// Refusals after the state was taken (the browser did come back from the
    /// provider) are audited; an unknown or replayed state is only logged, so
    /// that anonymous requests cannot fill the audit log.
    pub async fn sso_callback(&self, callback: SsoCallback, from: IpAddr) -> Result<String> {
        let mut username = None;
        let result = self.sso_callback_inner(callback, &mut username).await;
        match &result {
            Err(error)
                if matches!(
                    error.code(),
                    ErrorCode::SsoStateInvalid | ErrorCode::SsoNotConfigured
                ) =>
            {
                tracing::warn!(%error, %from, "sign-in with the identity provider refused");
            }
            Err(error) => self.sso_refused(error, username.as_deref(), from).await,
            Ok(_) => {}
        }
        result
    }

    async fn sso_callback_inner(
        &self,
        callback: SsoCallback,
        username: &mut Option<String>,
    ) -> Result<String> {
        let provider = self.provider()?;
        let config = provider.config().clone();
        let state = callback.state.unwrap_or_default();
        if state.is_empty() || state.len() > 256 {
            return Err(err(
                ErrorCode::SsoStateInvalid,
                "the identity provider's answer has no valid state: start the sign-in again",
            ));
        }
        // Login CSRF (RFC 6749 10.12): the state must come back to the
        // browser that started the sign-in. Refused before the state is
        // used, so the rightful browser can still finish.
        if callback.browser_state.as_deref() != Some(state.as_str()) {
            return Err(err(
                ErrorCode::SsoStateInvalid,
                "this browser did not start this sign-in (its sign-in cookie is missing \
                 or belongs to another one): start it again",
            ));
        }
        let state_hash = token_hash(&state);
        let now = now_ms();
        let login = {
            let state_hash = state_hash.clone();
            self.commit(move |conn| {
                Box::pin(async move {
                    Ok((
                        oidc::consume_state(conn, &state_hash, now).await?,
                        Vec::new(),
                    ))
                })
            })
            .await?
        };
        let Some(login) = login else {
            return Err(err(
                ErrorCode::SsoStateInvalid,
                "this sign-in is unknown, has expired or was already used: start it again",
            ));
        };
        if let Some(error) = callback.error {
            return Err(err(
                ErrorCode::SsoProviderError,
                format!(
                    "the identity provider refused the sign-in: {error}{}",
                    callback
                        .error_description
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
            ));
        }
        if let Some(iss) = callback.iss.filter(|iss| !same_issuer(iss, &config.issuer)) {
            return Err(err(
                ErrorCode::SsoProviderError,
                format!("the answer comes from another issuer ({iss})"),
            ));
        }
        let code = callback.code.filter(|c| !c.is_empty()).ok_or_else(|| {
            err(
                ErrorCode::SsoProviderError,
                "the identity provider's answer has no code",
            )
        })?;
        let claims = provider
            .redeem(&code, &login.pkce_verifier, &login.nonce)
            .await?;
        let claimed = claimed(&config, &claims, username)?;
        let issuer = config.issuer.clone();
        let Some(grant) = claimed.grant.clone() else {
            // Not (or no longer) let in: a linked account is signed out everywhere.
            let linked = oidc::identity(self.store().reader(), &issuer, &claimed.subject).await?;
            if let Some(user_id) = linked {
                self.sign_out_everywhere(&user_id).await?;
            }
            return Err(err(
                ErrorCode::SsoNotPermitted,
                format!(
                    "{} may not sign in to Backline: no oidc.rules entry matches their claims",
                    claimed.username
                ),
            ));
        };
        let handoff = crate::auth::new_token();
        let handoff_hash = token_hash(&handoff);
        self.provision(&config, claimed, grant, state_hash, handoff_hash)
            .await?;
        Ok(handoff)
    }

    /// Creates or updates the account in one write, links the identity, and
    /// leaves the hand-off code.
    async fn provision(
        &self,
        config: &crate::config::OidcConfig,
        claimed: Claimed,
        grant: rules::Grant,
        state_hash: String,
        handoff_hash: String,
    ) -> Result<()> {
        let issuer = config.issuer.clone();
        let link_existing = config.link_existing_accounts;
        let user_id = self
            .commit(move |conn| {
                Box::pin(async move {
                    let now = now_ms();
                    let linked = oidc::identity(&mut *conn, &issuer, &claimed.subject).await?;
                    let existing = match linked {
                        Some(id) => users::get(&mut *conn, &id).await?,
                        None => {
                            let same_name =
                                users::get_by_username(&mut *conn, &claimed.username).await?;
                            if let Some(row) = &same_name {
                                let taken = !link_existing
                                    || oidc::is_linked(&mut *conn, &issuer, &row.id).await?;
                                if taken {
                                    return Err(err(
                                        ErrorCode::AlreadyExists,
                                        format!(
                                            "the username {:?} belongs to another account: an \
                                             administrator must rename one of them",
                                            claimed.username
                                        ),
                                    ));
                                }
                            }
                            same_name
                        }
                    };
                    let roles = format_roles(&grant.roles);
                    let user_id = match existing {
                        Some(row) => {
                            if row.disabled != 0 {
                                return Err(err(
                                    ErrorCode::AccountDisabled,
                                    "this account is disabled",
                                ));
                            }
                            let mut changes = Vec::new();
                            if row.display_name != claimed.display_name {
                                users::set_profile(
                                    conn,
                                    &row.id,
                                    &claimed.display_name,
                                    &user_search_key(&claimed.display_name, &row.username),
                                )
                                .await?;
                                changes.push(format!("display name {:?}", claimed.display_name));
                            }
                            if format_roles(&parse_roles(&row.roles)) != roles {
                                users::set_roles(conn, &row.id, &roles).await?;
                                changes.push(format!("roles {roles}"));
                            }
                            if (row.im_permitted != 0) != grant.im_permitted {
                                users::set_im_permitted(conn, &row.id, grant.im_permitted).await?;
                                changes.push(format!("IM permitted {}", grant.im_permitted));
                            }
                            changes.extend(sync_groups(conn, &row.id, &grant).await?);
                            if !changes.is_empty() {
                                let resource = format!("user:{}", row.id);
                                audit_change(
                                    conn,
                                    ACTOR,
                                    "user_updated",
                                    &resource,
                                    &changes.join(", "),
                                    now,
                                )
                                .await?;
                            }
                            row.id
                        }
                        None => {
                            let id = UserId::from(uuid::Uuid::now_v7().to_string());
                            users::insert(
                                conn,
                                users::NewUser {
                                    id: &id,
                                    username: &claimed.username,
                                    display_name: &claimed.display_name,
                                    search_key: &user_search_key(
                                        &claimed.display_name,
                                        &claimed.username,
                                    ),
                                    // Signs in with the provider only, until an administrator sets one.
                                    password_hash: "",
                                    roles: &roles,
                                    im_permitted: grant.im_permitted,
                                    created_at: now,
                                },
                            )
                            .await?;
                            let mut detail = vec![format!(
                                "username {:?}, roles {roles}, IM permitted {}",
                                claimed.username, grant.im_permitted
                            )];
                            detail.extend(sync_groups(conn, &id, &grant).await?);
                            audit_change(
                                conn,
                                ACTOR,
                                "user_created",
                                &format!("user:{id}"),
                                &detail.join(", "),
                                now,
                            )
                            .await?;
                            id
                        }
                    };
                    oidc::link(conn, &issuer, &claimed.subject, &user_id, now).await?;
                    oidc::set_handoff(
                        conn,
                        &state_hash,
                        &handoff_hash,
                        &user_id,
                        now + HANDOFF_TTL_MS,
                    )
                    .await?;
                    Ok((user_id, Vec::new()))
                })
            })
            .await?;
        tracing::info!(user = %user_id, "signed in with the identity provider");
        Ok(())
    }

    /// Trades a hand-off code, once, for a session token.
    pub async fn sso_finish(&self, code: &str, from: IpAddr) -> Result<(String, i64, Account)> {
        self.provider()?;
        if code.is_empty() || code.len() > 256 {
            return Err(err(
                ErrorCode::SsoStateInvalid,
                "the sign-in code is not valid: start the sign-in again",
            ));
        }
        let code_hash = token_hash(code);
        let now = now_ms();
        let user_id = self
            .commit(move |conn| {
                Box::pin(async move {
                    Ok((oidc::take_handoff(conn, &code_hash, now).await?, Vec::new()))
                })
            })
            .await?
            .ok_or_else(|| {
                err(
                    ErrorCode::SsoStateInvalid,
                    "this sign-in code is unknown, has expired or was already used: \
                     start the sign-in again",
                )
            })?;
        let row = users::get(self.store().reader(), &user_id)
            .await?
            .ok_or_else(|| err(ErrorCode::UserNotFound, "the account is gone"))?;
        let account = Account::from_row(&row);
        if account.disabled {
            return Err(err(ErrorCode::AccountDisabled, "this account is disabled"));
        }
        let detail = format!(
            "{} signed in with the identity provider from {from}",
            account.username
        );
        let (token, expires_at) = self.issue_token(&account, detail).await?;
        Ok((token, expires_at, account))
    }

    /// Audits (and logs) a refused sign-in with the identity provider.
    async fn sso_refused(&self, error: &ServiceError, username: Option<&str>, from: IpAddr) {
        let ServiceError::Client { code, message } = error else {
            tracing::error!(%error, "sign-in with the identity provider failed");
            return;
        };
        tracing::warn!(code = code.as_str(), detail = %message, username, %from,
            "sign-in with the identity provider refused");
        let resource = match username {
            Some(name) => format!("account:{name}"),
            None => "sso".to_owned(),
        };
        let written = self
            .audit_alone(AuditEntry {
                actor: format!("address:{from}"),
                action: "sso_sign_in".to_owned(),
                resource,
                allowed: false,
                detail: format!("{}: {message}", code.as_str()),
            })
            .await;
        if let Err(error) = written {
            tracing::error!(%error, "could not audit a refused sign-in with the identity provider");
        }
    }
}

/// Sets the account's membership of the groups the rules manage; returns
/// what changed, for the audit entry. A group the rules name that does not
/// exist is skipped (an administrator creates groups).
async fn sync_groups(
    conn: &mut backline_store::WriteTx,
    user_id: &UserId,
    grant: &rules::Grant,
) -> Result<Vec<String>> {
    if grant.managed_groups.is_empty() {
        return Ok(Vec::new());
    }
    let current: Vec<GroupId> = groups::of_user(&mut *conn, user_id)
        .await?
        .into_iter()
        .map(|g| g.id)
        .collect();
    let mut changes = Vec::new();
    for group in groups::list(&mut *conn).await? {
        if !grant.managed_groups.contains(&group.name) {
            continue;
        }
        let member = current.contains(&group.id);
        if grant.groups.contains(&group.name) && !member {
            groups::add_member(conn, &group.id, user_id).await?;
            changes.push(format!("added to group {:?}", group.name));
        } else if !grant.groups.contains(&group.name) && member {
            groups::remove_member(conn, &group.id, user_id).await?;
            changes.push(format!("removed from group {:?}", group.name));
        }
    }
    Ok(changes)
}

/// Issuer URLs compare without a trailing slash.
fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The account the verified claims describe; `grant` is `None` when no rule
/// lets it in.
fn claimed(
    config: &crate::config::OidcConfig,
    claims: &Map<String, Value>,
    username_out: &mut Option<String>,
) -> Result<Claimed> {
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err(ErrorCode::SsoTokenInvalid, "the ID token has no subject"))?
        .to_owned();
    let username = rules::claim(claims, &config.username_claim)
        .and_then(Value::as_str)
        .map(|u| u.trim().to_lowercase())
        .ok_or_else(|| {
            err(
                ErrorCode::SsoNotPermitted,
                format!(
                    "the ID token has no {:?} claim to name the account (oidc.username_claim)",
                    config.username_claim
                ),
            )
        })?;
    *username_out = Some(username.clone());
    validate_username(&username).map_err(|_| {
        err(
            ErrorCode::SsoNotPermitted,
            format!(
                "the {:?} claim {username:?} is not a valid username (1 to 64 of a-z, 0-9, \
                 '.', '_', '-', '@', '+')",
                config.username_claim
            ),
        )
    })?;
    let display_name = rules::claim(claims, &config.display_name_claim)
        .and_then(Value::as_str)
        .and_then(|name| validate_display_name(name).ok())
        .unwrap_or_else(|| username.clone());
    Ok(Claimed {
        subject,
        username,
        display_name,
        grant: rules::grant(&config.rules, claims),
    })
}
