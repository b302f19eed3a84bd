//! The contact's history, searched: folded words, filters, and a snippet
//! around the first match.

use backline_protocol::interactions::{AttachedTranscript, HistoryItem, HistoryPage, Media};
use backline_protocol::ErrorCode;
use backline_store::interactions;

use crate::auth::Account;
use crate::error::{err, Result};
use crate::shared::views::interaction_state;
use crate::text::{fold, fold_char};
use crate::Backline;

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
    let folded: Vec<char> = chars.iter().map(|c| fold_char(*c)).collect();
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

impl Backline {
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
}
