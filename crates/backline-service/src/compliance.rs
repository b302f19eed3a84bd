//! Retention and legal holds: what is deleted after its configured age
//! (`compliance.*_retention_days`), what a hold keeps, and the audit of every
//! administrator's change to either.

use backline_protocol::admin::{HoldTarget, LegalHoldView, RetentionReport};
use backline_protocol::interactions::{ConsultationTranscript, ContactErasure, ContactExport};
use backline_protocol::ErrorCode;
use backline_store::compliance::{self, Cutoffs};
use backline_store::rows::LegalHoldRow;
use backline_store::{
    contacts, interactions, now_ms, sessions, transcript, ContactId, InteractionId,
};

use crate::auth::Account;
use crate::error::{err, Result};
use crate::shared::access::Access;
use crate::shared::audit_change;
use crate::shared::views::load_view;
use crate::Backline;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Longest hold reason, in bytes.
const MAX_REASON_BYTES: usize = 1000;

fn kind_name(kind: HoldTarget) -> &'static str {
    match kind {
        HoldTarget::Contact => "contact",
        HoldTarget::Interaction => "interaction",
    }
}

fn hold_view(row: LegalHoldRow) -> LegalHoldView {
    LegalHoldView {
        target_kind: if row.target_kind == "contact" {
            HoldTarget::Contact
        } else {
            HoldTarget::Interaction
        },
        target_id: row.target_id,
        reason: row.reason,
        placed_by: row.placed_by.into_string(),
        placed_at: row.placed_at,
    }
}

impl Backline {
    /// The cut-offs of a run at `now`: a kind whose age is 0 is kept.
    fn cutoffs(&self, now: i64) -> Cutoffs {
        let c = &self.config().compliance;
        let at = |days: u64| (days > 0).then(|| now - days as i64 * DAY_MS);
        Cutoffs {
            transcripts: at(c.transcript_retention_days),
            interactions: at(c.history_retention_days),
            audit: at(c.audit_retention_days),
        }
    }

    /// Whether any retention age is configured.
    pub fn retention_configured(&self) -> bool {
        self.cutoffs(0) != Cutoffs::default()
    }

    /// Deletes (or with `dry_run` counts) what is past its age and not held.
    /// `by` is the administrator who asked (`None`: the worker or the CLI);
    /// a run that deletes something, and every run an administrator asks
    /// for, is audited.
    pub async fn run_retention(
        &self,
        by: Option<&Account>,
        dry_run: bool,
    ) -> Result<RetentionReport> {
        let now = now_ms();
        let cutoffs = self.cutoffs(now);
        let actor = crate::shared::actor(by);
        let asked = by.is_some();
        self.commit(move |conn| {
            Box::pin(async move {
                let counts = compliance::retention(conn, cutoffs, dry_run).await?;
                let report = RetentionReport {
                    dry_run,
                    transcripts: counts.transcripts as u64,
                    interactions: counts.interactions as u64,
                    audit: counts.audit as u64,
                };
                let deleted = report.transcripts + report.interactions + report.audit;
                if asked || (!dry_run && deleted > 0) {
                    let action = if dry_run {
                        "retention_dry_run"
                    } else {
                        "retention_run"
                    };
                    let detail = format!(
                        "transcripts {}, interactions {}, audit entries {}{}",
                        report.transcripts,
                        report.interactions,
                        report.audit,
                        if dry_run {
                            " would be deleted"
                        } else {
                            " deleted"
                        }
                    );
                    audit_change(conn, &actor, action, "retention", &detail, now).await?;
                }
                Ok((report, Vec::new()))
            })
        })
        .await
    }

    /// Every legal hold, oldest first.
    pub async fn legal_holds(&self) -> Result<Vec<LegalHoldView>> {
        Ok(compliance::holds(self.store().reader())
            .await?
            .into_iter()
            .map(hold_view)
            .collect())
    }

    /// Places a hold on a contact or an interaction (administrators); a
    /// target already held keeps its first hold, which is answered.
    pub async fn place_legal_hold(
        &self,
        admin: &Account,
        kind: HoldTarget,
        id: &str,
        reason: &str,
    ) -> Result<LegalHoldView> {
        if !admin.is_admin() {
            return Err(err(
                ErrorCode::Forbidden,
                "only administrators place legal holds",
            ));
        }
        let reason = crate::input::single_line_name("reason", reason, MAX_REASON_BYTES, false)?;
        let reader = self.store().reader();
        let exists = match kind {
            HoldTarget::Contact => contacts::get(reader, &ContactId::from(id.to_owned()))
                .await?
                .is_some(),
            HoldTarget::Interaction => {
                interactions::get(reader, &InteractionId::from(id.to_owned()))
                    .await?
                    .is_some()
            }
        };
        if !exists {
            let code = match kind {
                HoldTarget::Contact => ErrorCode::ContactNotFound,
                HoldTarget::Interaction => ErrorCode::InteractionNotFound,
            };
            return Err(err(code, format!("no {} {id:?}", kind_name(kind))));
        }
        let (kind, id, by) = (kind_name(kind), id.to_owned(), admin.id.clone());
        self.commit(move |conn| {
            Box::pin(async move {
                let now = now_ms();
                if compliance::place_hold(conn, kind, &id, &reason, &by, now).await? {
                    let resource = format!("{kind}:{id}");
                    audit_change(
                        conn,
                        by.as_str(),
                        "legal_hold_placed",
                        &resource,
                        &reason,
                        now,
                    )
                    .await?;
                }
                let row = compliance::hold(&mut *conn, kind, &id)
                    .await?
                    .ok_or_else(|| err(ErrorCode::Internal, "the hold vanished"))?;
                Ok((hold_view(row), Vec::new()))
            })
        })
        .await
    }

    /// Lifts a hold (administrators); `legal_hold_not_found` when there is none.
    pub async fn lift_legal_hold(&self, admin: &Account, kind: HoldTarget, id: &str) -> Result<()> {
        if !admin.is_admin() {
            return Err(err(
                ErrorCode::Forbidden,
                "only administrators lift legal holds",
            ));
        }
        let (kind, id, by) = (kind_name(kind), id.to_owned(), admin.id.clone());
        self.commit(move |conn| {
            Box::pin(async move {
                if !compliance::lift_hold(conn, kind, &id).await? {
                    return Err(err(
                        ErrorCode::LegalHoldNotFound,
                        format!("{kind} {id:?} is not under a legal hold"),
                    ));
                }
                let resource = format!("{kind}:{id}");
                audit_change(
                    conn,
                    by.as_str(),
                    "legal_hold_lifted",
                    &resource,
                    "",
                    now_ms(),
                )
                .await?;
                Ok(((), Vec::new()))
            })
        })
        .await
    }
}

impl Backline {
    /// Everything about one contact, for a subject-access request
    /// (administrators). The export itself is audited.
    pub async fn export_contact(&self, admin: &Account, contact_id: &str) -> Result<ContactExport> {
        let contact_id = &ContactId::from(contact_id.to_owned());
        if !admin.is_admin() {
            return Err(err(
                ErrorCode::Forbidden,
                "only administrators export contacts",
            ));
        }
        let mut conn = self.read_conn().await?;
        let contact = contacts::get(&mut conn, contact_id).await?.ok_or_else(|| {
            err(
                ErrorCode::ContactNotFound,
                format!("no contact {contact_id:?}"),
            )
        })?;
        let ids = compliance::contact_interactions(&mut conn, contact_id).await?;
        let mut views = Vec::with_capacity(ids.len());
        let mut consultations = Vec::new();
        for id in &ids {
            views.push(load_view(&mut conn, id, Access::Owner).await?);
            let mut sessions = sessions::consultations(&mut conn, id).await?;
            sessions.reverse();
            for session in sessions {
                let entries = transcript::page(&mut conn, &session.id, 0, i64::MAX, 100_000, false)
                    .await?
                    .into_iter()
                    // A whisper is between a supervisor and an agent only.
                    .filter(|e| e.kind != "whisper")
                    .map(crate::sessions::entry_from_row)
                    .collect();
                consultations.push(ConsultationTranscript {
                    interaction_id: id.to_string(),
                    session_id: session.id.into_string(),
                    entries,
                });
            }
        }
        let attached_transcripts = interactions::transcripts(&mut conn, &ids)
            .await?
            .iter()
            .map(crate::interactions::attached_transcript)
            .collect();
        let audit_entries = compliance::contact_audit(&mut conn, contact_id)
            .await?
            .into_iter()
            .map(crate::shared::audit_entry)
            .collect();
        drop(conn);
        let export = ContactExport {
            exported_at: now_ms(),
            contact: crate::interactions::contact_view(&contact),
            interactions: views,
            attached_transcripts,
            consultations,
            audit: audit_entries,
        };
        let (by, resource) = (admin.id.clone(), format!("contact:{contact_id}"));
        let detail = format!(
            "{} interactions, {} consultations",
            export.interactions.len(),
            export.consultations.len()
        );
        self.commit(move |conn| {
            Box::pin(async move {
                audit_change(
                    conn,
                    by.as_str(),
                    "contact_exported",
                    &resource,
                    &detail,
                    now_ms(),
                )
                .await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        Ok(export)
    }

    /// Erases a contact with its history and the consultations about it
    /// (administrators); refused with `under_legal_hold` while the contact or
    /// one of its interactions is held. Audited.
    pub async fn erase_contact(&self, admin: &Account, contact_id: &str) -> Result<ContactErasure> {
        if !admin.is_admin() {
            return Err(err(
                ErrorCode::Forbidden,
                "only administrators erase contacts",
            ));
        }
        let (id, by) = (ContactId::from(contact_id.to_owned()), admin.id.clone());
        self.commit(move |conn| {
            Box::pin(async move {
                if compliance::contact_held(&mut *conn, &id).await? {
                    return Err(err(
                        ErrorCode::UnderLegalHold,
                        format!("contact {id:?} or one of its interactions is under a legal hold"),
                    ));
                }
                let erased = compliance::erase_contact(conn, &id)
                    .await?
                    .ok_or_else(|| err(ErrorCode::ContactNotFound, format!("no contact {id:?}")))?;
                let detail = format!("{erased} interactions erased");
                let resource = format!("contact:{id}");
                audit_change(
                    conn,
                    by.as_str(),
                    "contact_erased",
                    &resource,
                    &detail,
                    now_ms(),
                )
                .await?;
                Ok((
                    ContactErasure {
                        contact_id: id.to_string(),
                        interactions: erased as u64,
                    },
                    Vec::new(),
                ))
            })
        })
        .await
    }
}
