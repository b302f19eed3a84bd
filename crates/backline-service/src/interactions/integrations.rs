//! Platform integrations: their credentials (a token and a webhook secret,
//! shown once) and the token's authentication.

use backline_protocol::interactions::{CreatedIntegration, IntegrationScope, IntegrationView};
use backline_protocol::ErrorCode;
use backline_store::rows::IntegrationRow;
use backline_store::{integrations, now_ms};

use crate::auth::{token_hash, Account};
use crate::error::{err, Result};
use crate::input::single_line_name;
use crate::Backline;

/// An authenticated platform integration.
#[derive(Debug, Clone)]
pub struct Integration {
    pub id: String,
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
        id: row.id.clone(),
        name: row.name.clone(),
        webhook_url: row.webhook_url.clone(),
        scopes: parse_scopes(&row.scopes),
        created_at: row.created_at,
    }
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
        let id = uuid::Uuid::now_v7().to_string();
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
                id,
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
