//! The sharing rule: an interaction's case data, contact and history are
//! readable by its assigned agent and by every target who accepted a
//! consultation about it — nobody else. A refused attempt is written to the
//! audit log in its own write.

use backline_protocol::ErrorCode;
use backline_store::rows::InteractionRow;
use backline_store::{audit, interactions, now_ms, sessions};

use crate::auth::Account;
use crate::error::{err, Result};
use crate::Backline;

/// How a caller may see an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The assigned agent.
    Owner,
    /// A target who accepted a consultation about it: read-only.
    ConsultTarget,
}

impl Backline {
    /// Decides whether `account` may read interaction `id`; refusals are audited.
    pub async fn interaction_access(
        &self,
        account: &Account,
        id: &str,
        action: &str,
    ) -> Result<(InteractionRow, Access)> {
        let row = interactions::get(self.store().reader(), id)
            .await?
            .ok_or_else(|| {
                err(
                    ErrorCode::InteractionNotFound,
                    format!("no interaction {id:?}"),
                )
            })?;
        if row.agent_id.as_deref() == Some(account.id.as_str()) {
            return Ok((row, Access::Owner));
        }
        if sessions::accepted_consultation(self.store().reader(), id, &account.id).await? {
            return Ok((row, Access::ConsultTarget));
        }
        let (actor, resource, action_name) = (
            account.id.clone(),
            format!("interaction:{id}"),
            action.to_owned(),
        );
        let detail = format!(
            "{} is neither the interaction's agent nor an accepted consultation target",
            account.username
        );
        self.commit(move |conn| {
            Box::pin(async move {
                audit::insert(
                    conn,
                    audit::NewAudit {
                        id: &uuid::Uuid::now_v7().to_string(),
                        ts: now_ms(),
                        actor_id: &actor,
                        action: &action_name,
                        resource: &resource,
                        allowed: false,
                        detail: &detail,
                    },
                )
                .await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        tracing::warn!(user = %account.username, interaction = id, action, "refused access to shared interaction data");
        Err(err(
            ErrorCode::NotShared,
            "this interaction is shared only with its agent and accepted consultation targets",
        ))
    }
}
