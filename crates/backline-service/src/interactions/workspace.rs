//! An agent's interactions: the workspace, one interaction (read-only for a
//! consultation target), *Done*, and the interaction's contact.

use backline_protocol::interactions::{ContactView, InteractionView};
use backline_protocol::ErrorCode;
use backline_store::{contacts, interactions};

use super::contact_view;
use crate::auth::Account;
use crate::error::{err, Result};
use crate::shared::access::Access;
use crate::shared::views::{base_view, consultation_views, load_view};
use crate::Backline;

impl Backline {
    /// The caller's interactions not yet closed with *Done*.
    pub async fn my_interactions(&self, account: &Account) -> Result<Vec<InteractionView>> {
        let rows = interactions::workspace(self.store().reader(), &account.id).await?;
        let mut conn = self.read_conn().await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let consultations = consultation_views(&mut conn, &row.id).await?;
            out.push(base_view(&row, consultations, false));
        }
        Ok(out)
    }

    /// One interaction (its agent, or an accepted consultation target, read-only).
    pub async fn interaction(&self, account: &Account, id: &str) -> Result<InteractionView> {
        let (row, access) = self
            .interaction_access(account, id, "read_case_data")
            .await?;
        let mut conn = self.read_conn().await?;
        load_view(&mut conn, &row.id, access).await
    }

    /// *Done* on an ended interaction: it leaves the agent's workspace.
    pub async fn interaction_done(&self, account: &Account, id: &str) -> Result<()> {
        let (row, access) = self.interaction_access(account, id, "done").await?;
        if access != Access::Owner {
            return Err(err(
                ErrorCode::Forbidden,
                "only the interaction's agent closes it",
            ));
        }
        if row.state != "ended" {
            return Err(err(
                ErrorCode::InvalidState,
                "the interaction is still active",
            ));
        }
        let iid = row.id.clone();
        self.commit(move |conn| {
            Box::pin(async move {
                interactions::set_agent_done(conn, &iid).await?;
                Ok(((), Vec::new()))
            })
        })
        .await
    }

    /// The interaction's contact.
    pub async fn interaction_contact(&self, account: &Account, id: &str) -> Result<ContactView> {
        let (row, _) = self.interaction_access(account, id, "read_contact").await?;
        let contact_id = row.contact_id.ok_or_else(|| {
            err(
                ErrorCode::ContactNotFound,
                "this interaction has no contact",
            )
        })?;
        let contact = contacts::get(self.store().reader(), &contact_id)
            .await?
            .ok_or_else(|| err(ErrorCode::ContactNotFound, "the contact no longer exists"))?;
        Ok(contact_view(&contact))
    }
}
