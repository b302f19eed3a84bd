//! The sharing rule: an interaction's case data, contact and history are
//! readable by its assigned agent and by every target who accepted a
//! consultation about it, while the consultation is open and for a grace
//! period after it ended (`consultation_access_grace_secs`) — nobody else.
//! A group supervisor who joined the consultation (`POST /sessions/{id}/join`)
//! counts as such a target. A refused attempt, a target's read during the
//! grace period and every read by a supervisor are written to the audit log
//! in their own write.

use backline_protocol::ErrorCode;
use backline_store::rows::InteractionRow;
use backline_store::sessions::{self, ConsultationAccess};
use backline_store::{interactions, now_ms, InteractionId};

use crate::auth::Account;
use crate::error::{err, Result};
use crate::Backline;

/// How a caller may see an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The assigned agent.
    Owner,
    /// A target who accepted a consultation about it, still open or ended
    /// within the grace period: read-only.
    ConsultTarget,
}

impl Backline {
    /// Decides whether `account` may read interaction `id`; refusals, and a
    /// target's reads after the consultation ended, are audited.
    pub async fn interaction_access(
        &self,
        account: &Account,
        id: &str,
        action: &str,
    ) -> Result<(InteractionRow, Access)> {
        let id = &InteractionId::from(id.to_owned());
        let row = interactions::get(self.store().reader(), id)
            .await?
            .ok_or_else(|| {
                err(
                    ErrorCode::InteractionNotFound,
                    format!("no interaction {id:?}"),
                )
            })?;
        if row.agent_id.as_ref() == Some(&account.id) {
            return Ok((row, Access::Owner));
        }
        let grace_ms = i64::try_from(self.config().consultation_access_grace_secs)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        let ended_since = now_ms().saturating_sub(grace_ms);
        match sessions::accepted_consultation(self.store().reader(), id, &account.id, ended_since)
            .await?
        {
            Some(ConsultationAccess::Open) => return Ok((row, Access::ConsultTarget)),
            Some(ConsultationAccess::Supervising) => {
                let detail = format!(
                    "{} read shared data as the supervisor who joined an open consultation",
                    account.username
                );
                self.audit_access(account, id.as_str(), action, true, detail)
                    .await?;
                return Ok((row, Access::ConsultTarget));
            }
            Some(ConsultationAccess::EndedAt(ended_at)) => {
                let detail = format!(
                    "{} read shared data of a consultation that ended at {ended_at} (unix ms), within the grace period",
                    account.username
                );
                self.audit_access(account, id.as_str(), action, true, detail)
                    .await?;
                return Ok((row, Access::ConsultTarget));
            }
            None => {}
        }
        let detail = format!(
            "{} is neither the interaction's agent nor a consultation target within its access period",
            account.username
        );
        self.audit_access(account, id.as_str(), action, false, detail)
            .await?;
        tracing::warn!(user = %account.username, interaction = %id, action, "refused access to shared interaction data");
        Err(err(
            ErrorCode::NotShared,
            format!(
                "this interaction is shared only with its agent and accepted consultation targets, \
                 until {} s after the consultation ended",
                self.config().consultation_access_grace_secs
            ),
        ))
    }

    /// Writes one audit entry about an access to interaction `id`, in its own write.
    async fn audit_access(
        &self,
        account: &Account,
        id: &str,
        action: &str,
        allowed: bool,
        detail: String,
    ) -> Result<()> {
        self.audit_alone(super::AuditEntry {
            actor: account.id.to_string(),
            action: action.to_owned(),
            resource: format!("interaction:{id}"),
            allowed,
            detail,
        })
        .await
    }
}
