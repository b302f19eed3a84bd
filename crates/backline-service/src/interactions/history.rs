//! The contact's history, searched: folded words, filters, and snippets
//! around the matches, with the matched words as ranges.
//!
//! Snippets are built in one pass over the text (every character is looked at
//! a bounded number of times: at most once per search word), on a blocking
//! thread, and their size is bounded: see [`MAX_FRAGMENTS`] and
//! [`FRAGMENT_CHARS`].

use backline_protocol::interactions::{
    AttachedTranscript, Highlight, HistoryItem, HistoryPage, Media, Snippet,
};
use backline_protocol::ErrorCode;
use backline_store::interactions;
use backline_store::rows::{AttachedTranscriptRow, InteractionRow};
use backline_store::InteractionId;
use backline_store::UserId;

use crate::auth::Account;
use crate::error::{err, Result, ServiceError};
use crate::shared::views::interaction_state;
use crate::text::{fold, fold_char};
use crate::Backline;
use unicode_normalization::{IsNormalized, UnicodeNormalization};

/// Excerpts per snippet, at most.
pub const MAX_FRAGMENTS: usize = 3;
/// Characters per excerpt, at most (before whitespace is collapsed).
pub const FRAGMENT_CHARS: usize = 200;
/// Characters of context kept before an excerpt's first match.
const CONTEXT_BEFORE: usize = 40;
/// Highlights per snippet, at most.
pub const MAX_HIGHLIGHTS: usize = 64;
/// Search words, at most (the rest of the query is ignored).
const MAX_WORDS: usize = 10;

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
        .take(MAX_WORDS)
        .map(str::to_owned)
        .collect()
}

/// A text prepared for matching: its characters, and each one folded
/// ([`fold_char`]: one character for one, so positions are shared).
struct Prepared {
    chars: Vec<char>,
    folded: Vec<char>,
}

impl Prepared {
    fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let folded = chars.iter().map(|c| fold_char(*c)).collect();
        Prepared { chars, folded }
    }

    fn is_word_char(&self, i: usize) -> bool {
        self.folded[i].is_alphanumeric()
    }

    /// Whether a word starts at `i`.
    fn word_starts_at(&self, i: usize) -> bool {
        self.is_word_char(i) && (i == 0 || !self.is_word_char(i - 1))
    }

    /// The end of the word that starts at `i`; counts each character in `work`.
    fn word_end(&self, i: usize, work: &mut u64) -> usize {
        let mut end = i;
        while end < self.chars.len() && self.is_word_char(end) {
            *work += 1;
            end += 1;
        }
        end
    }

    /// Whether the word at `start..end` begins with `word` (folded);
    /// counts each comparison in `work`.
    fn word_has_prefix(&self, start: usize, end: usize, word: &[char], work: &mut u64) -> bool {
        if end - start < word.len() {
            *work += 1;
            return false;
        }
        for (k, c) in word.iter().enumerate() {
            *work += 1;
            if self.folded[start + k] != *c {
                return false;
            }
        }
        true
    }

    fn matches_any(&self, start: usize, end: usize, words: &[Vec<char>], work: &mut u64) -> bool {
        words
            .iter()
            .any(|w| self.word_has_prefix(start, end, w, work))
    }
}

/// The first match of each search word, as word ranges `(start, end)` in
/// characters, in text order. One pass: a word is looked at only where it
/// starts, and only against the words not found yet; the pass stops when
/// every word was found.
fn first_matches(text: &Prepared, words: &[Vec<char>], work: &mut u64) -> Vec<(usize, usize)> {
    let mut missing: Vec<&[char]> = words.iter().map(Vec::as_slice).collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < text.chars.len() && !missing.is_empty() {
        *work += 1;
        if !text.word_starts_at(i) {
            i += 1;
            continue;
        }
        let end = text.word_end(i, work);
        let before = missing.len();
        missing.retain(|w| !text.word_has_prefix(i, end, w, work));
        if missing.len() < before {
            found.push((i, end));
        }
        i = end;
    }
    found
}

/// Excerpt windows `(from, to)` in characters, in order, not overlapping:
/// one around each first match that an earlier window does not already show.
fn fragments(len: usize, matches: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &(start, _) in matches {
        if let Some(&(_, to)) = out.last() {
            if start < to {
                continue;
            }
        }
        if out.len() == MAX_FRAGMENTS {
            break;
        }
        let previous_end = out.last().map_or(0, |&(_, to)| to);
        let from = start.saturating_sub(CONTEXT_BEFORE).max(previous_end);
        let to = (from + FRAGMENT_CHARS).min(len);
        out.push((from, to));
    }
    out
}

/// The snippet's text under construction: whitespace collapsed to single
/// spaces, offsets counted in UTF-16 code units.
#[derive(Default)]
struct SnippetText {
    text: String,
    utf16: u32,
    highlights: Vec<Highlight>,
}

impl SnippetText {
    fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            self.push(c);
        }
    }

    fn push(&mut self, c: char) {
        let c = if c.is_whitespace() { ' ' } else { c };
        if c == ' ' && (self.text.is_empty() || self.text.ends_with(' ')) {
            return;
        }
        self.text.push(c);
        self.utf16 += c.len_utf16() as u32;
    }

    fn trim_end(&mut self) {
        while self.text.ends_with(' ') {
            self.text.pop();
            self.utf16 -= 1;
        }
    }
}

/// Excerpts of `text` around the first match of each of `words` (folded),
/// every match in them highlighted as a whole word; `None` without a match.
/// `work` counts the characters looked at and compared.
fn snippet_counted(text: &str, words: &[String], work: &mut u64) -> Option<Snippet> {
    let words: Vec<Vec<char>> = words
        .iter()
        .map(|w| w.chars().map(fold_char).collect())
        .filter(|w: &Vec<char>| !w.is_empty())
        .collect();
    let composed: String;
    let text = if unicode_normalization::is_nfc_quick(text.chars()) == IsNormalized::Yes {
        text
    } else {
        composed = text.nfc().collect();
        &composed
    };
    let text = Prepared::new(text);
    *work += text.chars.len() as u64;
    let matches = first_matches(&text, &words, work);
    let windows = fragments(text.chars.len(), &matches);
    if windows.is_empty() {
        return None;
    }
    let mut out = SnippetText::default();
    let mut previous_end = None;
    for &(from, to) in &windows {
        match previous_end {
            None if from > 0 => out.push('…'),
            Some(end) if end < from => {
                out.trim_end();
                out.push_str(" … ");
            }
            _ => {}
        }
        let mut i = from;
        while i < to {
            *work += 1;
            if text.word_starts_at(i) && out.highlights.len() < MAX_HIGHLIGHTS {
                let end = text.word_end(i, work);
                if text.matches_any(i, end, &words, work) {
                    let start = out.utf16;
                    let end = end.min(to);
                    for c in &text.chars[i..end] {
                        out.push(*c);
                    }
                    out.highlights.push(Highlight {
                        start,
                        end: out.utf16,
                    });
                    i = end;
                    continue;
                }
            }
            out.push(text.chars[i]);
            i += 1;
        }
        previous_end = Some(to);
    }
    out.trim_end();
    if previous_end.is_some_and(|end| end < text.chars.len()) {
        out.push('…');
    }
    Some(Snippet {
        text: out.text,
        highlights: out.highlights,
    })
}

/// [`snippet_counted`] without the count.
fn snippet(text: &str, words: &[String]) -> Option<Snippet> {
    snippet_counted(text, words, &mut 0)
}

/// At most this many snippet builds run at once, on blocking threads, so a
/// burst of searches over long transcripts never occupies the runtime's
/// workers nor every core.
fn snippet_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(crate::cpu_workers()))
}

/// A transcript kept with an interaction, as the history and the contact's
/// export show it.
pub(crate) fn attached_transcript(t: &AttachedTranscriptRow) -> AttachedTranscript {
    AttachedTranscript {
        session_id: t.session_id.clone(),
        title: t.title.clone(),
        text: t.body.clone(),
        attached_at: t.attached_at,
        outcome: t.outcome.map(crate::shared::states::outcome),
        outcome_note: t.outcome_note.clone(),
    }
}

/// The history entries of `rows`, with their transcripts and, when
/// searching, their snippets.
fn history_items(
    rows: Vec<InteractionRow>,
    attached: Vec<AttachedTranscriptRow>,
    words: &[String],
) -> Vec<HistoryItem> {
    rows.into_iter()
        .map(|row| {
            let transcripts: Vec<AttachedTranscript> = attached
                .iter()
                .filter(|t| t.interaction_id == row.id)
                .map(attached_transcript)
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
                snippet(&haystack, words)
            };
            HistoryItem {
                interaction_id: row.id.to_string(),
                media: Media::parse(&row.media).unwrap_or(Media::Voice),
                state: interaction_state(&row),
                created_at: row.created_at,
                ended_at: row.ended_at,
                agent_id: row.agent_id.map(UserId::into_string),
                agent_name: row.agent_name,
                subject: row.subject,
                outcome: row.outcome,
                notes: row.notes,
                transcripts,
                snippet,
            }
        })
        .collect()
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
            agent_id: search.agent_id.clone().map(UserId::from),
            words: words.clone(),
            limit: search.limit.clamp(1, 200) as i64,
        };
        let rows =
            interactions::history(self.store().reader(), self.store().backend(), &query).await?;
        let ids: Vec<InteractionId> = rows.iter().map(|r| r.id.clone()).collect();
        let attached = interactions::transcripts(self.store().reader(), &ids).await?;
        let _permit = snippet_permits()
            .acquire()
            .await
            .map_err(|e| ServiceError::Internal(e.into()))?;
        let items = tokio::task::spawn_blocking(move || history_items(rows, attached, &words))
            .await
            .map_err(|e| ServiceError::Internal(e.into()))?;
        Ok(HistoryPage { items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(query: &str) -> Vec<String> {
        search_words(query)
    }

    /// The highlighted parts of a snippet, sliced by UTF-16 offsets as the desktop does.
    fn marked(snippet: &Snippet) -> Vec<String> {
        let units: Vec<u16> = snippet.text.encode_utf16().collect();
        snippet
            .highlights
            .iter()
            .map(|h| String::from_utf16(&units[h.start as usize..h.end as usize]).unwrap())
            .collect()
    }

    fn work(text: &str, query: &str) -> u64 {
        let mut work = 0;
        snippet_counted(text, &words(query), &mut work);
        work
    }

    #[test]
    fn the_work_of_a_snippet_grows_linearly_with_the_text() {
        // The reported case: long words full of the searched letter, the one
        // word that starts with it at the very end.
        let text = |n: usize| format!("{} question", "aq".repeat(n));
        let (small, large) = (work(&text(20_000), "q"), work(&text(80_000), "q"));
        assert!(large <= 4 * small + 100, "n: {small}, 4n: {large}");
        assert!(small <= 3 * 40_000 + 100, "n: {small}");
        // Ten words, none found: each character is compared at most once per word.
        let query = "qa qb qc qd qe qf qg qh qi qj";
        let spaced = |n: usize| "aq qz ".repeat(n);
        let (small, large) = (work(&spaced(5_000), query), work(&spaced(20_000), query));
        assert!(large <= 4 * small + 100, "n: {small}, 4n: {large}");
        assert!(small <= 12 * 30_000, "n: {small}");
    }

    #[test]
    fn every_query_word_is_highlighted_and_brackets_in_the_text_are_only_text() {
        let transcript = "[10:00:00 UTC] Alice Agent: Hi Bob, can you check the refund?\n\
                          [10:00:05 UTC] Bob Builder: Checking now";
        let found = snippet(transcript, &words("can you check")).unwrap();
        assert_eq!(marked(&found), ["can", "you", "check", "Checking"]);
        assert!(
            found
                .text
                .starts_with("[10:00:00 UTC] Alice Agent: Hi Bob, can"),
            "{}",
            found.text
        );
        assert!(!found.text.contains('\n'), "whitespace is collapsed");
    }

    #[test]
    fn highlights_are_utf16_offsets_into_the_original_text() {
        let text = "😀 Ticket of ÉLODIE Müller: cafe\u{301} refund";
        let found = snippet(text, &words("elodie MULLER café")).unwrap();
        assert_eq!(marked(&found), ["ÉLODIE", "Müller", "café"]);
        assert_eq!(found.highlights[0].start, 13, "😀 counts two units");
    }

    #[test]
    fn words_match_at_their_start_and_are_highlighted_whole() {
        let found = snippet("a squid, Squash and squashed", &words("squa")).unwrap();
        assert_eq!(marked(&found), ["Squash", "squashed"]);
        assert_eq!(snippet("aqaq", &words("q")), None);
        assert_eq!(snippet("anything", &[]), None);
    }

    #[test]
    fn snippets_are_bounded() {
        let far = " lorem".repeat(200);
        let text = format!(
            "alpha{far} beta{far} gamma{far} delta{far} {}",
            "x ".repeat(500)
        );
        let found = snippet(&text, &words("alpha beta gamma delta x")).unwrap();
        assert_eq!(
            found.text.matches(" … ").count(),
            MAX_FRAGMENTS - 1,
            "{}",
            found.text
        );
        assert!(found.text.chars().count() <= MAX_FRAGMENTS * (FRAGMENT_CHARS + 3) + 1);
        assert_eq!(marked(&found)[..3], ["alpha", "beta", "gamma"]);
        assert!(found.text.ends_with('…'));
        let many = snippet(&"x ".repeat(1_000), &words("x")).unwrap();
        assert_eq!(many.highlights.len(), MAX_HIGHLIGHTS);
        let one_long_word = snippet(&format!("q{}", "a".repeat(10_000)), &words("q")).unwrap();
        assert_eq!(one_long_word.highlights.len(), 1);
        assert!(one_long_word.text.chars().count() <= FRAGMENT_CHARS + 1);
    }

    /// Milliseconds per snippet over a consultation transcript of `messages`
    /// messages of 16 KiB (`aqaq…`), the one word starting with `q` at its
    /// end: the figures in docs/benchmarks.md.
    #[test]
    #[ignore = "a benchmark: cargo test --release -p backline-service --lib -- --ignored --nocapture snippet_benchmark"]
    fn snippet_benchmark() {
        for messages in [20, 200] {
            let mut transcript = String::new();
            for _ in 0..messages {
                transcript.push_str("[10:00:00 UTC] Alice Agent: ");
                transcript.push_str(&"aq".repeat(8 * 1024));
                transcript.push('\n');
            }
            transcript.push_str("[10:00:01 UTC] session ended by Quinn");
            let words = words("q");
            let runs = 5;
            let started = std::time::Instant::now();
            for _ in 0..runs {
                assert!(snippet(&transcript, &words).is_some());
            }
            let ms = started.elapsed().as_secs_f64() * 1000.0 / runs as f64;
            println!("{messages} messages: {ms:.1} ms per snippet");
        }
    }
}
