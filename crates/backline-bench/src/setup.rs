//! The untimed setup over REST: bench accounts, their session tokens (cached
//! on disk, since each password sign-in costs one argon2id hash on the
//! server), and the IM sessions of the pairs.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use backline_protocol::admin::{CreateUserRequest, UserView};
use backline_protocol::model::{
    Me, Role, SessionState, SessionView, SignInRequest, SignInResponse,
};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

/// Time limit of one REST request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A cached token this close to its expiry is renewed.
const EXPIRY_MARGIN_MS: i64 = 30 * 60 * 1000;

/// One signed-in bench agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Agent {
    pub username: String,
    pub user_id: String,
    pub token: String,
    /// Unix milliseconds.
    pub expires_at: i64,
}

/// What the setup did, for the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SetupSummary {
    pub users_created: usize,
    pub password_sign_ins: usize,
    pub tokens_from_cache: usize,
    pub secs: f64,
}

/// A REST client bound to one server.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(url: &str) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()?;
        Ok(Api {
            http,
            base: format!("{}/api/v1", url.trim_end_matches('/')),
        })
    }

    /// Sends a request and decodes the answer, or turns the error body into
    /// `Err(ApiError)` carrying the status and the code.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Result<T, ApiError> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ApiError::transport(&method, path, e))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| ApiError::transport(&method, path, e))?;
        if status.is_success() {
            let text = if text.is_empty() {
                "null"
            } else {
                text.as_str()
            };
            serde_json::from_str(text).map_err(|e| ApiError {
                code: "bench_decode".into(),
                detail: format!("{method} {path}: {status} with an unexpected body ({e}): {text}"),
            })
        } else {
            // Read the code as a plain string, so a code this build does not know still shows.
            let code = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("code").and_then(|c| c.as_str()).map(str::to_owned))
                .unwrap_or_else(|| "unknown".into());
            Err(ApiError {
                code,
                detail: format!("{method} {path}: {status} {text}"),
            })
        }
    }

    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<SignInResponse, ApiError> {
        let body = serde_json::to_value(SignInRequest {
            username: username.into(),
            password: password.into(),
        })
        .expect("serializable");
        self.call(reqwest::Method::POST, "/auth/sign-in", None, Some(body))
            .await
    }

    pub async fn me(&self, token: &str) -> Result<Me, ApiError> {
        self.call(reqwest::Method::GET, "/me", Some(token), None)
            .await
    }

    pub async fn list_users(&self, admin: &str) -> Result<Vec<UserView>, ApiError> {
        self.call(reqwest::Method::GET, "/admin/users", Some(admin), None)
            .await
    }

    pub async fn create_user(
        &self,
        admin: &str,
        username: &str,
        password: &str,
    ) -> Result<(), ApiError> {
        let body = serde_json::to_value(CreateUserRequest {
            username: username.into(),
            display_name: format!("Bench {username}"),
            password: password.into(),
            roles: vec![Role::Agent],
            im_permitted: true,
        })
        .expect("serializable");
        match self
            .call::<serde_json::Value>(
                reqwest::Method::POST,
                "/admin/users",
                Some(admin),
                Some(body),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code == "already_exists" => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn create_session(
        &self,
        token: &str,
        target_id: &str,
        client_id: &str,
    ) -> Result<SessionView, ApiError> {
        // A JSON literal rather than `CreateSessionRequest`, whose optional
        // fields grow: only these two matter to the bench.
        let body = serde_json::json!({ "target_id": target_id, "client_id": client_id });
        self.call(reqwest::Method::POST, "/sessions", Some(token), Some(body))
            .await
    }

    pub async fn session_action(
        &self,
        token: &str,
        session_id: &str,
        action: &str,
    ) -> Result<SessionView, ApiError> {
        self.call(
            reqwest::Method::POST,
            &format!("/sessions/{session_id}/{action}"),
            Some(token),
            None,
        )
        .await
    }
}

/// A failed REST call: its error code (`transport` when no answer came) and the full text.
#[derive(Debug)]
pub struct ApiError {
    pub code: String,
    pub detail: String,
}

impl ApiError {
    fn transport(method: &reqwest::Method, path: &str, e: reqwest::Error) -> ApiError {
        ApiError {
            code: "transport".into(),
            detail: format!("{method} {path}: {e}"),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for ApiError {}

/// Tokens kept between runs, keyed by `server URL + " " + username`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenCache {
    tokens: BTreeMap<String, Agent>,
}

fn cache_key(url: &str, username: &str) -> String {
    format!("{} {username}", url.trim_end_matches('/'))
}

fn load_cache(path: &Path) -> TokenCache {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn save_cache(path: &Path, cache: &TokenCache) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(cache)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// How to reach and provision the accounts.
pub struct SetupOptions {
    pub url: String,
    pub agents: usize,
    pub prefix: String,
    pub agent_password: String,
    pub admin_user: String,
    pub admin_password: String,
    pub token_cache: PathBuf,
    /// Concurrent argon2-bound requests (user creation, password sign-in).
    pub hash_concurrency: usize,
    /// Concurrent cheap requests (token checks, sessions).
    pub rest_concurrency: usize,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Makes sure `bench-0 … bench-N-1` exist and hold valid tokens; returns them in order.
pub async fn prepare_agents(
    api: &Api,
    opts: &SetupOptions,
) -> anyhow::Result<(Vec<Agent>, SetupSummary)> {
    let started = Instant::now();
    let mut summary = SetupSummary::default();
    let mut cache = load_cache(&opts.token_cache);
    let usernames: Vec<String> = (0..opts.agents)
        .map(|i| format!("{}{i}", opts.prefix))
        .collect();

    // 1. Cached tokens that are not about to expire, checked with a cheap GET /me.
    let candidates: Vec<(usize, Agent)> = usernames
        .iter()
        .enumerate()
        .filter_map(|(i, u)| {
            cache
                .tokens
                .get(&cache_key(&opts.url, u))
                .map(|a| (i, a.clone()))
        })
        .filter(|(_, a)| a.expires_at > now_ms() + EXPIRY_MARGIN_MS)
        .collect();
    let checked: Vec<(usize, Agent, bool)> = stream::iter(candidates)
        .map(|(i, agent)| async move {
            let ok = matches!(api.me(&agent.token).await, Ok(me) if me.id == agent.user_id);
            (i, agent, ok)
        })
        .buffer_unordered(opts.rest_concurrency)
        .collect()
        .await;
    let mut agents: Vec<Option<Agent>> = vec![None; opts.agents];
    for (i, agent, ok) in checked {
        if ok {
            agents[i] = Some(agent);
            summary.tokens_from_cache += 1;
        }
    }
    let missing: Vec<usize> = (0..opts.agents).filter(|&i| agents[i].is_none()).collect();
    if missing.is_empty() {
        summary.secs = started.elapsed().as_secs_f64();
        return Ok((agents.into_iter().flatten().collect(), summary));
    }
    eprintln!(
        "setup: {} cached tokens valid, {} agents need a password sign-in",
        summary.tokens_from_cache,
        missing.len()
    );

    // 2. Accounts that do not exist yet, created as the admin.
    let admin = api
        .sign_in(&opts.admin_user, &opts.admin_password)
        .await
        .map_err(|e| anyhow!("admin sign-in as {:?} failed: {e}", opts.admin_user))?;
    let existing: HashSet<String> = api
        .list_users(&admin.token)
        .await
        .map_err(|e| anyhow!("listing users failed: {e}"))?
        .into_iter()
        .map(|u| u.username)
        .collect();
    let to_create: Vec<&String> = missing
        .iter()
        .map(|&i| &usernames[i])
        .filter(|u| !existing.contains(*u))
        .collect();
    if !to_create.is_empty() {
        eprintln!("setup: creating {} accounts …", to_create.len());
    }
    let admin_token = admin.token.as_str();
    let created = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    stream::iter(to_create)
        .map(|username| {
            let created = created.clone();
            async move {
                api.create_user(admin_token, username, &opts.agent_password)
                    .await
                    .map_err(|e| anyhow!("creating {username}: {e}"))?;
                let n = created.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if n.is_multiple_of(500) {
                    eprintln!("setup: {n} accounts created");
                }
                anyhow::Ok(())
            }
        })
        .buffer_unordered(opts.hash_concurrency)
        .try_collect::<Vec<()>>()
        .await?;
    summary.users_created = created.load(std::sync::atomic::Ordering::Relaxed);

    // 3. Password sign-ins, saved to the cache every few hundred.
    eprintln!("setup: signing in {} agents …", missing.len());
    let mut signed = stream::iter(missing)
        .map(|i| {
            let username = usernames[i].clone();
            async move {
                let answer = api
                    .sign_in(&username, &opts.agent_password)
                    .await
                    .map_err(|e| anyhow!("sign-in of {username}: {e}"))?;
                anyhow::Ok((
                    i,
                    Agent {
                        username,
                        user_id: answer.me.id,
                        token: answer.token,
                        expires_at: answer.expires_at,
                    },
                ))
            }
        })
        .buffer_unordered(opts.hash_concurrency);
    while let Some(result) = signed.next().await {
        let (i, agent) = result?;
        cache
            .tokens
            .insert(cache_key(&opts.url, &agent.username), agent.clone());
        agents[i] = Some(agent);
        summary.password_sign_ins += 1;
        if summary.password_sign_ins.is_multiple_of(500) {
            save_cache(&opts.token_cache, &cache)?;
            eprintln!("setup: {} agents signed in", summary.password_sign_ins);
        }
    }
    save_cache(&opts.token_cache, &cache)?;
    summary.secs = started.elapsed().as_secs_f64();
    Ok((agents.into_iter().flatten().collect(), summary))
}

/// One connected IM session between agents `2k` and `2k+1`.
#[derive(Debug, Clone)]
pub struct Pair {
    pub session_id: String,
    /// Indices into the agent list.
    pub a: usize,
    pub b: usize,
}

/// Agent `2k` invites agent `2k+1`, who accepts. Returns the pairs in order.
pub async fn open_pairs(
    api: &Api,
    agents: &[Agent],
    pairs: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Pair>> {
    if pairs * 2 > agents.len() {
        bail!(
            "{pairs} pairs need {} agents, only {} given",
            pairs * 2,
            agents.len()
        );
    }
    let mut out: Vec<Pair> = stream::iter(0..pairs)
        .map(|k| async move {
            let (a, b) = (2 * k, 2 * k + 1);
            let client_id = uuid::Uuid::now_v7().to_string();
            let session = api
                .create_session(&agents[a].token, &agents[b].user_id, &client_id)
                .await
                .map_err(|e| anyhow!("pair {k}: creating the session: {e}"))?;
            let accepted = api
                .session_action(&agents[b].token, &session.id, "accept")
                .await
                .map_err(|e| anyhow!("pair {k}: accepting session {}: {e}", session.id))?;
            if accepted.state != SessionState::Connected {
                bail!(
                    "pair {k}: session {} is {:?} after accept, expected connected",
                    session.id,
                    accepted.state
                );
            }
            Ok(Pair {
                session_id: session.id,
                a,
                b,
            })
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    out.sort_by_key(|p| p.a);
    Ok(out)
}

/// Ends the pairs' sessions so they do not pile up in the bench agents' workspaces.
/// Best effort and bounded in time; returns how many failed.
pub async fn end_pairs(api: &Api, agents: &[Agent], pairs: &[Pair], concurrency: usize) -> usize {
    let work = stream::iter(pairs)
        .map(|p| async move {
            api.session_action(&agents[p.a].token, &p.session_id, "end")
                .await
                .is_err()
        })
        .buffer_unordered(concurrency)
        .filter(|failed| futures::future::ready(*failed))
        .count();
    tokio::time::timeout(Duration::from_secs(60), work)
        .await
        .unwrap_or(pairs.len())
}
