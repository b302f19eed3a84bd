//! Renders the TypeScript declarations of every wire type into one file.
//!
//! The file is committed at `web/src/protocol/generated.ts`; the test below
//! fails when it is stale, and `UPDATE_GENERATED=1` rewrites it (and the
//! error-code table in `docs/protocol.md`).

use ts_rs::{Config, TS};

use crate::{admin, error, events, frames, interactions, model, voice};

/// The whole generated file.
pub fn render() -> String {
    // Every integer on the wire fits in 2^53, so plain `number` is right for TypeScript.
    let cfg = Config::new().with_large_int("number");
    let decls = [
        error::ErrorCode::decl(&cfg),
        error::ErrorBody::decl(&cfg),
        model::Role::decl(&cfg),
        model::Status::decl(&cfg),
        model::GroupRef::decl(&cfg),
        model::Preferences::decl(&cfg),
        model::Me::decl(&cfg),
        model::SignInRequest::decl(&cfg),
        model::SignInResponse::decl(&cfg),
        model::SignInMethods::decl(&cfg),
        model::SsoMethod::decl(&cfg),
        model::SsoFinishRequest::decl(&cfg),
        model::SetStatusRequest::decl(&cfg),
        model::SetPreferencesRequest::decl(&cfg),
        model::StatusReason::decl(&cfg),
        model::DirectoryFilter::decl(&cfg),
        model::TargetKind::decl(&cfg),
        model::TargetAction::decl(&cfg),
        model::DirectoryEntry::decl(&cfg),
        model::UnavailableAction::decl(&cfg),
        model::DirectoryResponse::decl(&cfg),
        model::PresenceView::decl(&cfg),
        model::SessionState::decl(&cfg),
        model::ParticipantState::decl(&cfg),
        model::ParticipantRole::decl(&cfg),
        model::ParticipantView::decl(&cfg),
        model::SessionView::decl(&cfg),
        model::OfferState::decl(&cfg),
        model::OfferStage::decl(&cfg),
        model::OfferView::decl(&cfg),
        model::MissedView::decl(&cfg),
        model::EntryKind::decl(&cfg),
        model::TranscriptEntry::decl(&cfg),
        model::NewMessage::decl(&cfg),
        model::WhisperRequest::decl(&cfg),
        model::SupervisionBoard::decl(&cfg),
        model::BoardGroup::decl(&cfg),
        model::BoardMember::decl(&cfg),
        model::BoardConsultation::decl(&cfg),
        model::CreateSessionRequest::decl(&cfg),
        model::MessageAck::decl(&cfg),
        model::TranscriptPage::decl(&cfg),
        model::MarkKind::decl(&cfg),
        model::MarkRequest::decl(&cfg),
        model::TypingState::decl(&cfg),
        model::Health::decl(&cfg),
        interactions::Media::decl(&cfg),
        interactions::InteractionState::decl(&cfg),
        interactions::CaseDataItem::decl(&cfg),
        interactions::ContactView::decl(&cfg),
        interactions::ContactInput::decl(&cfg),
        interactions::ConsultationView::decl(&cfg),
        interactions::ConsultationOutcome::decl(&cfg),
        interactions::OutcomeView::decl(&cfg),
        interactions::SetOutcomeRequest::decl(&cfg),
        interactions::InteractionView::decl(&cfg),
        interactions::AttachedTranscript::decl(&cfg),
        interactions::HistoryItem::decl(&cfg),
        interactions::Snippet::decl(&cfg),
        interactions::Highlight::decl(&cfg),
        interactions::HistoryPage::decl(&cfg),
        interactions::CreateInteractionRequest::decl(&cfg),
        interactions::UpdateInteractionRequest::decl(&cfg),
        interactions::EndInteractionRequest::decl(&cfg),
        interactions::IntegrationView::decl(&cfg),
        interactions::IntegrationScope::decl(&cfg),
        interactions::CreateIntegrationRequest::decl(&cfg),
        interactions::CreatedIntegration::decl(&cfg),
        interactions::WebhookEvent::decl(&cfg),
        interactions::ConsultationTranscript::decl(&cfg),
        interactions::ContactExport::decl(&cfg),
        interactions::ContactErasure::decl(&cfg),
        interactions::AuditEntry::decl(&cfg),
        voice::CallKind::decl(&cfg),
        voice::CallState::decl(&cfg),
        voice::PartyKind::decl(&cfg),
        voice::LegState::decl(&cfg),
        voice::CallParty::decl(&cfg),
        voice::CallView::decl(&cfg),
        voice::IceServer::decl(&cfg),
        voice::IceConfig::decl(&cfg),
        voice::AcceptCallRequest::decl(&cfg),
        voice::PublicCallRequest::decl(&cfg),
        voice::PublicCallResponse::decl(&cfg),
        voice::Signal::decl(&cfg),
        events::EventBody::decl(&cfg),
        events::StreamEvent::decl(&cfg),
        events::EventPage::decl(&cfg),
        frames::ClientFrame::decl(&cfg),
        frames::ServerFrame::decl(&cfg),
        admin::UserView::decl(&cfg),
        admin::CreateUserRequest::decl(&cfg),
        admin::UpdateUserRequest::decl(&cfg),
        admin::GroupView::decl(&cfg),
        admin::CreateGroupRequest::decl(&cfg),
        admin::UpdateGroupRequest::decl(&cfg),
        admin::ConsultationReport::decl(&cfg),
        admin::GroupFigures::decl(&cfg),
        admin::CreateStatusReasonRequest::decl(&cfg),
        admin::RedactRequest::decl(&cfg),
        admin::HoldTarget::decl(&cfg),
        admin::LegalHoldRequest::decl(&cfg),
        admin::LegalHoldView::decl(&cfg),
        admin::RetentionRequest::decl(&cfg),
        admin::RetentionReport::decl(&cfg),
        admin::RotatedIntegration::decl(&cfg),
        admin::DeliveryState::decl(&cfg),
        admin::WebhookDelivery::decl(&cfg),
        admin::WebhookDeliveryPage::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from crates/backline-protocol by `UPDATE_GENERATED=1 cargo test -p backline-protocol`.\n\
         // Do not edit by hand.\n\n",
    );
    for decl in decls {
        out.push_str("export ");
        out.push_str(&decl);
        out.push_str("\n\n");
    }
    out.push_str("export const ERROR_CODES: readonly ErrorCode[] = [\n");
    for code in error::ErrorCode::ALL {
        out.push_str(&format!("  \"{}\",\n", code.as_str()));
    }
    out.push_str("];\n");
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    fn repo_root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn check_or_update(path: PathBuf, expected: String) {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == expected {
            return;
        }
        if std::env::var_os("UPDATE_GENERATED").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, expected).unwrap();
            return;
        }
        panic!(
            "{} is stale: run `UPDATE_GENERATED=1 cargo test -p backline-protocol` and commit the result",
            path.display()
        );
    }

    #[test]
    fn generated_typescript_is_fresh() {
        check_or_update(
            repo_root().join("web/src/protocol/generated.ts"),
            super::render(),
        );
    }

    #[test]
    fn protocol_doc_error_table_is_fresh() {
        let path = repo_root().join("docs/protocol.md");
        let doc = std::fs::read_to_string(&path).unwrap();
        let start = "<!-- error-codes:start -->\n";
        let end = "<!-- error-codes:end -->";
        let a = doc.find(start).expect("start marker") + start.len();
        let b = doc.find(end).expect("end marker");
        let expected = format!(
            "{}{}{}",
            &doc[..a],
            crate::error::markdown_table(),
            &doc[b..]
        );
        check_or_update(path, expected);
    }
}
