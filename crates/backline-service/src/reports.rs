//! Figures: group consultations per group over a date range.

use std::collections::BTreeMap;

use backline_protocol::admin::{ConsultationReport, GroupFigures};
use backline_protocol::model::Role;
use backline_protocol::ErrorCode;
use backline_store::offers;
use backline_store::types::{ConsultationOutcome, OfferState};

use crate::auth::Account;
use crate::error::{err, Result};
use crate::Backline;

/// The most offers one report reads.
const MAX_ROWS: i64 = 200_000;

/// The `q`-quantile (nearest rank) of sorted values, in seconds.
fn quantile(sorted_ms: &[i64], q: f64) -> Option<f64> {
    if sorted_ms.is_empty() {
        return None;
    }
    let rank = ((q * sorted_ms.len() as f64).ceil() as usize).clamp(1, sorted_ms.len());
    Some(sorted_ms[rank - 1] as f64 / 1000.0)
}

impl Backline {
    /// Per group: consultations offered in `[from, to)` (unix ms), taken,
    /// abandoned, still open, time to accept and duration (p50, p90), and
    /// the outcomes recorded. Supervisors and administrators only.
    pub async fn consultation_report(
        &self,
        caller: &Account,
        from: i64,
        to: i64,
    ) -> Result<ConsultationReport> {
        if !caller
            .roles
            .iter()
            .any(|r| matches!(r, Role::Supervisor | Role::Admin))
        {
            return Err(err(
                ErrorCode::Forbidden,
                "supervisors and administrators only",
            ));
        }
        if from >= to {
            return Err(err(ErrorCode::InvalidRequest, "from: must be before to"));
        }
        let rows = offers::report(self.store().reader(), from, to, MAX_ROWS).await?;
        let mut by_group: BTreeMap<(String, String), Vec<_>> = BTreeMap::new();
        for row in rows {
            by_group
                .entry((row.group_name.clone(), row.group_id.to_string()))
                .or_default()
                .push(row);
        }
        let groups = by_group
            .into_iter()
            .map(|((group_name, group_id), rows)| {
                let count = |f: &dyn Fn(&backline_store::rows::OfferReportRow) -> bool| {
                    rows.iter().filter(|r| f(r)).count() as u32
                };
                let mut accept: Vec<i64> = rows
                    .iter()
                    .filter_map(|r| r.taken_at.map(|t| t - r.created_at))
                    .collect();
                let mut duration: Vec<i64> = rows
                    .iter()
                    .filter_map(|r| Some(r.ended_at? - r.taken_at?))
                    .collect();
                accept.sort_unstable();
                duration.sort_unstable();
                let outcome = |o: ConsultationOutcome| count(&|r| r.outcome == Some(o));
                GroupFigures {
                    group_id,
                    group_name,
                    consultations: rows.len() as u32,
                    taken: count(&|r| r.state == OfferState::Taken),
                    abandoned: count(&|r| r.state == OfferState::Cancelled),
                    open: count(&|r| r.state == OfferState::Open),
                    accept_p50_secs: quantile(&accept, 0.5),
                    accept_p90_secs: quantile(&accept, 0.9),
                    duration_p50_secs: quantile(&duration, 0.5),
                    duration_p90_secs: quantile(&duration, 0.9),
                    answered: outcome(ConsultationOutcome::Answered),
                    needs_follow_up: outcome(ConsultationOutcome::NeedsFollowUp),
                    transferred: outcome(ConsultationOutcome::Transferred),
                    no_answer: outcome(ConsultationOutcome::NoAnswer),
                }
            })
            .collect();
        Ok(ConsultationReport { from, to, groups })
    }
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantiles_are_nearest_rank_in_seconds() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[4000], 0.9), Some(4.0));
        let ms: Vec<i64> = (1..=10).map(|s| s * 1000).collect();
        assert_eq!(quantile(&ms, 0.5), Some(5.0));
        assert_eq!(quantile(&ms, 0.9), Some(9.0));
    }
}
