//! The demo organisation: a dozen agents and supervisors in a few groups, all with one printed password.

use backline_protocol::admin::CreateUserRequest;
use backline_protocol::model::Role;
use backline_service::Backline;

/// The demo password of every demo account.
pub const DEMO_PASSWORD: &str = "backline";

/// One demo account: username, display name, roles, IM permitted, groups.
type Person = (
    &'static str,
    &'static str,
    &'static [Role],
    bool,
    &'static [&'static str],
);

const PEOPLE: &[Person] = &[
    (
        "admin",
        "Ada Admin",
        &[Role::Admin, Role::Supervisor],
        true,
        &["Supervisors"],
    ),
    ("alice", "Alice Agent", &[Role::Agent], true, &["Billing"]),
    ("bob", "Bob Builder", &[Role::Agent], true, &["Billing"]),
    ("carol", "Carol Côté", &[Role::Agent], true, &["Billing"]),
    (
        "dave",
        "Dave Durand",
        &[Role::Agent],
        true,
        &["Technical Support"],
    ),
    (
        "erin",
        "Erin Éclair",
        &[Role::Agent],
        true,
        &["Technical Support"],
    ),
    (
        "frank",
        "Frank Fischer",
        &[Role::Agent],
        true,
        &["Technical Support"],
    ),
    ("grace", "Grace Guzmán", &[Role::Agent], true, &["Sales"]),
    ("heidi", "Heidi Holm", &[Role::Agent], true, &["Sales"]),
    (
        "ivan",
        "Ivan Ivanov",
        &[Role::Supervisor],
        true,
        &["Supervisors", "Billing"],
    ),
    (
        "judy",
        "Judy Jensen",
        &[Role::Supervisor],
        true,
        &["Supervisors", "Technical Support"],
    ),
    (
        "mallory",
        "Mallory Moreau",
        &[Role::Agent],
        false,
        &["Sales"],
    ),
];

const REASONS: &[(&str, &str)] = &[
    ("break", "Break"),
    ("lunch", "Lunch"),
    ("training", "Training"),
    ("meeting", "Meeting"),
    ("after_call_work", "After-call work"),
];

/// What `load` created that the operator needs to see.
pub struct Loaded {
    /// (username, display name) of every demo account.
    pub people: Vec<(String, String)>,
    /// The simulator's integration token, when it was created by this call.
    pub simulator_token: Option<String>,
}

/// Creates whatever of the demo organisation is missing. On first start it
/// also creates the "simulator" integration, contacts with their history,
/// and an active voice interaction for alice and for bob.
pub async fn load(backline: &Backline) -> anyhow::Result<Loaded> {
    let existing = backline.list_users().await?;
    for (username, display_name, roles, im, _) in PEOPLE {
        if existing.iter().any(|u| u.username == *username) {
            continue;
        }
        backline
            .create_user(
                None,
                CreateUserRequest {
                    username: (*username).into(),
                    display_name: (*display_name).into(),
                    password: DEMO_PASSWORD.into(),
                    roles: roles.to_vec(),
                    im_permitted: *im,
                },
            )
            .await?;
    }
    let groups = backline.list_groups().await?;
    for (username, _, _, _, member_of) in PEOPLE {
        for group in *member_of {
            if !groups.iter().any(|g| g.name == *group) && backline.find_group(group).await.is_err()
            {
                backline.create_group(None, group).await?;
            }
            backline
                .set_group_member(None, group, username, true)
                .await?;
        }
    }
    let reasons = backline.status_reasons().await?;
    for (code, label) in REASONS {
        if !reasons.iter().any(|r| r.code == *code) {
            backline.create_status_reason(None, code, label).await?;
        }
    }
    let mut simulator_token = None;
    if !backline
        .list_integrations()
        .await?
        .iter()
        .any(|i| i.name == "simulator")
    {
        let created = backline
            .create_integration(None, "simulator", None, None)
            .await?;
        let agents: Vec<&str> = PEOPLE
            .iter()
            .filter(|p| p.2.contains(&Role::Agent))
            .map(|p| p.0)
            .collect();
        crate::simulate::seed_history(backline, &agents).await?;
        let integration = backline.authenticate_integration(&created.token).await?;
        let mut rng = rand::rng();
        for (n, agent) in ["alice", "bob"].iter().enumerate() {
            let story = crate::simulate::DEMO_STORIES[n];
            let request = crate::simulate::interaction_from_story(
                format!("demo-{n}"),
                agent,
                n,
                story,
                &mut rng,
            );
            backline
                .platform_create_interaction(&integration, request)
                .await?;
        }
        simulator_token = Some(created.token);
    }
    Ok(Loaded {
        people: PEOPLE
            .iter()
            .map(|(u, d, ..)| ((*u).to_owned(), (*d).to_owned()))
            .collect(),
        simulator_token,
    })
}
