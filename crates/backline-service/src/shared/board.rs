//! The supervision board's change notices. A change that the board shows
//! (a consultation offered, widened, taken, escalated, joined, cancelled or
//! ended; its contact put on or taken off hold; a member's status; a
//! group's members and supervisors) appends a `board_changed` event to the
//! streams of the supervisors whose board it changes, in the same write.
//! So the notice is stored, sequenced and replayed like every other event,
//! and the same on every node; the desktop answers it by reading
//! `GET /supervision/board` again (one rendering of the board, whatever
//! area the change came from).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use backline_protocol::events::EventBody;
use backline_store::SessionId;
use backline_store::{groups, sessions, GroupId, InteractionId};
use backline_store::{UserId, WriteTx};

use crate::bus::BusMessage;
use crate::error::Result;
use crate::stream::emit;

/// The supervisors told in one write (each at most once: the desktop reads
/// the whole board again anyway).
#[derive(Debug, Default)]
pub(crate) struct BoardNotices {
    told: HashSet<UserId>,
}

impl BoardNotices {
    /// A consultation changed (or ended, in this write: `now` is its end).
    pub(crate) async fn session(
        &mut self,
        conn: &mut WriteTx,
        out: &mut Vec<BusMessage>,
        now: i64,
        session_id: &SessionId,
    ) -> Result<()> {
        let watchers = sessions::board_watchers(&mut *conn, session_id, now).await?;
        self.tell(conn, out, now, watchers).await
    }

    /// The consultations about an interaction changed (its contact was put
    /// on hold or taken off it).
    pub(crate) async fn interaction(
        &mut self,
        conn: &mut WriteTx,
        out: &mut Vec<BusMessage>,
        now: i64,
        interaction_id: &InteractionId,
    ) -> Result<()> {
        for session_id in sessions::open_consultations_of(&mut *conn, interaction_id).await? {
            self.session(conn, out, now, &session_id).await?;
        }
        Ok(())
    }

    /// A member's status changed: their groups' supervisors hear of it.
    pub(crate) async fn member(
        &mut self,
        conn: &mut WriteTx,
        out: &mut Vec<BusMessage>,
        now: i64,
        user_id: &UserId,
    ) -> Result<()> {
        let watchers = groups::supervisors_of_member(&mut *conn, user_id).await?;
        self.tell(conn, out, now, watchers).await
    }

    /// A group's members or supervisors changed: its supervisors (and
    /// `also`, a supervisor just removed) hear of it.
    pub(crate) async fn group(
        &mut self,
        conn: &mut WriteTx,
        out: &mut Vec<BusMessage>,
        now: i64,
        group_id: &GroupId,
        also: Option<&UserId>,
    ) -> Result<()> {
        let mut watchers = groups::supervisor_pairs(&mut *conn, group_id).await?;
        if let Some(user) = also {
            watchers.push((user.clone(), group_id.clone()));
        }
        self.tell(conn, out, now, watchers).await
    }

    /// Appends `board_changed` with the groups concerned to each
    /// supervisor's stream, once per write.
    async fn tell(
        &mut self,
        conn: &mut WriteTx,
        out: &mut Vec<BusMessage>,
        now: i64,
        watchers: Vec<(UserId, GroupId)>,
    ) -> Result<()> {
        let mut by_user: BTreeMap<UserId, BTreeSet<GroupId>> = BTreeMap::new();
        for (user, group) in watchers {
            if !self.told.contains(&user) {
                by_user.entry(user).or_default().insert(group);
            }
        }
        for (user, group_ids) in by_user {
            let body = EventBody::BoardChanged {
                group_ids: group_ids.into_iter().map(GroupId::into_string).collect(),
            };
            emit(conn, out, &user, now, &body).await?;
            self.told.insert(user);
        }
        Ok(())
    }
}
