//! The Team Communicator: search over internal targets with live status and allowed actions.

use std::collections::HashMap;

use backline_protocol::model::{
    DirectoryEntry, DirectoryFilter, DirectoryResponse, SessionState, TargetAction, TargetKind,
    UnavailableAction,
};
use backline_protocol::ErrorCode;
use backline_store::rows::UserRow;
use backline_store::{favourites, groups, now_ms, sessions, users, GroupId, UserId};

use crate::auth::Account;
use crate::error::{err, Result};
use crate::text::{fold, like_escape};
use crate::Backline;

/// What the Team Communicator's IM action is in the current context.
fn im_action(in_interaction: bool) -> TargetAction {
    if in_interaction {
        TargetAction::StartImConsultation
    } else {
        TargetAction::SendIm
    }
}

impl Backline {
    /// The Team Communicator. In an interaction's context (`interaction_id`,
    /// the caller's own) the IM action is *Start Instant Message
    /// Consultation*, the interaction's open consultations are listed as
    /// *Active Consultations*, and the current consultation target is
    /// pre-selected unless the agent typed a search or picked a filter.
    pub async fn directory(
        &self,
        caller: &Account,
        query: &str,
        filter: DirectoryFilter,
        limit: usize,
        interaction_id: Option<&str>,
    ) -> Result<DirectoryResponse> {
        let mut active_consultations = Vec::new();
        if let Some(id) = interaction_id {
            let (row, access) = self.interaction_access(caller, id, "consult").await?;
            let id = &row.id;
            if access != crate::shared::access::Access::Owner {
                return Err(err(
                    ErrorCode::NotShared,
                    "only the interaction's agent consults about it",
                ));
            }
            let mut conn = self.read_conn().await?;
            let open: Vec<String> = crate::shared::views::consultation_views(&mut conn, id)
                .await?
                .into_iter()
                .filter(|c| c.state != SessionState::Ended)
                .map(|c| c.target_id)
                .collect();
            drop(conn);
            let mut seen = std::collections::HashSet::new();
            let ids: Vec<UserId> = open
                .into_iter()
                .filter(|t| seen.insert(t.clone()))
                .map(UserId::from)
                .collect();
            let rows = users::get_many(self.store().reader(), &ids).await?;
            let favourite_ids = favourites::list(self.store().reader(), &caller.id).await?;
            // A voice interaction with its call in progress can turn an IM
            // consultation into a voice consultation.
            let voice_call = backline_store::calls::contact_call_of(self.store().reader(), id)
                .await?
                .is_some();
            for target in &ids {
                if let Some(row) = rows.iter().find(|r| &r.id == target) {
                    let mut entry = self.user_entry(caller, row, &favourite_ids, Vec::new(), true);
                    if voice_call {
                        entry
                            .actions
                            .insert(1, TargetAction::StartVoiceConsultation);
                    }
                    active_consultations.push(entry);
                }
            }
        }
        let entries = self
            .search_targets(caller, query, filter, limit, interaction_id.is_some())
            .await?;
        let preselected = if query.trim().is_empty() && filter == DirectoryFilter::All {
            active_consultations.first().map(|e| e.id.clone())
        } else {
            None
        };
        Ok(DirectoryResponse {
            entries,
            active_consultations,
            preselected,
        })
    }

    /// One account as a Team Communicator entry, with the actions the caller may take.
    fn user_entry(
        &self,
        caller: &Account,
        row: &UserRow,
        favourite_ids: &[String],
        groups: Vec<String>,
        in_interaction: bool,
    ) -> DirectoryEntry {
        let (status, reason) = self.effective_status(row);
        let favourite = favourite_ids.iter().any(|f| f == row.id.as_str());
        let mut actions = Vec::new();
        let mut unavailable = Vec::new();
        if caller.im_permitted && row.im_permitted != 0 {
            actions.push(im_action(in_interaction));
        } else {
            // the same words as the refusal of the request itself
            let reason = if caller.im_permitted {
                format!(
                    "{} does not have the Internal IM permission",
                    row.display_name
                )
            } else {
                "your account does not have the Internal IM permission".to_owned()
            };
            unavailable.push(UnavailableAction {
                action: im_action(in_interaction),
                code: ErrorCode::ImNotPermitted,
                reason,
            });
        }
        actions.push(if favourite {
            TargetAction::RemoveFavourite
        } else {
            TargetAction::AddFavourite
        });
        DirectoryEntry {
            kind: TargetKind::User,
            id: row.id.to_string(),
            display_name: row.display_name.clone(),
            username: Some(row.username.clone()),
            groups,
            status: Some(status),
            reason,
            member_count: None,
            favourite,
            actions,
            unavailable,
        }
    }

    /// Searches targets by display name, username or group name (case- and
    /// accent-insensitive, prefix matches first, then substrings).
    async fn search_targets(
        &self,
        caller: &Account,
        query: &str,
        filter: DirectoryFilter,
        limit: usize,
        in_interaction: bool,
    ) -> Result<Vec<DirectoryEntry>> {
        let limit = limit.clamp(1, 200);
        let folded = fold(query.trim());
        if folded.chars().count() > 100 {
            return Err(err(ErrorCode::InvalidRequest, "q: at most 100 characters"));
        }
        let escaped = like_escape(&folded);
        let contains = format!("%{escaped}%");
        let reader = self.store().reader();
        let favourite_ids = favourites::list(reader, &caller.id).await?;
        let memberships = groups::memberships(reader).await?;
        let mut group_names: HashMap<&str, Vec<String>> = HashMap::new();
        for (user, _, name) in &memberships {
            group_names
                .entry(user.as_str())
                .or_default()
                .push(name.clone());
        }

        let mut user_rows: Vec<UserRow> = Vec::new();
        let mut group_rows = Vec::new();
        match filter {
            DirectoryFilter::All | DirectoryFilter::Agents => {
                user_rows = users::search(
                    reader,
                    &contains,
                    &format!("{escaped}%"),
                    &format!("% {escaped}%"),
                    limit as i64 + 1,
                )
                .await?;
                if filter == DirectoryFilter::All {
                    group_rows = groups::search(reader, &contains, limit as i64).await?;
                }
            }
            DirectoryFilter::Groups => {
                group_rows = groups::search(reader, &contains, limit as i64).await?;
            }
            DirectoryFilter::Favourites => {
                // A favourite is an account or a group: looked up as both.
                let as_users: Vec<UserId> =
                    favourite_ids.iter().cloned().map(UserId::from).collect();
                user_rows = users::get_many(reader, &as_users).await?;
                for id in &favourite_ids {
                    if let Some(group) = groups::get(reader, &GroupId::from(id.clone())).await? {
                        group_rows.push(group);
                    }
                }
            }
            DirectoryFilter::Recent => {
                let ids = sessions::recent_partners(reader, &caller.id, limit as i64).await?;
                let rows = users::get_many(reader, &ids).await?;
                // Keep the recency order of `ids`.
                for id in &ids {
                    if let Some(row) = rows.iter().find(|r| &r.id == id) {
                        user_rows.push(row.clone());
                    }
                }
            }
        }
        let matches = |row: &UserRow| {
            folded.is_empty()
                || crate::accounts::user_search_key(&row.display_name, &row.username)
                    .contains(&folded)
                || group_names
                    .get(row.id.as_str())
                    .is_some_and(|names| names.iter().any(|n| fold(n).contains(&folded)))
        };

        let mut entries = Vec::new();
        for row in user_rows
            .iter()
            .filter(|row| row.id != caller.id && row.disabled == 0)
        {
            if matches!(
                filter,
                DirectoryFilter::Favourites | DirectoryFilter::Recent
            ) && !matches(row)
            {
                continue;
            }
            let groups = group_names
                .get(row.id.as_str())
                .cloned()
                .unwrap_or_default();
            entries.push(self.user_entry(caller, row, &favourite_ids, groups, in_interaction));
        }
        for group in group_rows {
            if !folded.is_empty() && !fold(&group.name).contains(&folded) {
                continue;
            }
            let favourite = favourite_ids.iter().any(|f| f == group.id.as_str());
            let member_count = memberships
                .iter()
                .filter(|(_, id, _)| *id == group.id)
                .count() as u32;
            entries.push(DirectoryEntry {
                kind: TargetKind::Group,
                id: group.id.to_string(),
                display_name: group.name.clone(),
                username: None,
                groups: Vec::new(),
                status: None,
                reason: None,
                member_count: Some(member_count),
                favourite,
                // A group is offered a consultation: the first member to accept takes it.
                actions: caller
                    .im_permitted
                    .then_some(TargetAction::StartImConsultation)
                    .into_iter()
                    .chain([if favourite {
                        TargetAction::RemoveFavourite
                    } else {
                        TargetAction::AddFavourite
                    }])
                    .collect(),
                unavailable: if caller.im_permitted {
                    Vec::new()
                } else {
                    vec![UnavailableAction {
                        action: TargetAction::StartImConsultation,
                        code: ErrorCode::ImNotPermitted,
                        reason: "your account does not have the Internal IM permission".into(),
                    }]
                },
            });
        }
        entries.truncate(limit);
        Ok(entries)
    }

    /// Adds or removes a favourite target (an account or a group).
    pub async fn set_favourite(
        &self,
        caller: &Account,
        target_id: &str,
        favourite: bool,
    ) -> Result<()> {
        let reader = self.store().reader();
        let exists = users::get(reader, &UserId::from(target_id.to_owned()))
            .await?
            .is_some()
            || groups::get(reader, &GroupId::from(target_id.to_owned()))
                .await?
                .is_some();
        if !exists {
            return Err(err(
                ErrorCode::UserNotFound,
                format!("no account or group {target_id:?}"),
            ));
        }
        let user_id = caller.id.clone();
        let target = target_id.to_owned();
        self.commit(move |conn| {
            Box::pin(async move {
                if favourite {
                    favourites::add(conn, &user_id, &target, now_ms()).await?;
                } else {
                    favourites::remove(conn, &user_id, &target).await?;
                }
                Ok(((), Vec::new()))
            })
        })
        .await
    }
}
