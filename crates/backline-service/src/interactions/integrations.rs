//! Platform integrations: their credentials (a token and a webhook secret,
//! shown once) and the token's authentication.

use backline_protocol::admin::{
    DeliveryState, RotatedIntegration, WebhookDelivery, WebhookDeliveryPage,
};
use backline_protocol::interactions::{CreatedIntegration, IntegrationScope, IntegrationView};
use backline_protocol::ErrorCode;
use backline_store::rows::{DeliveryRow, IntegrationRow};
use backline_store::{integrations, now_ms, outbox, IntegrationId};

use crate::auth::{token_hash, Account};
use crate::error::{err, Result};
use crate::input::single_line_name;
use crate::Backline;

/// An authenticated platform integration.
#[derive(Debug, Clone)]
pub struct Integration {
    pub id: IntegrationId,
    pub name: String,
    pub scopes: Vec<IntegrationScope>,
}

impl Integration {
    /// Refuses (`forbidden`) a token whose integration lacks `scope`.
    pub fn require(&self, scope: IntegrationScope) -> Result<()> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(err(
                ErrorCode::Forbidden,
                format!(
                    "integration {:?} does not have the {:?} scope",
                    self.name,
                    scope.as_str()
                ),
            ))
        }
    }
}

fn parse_scopes(text: &str) -> Vec<IntegrationScope> {
    text.split(',')
        .filter_map(|s| IntegrationScope::parse(s.trim()))
        .collect()
}

fn format_scopes(scopes: &[IntegrationScope]) -> String {
    let mut names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    names.sort();
    names.dedup();
    names.join(",")
}

fn integration_view(row: &IntegrationRow) -> IntegrationView {
    IntegrationView {
        id: row.id.to_string(),
        name: row.name.clone(),
        webhook_url: row.webhook_url.clone(),
        scopes: parse_scopes(&row.scopes),
        created_at: row.created_at,
    }
}

fn delivery_view(row: DeliveryRow) -> WebhookDelivery {
    let state = if row.delivered_at.is_some() {
        DeliveryState::Delivered
    } else if row.failed_at.is_some() {
        DeliveryState::Failed
    } else {
        DeliveryState::Pending
    };
    WebhookDelivery {
        id: row.id,
        event_type: row.event_type,
        interaction_id: row.interaction_id.into_string(),
        created_at: row.created_at,
        state,
        attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
        next_attempt_at: (state == DeliveryState::Pending).then_some(row.next_attempt_at),
        delivered_at: row.delivered_at,
        failed_at: row.failed_at,
        last_error: row.last_error,
    }
}

fn integration_not_found(id: &IntegrationId) -> crate::error::ServiceError {
    err(
        ErrorCode::IntegrationNotFound,
        format!("no integration {id:?}"),
    )
}

/// Which credential of an integration a rotation replaces.
#[derive(Debug, Clone, Copy)]
enum Credential {
    Token,
    WebhookSecret,
}

fn random_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Backline {
    /// Creates an integration credential; the token and secret are returned once.
    /// Without `scopes`, the token may call the platform API only.
    pub async fn create_integration(
        &self,
        by: Option<&Account>,
        name: &str,
        webhook_url: Option<String>,
        scopes: Option<Vec<IntegrationScope>>,
    ) -> Result<CreatedIntegration> {
        let name = single_line_name("name", name, 100, false)?;
        let scopes = scopes.unwrap_or_else(|| vec![IntegrationScope::Platform]);
        if scopes.is_empty() {
            return Err(err(
                ErrorCode::InvalidRequest,
                "scopes: at least one of \"platform\" and \"scim\"",
            ));
        }
        let scope_text = format_scopes(&scopes);
        if let Some(url) = &webhook_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2000 {
                return Err(err(
                    ErrorCode::InvalidRequest,
                    "webhook_url: an http:// or https:// URL",
                ));
            }
        }
        let token = format!("bli_{}", random_secret());
        let secret = random_secret();
        let id = IntegrationId::from(uuid::Uuid::now_v7().to_string());
        let (i, n, t, u, s, sc) = (
            id.clone(),
            name.clone(),
            token_hash(&token),
            webhook_url.clone(),
            secret.clone(),
            scope_text.clone(),
        );
        let now = now_ms();
        let actor = crate::shared::actor(by);
        self.commit(move |conn| {
            Box::pin(async move {
                if integrations::list(&mut *conn)
                    .await?
                    .iter()
                    .any(|row| row.name == n)
                {
                    return Err(err(
                        ErrorCode::AlreadyExists,
                        format!("integration {n:?} exists"),
                    ));
                }
                integrations::insert(
                    conn,
                    integrations::NewIntegration {
                        id: &i,
                        name: &n,
                        token_hash: &t,
                        webhook_url: u.as_deref(),
                        webhook_secret: &s,
                        scopes: &sc,
                        created_at: now,
                    },
                )
                .await?;
                let resource = format!("integration:{i}");
                let detail = format!(
                    "name {n:?}, scopes {sc}, webhook {}",
                    u.as_deref().unwrap_or("none")
                );
                crate::shared::audit_change(
                    conn,
                    &actor,
                    "integration_created",
                    &resource,
                    &detail,
                    now,
                )
                .await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        Ok(CreatedIntegration {
            integration: IntegrationView {
                id: id.into_string(),
                name,
                webhook_url,
                scopes: parse_scopes(&scope_text),
                created_at: now,
            },
            token,
            webhook_secret: secret,
        })
    }

    pub async fn list_integrations(&self) -> Result<Vec<IntegrationView>> {
        Ok(integrations::list(self.store().reader())
            .await?
            .iter()
            .map(integration_view)
            .collect())
    }

    /// The integration a platform token belongs to.
    pub async fn authenticate_integration(&self, token: &str) -> Result<Integration> {
        if !token.starts_with("bli_") || token.len() > 256 {
            return Err(err(
                ErrorCode::Unauthenticated,
                "an integration token is required",
            ));
        }
        let row = integrations::by_token_hash(self.store().reader(), &token_hash(token))
            .await?
            .ok_or_else(|| err(ErrorCode::Unauthenticated, "unknown integration token"))?;
        Ok(Integration {
            scopes: parse_scopes(&row.scopes),
            id: row.id,
            name: row.name,
        })
    }
}

impl Backline {
    /// Replaces an integration's token; the old one is refused from this
    /// write on. The new token is returned once. Audited.
    pub async fn rotate_integration_token(
        &self,
        by: &Account,
        id: &str,
    ) -> Result<RotatedIntegration> {
        self.rotate_credential(by, id, Credential::Token).await
    }

    /// Replaces an integration's webhook secret; every attempt from this
    /// write on (queued events included) is signed with the new one, which is
    /// returned once. Audited.
    pub async fn rotate_webhook_secret(
        &self,
        by: &Account,
        id: &str,
    ) -> Result<RotatedIntegration> {
        self.rotate_credential(by, id, Credential::WebhookSecret)
            .await
    }

    async fn rotate_credential(
        &self,
        by: &Account,
        id: &str,
        credential: Credential,
    ) -> Result<RotatedIntegration> {
        let value = match credential {
            Credential::Token => format!("bli_{}", random_secret()),
            Credential::WebhookSecret => random_secret(),
        };
        let (actor, iid, stored) = (
            crate::shared::actor(Some(by)),
            IntegrationId::from(id.to_owned()),
            match credential {
                Credential::Token => token_hash(&value),
                Credential::WebhookSecret => value.clone(),
            },
        );
        let row = self
            .commit(move |conn| {
                Box::pin(async move {
                    let (changed, action) = match credential {
                        Credential::Token => (
                            integrations::set_token_hash(conn, &iid, &stored).await?,
                            "integration_token_rotated",
                        ),
                        Credential::WebhookSecret => (
                            integrations::set_webhook_secret(conn, &iid, &stored).await?,
                            "integration_webhook_secret_rotated",
                        ),
                    };
                    if !changed {
                        return Err(integration_not_found(&iid));
                    }
                    let row = integrations::get(&mut *conn, &iid)
                        .await?
                        .ok_or_else(|| integration_not_found(&iid))?;
                    let resource = format!("integration:{iid}");
                    let detail = format!("name {:?}", row.name);
                    crate::shared::audit_change(conn, &actor, action, &resource, &detail, now_ms())
                        .await?;
                    Ok((row, Vec::new()))
                })
            })
            .await?;
        let (token, webhook_secret) = match credential {
            Credential::Token => (Some(value), None),
            Credential::WebhookSecret => (None, Some(value)),
        };
        Ok(RotatedIntegration {
            integration: integration_view(&row),
            token,
            webhook_secret,
        })
    }

    /// An integration's webhook events and their delivery, newest first
    /// (`limit` 1–200), older than the event `before` when given.
    pub async fn webhook_deliveries(
        &self,
        integration_id: &str,
        state: Option<DeliveryState>,
        before: Option<&str>,
        limit: u32,
    ) -> Result<WebhookDeliveryPage> {
        let integration_id = &IntegrationId::from(integration_id.to_owned());
        integrations::get(self.store().reader(), integration_id)
            .await?
            .ok_or_else(|| integration_not_found(integration_id))?;
        let filter = match state {
            None => outbox::DeliveryFilter::All,
            Some(DeliveryState::Pending) => outbox::DeliveryFilter::Pending,
            Some(DeliveryState::Delivered) => outbox::DeliveryFilter::Delivered,
            Some(DeliveryState::Failed) => outbox::DeliveryFilter::Failed,
        };
        if let Some(before) = before {
            outbox::delivery(self.store().reader(), integration_id, before)
                .await?
                .ok_or_else(|| delivery_not_found(before))?;
        }
        let limit = i64::from(limit.clamp(1, 200));
        let mut rows = outbox::deliveries(
            self.store().reader(),
            integration_id,
            filter,
            before,
            limit + 1,
        )
        .await?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        Ok(WebhookDeliveryPage {
            deliveries: rows.into_iter().map(delivery_view).collect(),
            has_more,
        })
    }

    /// Sends an integration's webhook event again, now: a failed one (given
    /// up) is tried again, a pending one without waiting for its back-off, a
    /// delivered one a second time (receivers de-duplicate by the event id).
    /// Audited.
    pub async fn redeliver_webhook(
        &self,
        by: &Account,
        integration_id: &str,
        delivery_id: &str,
    ) -> Result<WebhookDelivery> {
        let (actor, iid, did) = (
            crate::shared::actor(Some(by)),
            IntegrationId::from(integration_id.to_owned()),
            delivery_id.to_owned(),
        );
        let row = self
            .commit(move |conn| {
                Box::pin(async move {
                    integrations::get(&mut *conn, &iid)
                        .await?
                        .ok_or_else(|| integration_not_found(&iid))?;
                    let before = outbox::delivery(&mut *conn, &iid, &did)
                        .await?
                        .ok_or_else(|| delivery_not_found(&did))?;
                    let was = delivery_view(before).state;
                    outbox::requeue(conn, &did, now_ms()).await?;
                    let resource = format!("integration:{iid}");
                    let detail = format!("delivery {did}, was {}", was.as_str());
                    crate::shared::audit_change(
                        conn,
                        &actor,
                        "webhook_redelivered",
                        &resource,
                        &detail,
                        now_ms(),
                    )
                    .await?;
                    let row = outbox::delivery(&mut *conn, &iid, &did)
                        .await?
                        .ok_or_else(|| delivery_not_found(&did))?;
                    Ok((row, Vec::new()))
                })
            })
            .await?;
        Ok(delivery_view(row))
    }
}

fn delivery_not_found(id: &str) -> crate::error::ServiceError {
    err(
        ErrorCode::DeliveryNotFound,
        format!("the integration has no webhook delivery {id:?}"),
    )
}
