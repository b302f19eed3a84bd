//! The platform API: contacts, and interactions an integration creates,
//! updates and ends; each change is announced to the agent and the webhook.

use backline_protocol::interactions::{
    CaseDataItem, ContactInput, ContactView, CreateInteractionRequest, EndInteractionRequest,
    InteractionView, Media, UpdateInteractionRequest,
};
use backline_protocol::ErrorCode;
use backline_store::rows::InteractionRow;
use backline_store::types as stored;
use backline_store::{contacts, interactions, now_ms, CallId, InteractionId};

use super::contact_view;
use super::integrations::Integration;
use crate::error::{err, Result};
use crate::input::single_line_name;
use crate::shared::access::Access;
use crate::shared::announce::announce;
use crate::shared::calls::contact_party_id;
use crate::shared::contacts::{reindex, upsert_contact};
use crate::shared::json;
use crate::shared::views::load_view;
use crate::Backline;

const MAX_CASE_DATA_ITEMS: usize = 200;
const MAX_FIELD_CHARS: usize = 4000;

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
    single_line_name("contact.first_name", &contact.first_name, 200, true)?;
    single_line_name("contact.last_name", &contact.last_name, 200, true)?;
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

impl Backline {
    /// Finds an interaction of this integration by Backline id or by its external id.
    async fn platform_interaction(
        &self,
        integration: &Integration,
        id: &str,
    ) -> Result<InteractionRow> {
        let reader = self.store().reader();
        let row = match interactions::get(reader, &InteractionId::from(id.to_owned())).await? {
            Some(row) if row.integration_id.as_ref() == Some(&integration.id) => Some(row),
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
        let id = InteractionId::from(uuid::Uuid::now_v7().to_string());
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
                        contact_id: contact_id.as_ref(),
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
                    let call_id = CallId::from(uuid::Uuid::now_v7().to_string());
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
                    let party = contact_party_id(call_id.as_str());
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
                        agent.id.as_str(),
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
}
