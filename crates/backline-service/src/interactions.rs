//! Interactions, contacts, contact history, the sharing rule, the platform
//! (integration) API and the webhook events they produce.
//!
//! The sharing rule: an interaction's case data, contact and history are
//! readable by its assigned agent and by every target who accepted a
//! consultation about it — nobody else. A refused attempt is written to the
//! audit log in its own write.

use backline_protocol::events::EventBody;
use backline_protocol::interactions::{
    AttachedTranscript, AuditEntry, CaseDataItem, ConsultationView, ContactInput, ContactView,
    CreateInteractionRequest, CreatedIntegration, EndInteractionRequest, HistoryItem, HistoryPage,
    IntegrationView, InteractionState, InteractionView, Media, UpdateInteractionRequest,
    WebhookEvent,
};
use backline_protocol::ErrorCode;
use backline_store::rows::{ContactRow, IntegrationRow, InteractionRow};
use backline_store::types as stored;
use backline_store::WriteTx;
use backline_store::{
    audit, contacts, integrations, interactions, now_ms, outbox, sessions, users,
};

use crate::auth::{token_hash, Account};
use crate::bus::BusMessage;
use crate::error::{err, Result, ServiceError};
use crate::stream::emit;
use crate::text::fold;
use crate::Backline;

/// An authenticated platform integration.
#[derive(Debug, Clone)]
pub struct Integration {
    pub id: String,
    pub name: String,
}

/// How a caller may see an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The assigned agent.
    Owner,
    /// A target who accepted a consultation about it: read-only.
    ConsultTarget,
}

/// Filters of a history search, as the API receives them.
#[derive(Debug, Clone, Default)]
pub struct HistorySearch {
    pub text: String,
    pub media: Option<Media>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub agent_id: Option<String>,
    pub limit: usize,
}

const MAX_CASE_DATA_ITEMS: usize = 200;
const MAX_FIELD_CHARS: usize = 4000;

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| ServiceError::Internal(e.into()))
}

fn parse_list<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

fn check_len(name: &str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        return Err(err(
            ErrorCode::InvalidRequest,
            format!("{name}: at most {max} characters"),
        ));
    }
    Ok(())
}

fn validate_case_data(items: &[CaseDataItem]) -> Result<()> {
    if items.len() > MAX_CASE_DATA_ITEMS {
        return Err(err(
            ErrorCode::InvalidRequest,
            format!("case_data: at most {MAX_CASE_DATA_ITEMS} items"),
        ));
    }
    for item in items {
        if item.key.trim().is_empty() {
            return Err(err(
                ErrorCode::InvalidRequest,
                "case_data: every key must be non-empty",
            ));
        }
        check_len("case_data key", &item.key, 200)?;
        check_len("case_data value", &item.value, MAX_FIELD_CHARS)?;
    }
    Ok(())
}

fn validate_contact(contact: &ContactInput) -> Result<()> {
    if contact.first_name.trim().is_empty() && contact.last_name.trim().is_empty() {
        return Err(err(
            ErrorCode::InvalidRequest,
            "contact: a first or last name is required",
        ));
    }
    check_len("contact.first_name", &contact.first_name, 200)?;
    check_len("contact.last_name", &contact.last_name, 200)?;
    if let Some(id) = &contact.external_id {
        if id.trim().is_empty() || id.len() > 200 {
            return Err(err(
                ErrorCode::InvalidRequest,
                "contact.external_id: 1 to 200 bytes",
            ));
        }
    }
    if contact.phones.len() > 20 || contact.emails.len() > 20 {
        return Err(err(
            ErrorCode::InvalidRequest,
            "contact: at most 20 phones and 20 e-mail addresses",
        ));
    }
    for email in &contact.emails {
        if !email.contains('@') || email.len() > 320 {
            return Err(err(
                ErrorCode::InvalidRequest,
                format!("contact.emails: {email:?} is not an e-mail address"),
            ));
        }
    }
    for phone in &contact.phones {
        let ok = !phone.is_empty()
            && phone.len() <= 40
            && phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if !ok {
            return Err(err(
                ErrorCode::InvalidRequest,
                format!("contact.phones: {phone:?} is not a phone number"),
            ));
        }
    }
    validate_case_data(&contact.attributes)
}

pub(crate) fn contact_view(row: &ContactRow) -> ContactView {
    ContactView {
        id: row.id.clone(),
        external_id: row.external_id.clone(),
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        phones: parse_list(&row.phones),
        emails: parse_list(&row.emails),
        attributes: parse_list(&row.attributes),
    }
}

fn contact_name(row: &InteractionRow) -> Option<String> {
    match (&row.contact_first_name, &row.contact_last_name) {
        (None, None) => None,
        (first, last) => Some(
            format!(
                "{} {}",
                first.as_deref().unwrap_or(""),
                last.as_deref().unwrap_or("")
            )
            .trim()
            .to_owned(),
        ),
    }
}

fn interaction_state(row: &InteractionRow) -> InteractionState {
    if row.state == "ended" {
        InteractionState::Ended
    } else {
        InteractionState::Active
    }
}

fn base_view(
    row: &InteractionRow,
    consultations: Vec<ConsultationView>,
    read_only: bool,
) -> InteractionView {
    InteractionView {
        id: row.id.clone(),
        external_id: row.external_id.clone(),
        media: Media::parse(&row.media).unwrap_or(Media::Voice),
        state: interaction_state(row),
        agent_id: row.agent_id.clone(),
        agent_name: row.agent_name.clone(),
        contact_id: row.contact_id.clone(),
        contact_name: contact_name(row),
        subject: row.subject.clone(),
        case_data: parse_list(&row.case_data),
        outcome: row.outcome.clone(),
        notes: row.notes.clone(),
        created_at: row.created_at,
        ended_at: row.ended_at,
        consultations,
        read_only,
    }
}

/// The consultations of an interaction, as *Active Consultations* shows them.
pub(crate) async fn consultation_views<C>(
    conn: &mut C,
    interaction_id: &str,
) -> Result<Vec<ConsultationView>>
where
    C: Send,
    for<'a> &'a mut C: backline_store::Exec,
{
    let mut out = Vec::new();
    for session in sessions::consultations(&mut *conn, interaction_id).await? {
        let participants = sessions::participants(&mut *conn, &session.id).await?;
        let target = participants
            .iter()
            .find(|p| p.role == stored::ParticipantRole::Invitee);
        if let Some(target) = target {
            out.push(ConsultationView {
                session_id: session.id.clone(),
                initiator_id: session.created_by.clone(),
                target_id: target.user_id.clone(),
                target_name: target.display_name.clone(),
                state: crate::sessions::session_state(session.state),
                created_at: session.created_at,
            });
        }
    }
    Ok(out)
}

/// Loads and renders an interaction inside a write or on a read connection.
async fn load_view<C>(conn: &mut C, id: &str, access: Access) -> Result<InteractionView>
where
    C: Send,
    for<'a> &'a mut C: backline_store::Exec,
{
    let row = interactions::get(&mut *conn, id).await?.ok_or_else(|| {
        err(
            ErrorCode::InteractionNotFound,
            format!("no interaction {id:?}"),
        )
    })?;
    let consultations = match access {
        Access::Owner => consultation_views(conn, id).await?,
        Access::ConsultTarget => Vec::new(),
    };
    Ok(base_view(
        &row,
        consultations,
        access == Access::ConsultTarget,
    ))
}

/// Rebuilds the searchable text of an interaction: subject, outcome, notes,
/// agent and transcripts, folded for case- and accent-insensitive search.
pub(crate) async fn reindex(conn: &mut WriteTx, interaction_id: &str) -> Result<()> {
    let Some(row) = interactions::get(&mut *conn, interaction_id).await? else {
        return Ok(());
    };
    let attached = interactions::transcripts(&mut *conn, &[interaction_id.to_owned()]).await?;
    let mut text = format!(
        "{} {} {} {}",
        row.subject,
        row.outcome.as_deref().unwrap_or(""),
        row.notes.as_deref().unwrap_or(""),
        row.agent_name.as_deref().unwrap_or("")
    );
    for transcript in attached {
        text.push(' ');
        text.push_str(&transcript.title);
        text.push(' ');
        text.push_str(&transcript.body);
    }
    interactions::index_for_search(conn, interaction_id, &fold(&text)).await?;
    Ok(())
}

/// Search words: folded runs of letters and digits (safe in FTS5 and tsquery syntax).
fn search_words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(10)
        .map(str::to_owned)
        .collect()
}

/// A short excerpt of `text` around the first word that matches, with the match in [brackets].
fn snippet(text: &str, words: &[String]) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let folded: Vec<char> = chars.iter().map(|c| crate::text::fold_char(*c)).collect();
    let folded_text: String = folded.iter().collect();
    let mut best: Option<(usize, usize)> = None;
    for word in words {
        let mut search_from = 0;
        while let Some(found) = folded_text[search_from..].find(word.as_str()) {
            let byte = search_from + found;
            let start = folded_text[..byte].chars().count();
            let at_word_start = start == 0 || !folded[start - 1].is_alphanumeric();
            if at_word_start {
                let end = start + word.chars().count();
                if best.is_none_or(|(s, _)| start < s) {
                    best = Some((start, end));
                }
                break;
            }
            search_from = byte + word.len();
        }
    }
    let (start, end) = best?;
    let mut end_word = end;
    while end_word < chars.len() && chars[end_word].is_alphanumeric() {
        end_word += 1;
    }
    let from = start.saturating_sub(40);
    let to = (end_word + 60).min(chars.len());
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.extend(&chars[from..start]);
    out.push('[');
    out.extend(&chars[start..end_word]);
    out.push(']');
    out.extend(&chars[end_word..to]);
    if to < chars.len() {
        out.push('…');
    }
    Some(out.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Queues a webhook event for the interaction's integration (when it has a webhook).
pub(crate) async fn enqueue_webhook(
    conn: &mut WriteTx,
    interaction: &InteractionRow,
    event_type: &str,
    consultation: Option<ConsultationView>,
    transcript: Option<String>,
    now: i64,
) -> Result<()> {
    let Some(integration_id) = &interaction.integration_id else {
        return Ok(());
    };
    let Some(integration) = integrations::get(&mut *conn, integration_id).await? else {
        return Ok(());
    };
    if integration.webhook_url.is_none() {
        return Ok(());
    }
    let event = WebhookEvent {
        id: uuid::Uuid::now_v7().to_string(),
        event_type: event_type.to_owned(),
        ts: now,
        interaction_id: interaction.id.clone(),
        interaction_external_id: interaction.external_id.clone(),
        consultation,
        transcript,
    };
    outbox::enqueue(
        conn,
        &event.id,
        integration_id,
        event_type,
        &json(&event)?,
        now,
    )
    .await?;
    Ok(())
}

fn integration_view(row: &IntegrationRow) -> IntegrationView {
    IntegrationView {
        id: row.id.clone(),
        name: row.name.clone(),
        webhook_url: row.webhook_url.clone(),
        created_at: row.created_at,
    }
}

fn random_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Inserts or updates a contact inside a write; matched by external id when given.
pub(crate) async fn upsert_contact(
    conn: &mut WriteTx,
    input: &ContactInput,
    now: i64,
) -> Result<String> {
    let phones = json(&input.phones)?;
    let emails = json(&input.emails)?;
    let attributes = json(&input.attributes)?;
    let fields = contacts::ContactFields {
        first_name: input.first_name.trim(),
        last_name: input.last_name.trim(),
        phones: &phones,
        emails: &emails,
        attributes: &attributes,
    };
    if let Some(external_id) = &input.external_id {
        if let Some(existing) = contacts::by_external_id(&mut *conn, external_id).await? {
            contacts::update(conn, &existing.id, &fields, now).await?;
            return Ok(existing.id);
        }
    }
    let id = uuid::Uuid::now_v7().to_string();
    contacts::insert(conn, &id, input.external_id.as_deref(), &fields, now).await?;
    Ok(id)
}

impl Backline {
    /// Creates an integration credential; the token and secret are returned once.
    pub async fn create_integration(
        &self,
        name: &str,
        webhook_url: Option<String>,
    ) -> Result<CreatedIntegration> {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(err(ErrorCode::InvalidRequest, "name: 1 to 100 characters"));
        }
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
        let (i, n, t, u, s) = (
            id.clone(),
            name.clone(),
            token_hash(&token),
            webhook_url.clone(),
            secret.clone(),
        );
        let now = now_ms();
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
                        created_at: now,
                    },
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
            id: row.id,
            name: row.name,
        })
    }

    /// Finds an interaction of this integration by Backline id or by its external id.
    async fn platform_interaction(
        &self,
        integration: &Integration,
        id: &str,
    ) -> Result<InteractionRow> {
        let reader = self.store().reader();
        let row = match interactions::get(reader, id).await? {
            Some(row) if row.integration_id.as_deref() == Some(integration.id.as_str()) => {
                Some(row)
            }
            _ => interactions::by_external_id(reader, &integration.id, id).await?,
        };
        row.ok_or_else(|| {
            err(
                ErrorCode::InteractionNotFound,
                format!("no interaction {id:?} of this integration"),
            )
        })
    }

    /// `PUT /platform/contacts`.
    pub async fn platform_upsert_contact(&self, input: ContactInput) -> Result<ContactView> {
        validate_contact(&input)?;
        let now = now_ms();
        let id = self
            .commit(move |conn| {
                Box::pin(async move { Ok((upsert_contact(conn, &input, now).await?, Vec::new())) })
            })
            .await?;
        let row = contacts::get(self.store().reader(), &id)
            .await?
            .ok_or_else(|| err(ErrorCode::ContactNotFound, "contact vanished"))?;
        Ok(contact_view(&row))
    }

    /// `POST /platform/interactions`: creates and assigns an interaction, or
    /// returns the existing one for a repeated `external_id` (second value false).
    pub async fn platform_create_interaction(
        &self,
        integration: &Integration,
        request: CreateInteractionRequest,
    ) -> Result<(InteractionView, bool)> {
        if request.external_id.trim().is_empty() || request.external_id.len() > 200 {
            return Err(err(
                ErrorCode::InvalidRequest,
                "external_id: 1 to 200 bytes",
            ));
        }
        if request.media == Media::InternalIm {
            return Err(err(
                ErrorCode::InvalidRequest,
                "media: voice, chat or email",
            ));
        }
        check_len("subject", &request.subject, 500)?;
        validate_case_data(&request.case_data)?;
        if let Some(contact) = &request.contact {
            validate_contact(contact)?;
        }
        if let Some(existing) = interactions::by_external_id(
            self.store().reader(),
            &integration.id,
            &request.external_id,
        )
        .await?
        {
            let mut conn = self.read_conn().await?;
            return Ok((
                load_view(&mut conn, &existing.id, Access::Owner).await?,
                false,
            ));
        }
        let agent = self.find_user(&request.agent).await?;
        if agent.disabled != 0 {
            return Err(err(
                ErrorCode::UserNotFound,
                format!("agent {:?} is disabled", request.agent),
            ));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let (iid, integration_id) = (id.clone(), integration.id.clone());
        self.commit(move |conn| {
            Box::pin(async move {
                let now = now_ms();
                let contact_id = match &request.contact {
                    Some(contact) => Some(upsert_contact(conn, contact, now).await?),
                    None => None,
                };
                interactions::insert(
                    conn,
                    interactions::NewInteraction {
                        id: &iid,
                        integration_id: Some(&integration_id),
                        external_id: Some(&request.external_id),
                        media: request.media.as_str(),
                        state: "active",
                        agent_id: Some(&agent.id),
                        contact_id: contact_id.as_deref(),
                        subject: request.subject.trim(),
                        case_data: &json(&request.case_data)?,
                        outcome: None,
                        notes: None,
                        created_at: now,
                        ended_at: None,
                    },
                )
                .await?;
                reindex(conn, &iid).await?;
                // The platform's telephony carries a voice interaction's audio:
                // its contact call has a contact party without a browser.
                if request.media == Media::Voice {
                    let call_id = uuid::Uuid::now_v7().to_string();
                    backline_store::calls::insert(
                        conn,
                        backline_store::calls::NewCall {
                            id: &call_id,
                            kind: stored::CallKind::Contact,
                            state: stored::CallState::Active,
                            interaction_id: Some(&iid),
                            consultation_session_id: None,
                            contact_call_id: None,
                            created_at: now,
                            ring_expires_at: None,
                            caller_token_hash: None,
                        },
                    )
                    .await?;
                    let contact_name = request
                        .contact
                        .as_ref()
                        .map(|c| {
                            format!("{} {}", c.first_name, c.last_name)
                                .trim()
                                .to_owned()
                        })
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| "Contact".into());
                    let party = crate::voice::contact_party_id(&call_id);
                    backline_store::calls::add_party(
                        conn,
                        &call_id,
                        &party,
                        stored::PartyKind::Contact,
                        &contact_name,
                        stored::PartyState::Connected,
                        None,
                        now,
                    )
                    .await?;
                    backline_store::calls::add_party(
                        conn,
                        &call_id,
                        &agent.id,
                        stored::PartyKind::Agent,
                        &agent.display_name,
                        stored::PartyState::Connected,
                        None,
                        now,
                    )
                    .await?;
                }
                let mut out = Vec::new();
                announce(conn, &mut out, &iid, "interaction.created", now).await?;
                Ok(((), out))
            })
        })
        .await?;
        let mut conn = self.read_conn().await?;
        Ok((load_view(&mut conn, &id, Access::Owner).await?, true))
    }

    /// `PATCH /platform/interactions/{id}`.
    pub async fn platform_update_interaction(
        &self,
        integration: &Integration,
        id: &str,
        request: UpdateInteractionRequest,
    ) -> Result<InteractionView> {
        let row = self.platform_interaction(integration, id).await?;
        if let Some(subject) = &request.subject {
            check_len("subject", subject, 500)?;
        }
        if let Some(items) = &request.case_data {
            validate_case_data(items)?;
        }
        let iid = row.id.clone();
        self.commit(move |conn| {
            Box::pin(async move {
                let now = now_ms();
                let current = interactions::get(&mut *conn, &iid)
                    .await?
                    .ok_or_else(|| err(ErrorCode::InteractionNotFound, "interaction vanished"))?;
                if current.state == "ended" {
                    return Err(err(ErrorCode::InvalidState, "the interaction has ended"));
                }
                let subject = request
                    .subject
                    .as_deref()
                    .map(str::trim)
                    .unwrap_or(&current.subject)
                    .to_owned();
                let case_data = match &request.case_data {
                    Some(items) => json(items)?,
                    None => current.case_data.clone(),
                };
                interactions::update(conn, &iid, &subject, &case_data).await?;
                reindex(conn, &iid).await?;
                let mut out = Vec::new();
                announce(conn, &mut out, &iid, "interaction.updated", now).await?;
                Ok(((), out))
            })
        })
        .await?;
        let mut conn = self.read_conn().await?;
        load_view(&mut conn, &row.id, Access::Owner).await
    }

    /// `POST /platform/interactions/{id}/end`.
    pub async fn platform_end_interaction(
        &self,
        integration: &Integration,
        id: &str,
        request: EndInteractionRequest,
    ) -> Result<InteractionView> {
        let row = self.platform_interaction(integration, id).await?;
        if let Some(outcome) = &request.outcome {
            check_len("outcome", outcome, 500)?;
        }
        if let Some(notes) = &request.notes {
            check_len("notes", notes, 20_000)?;
        }
        let iid = row.id.clone();
        self.commit(move |conn| {
            Box::pin(async move {
                let now = now_ms();
                let current = interactions::get(&mut *conn, &iid)
                    .await?
                    .ok_or_else(|| err(ErrorCode::InteractionNotFound, "interaction vanished"))?;
                if current.state == "ended" {
                    return Err(err(
                        ErrorCode::InvalidState,
                        "the interaction has ended already",
                    ));
                }
                interactions::end(
                    conn,
                    &iid,
                    request.outcome.as_deref(),
                    request.notes.as_deref(),
                    now,
                )
                .await?;
                reindex(conn, &iid).await?;
                let mut out = Vec::new();
                announce(conn, &mut out, &iid, "interaction.ended", now).await?;
                Ok(((), out))
            })
        })
        .await?;
        let mut conn = self.read_conn().await?;
        load_view(&mut conn, &row.id, Access::Owner).await
    }

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
        let (_, access) = self
            .interaction_access(account, id, "read_case_data")
            .await?;
        let mut conn = self.read_conn().await?;
        load_view(&mut conn, id, access).await
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

    /// The contact's history, searched.
    pub async fn interaction_history(
        &self,
        account: &Account,
        id: &str,
        search: HistorySearch,
    ) -> Result<HistoryPage> {
        let (row, _) = self.interaction_access(account, id, "read_history").await?;
        let Some(contact_id) = row.contact_id else {
            return Ok(HistoryPage { items: Vec::new() });
        };
        if search.text.chars().count() > 200 {
            return Err(err(ErrorCode::InvalidRequest, "q: at most 200 characters"));
        }
        let words = search_words(&search.text);
        let query = interactions::HistoryQuery {
            contact_id,
            media: search.media.map(|m| m.as_str().to_owned()),
            from: search.from,
            to: search.to,
            agent_id: search.agent_id.clone(),
            words: words.clone(),
            limit: search.limit.clamp(1, 200) as i64,
        };
        let rows =
            interactions::history(self.store().reader(), self.store().backend(), &query).await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let attached = interactions::transcripts(self.store().reader(), &ids).await?;
        let items = rows
            .iter()
            .map(|row| {
                let transcripts: Vec<AttachedTranscript> = attached
                    .iter()
                    .filter(|t| t.interaction_id == row.id)
                    .map(|t| AttachedTranscript {
                        session_id: t.session_id.clone(),
                        title: t.title.clone(),
                        text: t.body.clone(),
                        attached_at: t.attached_at,
                    })
                    .collect();
                let snippet = if words.is_empty() {
                    None
                } else {
                    let mut parts: Vec<&str> = vec![row.subject.as_str()];
                    parts.extend(row.outcome.as_deref());
                    parts.extend(row.notes.as_deref());
                    parts.extend(transcripts.iter().map(|t| t.text.as_str()));
                    let haystack = parts
                        .into_iter()
                        .filter(|p| !p.trim().is_empty())
                        .collect::<Vec<_>>()
                        .join(" — ");
                    snippet(&haystack, &words)
                };
                HistoryItem {
                    interaction_id: row.id.clone(),
                    media: Media::parse(&row.media).unwrap_or(Media::Voice),
                    state: interaction_state(row),
                    created_at: row.created_at,
                    ended_at: row.ended_at,
                    agent_id: row.agent_id.clone(),
                    agent_name: row.agent_name.clone(),
                    subject: row.subject.clone(),
                    outcome: row.outcome.clone(),
                    notes: row.notes.clone(),
                    transcripts,
                    snippet,
                }
            })
            .collect();
        Ok(HistoryPage { items })
    }

    /// The audit log, newest first (administrators).
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        Ok(audit::recent(self.store().reader(), limit.clamp(1, 1000))
            .await?
            .into_iter()
            .map(|row| AuditEntry {
                id: row.id,
                ts: row.ts,
                actor_id: row.actor_id,
                action: row.action,
                resource: row.resource,
                allowed: row.allowed != 0,
                detail: row.detail,
            })
            .collect())
    }

    /// Imports a contact (CLI import; matched by external id).
    pub async fn import_contact(&self, input: ContactInput) -> Result<ContactView> {
        self.platform_upsert_contact(input).await
    }

    /// Imports one past interaction of a contact (CLI import).
    pub async fn import_history(&self, record: HistoryRecord) -> Result<String> {
        if record.subject.chars().count() > 500 {
            return Err(err(
                ErrorCode::InvalidRequest,
                "subject: at most 500 characters",
            ));
        }
        let contact = contacts::by_external_id(self.store().reader(), &record.contact_external_id)
            .await?
            .ok_or_else(|| {
                err(
                    ErrorCode::ContactNotFound,
                    format!(
                        "no contact with external id {:?}",
                        record.contact_external_id
                    ),
                )
            })?;
        let agent_id = match &record.agent {
            Some(agent) if !agent.is_empty() => Some(self.find_user(agent).await?.id),
            _ => None,
        };
        let id = uuid::Uuid::now_v7().to_string();
        let iid = id.clone();
        self.commit(move |conn| {
            Box::pin(async move {
                interactions::insert(
                    conn,
                    interactions::NewInteraction {
                        id: &iid,
                        integration_id: None,
                        external_id: record.external_id.as_deref(),
                        media: record.media.as_str(),
                        state: "ended",
                        agent_id: agent_id.as_deref(),
                        contact_id: Some(&contact.id),
                        subject: &record.subject,
                        case_data: "[]",
                        outcome: record.outcome.as_deref(),
                        notes: record.notes.as_deref(),
                        created_at: record.started_at,
                        ended_at: Some(record.started_at),
                    },
                )
                .await?;
                // Past interactions are history, not work: they never enter a workspace.
                interactions::set_agent_done(conn, &iid).await?;
                if let Some(text) = record
                    .transcript
                    .as_deref()
                    .filter(|t| !t.trim().is_empty())
                {
                    interactions::attach_transcript(
                        conn,
                        &iid,
                        None,
                        "Transcript",
                        text,
                        record.started_at,
                    )
                    .await?;
                }
                reindex(conn, &iid).await?;
                Ok(((), Vec::new()))
            })
        })
        .await?;
        Ok(id)
    }
}

/// A past interaction to import.
#[derive(Debug, Clone)]
pub struct HistoryRecord {
    pub contact_external_id: String,
    pub external_id: Option<String>,
    pub media: Media,
    pub started_at: i64,
    pub agent: Option<String>,
    pub subject: String,
    pub outcome: Option<String>,
    pub notes: Option<String>,
    pub transcript: Option<String>,
}

/// Tells the assigned agent's desktops of the interaction's new state and
/// queues the platform's webhook, inside the current write.
pub(crate) async fn announce(
    conn: &mut WriteTx,
    out: &mut Vec<BusMessage>,
    interaction_id: &str,
    webhook_event: &str,
    now: i64,
) -> Result<()> {
    let row = interactions::get(&mut *conn, interaction_id)
        .await?
        .ok_or_else(|| err(ErrorCode::InteractionNotFound, "interaction vanished"))?;
    if let Some(agent) = &row.agent_id {
        if users::get(&mut *conn, agent).await?.is_some() {
            let interaction = load_view(conn, interaction_id, Access::Owner).await?;
            emit(
                conn,
                out,
                agent,
                now,
                &EventBody::Interaction { interaction },
            )
            .await?;
        }
    }
    enqueue_webhook(conn, &row, webhook_event, None, None, now).await
}
