//! A stand-in for the contact-center platform: realistic contacts, their
//! past interactions, and a stream of incoming interactions.
//!
//! `backline simulate` drives a running server through the real platform API
//! (`/api/v1/platform/…`) with an integration token; `backline demo` seeds
//! the same contacts and history in-process on first start.

use std::time::Duration;

use backline_protocol::interactions::{
    CaseDataItem, ContactInput, CreateInteractionRequest, EndInteractionRequest, Media,
};
use backline_service::interactions::HistoryRecord;
use backline_service::Backline;
use rand::RngExt;

/// (external id, first name, last name, phone, e-mail, segment, language)
const CONTACTS: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
    (
        "C-1001",
        "Zoë",
        "Martin",
        "+33 1 44 55 66 77",
        "zoe.martin@example.com",
        "Gold",
        "French",
    ),
    (
        "C-1002",
        "Liam",
        "O'Brien",
        "+353 1 555 0102",
        "liam.obrien@example.com",
        "Standard",
        "English",
    ),
    (
        "C-1003",
        "Amélie",
        "Dubois",
        "+33 4 72 00 11 22",
        "amelie.dubois@example.com",
        "Platinum",
        "French",
    ),
    (
        "C-1004",
        "Jonas",
        "Müller",
        "+49 30 555 0104",
        "jonas.mueller@example.com",
        "Standard",
        "German",
    ),
    (
        "C-1005",
        "Sofia",
        "García",
        "+34 91 555 0105",
        "sofia.garcia@example.com",
        "Gold",
        "Spanish",
    ),
    (
        "C-1006",
        "Noah",
        "Johnson",
        "+1 415 555 0106",
        "noah.johnson@example.com",
        "Standard",
        "English",
    ),
    (
        "C-1007",
        "Chloé",
        "Lefèvre",
        "+33 5 61 00 33 44",
        "chloe.lefevre@example.com",
        "Gold",
        "French",
    ),
    (
        "C-1008",
        "Mateo",
        "Rossi",
        "+39 06 555 0108",
        "mateo.rossi@example.com",
        "Standard",
        "Italian",
    ),
];

/// (media, subject, reason, outcome, notes)
const STORIES: &[(Media, &str, &str, &str, &str)] = &[
    (
        Media::Voice,
        "Refund for a damaged kettle",
        "Refund",
        "Refund issued",
        "Kettle arrived with a cracked lid; refund of 49.90 approved without return.",
    ),
    (
        Media::Email,
        "Invoice shows the wrong address",
        "Billing",
        "Invoice corrected",
        "Billing address updated and a corrected invoice sent by e-mail.",
    ),
    (
        Media::Chat,
        "Delivery is late",
        "Delivery",
        "Courier contacted",
        "Parcel stuck at the depot; courier promised delivery within two days.",
    ),
    (
        Media::Voice,
        "Cannot log in to the customer portal",
        "Technical",
        "Password reset",
        "Account was locked after five attempts; unlocked and reset link sent.",
    ),
    (
        Media::Email,
        "Change of subscription plan",
        "Sales",
        "Upgraded to Premium",
        "Customer upgraded to the Premium plan from next month; welcome pack promised.",
    ),
    (
        Media::Chat,
        "Question about warranty",
        "Warranty",
        "Warranty explained",
        "Two-year warranty covers the heating element; receipt needed for claims.",
    ),
    (
        Media::Voice,
        "Double charge on credit card",
        "Billing",
        "Escalated to finance",
        "Two identical charges on the 3rd; finance ticket FIN-2231 opened.",
    ),
];

const QUEUES: &[&str] = &["Billing", "Technical Support", "Sales", "Premium Care"];

fn contact_input(index: usize) -> ContactInput {
    let (external_id, first, last, phone, email, segment, language) =
        CONTACTS[index % CONTACTS.len()];
    ContactInput {
        external_id: Some(external_id.into()),
        first_name: first.into(),
        last_name: last.into(),
        phones: vec![phone.into()],
        emails: vec![email.into()],
        attributes: vec![
            CaseDataItem {
                key: "Segment".into(),
                value: segment.into(),
            },
            CaseDataItem {
                key: "Language".into(),
                value: language.into(),
            },
        ],
    }
}

fn case_data(contact: usize, reason: &str, rng: &mut impl rand::Rng) -> Vec<CaseDataItem> {
    vec![
        CaseDataItem {
            key: "Account number".into(),
            value: format!("ACC-{}", 40_000 + contact * 97),
        },
        CaseDataItem {
            key: "Reason".into(),
            value: reason.into(),
        },
        CaseDataItem {
            key: "Queue".into(),
            value: QUEUES[rng.random_range(0..QUEUES.len())].into(),
        },
        CaseDataItem {
            key: "Order".into(),
            value: format!("ORD-{}", rng.random_range(100_000..999_999)),
        },
    ]
}

/// Seeds the contacts and their past interactions in-process (demo, first start).
pub async fn seed_history(backline: &Backline, agents: &[&str]) -> anyhow::Result<()> {
    let now = backline_store::now_ms();
    let day = 24 * 3600 * 1000;
    let mut rng = rand::rng();
    for index in 0..CONTACTS.len() {
        backline
            .import_contact(contact_input(index))
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
        for n in 0..(2 + index % 3) {
            let (media, subject, _, outcome, notes) = STORIES[(index * 3 + n) % STORIES.len()];
            let days_ago = rng.random_range(3..400);
            let agent = agents[rng.random_range(0..agents.len())];
            let transcript = (media == Media::Chat).then(|| {
                format!(
                    "Customer: Hello, {}?\nAgent: Let me check that for you.\nAgent: {}",
                    subject.to_lowercase(),
                    notes
                )
            });
            backline
                .import_history(HistoryRecord {
                    contact_external_id: CONTACTS[index].0.into(),
                    external_id: None,
                    media,
                    started_at: now - days_ago * day - rng.random_range(0..day),
                    agent: Some(agent.into()),
                    subject: subject.into(),
                    outcome: Some(outcome.into()),
                    notes: Some(notes.into()),
                    transcript,
                })
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
        }
    }
    Ok(())
}

/// A new interaction for `agent` about contact `contact`, with a random story.
pub fn new_interaction(
    external_id: String,
    agent: &str,
    contact: usize,
    rng: &mut impl rand::Rng,
) -> CreateInteractionRequest {
    let story = rng.random_range(0..STORIES.len());
    interaction_from_story(external_id, agent, contact, story, rng)
}

/// A chat and an e-mail for the demo: no phantom phone call keeps an agent Busy.
pub const DEMO_STORIES: [usize; 2] = [2, 1];

/// A new interaction for `agent` about contact `contact`, from story `story`.
pub fn interaction_from_story(
    external_id: String,
    agent: &str,
    contact: usize,
    story: usize,
    rng: &mut impl rand::Rng,
) -> CreateInteractionRequest {
    let (media, subject, reason, _, _) = STORIES[story % STORIES.len()];
    CreateInteractionRequest {
        external_id,
        media,
        agent: agent.into(),
        contact: Some(contact_input(contact)),
        subject: subject.into(),
        case_data: case_data(contact, reason, rng),
    }
}

/// Options of `backline simulate`.
pub struct SimulateOptions {
    pub url: String,
    pub token: String,
    pub agents: Vec<String>,
    /// Time between two new interactions.
    pub every: Duration,
    /// How long an interaction stays active before the platform ends it.
    pub duration: Duration,
    /// Stop after this many interactions (0: until interrupted).
    pub count: usize,
}

/// Streams interactions to the agents round-robin through the platform API.
pub async fn run(options: SimulateOptions) -> anyhow::Result<()> {
    anyhow::ensure!(
        !options.agents.is_empty(),
        "name at least one agent with --agents"
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let base = options.url.trim_end_matches('/').to_owned();
    let mut rng = rand::rng();
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let mut open: Vec<(tokio::time::Instant, String)> = Vec::new();
    let mut created = 0usize;
    let mut tick = tokio::time::interval(options.every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        // End those whose time is up.
        let now = tokio::time::Instant::now();
        let (due, keep): (Vec<_>, Vec<_>) = open.into_iter().partition(|(at, _)| *at <= now);
        open = keep;
        for (_, id) in due {
            let (_, _, _, outcome, notes) = STORIES[rng.random_range(0..STORIES.len())];
            let body = EndInteractionRequest {
                outcome: Some(outcome.into()),
                notes: Some(notes.into()),
            };
            let response = client
                .post(format!("{base}/api/v1/platform/interactions/{id}/end"))
                .bearer_auth(&options.token)
                .json(&body)
                .send()
                .await?;
            println!("ended {id}: HTTP {}", response.status().as_u16());
        }
        if options.count > 0 && created >= options.count {
            if open.is_empty() {
                break;
            }
            continue;
        }
        let agent = &options.agents[created % options.agents.len()];
        let request = new_interaction(
            format!("sim-{run_id}-{created}"),
            agent,
            rng.random_range(0..CONTACTS.len()),
            &mut rng,
        );
        let response = client
            .post(format!("{base}/api/v1/platform/interactions"))
            .bearer_auth(&options.token)
            .json(&request)
            .send()
            .await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if status.is_success() {
            let id = body["id"].as_str().unwrap_or_default().to_owned();
            println!(
                "{} {} for {agent}: {} ({id})",
                request.media.as_str(),
                request.subject,
                body["contact_name"].as_str().unwrap_or("")
            );
            open.push((tokio::time::Instant::now() + options.duration, id));
        } else {
            eprintln!("refused: HTTP {} {}", status.as_u16(), body);
        }
        created += 1;
    }
    Ok(())
}
