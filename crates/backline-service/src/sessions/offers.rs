//! Group consultations: a session offered to a group's members in waves.
//!
//! The offer is server state beside the session (`group_offers`); each
//! member offered is an invitee of the session, so the invitation, its
//! stream events, its replay and its time-out flag are the ordinary ones.
//! A wave goes to the group's Ready members, longest idle first
//! (`wave_size` of them), then, when none is left, to the overflow group's
//! Ready members, then to the group's supervisors. A wave that is not
//! answered within the group's `answer_secs` widens the offer: the worker
//! (on whichever node runs it; the state is in the store) sends the next
//! one. The first member to accept takes it: a conditional update inside
//! the accept's transaction, so exactly one wins; every other pending
//! invitation is withdrawn in that same transaction. A Reject passes the
//! offer on to the next member; a member who goes Not Ready or signs out
//! has their invitation withdrawn and it passes on too.

use std::collections::HashSet;

use backline_protocol::model::{EntryKind, OfferStage, OfferState, OfferView};
use backline_store::rows::{OfferRow, ParticipantRow};
use backline_store::types as stored;
use backline_store::Locks;
use backline_store::SessionId;
use backline_store::UserId;
use backline_store::{groups, offers, sessions, users, GroupId};

use super::tx::Tx;
use crate::error::Result;
use crate::Backline;

/// The wire view of an offer, with counts from the session's participants.
pub(super) fn offer_view(offer: OfferRow, participants: &[ParticipantRow]) -> OfferView {
    let invitees = participants
        .iter()
        .filter(|p| p.role == stored::ParticipantRole::Invitee);
    let (mut offered, mut declined) = (0, 0);
    for p in invitees {
        offered += 1;
        if p.state == stored::ParticipantState::Rejected {
            declined += 1;
        }
    }
    let open = offer.state == stored::OfferState::Open;
    OfferView {
        group_id: offer.group_id.into_string(),
        group_name: offer.group_name,
        state: match offer.state {
            stored::OfferState::Open => OfferState::Open,
            stored::OfferState::Taken => OfferState::Taken,
            stored::OfferState::Cancelled => OfferState::Cancelled,
        },
        stage: match offer.stage {
            stored::OfferStage::Members => OfferStage::Members,
            stored::OfferStage::Overflow => OfferStage::Overflow,
            stored::OfferStage::Supervisors => OfferStage::Supervisors,
        },
        wave: offer.wave as u32,
        offered,
        declined,
        started_at: offer.created_at,
        wave_expires_at: open.then_some(offer.wave_expires_at),
        taken_by: offer.taken_by.map(UserId::into_string),
        taken_by_name: offer.taken_by_name,
        taken_at: offer.taken_at,
        escalated_at: offer.escalated_at,
    }
}

/// Why a member's invitation is withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawal {
    /// The member went Not Ready (or Away, Busy).
    NotReady,
    /// The member signed out.
    SignedOut,
}

impl Tx<'_> {
    /// Offers the session to the next `count` members who may take it
    /// (among `allowed`: the accounts connected somewhere), from the first
    /// source that has any: the group's Ready members, the overflow group's,
    /// the group's supervisors. Appends an `invited` entry per member and
    /// returns them with the stage they came from; nothing when nobody is
    /// left to offer it to.
    pub(super) async fn offer_to_next(
        &mut self,
        offer: &OfferRow,
        initiator: (&UserId, &str),
        count: usize,
        expires_at: i64,
        allowed: &HashSet<UserId>,
    ) -> Result<
        Option<(
            stored::OfferStage,
            Vec<backline_protocol::model::TranscriptEntry>,
        )>,
    > {
        let Some(group) = groups::settings(&mut *self.conn, &offer.group_id).await? else {
            return Ok(None);
        };
        let sources = [
            (stored::OfferStage::Members, Some(group.id.clone())),
            (
                stored::OfferStage::Overflow,
                group.overflow_group_id.clone(),
            ),
            (stored::OfferStage::Supervisors, Some(group.id.clone())),
        ];
        for (stage, source) in sources {
            let Some(source) = source else { continue };
            if let Some(entries) = self
                .offer_from(
                    offer,
                    initiator,
                    (stage, &source),
                    count,
                    expires_at,
                    allowed,
                )
                .await?
            {
                return Ok(Some((stage, entries)));
            }
        }
        Ok(None)
    }

    /// Offers the session to the next `count` who may take it (among
    /// `allowed`) from one source: the Ready members of a group (`Members`,
    /// `Overflow`) or a group's supervisors. Appends an `invited` entry per
    /// one offered; none when nobody there is left.
    async fn offer_from(
        &mut self,
        offer: &OfferRow,
        initiator: (&UserId, &str),
        (stage, source): (stored::OfferStage, &GroupId),
        count: usize,
        expires_at: i64,
        allowed: &HashSet<UserId>,
    ) -> Result<Option<Vec<backline_protocol::model::TranscriptEntry>>> {
        let chosen: Vec<UserId> =
            offers::candidates(&mut *self.conn, &offer.session_id, source, stage)
                .await?
                .into_iter()
                .filter(|id| allowed.contains(id))
                .take(count)
                .collect();
        if chosen.is_empty() {
            return Ok(None);
        }
        let mut color = sessions::participants(&mut *self.conn, &offer.session_id)
            .await?
            .iter()
            .map(|p| p.color + 1)
            .max()
            .unwrap_or(0);
        let mut entries = Vec::new();
        for member in &chosen {
            sessions::insert_participant(
                self.conn,
                sessions::NewParticipant {
                    session_id: &offer.session_id,
                    user_id: member,
                    role: stored::ParticipantRole::Invitee,
                    state: stored::ParticipantState::Invited,
                    color,
                    invited_at: Some(self.now),
                    invite_expires_at: Some(expires_at),
                    joined_at: None,
                },
            )
            .await?;
            color += 1;
            let name = users::get(&mut *self.conn, member)
                .await?
                .map(|u| u.display_name)
                .unwrap_or_default();
            entries.push(
                self.entry(
                    &offer.session_id,
                    EntryKind::Invited,
                    initiator,
                    Some((member, &name)),
                    None,
                    None,
                )
                .await?,
            );
        }
        Ok(Some(entries))
    }

    /// Sends the next wave of an open offer (`wave_size` members) and starts
    /// its answer time; with nobody left to offer it to, waits another answer
    /// time and tries again. Tells every active participant.
    pub(super) async fn send_wave(
        &mut self,
        offer: &OfferRow,
        allowed: &HashSet<UserId>,
    ) -> Result<()> {
        let Some(group) = groups::settings(&mut *self.conn, &offer.group_id).await? else {
            return Ok(());
        };
        let initiator = self.initiator(&offer.session_id).await?;
        let expires_at = self.now + group.answer_secs * 1000;
        let sent = self
            .offer_to_next(
                offer,
                (&initiator.0, &initiator.1),
                group.wave_size.max(1) as usize,
                expires_at,
                allowed,
            )
            .await?;
        let (wave, stage, entries) = match sent {
            Some((stage, entries)) => (offer.wave + 1, stage, entries),
            None => (offer.wave, offer.stage, Vec::new()),
        };
        offers::advance(
            self.conn,
            &offer.session_id,
            offer.wave,
            wave,
            stage,
            expires_at,
        )
        .await?;
        let recipients = self.active(&offer.session_id).await?;
        self.notify(&offer.session_id, &recipients).await?;
        self.emit_entries(&entries, &recipients).await?;
        Ok(())
    }

    /// Passes an open offer on to one more member after an invitation ended
    /// unaccepted (declined or withdrawn), within the current wave's time.
    pub(super) async fn pass_on(
        &mut self,
        session_id: &SessionId,
        allowed: &HashSet<UserId>,
    ) -> Result<Vec<backline_protocol::model::TranscriptEntry>> {
        let Some(offer) = offers::get(&mut *self.conn, session_id).await? else {
            return Ok(Vec::new());
        };
        if offer.state != stored::OfferState::Open {
            return Ok(Vec::new());
        }
        let initiator = self.initiator(session_id).await?;
        let expires_at = offer.wave_expires_at.max(self.now);
        Ok(self
            .offer_to_next(&offer, (&initiator.0, &initiator.1), 1, expires_at, allowed)
            .await?
            .map(|(_, entries)| entries)
            .unwrap_or_default())
    }

    /// The session's initiator: (id, display name).
    async fn initiator(&mut self, session_id: &SessionId) -> Result<(UserId, String)> {
        Ok(sessions::participants(&mut *self.conn, session_id)
            .await?
            .into_iter()
            .find(|p| p.role == stored::ParticipantRole::Initiator)
            .map(|p| (p.user_id, p.display_name))
            .unwrap_or_else(|| (UserId::from(String::new()), String::new())))
    }

    /// Withdraws every pending invitation of the session but `keep`'s (the
    /// offer was taken): marks each cancelled and out of the member's
    /// workspace, and appends a `withdrawn` entry. Returns the entries and
    /// the members, to be told once the write is complete (their session
    /// view names who took it).
    pub(super) async fn withdraw_others(
        &mut self,
        session_id: &SessionId,
        keep: &UserId,
        participants: &[ParticipantRow],
    ) -> Result<(Vec<backline_protocol::model::TranscriptEntry>, Vec<UserId>)> {
        let mut entries = Vec::new();
        let mut withdrawn = Vec::new();
        for p in participants.iter().filter(|p| {
            &p.user_id != keep
                && p.role == stored::ParticipantRole::Invitee
                && p.state == stored::ParticipantState::Invited
        }) {
            entries.push(self.withdraw(session_id, p, keep).await?);
            withdrawn.push(p.user_id.clone());
        }
        Ok((entries, withdrawn))
    }

    /// Withdraws one pending invitation; `actor` is who caused it.
    async fn withdraw(
        &mut self,
        session_id: &SessionId,
        member: &ParticipantRow,
        actor: &UserId,
    ) -> Result<backline_protocol::model::TranscriptEntry> {
        sessions::set_participant_state(
            self.conn,
            session_id,
            &member.user_id,
            stored::ParticipantState::Cancelled,
            self.now,
        )
        .await?;
        sessions::set_done(self.conn, session_id, &member.user_id).await?;
        let actor_name = if *actor == member.user_id {
            member.display_name.clone()
        } else {
            users::get(&mut *self.conn, actor)
                .await?
                .map(|u| u.display_name)
                .unwrap_or_default()
        };
        self.entry(
            session_id,
            EntryKind::Withdrawn,
            (actor, &actor_name),
            Some((&member.user_id, &member.display_name)),
            None,
            None,
        )
        .await
    }
}

impl Backline {
    /// The accounts an offer to `group_id` may go to now: everyone it could
    /// reach who has a desktop connected (on any node); and the rows a write
    /// on the offer locks.
    pub(super) async fn offer_reach(
        &self,
        group_id: &GroupId,
    ) -> Result<(HashSet<UserId>, Vec<UserId>)> {
        let reach = offers::reach(self.store().reader(), group_id).await?;
        let allowed = reach
            .iter()
            .filter(|id| self.hub().is_online(id.as_str()))
            .cloned()
            .collect();
        Ok((allowed, reach))
    }

    /// Widens an open offer whose wave went unanswered (the worker calls
    /// this on every node; the first write moves the wave on, the others
    /// find it moved and do nothing).
    pub(crate) async fn widen_offer(&self, session_id: &SessionId, wave: i64) -> Result<()> {
        let Some(offer) = offers::get(self.store().reader(), session_id).await? else {
            return Ok(());
        };
        let (allowed, reach) = self.offer_reach(&offer.group_id).await?;
        let sid = session_id.to_owned();
        let mut locks = Locks::session(&sid);
        locks.add_users(&reach);
        self.commit_locking(locks, move |conn| {
            Box::pin(async move {
                let mut tx = Tx::new(conn);
                let Some(offer) = offers::get(&mut *tx.conn, &sid).await? else {
                    return tx.done(());
                };
                if offer.state != stored::OfferState::Open
                    || offer.wave != wave
                    || offer.wave_expires_at > tx.now
                {
                    return tx.done(());
                }
                tx.send_wave(&offer, &allowed).await?;
                tx.done(())
            })
        })
        .await
    }

    /// Escalates an open offer past its group's answer-time target (the
    /// worker calls this on every node; the conditional update lets one
    /// write do it): marks it escalated, which the supervisors' boards show,
    /// and when the group says so offers it at once to the group's
    /// supervisors who have a desktop connected. The waves go on as before.
    pub(crate) async fn escalate_offer(&self, session_id: &SessionId) -> Result<()> {
        let Some(offer) = offers::get(self.store().reader(), session_id).await? else {
            return Ok(());
        };
        let (allowed, reach) = self.offer_reach(&offer.group_id).await?;
        let mut locks = self.session_locks(session_id).await?;
        locks.add_users(&reach);
        let sid = session_id.to_owned();
        let group_name = offer.group_name.clone();
        let escalated = self
            .commit_locking(locks, move |conn| {
                Box::pin(async move {
                    let mut tx = Tx::new(conn);
                    if !offers::escalate(tx.conn, &sid, tx.now).await? {
                        return tx.done(false);
                    }
                    let mut entries = Vec::new();
                    let group = groups::settings(&mut *tx.conn, &offer.group_id).await?;
                    if let Some(group) = group.filter(|g| g.escalate_to_supervisors != 0) {
                        let initiator = tx.initiator(&sid).await?;
                        let expires_at = tx.now + group.answer_secs * 1000;
                        let source = (stored::OfferStage::Supervisors, &group.id);
                        entries = tx
                            .offer_from(
                                &offer,
                                (&initiator.0, &initiator.1),
                                source,
                                usize::MAX,
                                expires_at,
                                &allowed,
                            )
                            .await?
                            .unwrap_or_default();
                    }
                    let recipients = tx.active(&sid).await?;
                    tx.notify(&sid, &recipients).await?;
                    tx.emit_entries(&entries, &recipients).await?;
                    tx.done(true)
                })
            })
            .await?;
        if escalated {
            metrics::counter!("backline_group_consultations_escalated_total", "group" => group_name)
                .increment(1);
        }
        Ok(())
    }

    /// Withdraws a member's pending group invitations (they went Not Ready
    /// or signed out) and passes each offer on.
    pub(crate) async fn withdraw_offers(&self, user_id: &UserId, why: Withdrawal) -> Result<()> {
        for (session_id, group_id) in offers::pending_for(self.store().reader(), user_id).await? {
            let (allowed, reach) = self.offer_reach(&group_id).await?;
            let (sid, user) = (session_id.clone(), user_id.clone());
            let mut locks = Locks::session(&sid);
            locks.add_users(&reach);
            tracing::debug!(%session_id, ?why, "group invitation withdrawn");
            self.commit_locking(locks, move |conn| {
                Box::pin(async move {
                    let mut tx = Tx::new(conn);
                    let participants = sessions::participants(&mut *tx.conn, &sid).await?;
                    let Some(me) = participants.iter().find(|p| {
                        p.user_id == user && p.state == stored::ParticipantState::Invited
                    }) else {
                        return tx.done(());
                    };
                    let open = offers::get(&mut *tx.conn, &sid)
                        .await?
                        .is_some_and(|o| o.state == stored::OfferState::Open);
                    if !open {
                        return tx.done(());
                    }
                    let mut entries = vec![tx.withdraw(&sid, me, &user).await?];
                    entries.extend(tx.pass_on(&sid, &allowed).await?);
                    let recipients = tx.active(&sid).await?;
                    tx.notify(&sid, &recipients).await?;
                    tx.notify(&sid, std::slice::from_ref(&user)).await?;
                    tx.emit_entries(&entries, &recipients).await?;
                    tx.done(())
                })
            })
            .await?;
        }
        Ok(())
    }
}
