//! IM sessions: invitation, accept / reject / cancel / time-out, messages, end, done, marks, typing.
//!
//! Every state change runs as one write: it checks the state it reads inside
//! the transaction, appends transcript entries (per-session seq), and emits a
//! stream event to every participant who must hear of it. Participants are a
//! list, so a third colleague can be invited later without a new model.
//!
//! Layout: `tx` (one write's context: entries, notifications, and for a
//! consultation the platform's webhooks and the attached transcript),
//! `views` (a session as a participant sees it, the workspace, transcript
//! pages), `invitations` (create, accept, reject, cancel, time-out),
//! `messaging` (send, delivered and read marks, typing), `end` (*End
//! Session* and *Done*), `offers` (a consultation offered to a group: waves,
//! widening, the first accept wins), `followup` (the Missed list, outcomes),
//! `redaction` (an administrator redacts a message), `supervision` (a group
//! supervisor joins a consultation and whispers to one participant; the
//! supervisor's board). Below: the checks they
//! share.

mod end;
mod followup;
mod invitations;
mod messaging;
mod offers;
mod redaction;
mod supervision;
mod tx;
mod views;

pub use offers::Withdrawal;
pub(crate) use views::entry_from_row;

use backline_protocol::ErrorCode;
use backline_store::rows::ParticipantRow;
use backline_store::types as stored;
use backline_store::SessionId;
use backline_store::{Backend, Locks, UserId};

use crate::auth::Account;
use crate::error::{err, Result};
use crate::Backline;

/// Participants who hear of a session's changes: invited or joined.
fn is_active(p: &ParticipantRow) -> bool {
    p.state == stored::ParticipantState::Invited || p.state == stored::ParticipantState::Joined
}

impl Backline {
    /// The rows a change of a session's state locks (see [`Locks`]): the
    /// session (and so its participants), and on PostgreSQL the supervisors
    /// whose board shows it, whose streams the change appends to.
    async fn session_locks(&self, session_id: &SessionId) -> Result<Locks> {
        let mut locks = Locks::session(session_id);
        if self.store().backend() == Backend::Postgres {
            let watchers =
                backline_store::sessions::board_watchers(self.store().reader(), session_id, 0)
                    .await?;
            locks.add_users(watchers.iter().map(|(user, _)| user));
        }
        Ok(locks)
    }

    /// On PostgreSQL, the supervisors of these users' groups: the streams a
    /// new consultation between them appends its board notice to (see
    /// [`Locks`]); nothing on SQLite, whose single writer locks nothing.
    async fn board_locks_of_members(&self, users: &[&UserId]) -> Result<Vec<UserId>> {
        let mut out = Vec::new();
        if self.store().backend() == Backend::Postgres {
            for user in users {
                let pairs =
                    backline_store::groups::supervisors_of_member(self.store().reader(), user)
                        .await?;
                out.extend(pairs.into_iter().map(|(supervisor, _)| supervisor));
            }
        }
        Ok(out)
    }

    /// A message's text as it is stored: card numbers masked (unless
    /// `compliance.mask_card_numbers` is off). Applied before anything reads
    /// it, so the transcript, the search index, an attached transcript, the
    /// webhooks and an idempotent retry's comparison all see the masked text.
    pub(crate) fn stored_text(&self, text: &str) -> String {
        match self.config().compliance.mask_card_numbers {
            true => crate::cards::mask_card_numbers(text).unwrap_or_else(|| text.to_owned()),
            false => text.to_owned(),
        }
    }
}

fn validate_text(text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(err(ErrorCode::EmptyMessage, "a message cannot be empty"));
    }
    if text.len() > max {
        return Err(err(
            ErrorCode::MessageTooLarge,
            format!(
                "a message is at most {max} bytes; this one has {}",
                text.len()
            ),
        ));
    }
    Ok(())
}

fn validate_client_id(name: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
        return Err(err(
            ErrorCode::InvalidRequest,
            format!("{name}: 1 to 64 printable characters"),
        ));
    }
    Ok(())
}

fn require_im(caller: &Account) -> Result<()> {
    if caller.im_permitted {
        Ok(())
    } else {
        Err(err(
            ErrorCode::ImNotPermitted,
            "your account does not have the Internal IM permission",
        ))
    }
}
