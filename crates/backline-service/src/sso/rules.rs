//! From the ID token's claims to what an account may do: `oidc.rules`.

use std::collections::BTreeSet;

use backline_protocol::model::Role;
use serde_json::{Map, Value};

use crate::config::OidcRule;

/// What the matching rules grant an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// At least `agent`.
    pub roles: Vec<Role>,
    pub im_permitted: bool,
    /// The groups the account belongs to.
    pub groups: BTreeSet<String>,
    /// Every group some rule names: membership of these follows the rules;
    /// other groups are left to administrators.
    pub managed_groups: BTreeSet<String>,
}

/// A claim by name, or by a dotted path into nested objects
/// (`realm_access.roles`) when no claim has the whole name.
pub(crate) fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    let mut parts = name.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// Whether a claim equals `expected`, or is a list holding it.
fn holds(value: &Value, expected: &str) -> bool {
    match value {
        Value::String(text) => text == expected,
        Value::Array(items) => items.iter().any(|item| holds(item, expected)),
        Value::Bool(flag) => flag.to_string() == expected,
        Value::Number(number) => number.to_string() == expected,
        _ => false,
    }
}

/// The grant of the rules that match, or `None` when none does (the sign-in
/// is refused). Without rules everyone is an agent with the IM permission.
pub(crate) fn grant(rules: &[OidcRule], claims: &Map<String, Value>) -> Option<Grant> {
    if rules.is_empty() {
        return Some(Grant {
            roles: vec![Role::Agent],
            im_permitted: true,
            groups: BTreeSet::new(),
            managed_groups: BTreeSet::new(),
        });
    }
    let managed_groups: BTreeSet<String> = rules
        .iter()
        .flat_map(|r| r.groups.iter().cloned())
        .collect();
    let matching: Vec<&OidcRule> = rules
        .iter()
        .filter(|rule| claim(claims, &rule.claim).is_some_and(|v| holds(v, &rule.value)))
        .collect();
    if matching.is_empty() {
        return None;
    }
    let mut roles = vec![Role::Agent];
    for role in matching.iter().flat_map(|r| r.roles.iter()) {
        if !roles.contains(role) {
            roles.push(*role);
        }
    }
    Some(Grant {
        roles,
        im_permitted: matching.iter().any(|r| r.im),
        groups: matching
            .iter()
            .flat_map(|r| r.groups.iter().cloned())
            .collect(),
        managed_groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(claim: &str, value: &str, roles: &[Role], groups: &[&str], im: bool) -> OidcRule {
        OidcRule {
            claim: claim.into(),
            value: value.into(),
            roles: roles.to_vec(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            im,
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn matching_rules_add_up_and_no_match_refuses() {
        let rules = vec![
            rule("groups", "cc-agents", &[], &["Billing"], true),
            rule(
                "groups",
                "cc-supervisors",
                &[Role::Supervisor],
                &["Leads"],
                false,
            ),
            rule("department", "it", &[Role::Admin], &[], false),
        ];
        let agent = grant(&rules, &claims(json!({"groups": ["cc-agents", "x"]}))).unwrap();
        assert_eq!(agent.roles, vec![Role::Agent]);
        assert!(agent.im_permitted);
        assert_eq!(agent.groups, BTreeSet::from(["Billing".to_owned()]));
        assert_eq!(
            agent.managed_groups,
            BTreeSet::from(["Billing".to_owned(), "Leads".to_owned()])
        );
        let lead = grant(
            &rules,
            &claims(json!({"groups": ["cc-supervisors"], "department": "it"})),
        )
        .unwrap();
        assert_eq!(lead.roles, vec![Role::Agent, Role::Supervisor, Role::Admin]);
        assert!(!lead.im_permitted, "no matching rule grants IM");
        assert_eq!(grant(&rules, &claims(json!({"groups": ["other"]}))), None);
        assert_eq!(grant(&rules, &claims(json!({}))), None);
    }

    #[test]
    fn claims_are_found_by_dotted_path_and_compared_by_text() {
        let rules = vec![rule("realm_access.roles", "agent", &[], &[], true)];
        assert!(grant(
            &rules,
            &claims(json!({"realm_access": {"roles": ["agent"]}}))
        )
        .is_some());
        assert!(grant(
            &rules,
            &claims(json!({"realm_access": {"roles": "agent2"}}))
        )
        .is_none());
        let flag = vec![rule("cc_agent", "true", &[], &[], true)];
        assert!(grant(&flag, &claims(json!({"cc_agent": true}))).is_some());
        assert!(grant(&flag, &claims(json!({"cc_agent": false}))).is_none());
    }

    #[test]
    fn without_rules_everyone_is_an_agent_with_im() {
        let open = grant(&[], &claims(json!({}))).unwrap();
        assert_eq!(open.roles, vec![Role::Agent]);
        assert!(open.im_permitted);
    }
}
