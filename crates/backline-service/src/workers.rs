//! Background work: invitation time-outs, group offers' waves, and retention.
//!
//! Each worker is a loop that stops when the service's shutdown token is
//! cancelled. Both are safe to run on every node at once: a time-out is
//! marked with a conditional update, so only one node reports it.

use std::time::Duration;

use backline_store::{events, now_ms, offers, sessions, tokens};

use crate::Backline;

impl Backline {
    /// Starts the workers; they stop with the shutdown token.
    pub fn spawn_workers(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let mut workers = vec![
            tokio::spawn(self.clone().invitation_timeouts()),
            tokio::spawn(self.clone().retention()),
            tokio::spawn(self.clone().webhook_delivery()),
            tokio::spawn(self.clone().voice_watch()),
        ];
        if self.bus().is_clustered() {
            workers.push(tokio::spawn(self.clone().heartbeat()));
        }
        workers
    }

    /// Ring time-outs and the on-hold fallback, checked every half second.
    async fn voice_watch(self) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.shutdown_token().cancelled() => return,
                _ = tick.tick() => {}
            }
            if let Err(error) = self.expire_ringing().await {
                tracing::warn!(error.message = %error, "ring time-out scan failed");
            }
            if let Err(error) = self.rescue_orphans().await {
                tracing::warn!(error.message = %error, "on-hold fallback scan failed");
            }
        }
    }

    /// Tells the other nodes, every second, which users are connected here,
    /// and shows the users of nodes not heard from offline to watchers here.
    /// A draining node stops at once: its users have the expiry as a grace
    /// to reconnect elsewhere before their watchers see them offline.
    async fn heartbeat(self) {
        let mut tick = tokio::time::interval(crate::hub::HEARTBEAT_INTERVAL / 4);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_beat: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown_token().cancelled() => return,
                _ = tick.tick() => {}
            }
            if last_beat.is_none_or(|at| at.elapsed() >= crate::hub::HEARTBEAT_INTERVAL) {
                last_beat = Some(tokio::time::Instant::now());
                let users = self.hub().local_users();
                self.bus()
                    .publish(vec![crate::bus::BusMessage::Heartbeat { users }]);
            }
            self.sweep_presence().await;
        }
    }

    async fn invitation_timeouts(self) {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.shutdown_token().cancelled() => return,
                _ = tick.tick() => {}
            }
            let expired =
                match sessions::expired_invitations(self.store().reader(), now_ms(), 100).await {
                    Ok(expired) => expired,
                    Err(error) => {
                        tracing::warn!(error.message = %error, "invitation time-out scan failed");
                        continue;
                    }
                };
            for (session_id, user_id) in expired {
                if let Err(error) = self.time_out_invitation(&session_id, &user_id).await {
                    tracing::warn!(error.message = %error, %session_id, "invitation time-out failed");
                }
            }
            // Group offers whose wave went unanswered widen (a conditional
            // update: one node moves each wave on).
            let due = match offers::due(self.store().reader(), now_ms(), 100).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(error.message = %error, "group offer scan failed");
                    continue;
                }
            };
            for (session_id, wave) in due {
                if let Err(error) = self.widen_offer(&session_id, wave).await {
                    tracing::warn!(error.message = %error, %session_id, "widening a group offer failed");
                }
            }
            // Open offers past their group's answer-time target escalate
            // (a conditional update: one node escalates each).
            let due = match offers::escalation_due(self.store().reader(), now_ms(), 100).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::warn!(error.message = %error, "group offer escalation scan failed");
                    continue;
                }
            };
            for session_id in due {
                if let Err(error) = self.escalate_offer(&session_id).await {
                    tracing::warn!(error.message = %error, %session_id, "escalating a group offer failed");
                }
            }
        }
    }

    async fn retention(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        let mut minutes = 0u64;
        loop {
            tokio::select! {
                _ = self.shutdown_token().cancelled() => return,
                _ = tick.tick() => {}
            }
            // Transcripts, history and audit entries past their ages: hourly
            // (and at start), each node (the deletes are idempotent).
            if minutes.is_multiple_of(60) && self.retention_configured() {
                match self.run_retention(None, false).await {
                    Ok(report) => tracing::info!(
                        transcripts = report.transcripts,
                        interactions = report.interactions,
                        audit = report.audit,
                        "compliance retention pass"
                    ),
                    Err(error) => {
                        tracing::warn!(error.message = %error, "compliance retention pass failed")
                    }
                }
            }
            minutes += 1;
            let horizon = now_ms() - self.config().stream_retention_secs as i64 * 1000;
            match self.prune(horizon).await {
                Ok(pruned) if pruned > 0 => {
                    tracing::info!(pruned, "stream events past retention deleted")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(error.message = %error, "retention pass failed"),
            }
        }
    }

    /// Deletes stream events committed before `horizon` (unix ms) and expired
    /// tokens. Desktops resuming from before the horizon get `resume_gap`.
    pub async fn prune(&self, horizon: i64) -> crate::Result<u64> {
        self.commit(move |conn| {
            Box::pin(async move {
                let pruned = events::prune(conn, horizon).await?;
                tokens::prune(conn, now_ms()).await?;
                Ok((pruned, Vec::new()))
            })
        })
        .await
    }
}
