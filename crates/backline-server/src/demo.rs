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

/// Creates whatever of the demo organisation is missing; returns the accounts as (username, display name).
pub async fn load(backline: &Backline) -> anyhow::Result<Vec<(String, String)>> {
    let existing = backline.list_users().await?;
    for (username, display_name, roles, im, _) in PEOPLE {
        if existing.iter().any(|u| u.username == *username) {
            continue;
        }
        backline
            .create_user(CreateUserRequest {
                username: (*username).into(),
                display_name: (*display_name).into(),
                password: DEMO_PASSWORD.into(),
                roles: roles.to_vec(),
                im_permitted: *im,
            })
            .await?;
    }
    let groups = backline.list_groups().await?;
    for (username, _, _, _, member_of) in PEOPLE {
        for group in *member_of {
            if !groups.iter().any(|g| g.name == *group) && backline.find_group(group).await.is_err()
            {
                backline.create_group(group).await?;
            }
            backline.set_group_member(group, username, true).await?;
        }
    }
    let reasons = backline.status_reasons().await?;
    for (code, label) in REASONS {
        if !reasons.iter().any(|r| r.code == *code) {
            backline.create_status_reason(code, label).await?;
        }
    }
    Ok(PEOPLE
        .iter()
        .map(|(u, d, ..)| ((*u).to_owned(), (*d).to_owned()))
        .collect())
}
