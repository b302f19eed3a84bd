//! IM sessions and their participants.

use crate::db::Exec;
use crate::engine::WriteTx;
use crate::ids::{GroupId, InteractionId, SessionId, UserId};
use crate::types::{ParticipantRole, ParticipantState, SessionState};

use crate::rows::{ParticipantRow, SessionRow};
use crate::StoreError;

const SESSION_COLUMNS: &str =
    "id, state, created_by, created_at, ended_at, ended_by, last_seq, parent_interaction_id";
const PARTICIPANT_SELECT: &str =
    "SELECT p.session_id, p.user_id, u.display_name, u.im_permitted, p.role, p.state, p.color, \
     p.invite_timed_out, p.invite_expires_at, p.done, p.delivered_seq, p.read_seq \
     FROM session_participants p JOIN users u ON u.id = p.user_id";

/// A new session row.
pub struct NewSession<'a> {
    pub id: &'a SessionId,
    pub state: SessionState,
    pub created_by: &'a UserId,
    pub created_at: i64,
    pub client_id: Option<&'a str>,
    /// For a consultation: the interaction it is about.
    pub parent_interaction_id: Option<&'a InteractionId>,
}

pub async fn insert(conn: &mut WriteTx, session: NewSession<'_>) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO im_sessions (id, state, created_by, created_at, client_id, parent_interaction_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(session.id)
    .bind(session.state)
    .bind(session.created_by)
    .bind(session.created_at)
    .bind(session.client_id)
    .bind(session.parent_interaction_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The consultations opened from an interaction, newest first.
pub async fn consultations<E: Exec>(
    executor: E,
    interaction_id: &InteractionId,
) -> Result<Vec<SessionRow>, StoreError> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM im_sessions WHERE parent_interaction_id = $1 ORDER BY created_at DESC"
    );
    crate::db::query_as::<SessionRow>(sql)
        .bind(interaction_id)
        .fetch_all(executor)
        .await
}

/// How an accepted consultation grants its target access to the interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsultationAccess {
    /// A consultation the target joined is still open.
    Open,
    /// A consultation the user joined as its supervisor is still open (and
    /// none as its target).
    Supervising,
    /// Every consultation the target joined has ended; the latest ended at
    /// this time (unix ms), not before the `ended_since` asked for.
    EndedAt(i64),
}

/// Whether `user_id` accepted (joined) a consultation about `interaction_id`
/// as its target that is still open or ended at or after `ended_since` (unix
/// ms): an open one wins, else the latest ended one. A supervisor who
/// joined counts like a target. The initiator is not counted: it is the
/// interaction's agent.
pub async fn accepted_consultation<E: Exec>(
    executor: E,
    interaction_id: &InteractionId,
    user_id: &UserId,
    ended_since: i64,
) -> Result<Option<ConsultationAccess>, StoreError> {
    let found = crate::db::query_as::<(Option<i64>, String)>(
        "SELECT s.ended_at, p.role FROM session_participants p JOIN im_sessions s ON s.id = p.session_id \
         WHERE s.parent_interaction_id = $1 AND p.user_id = $2 AND p.role IN ('invitee', 'supervisor') \
         AND p.joined_at IS NOT NULL AND (s.ended_at IS NULL OR s.ended_at >= $3) \
         ORDER BY COALESCE(s.ended_at, 9223372036854775807) DESC, p.role ASC LIMIT 1",
    )
    .bind(interaction_id)
    .bind(user_id)
    .bind(ended_since)
    .fetch_optional(executor)
    .await?;
    Ok(found.map(|(ended_at, role)| match ended_at {
        None if role == ParticipantRole::Supervisor.as_str() => ConsultationAccess::Supervising,
        None => ConsultationAccess::Open,
        Some(at) => ConsultationAccess::EndedAt(at),
    }))
}

/// Whether `user_id` supervises a group the session was offered to, or a
/// group one of its initiator or invitees belongs to: who may join it as
/// its supervisor.
pub async fn may_supervise<E: Exec>(
    executor: E,
    session_id: &SessionId,
    user_id: &UserId,
) -> Result<bool, StoreError> {
    let found = crate::db::query_scalar::<i64>(format!(
        "SELECT COUNT(*) FROM group_supervisors gs WHERE gs.user_id = $2 \
         AND gs.group_id IN ({SUPERVISING_GROUPS})"
    ))
    .bind(session_id)
    .bind(user_id)
    .fetch_one(executor)
    .await?;
    Ok(found > 0)
}

/// The groups whose supervisors may supervise a session (the rule of
/// [`may_supervise`]), as SQL over `$1`, the session.
const SUPERVISING_GROUPS: &str = "SELECT o.group_id FROM group_offers o WHERE o.session_id = $1 \
     UNION SELECT m.group_id FROM group_members m \
     JOIN session_participants p ON p.user_id = m.user_id \
     WHERE p.session_id = $1 AND p.role IN ('initiator', 'invitee')";

/// Whose supervision board shows a consultation: `(supervisor, group)` for
/// each group of [`may_supervise`]'s rule, when the session is a
/// consultation not ended before `ended_since` (a change that ends it still
/// reaches the boards). Nothing for a session that is not a consultation.
pub async fn board_watchers<E: Exec>(
    executor: E,
    session_id: &SessionId,
    ended_since: i64,
) -> Result<Vec<(UserId, GroupId)>, StoreError> {
    crate::db::query_as::<(UserId, GroupId)>(format!(
        "SELECT gs.user_id, gs.group_id FROM group_supervisors gs WHERE gs.group_id IN ({SUPERVISING_GROUPS}) \
         AND EXISTS (SELECT 1 FROM im_sessions s WHERE s.id = $1 AND s.parent_interaction_id IS NOT NULL \
         AND (s.ended_at IS NULL OR s.ended_at >= $2)) ORDER BY gs.user_id, gs.group_id"
    ))
    .bind(session_id)
    .bind(ended_since)
    .fetch_all(executor)
    .await
}

/// The consultations not yet ended about an interaction.
pub async fn open_consultations_of<E: Exec>(
    executor: E,
    interaction_id: &InteractionId,
) -> Result<Vec<SessionId>, StoreError> {
    crate::db::query_scalar::<SessionId>(
        "SELECT id FROM im_sessions WHERE parent_interaction_id = $1 AND ended_at IS NULL ORDER BY id",
    )
    .bind(interaction_id)
    .fetch_all(executor)
    .await
}

/// The consultations not yet ended that `user_id` may supervise (the rule
/// of [`may_supervise`]), oldest first, at most `limit`: each session's id
/// and when its first invitee joined (none while it waits).
pub async fn supervised<E: Exec>(
    executor: E,
    user_id: &UserId,
    limit: i64,
) -> Result<Vec<(SessionId, Option<i64>)>, StoreError> {
    crate::db::query_as::<(SessionId, Option<i64>)>(
        "SELECT s.id, (SELECT MIN(j.joined_at) FROM session_participants j \
         WHERE j.session_id = s.id AND j.role = 'invitee') AS connected_at \
         FROM im_sessions s WHERE s.ended_at IS NULL AND s.parent_interaction_id IS NOT NULL AND (\
         EXISTS (SELECT 1 FROM group_offers o JOIN group_supervisors gs ON gs.group_id = o.group_id \
         WHERE o.session_id = s.id AND gs.user_id = $1) \
         OR EXISTS (SELECT 1 FROM session_participants p \
         JOIN group_members m ON m.user_id = p.user_id \
         JOIN group_supervisors gs ON gs.group_id = m.group_id \
         WHERE p.session_id = s.id AND p.role IN ('initiator', 'invitee') AND gs.user_id = $1)) \
         ORDER BY s.created_at, s.id LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// A participant row; `invited_at`/`invite_expires_at` only for invitees.
pub struct NewParticipant<'a> {
    pub session_id: &'a SessionId,
    pub user_id: &'a UserId,
    pub role: ParticipantRole,
    pub state: ParticipantState,
    pub color: i64,
    pub invited_at: Option<i64>,
    pub invite_expires_at: Option<i64>,
    pub joined_at: Option<i64>,
}

pub async fn insert_participant(
    conn: &mut WriteTx,
    p: NewParticipant<'_>,
) -> Result<(), StoreError> {
    crate::db::query(
        "INSERT INTO session_participants (session_id, user_id, role, state, color, invited_at, \
         invite_expires_at, joined_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(p.session_id)
    .bind(p.user_id)
    .bind(p.role)
    .bind(p.state)
    .bind(p.color)
    .bind(p.invited_at)
    .bind(p.invite_expires_at)
    .bind(p.joined_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get<E: Exec>(executor: E, id: &SessionId) -> Result<Option<SessionRow>, StoreError> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM im_sessions WHERE id = $1");
    crate::db::query_as::<SessionRow>(sql)
        .bind(id)
        .fetch_optional(executor)
        .await
}

pub async fn by_client_id<E: Exec>(
    executor: E,
    created_by: &UserId,
    client_id: &str,
) -> Result<Option<SessionRow>, StoreError> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM im_sessions WHERE created_by = $1 AND client_id = $2"
    );
    crate::db::query_as::<SessionRow>(sql)
        .bind(created_by)
        .bind(client_id)
        .fetch_optional(executor)
        .await
}

pub async fn participants<E: Exec>(
    executor: E,
    session_id: &SessionId,
) -> Result<Vec<ParticipantRow>, StoreError> {
    let sql = format!("{PARTICIPANT_SELECT} WHERE p.session_id = $1 ORDER BY p.color");
    crate::db::query_as::<ParticipantRow>(sql)
        .bind(session_id)
        .fetch_all(executor)
        .await
}

/// Ids of the sessions in a user's workspace (not *Done*), newest first.
pub async fn workspace<E: Exec>(
    executor: E,
    user_id: &UserId,
) -> Result<Vec<SessionId>, StoreError> {
    crate::db::query_scalar::<SessionId>(
        "SELECT s.id FROM im_sessions s JOIN session_participants p ON p.session_id = s.id \
         WHERE p.user_id = $1 AND p.done = 0 ORDER BY s.created_at DESC LIMIT 200",
    )
    .bind(user_id)
    .fetch_all(executor)
    .await
}

/// The other participants of a user's sessions, most recent first.
pub async fn recent_partners<E: Exec>(
    executor: E,
    user_id: &UserId,
    limit: i64,
) -> Result<Vec<UserId>, StoreError> {
    crate::db::query_scalar::<UserId>(
        "SELECT other.user_id FROM session_participants mine \
         JOIN im_sessions s ON s.id = mine.session_id \
         JOIN session_participants other ON other.session_id = mine.session_id AND other.user_id <> mine.user_id \
         WHERE mine.user_id = $1 GROUP BY other.user_id ORDER BY MAX(s.created_at) DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// Allocates the next transcript seq of a session.
pub async fn next_seq(conn: &mut WriteTx, session_id: &SessionId) -> Result<i64, StoreError> {
    crate::db::query_scalar::<i64>(
        "UPDATE im_sessions SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq",
    )
    .bind(session_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound("session"))
}

pub async fn set_state(
    conn: &mut WriteTx,
    session_id: &SessionId,
    state: SessionState,
) -> Result<(), StoreError> {
    crate::db::query("UPDATE im_sessions SET state = $2 WHERE id = $1")
        .bind(session_id)
        .bind(state)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn end(
    conn: &mut WriteTx,
    session_id: &SessionId,
    at: i64,
    by: &UserId,
) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE im_sessions SET state = 'ended', ended_at = $2, ended_by = $3 WHERE id = $1",
    )
    .bind(session_id)
    .bind(at)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves a participant to `state`, stamping `joined_at` or `left_at` as fits.
pub async fn set_participant_state(
    conn: &mut WriteTx,
    session_id: &SessionId,
    user_id: &UserId,
    state: ParticipantState,
    at: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE session_participants SET state = $3, \
         joined_at = CASE WHEN $3 = 'joined' THEN $4 ELSE joined_at END, \
         left_at = CASE WHEN $3 <> 'joined' AND $3 <> 'invited' THEN $4 ELSE left_at END \
         WHERE session_id = $1 AND user_id = $2",
    )
    .bind(session_id)
    .bind(user_id)
    .bind(state)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Re-invites a participant (sets the invitation and its expiry).
pub async fn invite(
    conn: &mut WriteTx,
    session_id: &SessionId,
    user_id: &UserId,
    at: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE session_participants SET state = 'invited', invited_at = $3, invite_expires_at = $4, \
         invite_timed_out = 0 WHERE session_id = $1 AND user_id = $2",
    )
    .bind(session_id)
    .bind(user_id)
    .bind(at)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_done(
    conn: &mut WriteTx,
    session_id: &SessionId,
    user_id: &UserId,
) -> Result<(), StoreError> {
    crate::db::query(
        "UPDATE session_participants SET done = 1 WHERE session_id = $1 AND user_id = $2",
    )
    .bind(session_id)
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Pending invitations whose time-out has passed and that are not yet marked.
pub async fn expired_invitations<E: Exec>(
    executor: E,
    now: i64,
    limit: i64,
) -> Result<Vec<(SessionId, UserId)>, StoreError> {
    crate::db::query_as::<(SessionId, UserId)>(
        "SELECT session_id, user_id FROM session_participants \
         WHERE state = 'invited' AND invite_timed_out = 0 AND invite_expires_at <= $1 LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// Marks one invitation timed out; false when another writer did it first
/// or the invitation was answered meanwhile.
pub async fn mark_timed_out(
    conn: &mut WriteTx,
    session_id: &SessionId,
    user_id: &UserId,
) -> Result<bool, StoreError> {
    Ok(crate::db::query(
        "UPDATE session_participants SET invite_timed_out = 1 \
         WHERE session_id = $1 AND user_id = $2 AND state = 'invited' AND invite_timed_out = 0",
    )
    .bind(session_id)
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Raises a participant's delivered or read mark; false when it was already at or past `seq`.
pub async fn raise_mark(
    conn: &mut WriteTx,
    session_id: &SessionId,
    user_id: &UserId,
    read: bool,
    seq: i64,
) -> Result<bool, StoreError> {
    let sql = if read {
        "UPDATE session_participants SET read_seq = $3, \
         delivered_seq = CASE WHEN delivered_seq < $3 THEN $3 ELSE delivered_seq END \
         WHERE session_id = $1 AND user_id = $2 AND read_seq < $3"
    } else {
        "UPDATE session_participants SET delivered_seq = $3 \
         WHERE session_id = $1 AND user_id = $2 AND delivered_seq < $3"
    };
    // A participant the batch read ahead (a mark queued with
    // its `SendKey::mark`): raised in memory, written with the batch.
    if let Some(raised) = conn.defer_mark(session_id.as_str(), user_id.as_str(), read, seq) {
        return Ok(raised);
    }
    // A mark moves no seq and no head: the batch's sends read ahead stay
    // true once they learn of it.
    conn.keep_read_ahead();
    let raised = crate::db::query(sql)
        .bind(session_id)
        .bind(user_id)
        .bind(seq)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        > 0;
    if raised {
        conn.mark_raised(session_id.as_str(), user_id.as_str(), read, seq);
    }
    Ok(raised)
}

/// What a mark reads inside its write: the session and its participants,
/// from the batch's read-ahead when the writer has one for it (a mark
/// queued with [`crate::SendKey::mark`]), else queried. `None` when there
/// is no such session.
pub async fn mark_context(
    conn: &mut WriteTx,
    session_id: &SessionId,
    user_id: &UserId,
) -> Result<Option<(SessionRow, Vec<ParticipantRow>)>, StoreError> {
    if let Some(context) = conn.read_ahead(&crate::SendKey::mark(session_id, user_id)) {
        return Ok(Some((context.session, context.participants)));
    }
    let Some(session) = get(&mut *conn, session_id).await? else {
        return Ok(None);
    };
    let participants = participants(&mut *conn, session_id).await?;
    Ok(Some((session, participants)))
}

/// What the send path needs, read in one round trip: the session, its
/// participants, and the message `actor_id` already sent with `client_msg_id`.
#[derive(Debug, Clone)]
pub struct SendContext {
    pub session: SessionRow,
    pub participants: Vec<ParticipantRow>,
    /// `(seq, ts, text)` of the earlier message with this client id.
    pub prior: Option<(i64, i64, Option<String>)>,
}

struct SendRow {
    s_id: SessionId,
    s_state: SessionState,
    s_created_by: UserId,
    s_created_at: i64,
    s_ended_at: Option<i64>,
    s_ended_by: Option<UserId>,
    s_last_seq: i64,
    s_parent_interaction_id: Option<InteractionId>,
    participant: ParticipantRow,
    prior_seq: Option<i64>,
    prior_ts: Option<i64>,
    prior_body: Option<String>,
}

impl crate::db::FromRow for SendRow {
    fn from_row(row: &crate::db::Row<'_>) -> Result<Self, StoreError> {
        Ok(SendRow {
            s_id: row.get("s_id")?,
            s_state: row.get("s_state")?,
            s_created_by: row.get("s_created_by")?,
            s_created_at: row.get("s_created_at")?,
            s_ended_at: row.get("s_ended_at")?,
            s_ended_by: row.get("s_ended_by")?,
            s_last_seq: row.get("s_last_seq")?,
            s_parent_interaction_id: row.get("s_parent_interaction_id")?,
            participant: ParticipantRow::from_row(row)?,
            prior_seq: row.get("prior_seq")?,
            prior_ts: row.get("prior_ts")?,
            prior_body: row.get("prior_body")?,
        })
    }
}

/// What a send's context reads: the session, each participant, and the
/// earlier message with the client id; `$columns` adds columns, `$from`
/// comes before the session's table, `$prior` joins the earlier message as
/// `t`.
macro_rules! send_context_select {
    ($columns:literal, $from:literal, $prior:literal) => {
        concat!(
            "SELECT s.id AS s_id, s.state AS s_state, s.created_by AS s_created_by, \
             s.created_at AS s_created_at, s.ended_at AS s_ended_at, s.ended_by AS s_ended_by, \
             s.last_seq AS s_last_seq, s.parent_interaction_id AS s_parent_interaction_id, \
             p.session_id, p.user_id, u.display_name, u.im_permitted, p.role, p.state, p.color, \
             p.invite_timed_out, p.invite_expires_at, p.done, p.delivered_seq, p.read_seq, \
             t.seq AS prior_seq, t.ts AS prior_ts, t.body AS prior_body",
            $columns,
            " FROM ",
            $from,
            " im_sessions s \
             JOIN session_participants p ON p.session_id = s.id \
             JOIN users u ON u.id = p.user_id ",
            $prior
        )
    };
}

/// The contexts of several sends (PostgreSQL: arrays of session ids,
/// sender ids and client ids), each row tagged with its send's position.
/// The sessions are found by their key, and each earlier message by the
/// client ids' unique index (`LIMIT` keeps that lookup per send), not by
/// scanning sessions or transcripts.
pub(crate) const READ_SENDS_SQL: &str = concat!(
    send_context_select!(
        ", k.n AS k_n",
        "unnest(CAST($1 AS text[]), CAST($2 AS text[]), CAST($3 AS text[])) \
         WITH ORDINALITY AS k(session_id, actor_id, client_msg_id, n) CROSS JOIN",
        "LEFT JOIN LATERAL (SELECT t.seq, t.ts, t.body FROM transcript t \
         WHERE t.session_id = s.id AND t.actor_id = k.actor_id \
         AND t.client_msg_id = k.client_msg_id LIMIT 1) t ON true"
    ),
    " WHERE s.id = k.session_id AND s.id = ANY(CAST($1 AS text[])) ORDER BY k.n, p.color"
);

pub async fn load_for_send<E: Exec>(
    executor: E,
    session_id: &SessionId,
    actor_id: &UserId,
    client_msg_id: &str,
) -> Result<Option<SendContext>, StoreError> {
    let rows = crate::db::query_as::<SendRow>(concat!(
        send_context_select!(
            "",
            "",
            "LEFT JOIN transcript t ON t.session_id = s.id AND t.actor_id = $2 \
             AND t.client_msg_id = $3"
        ),
        " WHERE s.id = $1 ORDER BY p.color"
    ))
    .bind(session_id)
    .bind(actor_id)
    .bind(client_msg_id)
    .fetch_all(executor)
    .await?;
    Ok(context(rows))
}

/// What the send path reads inside its write: the batch's read-ahead when
/// the writer has one for this send (a send queued with its
/// [`crate::SendKey`]), else [`load_for_send`].
pub async fn send_context(
    conn: &mut WriteTx,
    session_id: &SessionId,
    actor_id: &UserId,
    client_msg_id: &str,
) -> Result<Option<SendContext>, StoreError> {
    let key = crate::SendKey {
        session_id: session_id.as_str().to_owned(),
        actor_id: actor_id.as_str().to_owned(),
        client_msg_id: client_msg_id.to_owned(),
    };
    if let Some(context) = conn.read_ahead(&key) {
        return Ok(Some(context));
    }
    load_for_send(conn, session_id, actor_id, client_msg_id).await
}

/// Groups the read-ahead's rows by send (`k_n`, from 1); a send whose
/// session has no rows gets none.
pub(crate) fn contexts_by_key(
    rows: &crate::db::Rows,
    keys: &[crate::SendKey],
) -> Result<Vec<(crate::SendKey, SendContext)>, StoreError> {
    use crate::db::FromRow;
    let mut grouped: Vec<Vec<SendRow>> = (0..keys.len()).map(|_| Vec::new()).collect();
    for i in 0..rows.len() {
        let row = rows.row(i);
        let n: i64 = row.get("k_n")?;
        let slot = usize::try_from(n - 1)
            .ok()
            .and_then(|n| grouped.get_mut(n))
            .ok_or_else(|| StoreError::Decode(format!("no send number {n}")))?;
        slot.push(SendRow::from_row(&row)?);
    }
    Ok(keys
        .iter()
        .cloned()
        .zip(grouped)
        .filter_map(|(key, rows)| context(rows).map(|context| (key, context)))
        .collect())
}

fn context(rows: Vec<SendRow>) -> Option<SendContext> {
    let first = rows.first()?;
    let session = SessionRow {
        id: first.s_id.clone(),
        state: first.s_state,
        created_by: first.s_created_by.clone(),
        created_at: first.s_created_at,
        ended_at: first.s_ended_at,
        ended_by: first.s_ended_by.clone(),
        last_seq: first.s_last_seq,
        parent_interaction_id: first.s_parent_interaction_id.clone(),
    };
    let prior = match (first.prior_seq, first.prior_ts) {
        (Some(seq), Some(ts)) => Some((seq, ts, first.prior_body.clone())),
        _ => None,
    };
    let participants = rows.into_iter().map(|row| row.participant).collect();
    Some(SendContext {
        session,
        participants,
        prior,
    })
}

/// A user's missed invitations, newest first: invitations that timed out and
/// were never answered (not joined, not rejected) and that nobody else took
/// (a group offer), not yet replied to or dismissed.
pub async fn missed<E: Exec>(executor: E, user_id: &UserId) -> Result<Vec<SessionId>, StoreError> {
    crate::db::query_scalar::<SessionId>(
        "SELECT p.session_id FROM session_participants p JOIN im_sessions s ON s.id = p.session_id \
         WHERE p.user_id = $1 AND p.role = 'invitee' AND p.invite_timed_out = 1 \
         AND p.joined_at IS NULL AND p.state <> 'rejected' AND p.missed_cleared = 0 \
         AND NOT EXISTS (SELECT 1 FROM group_offers o WHERE o.session_id = p.session_id AND o.state = 'taken') \
         ORDER BY s.created_at DESC LIMIT 200",
    )
    .bind(user_id)
    .fetch_all(executor)
    .await
}

/// Takes a session out of a user's missed list; false when it was not in it.
pub async fn clear_missed(
    conn: &mut WriteTx,
    session_id: &SessionId,
    user_id: &UserId,
) -> Result<bool, StoreError> {
    Ok(crate::db::query(
        "UPDATE session_participants SET missed_cleared = 1 \
         WHERE session_id = $1 AND user_id = $2 AND invite_timed_out = 1 AND missed_cleared = 0",
    )
    .bind(session_id)
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}
