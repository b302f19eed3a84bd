//! Figures: group consultations per group, as JSON or CSV (supervisors and administrators).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use backline_protocol::admin::ConsultationReport;
use backline_protocol::{ErrorBody, ErrorCode};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, AppQuery};
use crate::state::{AppState, Auth};

/// A week, the default range.
const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportQuery {
    /// From this time (unix ms, inclusive); default a week before `to`.
    pub from: Option<i64>,
    /// Up to this time (unix ms, exclusive); default now.
    pub to: Option<i64>,
    /// `json` (default) or `csv` (one row per group, with a header row).
    pub format: Option<String>,
}

/// # `GET /api/v1/reports/consultations`
///
/// Per group: consultations offered in the range, taken, abandoned, open, time to accept and
/// duration (p50, p90, seconds), and the recorded outcomes.
#[utoipa::path(get, path = "/reports/consultations", tag = "reports", params(ReportQuery),
    responses((status = 200, content(
            (ConsultationReport = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn consultations(
    State(state): State<AppState>,
    Auth(account): Auth,
    AppQuery(query): AppQuery<ReportQuery>,
) -> ApiResult<Response> {
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("format: json or csv, not {other:?}"),
            ))
        }
    };
    let to = query.to.unwrap_or_else(backline_store::now_ms);
    let from = query.from.unwrap_or(to - WEEK_MS);
    let report = state
        .backline
        .consultation_report(&account, from, to)
        .await?;
    if !csv {
        return Ok(Json(report).into_response());
    }
    let body = to_csv(&report)
        .map_err(|e| ApiError::from(backline_service::ServiceError::Internal(e.into())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"consultations.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// The report as CSV: a header row, then one row per group (quoted as RFC 4180 says).
fn to_csv(report: &ConsultationReport) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "group_id",
        "group_name",
        "consultations",
        "taken",
        "abandoned",
        "open",
        "accept_p50_secs",
        "accept_p90_secs",
        "duration_p50_secs",
        "duration_p90_secs",
        "answered",
        "needs_follow_up",
        "transferred",
        "no_answer",
    ])?;
    let secs = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_default();
    for g in &report.groups {
        out.write_record([
            g.group_id.clone(),
            g.group_name.clone(),
            g.consultations.to_string(),
            g.taken.to_string(),
            g.abandoned.to_string(),
            g.open.to_string(),
            secs(g.accept_p50_secs),
            secs(g.accept_p90_secs),
            secs(g.duration_p50_secs),
            secs(g.duration_p90_secs),
            g.answered.to_string(),
            g.needs_follow_up.to_string(),
            g.transferred.to_string(),
            g.no_answer.to_string(),
        ])?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
