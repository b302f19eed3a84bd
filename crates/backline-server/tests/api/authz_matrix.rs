//! The authorisation matrix: every REST route and every WebSocket client
//! frame × every kind of caller, each cell the documented answer.
//!
//! The cells come from the documentation, not from the server's answers:
//! - docs/protocol.md §4: REST authenticates with a session token; none, or an
//!   unknown one (an integration or caller token is not a session token),
//!   answers `unauthenticated` (401). Admin endpoints are for the admin role
//!   only (`forbidden`, 403).
//! - ARCHITECTURE.md, invariants: only participants read a session or its
//!   transcript (`not_participant`); an account without the Internal IM
//!   permission fails every IM request with `im_not_permitted`; only a
//!   supervisor of one of a consultation's groups joins it (`forbidden`), and
//!   only the supervisor who joined whispers in it; only an
//!   interaction's agent and its accepted consultation targets read its case
//!   data, contact and history (`not_shared`).
//! - §4b: platform endpoints take an integration token (`bli_…`) with the
//!   `platform` scope only (one without it gets `forbidden`).
//! - docs/security.md, SCIM: `/scim/v2/…` takes an integration token with the
//!   `scim` scope; any other token or none is 401, an integration token
//!   without the scope 403, both in SCIM's error form.
//! - §4c: call control and signalling are for the parties of the call
//!   (`not_call_party`); `/public/calls/{id}` takes that call's caller token;
//!   a caller's socket only signals.
//!
//! The test reads the live OpenAPI document and the `ClientFrame` variants and
//! fails when a route or a frame type has no row, or a row names a route that
//! no longer exists: a new route cannot ship without deciding who may call it.
//!
//! One app and one set of fixtures per test. Refusals must not change
//! anything, so every refused cell runs concurrently first; then the allowed
//! cells run one after the other in the order of the rows (the rows that end
//! things come last).

use std::collections::{BTreeSet, HashSet};

use backline_protocol::model::Role;
use backline_protocol::ErrorCode;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{openapi_operations, spawn_app_with, Desktop, TestApp, User, WAIT};

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum P {
    /// No token at all.
    Anonymous,
    /// Alice: the interaction's agent, a participant of the consultation
    /// session, a party of the contact call and of the consultation call.
    Agent,
    /// Bob: the consultation's target, who accepted (a session participant,
    /// an accepted consultation target, a party of the consultation call).
    Participant,
    /// Carol: an agent with Internal IM who takes part in nothing.
    Outsider,
    /// Dave: an agent without the Internal IM permission.
    NoIm,
    /// Sue: the supervisor role, taking part in nothing.
    Supervisor,
    /// Root: the admin role, taking part in nothing.
    Admin,
    /// The platform's integration token (`bli_…`).
    Integration,
    /// An identity provider's integration token, with the `scim` scope only.
    Provisioner,
    /// The click-to-call page's caller token (`blc_…`) of the contact call.
    Caller,
}

pub const PRINCIPALS: [P; 10] = [
    P::Anonymous,
    P::Agent,
    P::Participant,
    P::Outsider,
    P::NoIm,
    P::Supervisor,
    P::Admin,
    P::Integration,
    P::Provisioner,
    P::Caller,
];

impl P {
    fn name(self) -> &'static str {
        match self {
            P::Anonymous => "anonymous",
            P::Agent => "agent",
            P::Participant => "participant",
            P::Outsider => "outsider",
            P::NoIm => "no-im",
            P::Supervisor => "supervisor",
            P::Admin => "admin",
            P::Integration => "integration",
            P::Provisioner => "provisioner",
            P::Caller => "caller",
        }
    }

    /// A signed-in account (a session token).
    fn is_account(self) -> bool {
        !matches!(
            self,
            P::Anonymous | P::Integration | P::Provisioner | P::Caller
        )
    }
}

/// A cell's expected answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A 2xx answer.
    Ok,
    /// A 2xx answer, or this documented error (`no_agent_available` …).
    OkOr(&'static str),
    /// Authorised: the answer depends on the state the earlier rows left
    /// (`invalid_state`, `session_ended` …), but it is no 401, no 403 and no 5xx.
    Allowed,
    /// Refused with this status and code.
    Deny(u16, &'static str),
}

const UNAUTHENTICATED: Expect = Expect::Deny(401, "unauthenticated");
const FORBIDDEN: Expect = Expect::Deny(403, "forbidden");
const NOT_PARTICIPANT: Expect = Expect::Deny(403, "not_participant");
const IM_NOT_PERMITTED: Expect = Expect::Deny(403, "im_not_permitted");
const NOT_SHARED: Expect = Expect::Deny(403, "not_shared");
const NOT_CALL_PARTY: Expect = Expect::Deny(403, "not_call_party");
const SSO_NOT_CONFIGURED: Expect = Expect::Deny(404, "sso_not_configured");

/// Who may call a route, from the documentation.
#[derive(Clone, Copy)]
enum Rule {
    /// No authentication: everyone gets this.
    Public(Expect),
    /// Any signed-in account.
    SignedIn(Expect),
    /// Any signed-in account holding the Internal IM permission.
    Im(Expect),
    /// The admin role only.
    Admin(Expect),
    /// The supervisor and admin roles.
    Supervisors(Expect),
    /// The session's participants (and the Internal IM permission).
    Session(Expect),
    /// A supervisor of one of the session's groups (Sue supervises the agent's).
    GroupSupervisor(Expect),
    /// The supervisor who joined the session; its other participants get `forbidden`.
    JoinedSupervisor(Expect),
    /// The interaction's agent and its accepted consultation targets.
    Shared(Expect),
    /// Only the interaction's agent acts; its consultation target may read
    /// the interaction but gets `target` here.
    InteractionAgent { agent: Expect, target: Expect },
    /// The parties of the call in the row.
    Call(&'static [P], Expect),
    /// An integration token with the `platform` scope.
    Platform(Expect),
    /// An integration token with the `scim` scope (answers in SCIM's error form).
    Scim(Expect),
    /// The caller token of the call in the row.
    CallerOf(Expect),
}

fn expected(rule: Rule, p: P) -> Expect {
    match rule {
        Rule::Public(ok) => ok,
        Rule::Platform(ok) => match p {
            P::Integration => ok,
            P::Provisioner => FORBIDDEN,
            _ => UNAUTHENTICATED,
        },
        Rule::Scim(ok) => match p {
            P::Provisioner => ok,
            P::Integration => FORBIDDEN,
            _ => UNAUTHENTICATED,
        },
        Rule::CallerOf(ok) => {
            if p == P::Caller {
                ok
            } else {
                UNAUTHENTICATED
            }
        }
        _ if !p.is_account() => UNAUTHENTICATED,
        Rule::SignedIn(ok) => ok,
        Rule::Im(ok) => match p {
            P::NoIm => IM_NOT_PERMITTED,
            _ => ok,
        },
        Rule::Admin(ok) => match p {
            P::Admin => ok,
            _ => FORBIDDEN,
        },
        Rule::Supervisors(ok) => match p {
            P::Admin | P::Supervisor => ok,
            _ => FORBIDDEN,
        },
        Rule::Session(ok) => match p {
            P::Agent | P::Participant => ok,
            P::NoIm => IM_NOT_PERMITTED,
            _ => NOT_PARTICIPANT,
        },
        Rule::GroupSupervisor(ok) => match p {
            P::Supervisor => ok,
            P::NoIm => IM_NOT_PERMITTED,
            _ => FORBIDDEN,
        },
        Rule::JoinedSupervisor(ok) => match p {
            P::Supervisor => ok,
            P::Agent | P::Participant => FORBIDDEN,
            P::NoIm => IM_NOT_PERMITTED,
            _ => NOT_PARTICIPANT,
        },
        Rule::Shared(ok) => match p {
            P::Agent | P::Participant => ok,
            _ => NOT_SHARED,
        },
        Rule::InteractionAgent { agent, target } => match p {
            P::Agent => agent,
            P::Participant => target,
            _ => NOT_SHARED,
        },
        Rule::Call(parties, ok) => {
            if parties.contains(&p) {
                ok
            } else {
                NOT_CALL_PARTY
            }
        }
    }
}

/// Cells known to disagree with the documentation: `(method, path, principal)`.
/// Each one is a bug (reported with the change that listed it); the test fails
/// when a listed cell starts to pass, so the list only shrinks.
const KNOWN_FAILURES: &[(&str, &str, P)] = &[];

/// Cells of the socket known to disagree with the documentation: `(frame type, principal)`.
const KNOWN_WS_FAILURES: &[(&str, P)] = &[];

const DEVICE_AGENT: &str = "tab-alice";
const DEVICE_PARTICIPANT: &str = "tab-bob";

/// One app with one of each principal, and one of each thing they act on:
/// a web call answered by the agent (its interaction and contact call), an
/// IM consultation about it accepted by the participant, a voice
/// consultation between them, an interaction created by the platform, a group.
pub struct Fixture {
    pub app: TestApp,
    pub agent: User,
    pub participant: User,
    pub outsider: User,
    pub no_im: User,
    pub supervisor: User,
    pub admin: User,
    /// The invitee of the sessions the rows create.
    pub target: User,
    /// The account the admin rows change.
    pub spare: User,
    pub integration: String,
    /// The platform integration's id, and one of its webhook deliveries.
    pub integration_id: String,
    pub delivery: String,
    /// An integration whose token and webhook secret the rows rotate.
    pub rotated_integration: String,
    /// The identity provider's token (`scim` scope).
    pub provisioner: String,
    /// Accounts and a group the SCIM rows change and delete.
    pub scim_user: String,
    pub scim_doomed: String,
    pub scim_group: String,
    pub caller_token: String,
    pub caller_party: String,
    pub contact_call: String,
    pub consult_call: String,
    pub interaction: String,
    pub platform_interaction: String,
    pub session: String,
    pub group: String,
    /// The agent's, the participant's and the caller page's sockets stay open.
    _sockets: Vec<Desktop>,
}

impl Fixture {
    pub async fn build() -> Fixture {
        let app = spawn_app_with(|config| {
            // The rows send many requests per account: not what the rate limits test.
            config.limits.rate_per_second = 100_000;
            config.limits.rate_burst = 100_000;
            config.limits.public_calls_per_minute = 100_000;
            config.limits.public_calls_burst = 100_000;
        })
        .await;
        let mut accounts = Vec::new();
        for (username, name, im, role) in [
            ("alice", "Alice Agent", true, Role::Agent),
            ("bob", "Bob Builder", true, Role::Agent),
            ("carol", "Carol Outsider", true, Role::Agent),
            ("dave", "Dave NoIM", false, Role::Agent),
            ("sue", "Sue Supervisor", true, Role::Supervisor),
            ("root", "Root Admin", true, Role::Admin),
            ("tina", "Tina Target", true, Role::Agent),
            ("sam", "Sam Spare", true, Role::Agent),
        ] {
            accounts.push(app.user_with(username, name, im, vec![role]).await);
        }
        let [agent, participant, outsider, no_im, supervisor, admin, target, spare] =
            <[User; 8]>::try_from(accounts).unwrap();
        let post = |token: String, path: String, body: Value, want: u16| {
            let app = &app;
            async move {
                let (status, answer) = app.post(&token, &format!("/api/v1{path}"), body).await;
                assert_eq!(status, want, "fixture: POST {path}: {answer}");
                answer
            }
        };
        let id = |answer: &Value| answer["id"].as_str().unwrap().to_owned();

        let created = post(
            admin.token.clone(),
            "/admin/integrations".into(),
            // Its events queue webhook deliveries (nobody listens: they wait to be retried).
            json!({"name": "matrix-platform", "webhook_url": "http://127.0.0.1:9/hook"}),
            201,
        )
        .await;
        let integration = created["token"].as_str().unwrap().to_owned();
        let integration_id = id(&created["integration"]);
        let rotated = json!({"name": "matrix-rotated"});
        let rotated = post(
            admin.token.clone(),
            "/admin/integrations".into(),
            rotated,
            201,
        )
        .await;
        let rotated_integration = id(&rotated["integration"]);
        let scim = json!({"name": "matrix-idp", "scopes": ["scim"]});
        let created = post(admin.token.clone(), "/admin/integrations".into(), scim, 201).await;
        let provisioner = created["token"].as_str().unwrap().to_owned();
        let mut scim_ids = Vec::new();
        for name in ["ivy", "doomed"] {
            let user = app
                .user_with(name, "Provisioned", true, vec![Role::Agent])
                .await;
            scim_ids.push(user.id);
        }
        let [scim_user, scim_doomed] = <[String; 2]>::try_from(scim_ids).unwrap();
        let scim_group = json!({"name": "Matrix SCIM"});
        let scim_group =
            id(&post(admin.token.clone(), "/admin/groups".into(), scim_group, 201).await);

        // Alice is Ready and answers a web call.
        let mut alice_ws = app.desktop(&agent, None).await;
        let bob_ws = app.desktop(&participant, None).await;
        let (status, me) = app
            .put(
                &agent.token,
                "/api/v1/me/status",
                json!({"status": "ready"}),
            )
            .await;
        assert_eq!(status, 200, "ready: {me}");
        let (status, call) = app
            .request(
                Method::POST,
                None,
                "/api/v1/public/calls",
                Some(&json!({"name": "Zoë Martin", "device_id": "caller-tab"})),
            )
            .await;
        assert_eq!(status, 201, "public call: {call}");
        let caller_token = call["caller_token"].as_str().unwrap().to_owned();
        let caller_party = call["party_id"].as_str().unwrap().to_owned();
        let contact_call = id(&call["call"]);
        let mut caller_ws = Desktop::connect(app.addr).await;
        caller_ws
            .send(json!({"type": "hello", "token": caller_token}))
            .await;
        let welcome = caller_ws.next().await;
        assert_eq!(welcome["type"], "caller_welcome", "{welcome}");
        alice_ws
            .until("the ringing call", |f| {
                f["type"] == "event" && f["event"]["kind"] == "call"
            })
            .await;
        let (alice, bob) = (agent.token.clone(), participant.token.clone());
        let accept = json!({"device_id": DEVICE_AGENT});
        let answered = post(
            alice.clone(),
            format!("/calls/{contact_call}/accept"),
            accept,
            200,
        )
        .await;
        let interaction = answered["interaction_id"].as_str().unwrap().to_owned();

        // The IM consultation about it, accepted by Bob.
        let consultation = json!({"target_id": participant.id,
            "parent_interaction_id": interaction, "defer_invite": true});
        let session = id(&post(alice.clone(), "/sessions".into(), consultation, 201).await);
        let first = json!({"client_msg_id": "m1", "text": "A billing question?"});
        post(
            alice.clone(),
            format!("/sessions/{session}/messages"),
            first,
            200,
        )
        .await;
        post(
            bob.clone(),
            format!("/sessions/{session}/accept"),
            json!({}),
            200,
        )
        .await;

        // The voice consultation: the contact waits on hold.
        let start = json!({"device_id": DEVICE_AGENT});
        let path = format!("/sessions/{session}/voice-consultation");
        let consult_call = id(&post(alice, path, start, 200).await);
        let accept = json!({"device_id": DEVICE_PARTICIPANT});
        post(bob, format!("/calls/{consult_call}/accept"), accept, 200).await;

        let chat = json!({"external_id": "matrix-chat", "media": "chat", "agent": "alice"});
        let path = "/platform/interactions".to_owned();
        let platform_interaction = id(&post(integration.clone(), path, chat, 201).await);
        let delivery = app
            .backline
            .webhook_deliveries(&integration_id, None, None, 1)
            .await
            .expect("deliveries")
            .deliveries[0]
            .id
            .clone();
        let group = json!({"name": "Matrix"});
        let group = id(&post(admin.token.clone(), "/admin/groups".into(), group, 201).await);
        // Sue supervises the agent's group: she may join the consultation.
        let desk = app
            .backline
            .create_group(None, "Matrix Desk")
            .await
            .expect("group");
        app.backline
            .set_group_member(None, &desk.id, &agent.id, true)
            .await
            .expect("member");
        app.backline
            .set_group_supervisor(None, &desk.id, &supervisor.id, true)
            .await
            .expect("supervisor");

        Fixture {
            app,
            agent,
            participant,
            outsider,
            no_im,
            supervisor,
            admin,
            target,
            spare,
            integration,
            integration_id,
            delivery,
            rotated_integration,
            provisioner,
            scim_user,
            scim_doomed,
            scim_group,
            caller_token,
            caller_party,
            contact_call,
            consult_call,
            interaction,
            platform_interaction,
            session,
            group,
            _sockets: vec![alice_ws, bob_ws, caller_ws],
        }
    }

    pub fn token(&self, p: P) -> Option<&str> {
        Some(match p {
            P::Anonymous => return None,
            P::Agent => &self.agent.token,
            P::Participant => &self.participant.token,
            P::Outsider => &self.outsider.token,
            P::NoIm => &self.no_im.token,
            P::Supervisor => &self.supervisor.token,
            P::Admin => &self.admin.token,
            P::Integration => &self.integration,
            P::Provisioner => &self.provisioner,
            P::Caller => &self.caller_token,
        })
    }
}

/// A cell's body, made per principal (so that creations do not collide).
type Body = Box<dyn Fn(P) -> Value + Send + Sync>;

struct Row {
    method: &'static str,
    /// The path as the OpenAPI document names it.
    template: &'static str,
    /// The path with the fixture's ids (and a query).
    path: String,
    body: Option<Body>,
    rule: Rule,
}

/// A row for `"METHOD /template"`, its `{…}` parameters filled with `ids` in order.
fn row(spec: &'static str, ids: &[&str], rule: Rule) -> Row {
    let (method, template) = spec.split_once(' ').expect("METHOD /path");
    let mut path = String::new();
    let mut ids = ids.iter();
    for (n, part) in template.split('{').enumerate() {
        match part.split_once('}') {
            Some((_, rest)) if n > 0 => {
                path.push_str(ids.next().expect("an id for each parameter"));
                path.push_str(rest);
            }
            _ => path.push_str(part),
        }
    }
    assert!(ids.next().is_none(), "{spec}: more ids than parameters");
    Row {
        method,
        template,
        path,
        body: None,
        rule,
    }
}

impl Row {
    fn query(mut self, query: &str) -> Row {
        self.path.push_str(query);
        self
    }

    fn body(mut self, make: impl Fn(P) -> Value + Send + Sync + 'static) -> Row {
        self.body = Some(Box::new(make));
        self
    }

    fn json(self, value: Value) -> Row {
        self.body(move |_| value.clone())
    }
}

/// Every route, in the order the allowed cells run: reads and harmless
/// writes first, the rows that end calls, sessions and tokens last.
fn rows(fx: &Fixture) -> Vec<Row> {
    use Expect::{Allowed, Ok};
    use Rule::*;
    let (s, i, pi) = (&*fx.session, &*fx.interaction, &*fx.platform_interaction);
    let (pid, delivery, rotated) = (&*fx.integration_id, &*fx.delivery, &*fx.rotated_integration);
    let (cc, kc) = (&*fx.contact_call, &*fx.consult_call);
    let (spare, outsider, group) = (&*fx.spare.id, &*fx.outsider.id, &*fx.group);
    let target = fx.target.id.clone();
    let (su, sd, sg) = (&*fx.scim_user, &*fx.scim_doomed, &*fx.scim_group);
    const SCIM_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    const SCIM_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    const SCIM_PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    const AGENT: &[P] = &[P::Agent];
    const BOTH: &[P] = &[P::Agent, P::Participant];
    let name = |prefix: &'static str| move |p: P| format!("{prefix}-{}", p.name());
    let (user, grp, reason, platform) =
        (name("new"), name("group"), name("reason"), name("platform"));
    let (external, device, client) = (name("matrix"), name("tab"), name("matrix"));
    let msg = name("matrix");
    let whisper = name("whisper");
    let agent_id = fx.agent.id.clone();
    vec![
        row("POST /auth/sign-in", &[], Public(Ok))
            .json(json!({"username": "sam", "password": crate::helpers::PASSWORD})),
        // Single sign-on is public; this server has no `[oidc]` (tests/api/sso.rs has one).
        row("GET /auth/methods", &[], Public(Ok)),
        row("GET /auth/oidc/start", &[], Public(SSO_NOT_CONFIGURED)),
        // The callback always sends the browser to the desktop (followed here: the page).
        row("GET /auth/oidc/callback", &[], Public(Ok)).query("?code=x&state=y"),
        row("POST /auth/oidc/finish", &[], Public(SSO_NOT_CONFIGURED)).json(json!({"code": "x"})),
        row("GET /me", &[], SignedIn(Ok)),
        row("PUT /me/status", &[], SignedIn(Ok)).json(json!({"status": "away"})),
        row("PUT /me/preferences", &[], SignedIn(Ok)).json(json!({"zoom": 110})),
        row("GET /status-reasons", &[], SignedIn(Ok)),
        row("GET /directory", &[], SignedIn(Ok)).query("?q=a"),
        row("PUT /favourites/{target_id}", &[outsider], SignedIn(Ok)),
        row("DELETE /favourites/{target_id}", &[outsider], SignedIn(Ok)),
        row("GET /presence", &[], SignedIn(Ok)).query(&format!("?ids={outsider}")),
        row("GET /events", &[], SignedIn(Ok)),
        // The caller's own workspace: an account without IM has an empty one.
        row("GET /sessions", &[], SignedIn(Ok)),
        row("POST /sessions", &[], Im(Ok))
            .body(move |p| json!({"target_id": target, "client_id": client(p)})),
        row("GET /sessions/{id}", &[s], Session(Ok)),
        row("POST /sessions/{id}/messages", &[s], Session(Ok))
            .body(move |p| json!({"client_msg_id": msg(p), "text": "hello"})),
        row("GET /sessions/{id}/transcript", &[s], Session(Ok)),
        row("POST /sessions/{id}/marks", &[s], Session(Ok)).json(json!({"kind": "read", "seq": 1})),
        // Only the initiator of an ended consultation records one: the rest is state.
        row("PUT /sessions/{id}/outcome", &[s], Session(Allowed))
            .json(json!({"outcome": "answered"})),
        row("GET /missed", &[], Im(Ok)),
        // Nobody missed the fixture's session: `not_found` for everyone with IM.
        row("POST /missed/{id}/reply", &[s], Im(Allowed)),
        row("POST /missed/{id}/dismiss", &[s], Im(Allowed)),
        // Everyone's own board (empty for who supervises no group).
        row("GET /supervision/board", &[], SignedIn(Ok)),
        // Sue joins (her refused cells of the session's rows ran before), then whispers.
        row("POST /sessions/{id}/join", &[s], GroupSupervisor(Ok)),
        row("POST /sessions/{id}/whisper", &[s], JoinedSupervisor(Ok))
            .body(move |p| json!({"to": agent_id, "client_msg_id": whisper(p), "text": "psst"})),
        row("GET /interactions", &[], SignedIn(Ok)),
        row("GET /interactions/{id}", &[i], Shared(Ok)),
        row("GET /interactions/{id}/contact", &[i], Shared(Ok)),
        row("GET /interactions/{id}/history", &[i], Shared(Ok)),
        // Done closes the agent's own workspace entry (the interaction is still active).
        row(
            "POST /interactions/{id}/done",
            &[i],
            InteractionAgent {
                agent: Allowed,
                target: FORBIDDEN,
            },
        ),
        row("POST /platform/interactions", &[], Platform(Ok))
            .body(move |p| json!({"external_id": external(p), "media": "email", "agent": "alice"})),
        row("PATCH /platform/interactions/{id}", &[pi], Platform(Ok))
            .json(json!({"subject": "Matrix, updated"})),
        row("PUT /platform/contacts", &[], Platform(Ok))
            .json(json!({"external_id": "C-matrix", "first_name": "Zoë"})),
        row("GET /admin/users", &[], Admin(Ok)),
        row("POST /admin/users", &[], Admin(Ok)).body(move |p| {
            json!({"username": user(p), "display_name": "New", "password": "a long password"})
        }),
        row("PATCH /admin/users/{id}", &[spare], Admin(Ok))
            .json(json!({"display_name": "Sam Renamed"})),
        row("GET /admin/groups", &[], Admin(Ok)),
        row("POST /admin/groups", &[], Admin(Ok)).body(move |p| json!({"name": grp(p)})),
        row("PUT /admin/groups/{id}/members/{user_id}", &[group, spare], Admin(Ok)),
        row("DELETE /admin/groups/{id}/members/{user_id}", &[group, spare], Admin(Ok)),
        row("PATCH /admin/groups/{id}", &[group], Admin(Ok))
            .json(json!({"wave_size": 2, "answer_secs": 20})),
        row("PUT /admin/groups/{id}/supervisors/{user_id}", &[group, spare], Admin(Ok)),
        row("DELETE /admin/groups/{id}/supervisors/{user_id}", &[group, spare], Admin(Ok)),
        row("GET /admin/status-reasons", &[], Admin(Ok)),
        row("POST /admin/status-reasons", &[], Admin(Ok))
            .body(move |p| json!({"code": reason(p), "label": "Matrix"})),
        row("GET /admin/integrations", &[], Admin(Ok)),
        row("POST /admin/integrations", &[], Admin(Ok))
            .body(move |p| json!({"name": platform(p)})),
        row("POST /admin/integrations/{id}/token", &[rotated], Admin(Ok)),
        row("POST /admin/integrations/{id}/webhook-secret", &[rotated], Admin(Ok)),
        row("GET /admin/integrations/{id}/deliveries", &[pid], Admin(Ok)),
        row(
            "POST /admin/integrations/{id}/deliveries/{delivery_id}/redeliver",
            &[pid, delivery],
            Admin(Ok),
        ),
        row("GET /admin/audit", &[], Admin(Ok)).query("?action=sign_in&limit=10"),
        // Alice's first message of the consultation (redacting it again answers it as it is).
        row("POST /admin/sessions/{id}/messages/{seq}/redact", &[s, "2"], Admin(Ok))
            .json(json!({"reason": "matrix"})),
        row("POST /admin/retention/run", &[], Admin(Ok)).json(json!({"dry_run": true})),
        row("GET /admin/legal-holds", &[], Admin(Ok)),
        row("PUT /admin/legal-holds/{kind}/{id}", &["interaction", i], Admin(Ok))
            .json(json!({"reason": "matrix"})),
        row("DELETE /admin/legal-holds/{kind}/{id}", &["interaction", i], Admin(Ok)),
        // Who may: an unknown contact keeps the fixture's history for the other rows.
        row("GET /admin/contacts/{id}/export", &["no-contact"], Admin(Expect::OkOr("contact_not_found"))),
        row("DELETE /admin/contacts/{id}", &["no-contact"], Admin(Expect::OkOr("contact_not_found"))),
        row("GET /reports/consultations", &[], Supervisors(Ok)),
        row("GET /scim/v2/Users", &[], Scim(Ok)).query("?filter=userName%20eq%20%22ivy%22"),
        row("POST /scim/v2/Users", &[], Scim(Ok))
            .json(json!({"schemas": [SCIM_USER], "userName": "scim-matrix"})),
        row("GET /scim/v2/Users/{id}", &[su], Scim(Ok)),
        row("PUT /scim/v2/Users/{id}", &[su], Scim(Ok))
            .json(json!({"schemas": [SCIM_USER], "userName": "ivy", "displayName": "Ivy"})),
        row("PATCH /scim/v2/Users/{id}", &[su], Scim(Ok)).json(json!({
            "schemas": [SCIM_PATCH],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Ivy P."}]})),
        row("DELETE /scim/v2/Users/{id}", &[sd], Scim(Ok)),
        row("GET /scim/v2/Groups", &[], Scim(Ok)),
        row("POST /scim/v2/Groups", &[], Scim(Ok))
            .json(json!({"schemas": [SCIM_GROUP], "displayName": "SCIM matrix"})),
        row("GET /scim/v2/Groups/{id}", &[sg], Scim(Ok)),
        row("PATCH /scim/v2/Groups/{id}", &[sg], Scim(Ok)).json(json!({
            "schemas": [SCIM_PATCH],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": su}]}]})),
        row("DELETE /scim/v2/Groups/{id}", &[sg], Scim(Ok)),
        row("GET /scim/v2/ServiceProviderConfig", &[], Scim(Ok)),
        row("GET /scim/v2/ResourceTypes", &[], Scim(Ok)),
        row("GET /scim/v2/Schemas", &[], Scim(Ok)),
        row("GET /voice/ice-servers", &[], SignedIn(Ok)),
        row("GET /calls", &[], SignedIn(Ok)),
        // The click-to-call page needs no sign-in; Alice is busy on her call.
        row("POST /public/calls", &[], Public(Expect::OkOr("no_agent_available")))
            .body(move |p| json!({"name": "Matrix", "device_id": device(p)})),
        row("GET /public/calls/{id}", &[cc], CallerOf(Ok)),
        row("POST /calls/{id}/accept", &[kc], Call(BOTH, Allowed))
            .json(json!({"device_id": "tab-matrix"})),
        row("POST /calls/{id}/hold", &[cc], Call(AGENT, Allowed)),
        row("POST /calls/{id}/retrieve", &[cc], Call(AGENT, Allowed)),
        // Only the interaction's agent starts one (one runs already).
        row(
            "POST /sessions/{id}/voice-consultation",
            &[s],
            InteractionAgent {
                agent: Allowed,
                target: NOT_SHARED,
            },
        )
        .json(json!({"device_id": DEVICE_AGENT})),
        row("POST /calls/{id}/complete-conference", &[kc], Call(BOTH, Allowed)),
        row("POST /calls/{id}/complete-transfer", &[kc], Call(BOTH, Allowed)),
        row("POST /calls/{id}/end-consultation", &[kc], Call(BOTH, Allowed)),
        row("POST /calls/{id}/reject", &[kc], Call(BOTH, Allowed)),
        row("POST /calls/{id}/hang-up", &[cc], Call(AGENT, Allowed)),
        row("POST /public/calls/{id}/hang-up", &[cc], CallerOf(Allowed)),
        row("POST /platform/interactions/{id}/end", &[pi], Platform(Allowed))
            .json(json!({"outcome": "Done"})),
        row("POST /sessions/{id}/accept", &[s], Session(Allowed)),
        row("POST /sessions/{id}/reject", &[s], Session(Allowed)),
        row("POST /sessions/{id}/cancel", &[s], Session(Allowed)),
        row("POST /sessions/{id}/end", &[s], Session(Allowed)),
        row("POST /sessions/{id}/done", &[s], Session(Allowed)),
        // Signing out needs no valid token (it clears the cookie either way).
        // Last: it revokes the principals' tokens.
        row("POST /auth/sign-out", &[], Public(Ok)),
    ]
}

/// The codes that mean "you may not": an allowed cell never gets one.
const REFUSALS: &[&str] = &[
    "unauthenticated",
    "session_expired",
    "forbidden",
    "im_not_permitted",
    "not_participant",
    "not_call_party",
    "not_shared",
    "origin_not_allowed",
];

/// Checks one answer against its cell; `Err` describes the disagreement.
pub fn check_answer(expect: Expect, status: u16, body: &Value) -> Result<(), String> {
    let code = body["code"].as_str();
    if !(200..300).contains(&status) {
        check_envelope(status, body)?;
    }
    let got = || format!("got {status} {}", code.unwrap_or("(no code)"));
    match expect {
        Expect::Ok if (200..300).contains(&status) => Ok(()),
        Expect::OkOr(allowed) if (200..300).contains(&status) || code == Some(allowed) => Ok(()),
        Expect::Allowed
            if status < 500 && !code.is_some_and(|c| REFUSALS.contains(&c)) && status != 401 =>
        {
            Ok(())
        }
        Expect::Deny(want_status, want_code)
            if status == want_status && code == Some(want_code) =>
        {
            Ok(())
        }
        _ => Err(got()),
    }
}

/// A SCIM answer: a refusal has SCIM's error form with the cell's status.
pub fn check_scim_answer(expect: Expect, status: u16, body: &Value) -> Result<(), String> {
    let scim_error = body["schemas"] == json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        && body["status"].as_str() == Some(status.to_string().as_str());
    if !(200..300).contains(&status) && !scim_error {
        return Err(format!("{status} not in SCIM's error form"));
    }
    match expect {
        Expect::Ok | Expect::OkOr(_) if (200..300).contains(&status) => Ok(()),
        Expect::Allowed if status < 500 && status != 401 && status != 403 => Ok(()),
        Expect::Deny(want, _) if status == want => Ok(()),
        _ => Err(format!("got {status}")),
    }
}

/// An error answer is `{code, message}`, the code one of the table, with its status.
pub fn check_envelope(status: u16, body: &Value) -> Result<(), String> {
    let code: ErrorCode = serde_json::from_value(body["code"].clone())
        .map_err(|_| format!("{status} without a known error code: {body}"))?;
    if !body["message"].is_string() {
        return Err(format!(
            "{status} {} without a message: {body}",
            code.as_str()
        ));
    }
    if code.http_status() != status {
        return Err(format!(
            "{} answered with {status}, its table status is {}",
            code.as_str(),
            code.http_status()
        ));
    }
    Ok(())
}

type RestOutcome = ((&'static str, &'static str, P), String, Result<(), String>);

async fn labelled_rest_cell(fx: &Fixture, row: &Row, p: P) -> RestOutcome {
    (
        (row.method, row.template, p),
        format!("{} {} as {}", row.method, row.template, p.name()),
        rest_cell(fx, row, p).await,
    )
}

async fn rest_cell(fx: &Fixture, row: &Row, p: P) -> Result<(), String> {
    let body = row.body.as_ref().map(|make| make(p));
    let method = Method::from_bytes(row.method.as_bytes()).unwrap();
    let scim = row.template.starts_with("/scim/");
    let path = if scim {
        row.path.clone()
    } else {
        format!("/api/v1{}", row.path)
    };
    let (status, answer) = fx
        .app
        .request(method, fx.token(p), &path, body.as_ref())
        .await;
    let expect = expected(row.rule, p);
    let checked = if scim {
        check_scim_answer(expect, status, &answer)
    } else {
        check_answer(expect, status, &answer)
    };
    checked.map_err(|got| format!("{got}: {answer}"))
}

/// Compares what the matrix lists with what exists; panics on any difference.
fn assert_covers(what: &str, listed: &[String], existing: &BTreeSet<String>) {
    let mut seen = HashSet::new();
    let twice: Vec<_> = listed.iter().filter(|l| !seen.insert(*l)).collect();
    let listed: BTreeSet<String> = listed.iter().cloned().collect();
    let missing: Vec<_> = existing.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(existing).collect();
    assert!(
        missing.is_empty() && stale.is_empty() && twice.is_empty(),
        "the authorisation matrix is out of date:\n\
         {what} without a row (add one, with every principal's documented answer): {missing:?}\n\
         rows for {what} that do not exist: {stale:?}\nrows listed twice: {twice:?}"
    );
}

/// Collects the cells' disagreements, minus the known ones; panics with all of them.
fn assert_cells<K: PartialEq + std::fmt::Debug>(
    outcomes: Vec<(K, String, Result<(), String>)>,
    known: &[K],
) {
    let mut wrong = Vec::new();
    for (key, name, outcome) in outcomes {
        match (outcome, known.contains(&key)) {
            (Err(got), false) => wrong.push(format!("{name}: {got}")),
            (Ok(()), true) => wrong.push(format!(
                "{name} is listed as a known failure but now answers as documented: \
                 remove it from the list"
            )),
            _ => {}
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells disagree with the documentation:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn every_rest_route_answers_every_principal_as_documented() {
    let fx = Fixture::build().await;
    let rows = rows(&fx);
    let existing: BTreeSet<String> = openapi_operations(&fx.app.openapi().await)
        .into_iter()
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    let listed: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", r.method, r.template))
        .collect();
    assert_covers("routes", &listed, &existing);

    let cells: Vec<(&Row, P)> = rows
        .iter()
        .flat_map(|row| PRINCIPALS.iter().map(move |p| (row, *p)))
        .collect();
    let is_refusal = |(row, p): &(&Row, P)| matches!(expected(row.rule, *p), Expect::Deny(..));
    let fx = &fx;
    let run = |(row, p)| labelled_rest_cell(fx, row, p);
    // Refusals change nothing: all at once.
    let mut outcomes: Vec<_> = futures::stream::iter(cells.iter().copied().filter(is_refusal))
        .map(run)
        .buffer_unordered(16)
        .collect()
        .await;
    // Allowed cells in row order: each may change what the next one sees.
    for cell in cells.iter().copied().filter(|c| !is_refusal(c)) {
        outcomes.push(run(cell).await);
    }
    assert_cells(outcomes, KNOWN_FAILURES);
}

/// The frame types `ClientFrame` knows, read from serde's own list of its variants.
fn client_frame_types() -> BTreeSet<String> {
    let error = serde_json::from_value::<backline_protocol::frames::ClientFrame>(
        json!({"type": "\u{1}no such frame"}),
    )
    .expect_err("an unknown type is refused")
    .to_string();
    let expected = error
        .split_once("expected")
        .map(|(_, list)| list)
        .unwrap_or_else(|| panic!("serde names the variants: {error}"));
    let types: BTreeSet<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert!(types.contains("hello"), "variants read from {error:?}");
    types
}

/// The frame of each type a principal sends (its socket already said hello,
/// except for the `hello` row itself).
fn ws_frame(fx: &Fixture, kind: &str, p: P) -> Value {
    let s = &fx.session;
    match kind {
        "hello" => match fx.token(p) {
            Some(token) => json!({"type": "hello", "token": token}),
            None => json!({"type": "hello"}),
        },
        "send" => json!({"type": "send", "rid": "r1", "session_id": s,
            "client_msg_id": format!("ws-{}", p.name()), "text": "hello"}),
        "typing" => json!({"type": "typing", "session_id": s, "state": "composing"}),
        "mark" => json!({"type": "mark", "rid": "r1", "session_id": s, "kind": "read", "seq": 1}),
        "watch" => json!({"type": "watch", "user_ids": [fx.outsider.id]}),
        // To the other side of the contact call.
        "signal" => {
            let to = if p == P::Caller {
                fx.agent.id.clone()
            } else {
                fx.caller_party.clone()
            };
            json!({"type": "signal", "call_id": fx.contact_call, "to": to,
                "signal": {"kind": "candidate", "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
                    "sdp_mid": "0", "sdp_mline_index": 0}})
        }
        "ping" => json!({"type": "ping", "rid": "r1"}),
        other => panic!("no frame for {other}"),
    }
}

/// What a frame of `kind` gets from `p`, from docs/protocol.md §4c and §5.
fn ws_expected(kind: &str, p: P) -> Result<(), &'static str> {
    match (kind, p) {
        // The first frame must be a hello with a session or caller token.
        (_, P::Anonymous | P::Integration | P::Provisioner) => Err("unauthenticated"),
        ("hello" | "ping", _) => Ok(()),
        ("signal", P::Agent | P::Caller) => Ok(()),
        ("signal", _) => Err("not_call_party"),
        // A caller's socket only signals.
        (_, P::Caller) => Err("forbidden"),
        ("watch", _) => Ok(()),
        ("send" | "typing" | "mark", P::Agent | P::Participant) => Ok(()),
        ("send" | "typing" | "mark", P::NoIm) => Err("im_not_permitted"),
        ("send" | "typing" | "mark", _) => Err("not_participant"),
        (other, _) => panic!("no expectation for {other}"),
    }
}

/// Runs one socket cell: `Ok` when the frame was taken without an error,
/// else the error's code (a refused hello must also close with 4001).
async fn ws_cell(fx: &Fixture, kind: &str, p: P) -> Result<Result<(), String>, String> {
    let mut ws = Desktop::connect(fx.app.addr).await;
    let frame = ws_frame(fx, kind, p);
    let first = if kind == "hello" || p == P::Anonymous {
        frame.clone()
    } else {
        ws_frame(fx, "hello", p)
    };
    ws.send(first).await;
    let answer = ws
        .try_next(WAIT)
        .await
        .ok_or("no answer to the first frame")?;
    if answer["type"] == "error" {
        let code = answer["code"].as_str().unwrap_or_default().to_owned();
        let close = ws.closed_with().await;
        if close != Some(4001) {
            return Err(format!(
                "refused with {code} but closed with {close:?}, not 4001"
            ));
        }
        return Ok(Err(code));
    }
    if !matches!(answer["type"].as_str(), Some("welcome" | "caller_welcome")) {
        return Err(format!("hello answered {answer}"));
    }
    if kind == "hello" {
        return Ok(Ok(()));
    }
    // A frame with a rid is answered by rid; others are followed by a ping,
    // and any error before its pong belongs to the frame.
    let rid = frame.get("rid").and_then(Value::as_str).map(str::to_owned);
    let probe = rid.clone().unwrap_or_else(|| "probe".into());
    ws.send(frame).await;
    if rid.is_none() {
        ws.send(json!({"type": "ping", "rid": probe})).await;
    }
    loop {
        let next = ws.try_next(WAIT).await.ok_or("no answer in time")?;
        let for_us = next["rid"] == probe.as_str() || next["rid"].is_null();
        match next["type"].as_str() {
            Some("error") if for_us => {
                return Ok(Err(next["code"].as_str().unwrap_or_default().to_owned()))
            }
            Some("ack" | "ok" | "pong") if next["rid"] == probe.as_str() => return Ok(Ok(())),
            _ => continue,
        }
    }
}

#[tokio::test]
async fn every_socket_frame_answers_every_principal_as_documented() {
    let fx = Fixture::build().await;
    const ROWS: &[&str] = &["hello", "send", "typing", "mark", "watch", "signal", "ping"];
    let listed: Vec<String> = ROWS.iter().map(|k| k.to_string()).collect();
    assert_covers("client frame types", &listed, &client_frame_types());

    let cells: Vec<(&str, P)> = ROWS
        .iter()
        .flat_map(|kind| PRINCIPALS.iter().map(move |p| (*kind, *p)))
        .collect();
    let outcomes: Vec<_> = futures::stream::iter(cells)
        .map(|(kind, p)| {
            let fx = &fx;
            async move {
                let name = format!("frame {kind} as {}", p.name());
                let outcome = match (ws_cell(fx, kind, p).await, ws_expected(kind, p)) {
                    (Err(broken), _) => Err(broken),
                    (Ok(got), want) if got.as_ref().map_err(String::as_str).copied() == want => {
                        Ok(())
                    }
                    (Ok(got), want) => Err(format!("expected {want:?}, got {got:?}")),
                };
                ((kind, p), name, outcome)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_cells(outcomes, KNOWN_WS_FAILURES);
}
