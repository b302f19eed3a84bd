//! `backline`: serve the API and desktop, load the demo organisation, administer accounts.

use std::path::PathBuf;

use anyhow::Context;
use backline_protocol::admin::{CreateUserRequest, UpdateUserRequest};
use backline_protocol::model::Role;
use backline_server::config::Config;
use backline_server::demo;
use backline_server::startup::{open_backline, shutdown_signal, Application};
use clap::{Parser, Subcommand};

/// jemalloc rather than glibc's malloc: a long-running server whose password
/// checks allocate 19 MiB each gets that memory back to the system once the
/// checks are done, instead of keeping it in per-thread arenas for good.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "backline",
    version,
    about = "Internal IM and consultation for contact centers"
)]
struct Cli {
    /// A TOML configuration file (see config/backline.example.toml).
    #[arg(long, global = true, env = "BACKLINE_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL (sqlite://… or postgres://…); overrides database.url.
    #[arg(long, global = true)]
    database: Option<String>,
    /// Folder of the embedded SQLite file; overrides server.data_dir.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server.
    Serve {
        /// Address to listen on (overrides server.bind).
        #[arg(long)]
        bind: Option<String>,
        /// Serve the desktop from this folder instead of the embedded build.
        #[arg(long)]
        web_dir: Option<String>,
        /// Load the demo organisation first.
        #[arg(long)]
        demo: bool,
    },
    /// Load the demo organisation and start the server.
    Demo {
        #[arg(long)]
        bind: Option<String>,
        #[arg(long)]
        web_dir: Option<String>,
    },
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage groups.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage Not Ready reasons.
    #[command(subcommand)]
    Reason(ReasonCommand),
    /// Manage the contact-center platform's credentials.
    #[command(subcommand)]
    Integration(IntegrationCommand),
    /// Import contacts and past interactions.
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Apply the retention ages of `[compliance]`.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Play the contact-center platform against a running server: a stream of interactions.
    Simulate {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// An integration token (`backline integration add`).
        #[arg(long, env = "BACKLINE_INTEGRATION_TOKEN")]
        token: String,
        /// Agents (usernames) to assign interactions to, round-robin.
        #[arg(long, value_delimiter = ',', default_value = "alice,bob,carol,dave")]
        agents: Vec<String>,
        /// Seconds between two new interactions.
        #[arg(long, default_value_t = 30)]
        every: u64,
        /// Seconds an interaction stays active before the platform ends it.
        #[arg(long, default_value_t = 600)]
        duration: u64,
        /// Stop after this many interactions (0: until Ctrl-C).
        #[arg(long, default_value_t = 0)]
        count: usize,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Delete transcripts, history and audit entries past their configured
    /// age (what is under a legal hold stays); prints the counts per kind.
    Run {
        /// Only count what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum IntegrationCommand {
    /// Create a credential; prints its token and webhook secret once.
    Add {
        name: String,
        /// Where lifecycle events are POSTed.
        #[arg(long)]
        webhook_url: Option<String>,
        /// What the token may call: `platform` (the platform API, the
        /// default), `scim` (provisioning accounts and groups), or both.
        #[arg(long, value_delimiter = ',', value_parser = parse_scope)]
        scopes: Option<Vec<backline_protocol::interactions::IntegrationScope>>,
    },
    List,
}

#[derive(Subcommand)]
enum ContactsCommand {
    /// Load contacts and past interactions from a .csv, .jsonl or .json file.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account.
    Add {
        username: String,
        #[arg(long)]
        display_name: String,
        /// The password (or set BACKLINE_NEW_PASSWORD).
        #[arg(long, env = "BACKLINE_NEW_PASSWORD")]
        password: String,
        /// agent, supervisor, admin (repeatable).
        #[arg(long = "role", value_parser = parse_role)]
        roles: Vec<Role>,
        /// Create without the Internal IM permission.
        #[arg(long)]
        no_im: bool,
    },
    /// List accounts.
    List,
    /// Grant or withdraw a permission (only `im` exists).
    SetPermission {
        username: String,
        permission: String,
        #[arg(action = clap::ArgAction::Set)]
        value: bool,
    },
    /// Disable an account and sign it out everywhere.
    Disable { username: String },
    /// Enable a disabled account.
    Enable { username: String },
    /// Set a new password (signs the account out everywhere).
    SetPassword {
        username: String,
        #[arg(long, env = "BACKLINE_NEW_PASSWORD")]
        password: String,
    },
}

#[derive(Subcommand)]
enum GroupCommand {
    Add {
        name: String,
    },
    List,
    AddMember {
        group: String,
        username: String,
    },
    RemoveMember {
        group: String,
        username: String,
    },
    /// Consultation offer settings: members per wave, seconds a wave waits
    /// for an answer, the overflow group (`""` for none), the answer-time
    /// target after which an unanswered consultation escalates (0 for
    /// none), and whether escalation offers it to the supervisors at once.
    Set {
        group: String,
        #[arg(long)]
        wave_size: Option<u32>,
        #[arg(long)]
        answer_secs: Option<u32>,
        #[arg(long)]
        overflow: Option<String>,
        #[arg(long)]
        escalate_secs: Option<u32>,
        #[arg(long)]
        escalate_to_supervisors: Option<bool>,
    },
    AddSupervisor {
        group: String,
        username: String,
    },
    RemoveSupervisor {
        group: String,
        username: String,
    },
}

#[derive(Subcommand)]
enum ReasonCommand {
    Add { code: String, label: String },
    List,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("unknown role {text:?}: agent, supervisor or admin"))
}

fn init_telemetry(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(&config.telemetry.filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if config.telemetry.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(url) = cli.database {
        config.database.url = url;
    }
    if let Some(dir) = cli.data_dir {
        config.server.data_dir = dir;
    }
    init_telemetry(&config);
    match cli.command {
        Command::Serve {
            bind,
            web_dir,
            demo,
        } => serve(config, bind, web_dir, demo).await,
        Command::Demo { bind, web_dir } => serve(config, bind, web_dir, true).await,
        Command::User(command) => user(config, command).await,
        Command::Group(command) => group(config, command).await,
        Command::Reason(command) => reason(config, command).await,
        Command::Integration(command) => integration(config, command).await,
        Command::Contacts(ContactsCommand::Import { file }) => import(config, &file).await,
        Command::Retention(RetentionCommand::Run { dry_run }) => retention(config, dry_run).await,
        Command::Simulate {
            url,
            token,
            agents,
            every,
            duration,
            count,
        } => {
            backline_server::simulate::run(backline_server::simulate::SimulateOptions {
                url,
                token,
                agents,
                every: std::time::Duration::from_secs(every.max(1)),
                duration: std::time::Duration::from_secs(duration),
                count,
            })
            .await
        }
    }
}

async fn serve(
    mut config: Config,
    bind: Option<String>,
    web_dir: Option<String>,
    load_demo: bool,
) -> anyhow::Result<()> {
    if let Some(bind) = bind {
        config.server.bind = bind;
    }
    if let Some(dir) = web_dir {
        config.web.assets = dir;
    }
    config.check()?;
    let backline = open_backline(&config).await?;
    if load_demo {
        let loaded = demo::load(&backline)
            .await
            .context("loading the demo organisation")?;
        println!(
            "Demo organisation loaded. Every account's password is {:?}:",
            demo::DEMO_PASSWORD
        );
        for (username, display_name) in loaded.people {
            println!("  {username:<10} {display_name}");
        }
        if let Some(token) = loaded.simulator_token {
            println!("The \"simulator\" integration's token (shown once): {token}");
            println!("Stream interactions with: backline simulate --token {token}");
        }
    }
    let app = Application::with_backline(config, backline).await?;
    if let Some(addr) = app.private_addr() {
        println!("Metrics and health checks on http://{addr}");
    }
    println!("Backline is serving on http://{}", app.local_addr());
    app.run_until_stopped(shutdown_signal()).await
}

async fn user(config: Config, command: UserCommand) -> anyhow::Result<()> {
    let backline = open_backline(&config).await?;
    match command {
        UserCommand::Add {
            username,
            display_name,
            password,
            roles,
            no_im,
        } => {
            let user = backline
                .create_user(
                    None,
                    CreateUserRequest {
                        username,
                        display_name,
                        password,
                        roles,
                        im_permitted: !no_im,
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{}: {}", e.code(), e.public_message()))?;
            println!("created {} ({})", user.username, user.id);
        }
        UserCommand::List => {
            for user in backline.list_users().await? {
                let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
                let groups: Vec<&str> = user.groups.iter().map(|g| g.name.as_str()).collect();
                println!(
                    "{:<12} {:<24} roles={:<20} im={} disabled={} groups={}",
                    user.username,
                    user.display_name,
                    roles.join(","),
                    user.im_permitted,
                    user.disabled,
                    groups.join(",")
                );
            }
        }
        UserCommand::SetPermission {
            username,
            permission,
            value,
        } => {
            if permission != "im" {
                anyhow::bail!("unknown permission {permission:?}: the only permission is \"im\"");
            }
            update(
                &backline,
                &username,
                UpdateUserRequest {
                    im_permitted: Some(value),
                    ..Default::default()
                },
            )
            .await?;
        }
        UserCommand::Disable { username } => {
            update(
                &backline,
                &username,
                UpdateUserRequest {
                    disabled: Some(true),
                    ..Default::default()
                },
            )
            .await?;
        }
        UserCommand::Enable { username } => {
            update(
                &backline,
                &username,
                UpdateUserRequest {
                    disabled: Some(false),
                    ..Default::default()
                },
            )
            .await?;
        }
        UserCommand::SetPassword { username, password } => {
            update(
                &backline,
                &username,
                UpdateUserRequest {
                    password: Some(password),
                    ..Default::default()
                },
            )
            .await?;
        }
    }
    backline.store().close().await;
    Ok(())
}

async fn update(
    backline: &backline_service::Backline,
    username: &str,
    request: UpdateUserRequest,
) -> anyhow::Result<()> {
    let user = backline
        .update_user(None, username, request)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", e.code(), e.public_message()))?;
    println!(
        "updated {}: im={} disabled={}",
        user.username, user.im_permitted, user.disabled
    );
    Ok(())
}

/// A group's offer settings on one line: `wave=1 answer=30s overflow=- escalate=60s to-supervisors`.
fn offer_settings(g: &backline_protocol::admin::GroupView) -> String {
    let escalate = match (g.escalate_secs, g.escalate_to_supervisors) {
        (0, _) => "-".to_owned(),
        (secs, true) => format!("{secs}s to-supervisors"),
        (secs, false) => format!("{secs}s"),
    };
    format!(
        "wave={} answer={}s overflow={} escalate={escalate}",
        g.wave_size,
        g.answer_secs,
        g.overflow_group_id.as_deref().unwrap_or("-")
    )
}

async fn group(config: Config, command: GroupCommand) -> anyhow::Result<()> {
    let backline = open_backline(&config).await?;
    let outcome = match command {
        GroupCommand::Add { name } => backline
            .create_group(None, &name)
            .await
            .map(|g| println!("created {} ({})", g.name, g.id)),
        GroupCommand::List => backline.list_groups().await.map(|groups| {
            for g in groups {
                println!(
                    "{:<24} {} members  {} supervisors  {}",
                    g.name,
                    g.members.len(),
                    g.supervisors.len(),
                    offer_settings(&g)
                );
            }
        }),
        GroupCommand::Set {
            group,
            wave_size,
            answer_secs,
            overflow,
            escalate_secs,
            escalate_to_supervisors,
        } => {
            let request = backline_protocol::admin::UpdateGroupRequest {
                wave_size,
                answer_secs,
                overflow_group_id: overflow,
                escalate_secs,
                escalate_to_supervisors,
            };
            backline
                .update_group(None, &group, request)
                .await
                .map(|g| println!("{}: {}", g.name, offer_settings(&g)))
        }
        GroupCommand::AddSupervisor { group, username } => {
            backline
                .set_group_supervisor(None, &group, &username, true)
                .await
        }
        GroupCommand::RemoveSupervisor { group, username } => {
            backline
                .set_group_supervisor(None, &group, &username, false)
                .await
        }
        GroupCommand::AddMember { group, username } => {
            backline
                .set_group_member(None, &group, &username, true)
                .await
        }
        GroupCommand::RemoveMember { group, username } => {
            backline
                .set_group_member(None, &group, &username, false)
                .await
        }
    };
    backline.store().close().await;
    outcome.map_err(|e| anyhow::anyhow!("{}: {}", e.code(), e.public_message()))
}

async fn reason(config: Config, command: ReasonCommand) -> anyhow::Result<()> {
    let backline = open_backline(&config).await?;
    let outcome = match command {
        ReasonCommand::Add { code, label } => backline
            .create_status_reason(None, &code, &label)
            .await
            .map(|_| ()),
        ReasonCommand::List => backline.status_reasons().await.map(|reasons| {
            for r in reasons {
                println!("{:<20} {}", r.code, r.label);
            }
        }),
    };
    backline.store().close().await;
    outcome.map_err(|e| anyhow::anyhow!("{}: {}", e.code(), e.public_message()))
}

async fn retention(config: Config, dry_run: bool) -> anyhow::Result<()> {
    let backline = open_backline(&config).await?;
    let report = backline.run_retention(None, dry_run).await;
    backline.store().close().await;
    let report = report.map_err(|e| anyhow::anyhow!("{}: {}", e.code(), e.public_message()))?;
    let verb = if dry_run {
        "would be deleted"
    } else {
        "deleted"
    };
    println!(
        "transcripts (ended IM sessions): {} {verb}",
        report.transcripts
    );
    println!(
        "interactions (contact history): {} {verb}",
        report.interactions
    );
    println!("audit entries: {} {verb}", report.audit);
    if !backline.retention_configured() {
        println!("no retention age is configured ([compliance] *_retention_days): nothing goes");
    }
    Ok(())
}

fn parse_scope(text: &str) -> Result<backline_protocol::interactions::IntegrationScope, String> {
    backline_protocol::interactions::IntegrationScope::parse(text)
        .ok_or_else(|| format!("unknown scope {text:?}: platform or scim"))
}

async fn integration(config: Config, command: IntegrationCommand) -> anyhow::Result<()> {
    let backline = open_backline(&config).await?;
    let outcome = match command {
        IntegrationCommand::Add {
            name,
            webhook_url,
            scopes,
        } => backline
            .create_integration(None, &name, webhook_url, scopes)
            .await
            .map(|created| {
                println!(
                    "created integration {} ({})",
                    created.integration.name, created.integration.id
                );
                println!(
                    "token (for {}, shown once): {}",
                    created
                        .integration
                        .scopes
                        .iter()
                        .map(|s| match s {
                            backline_protocol::interactions::IntegrationScope::Platform =>
                                "/api/v1/platform/…",
                            backline_protocol::interactions::IntegrationScope::Scim => "/scim/v2/…",
                        })
                        .collect::<Vec<_>>()
                        .join(" and "),
                    created.token
                );
                println!(
                    "webhook secret (HMAC-SHA256 key, shown once): {}",
                    created.webhook_secret
                );
            }),
        IntegrationCommand::List => backline.list_integrations().await.map(|list| {
            for i in list {
                let scopes: Vec<&str> = i.scopes.iter().map(|s| s.as_str()).collect();
                println!(
                    "{:<24} {} scopes={} webhook={}",
                    i.name,
                    i.id,
                    scopes.join(","),
                    i.webhook_url.as_deref().unwrap_or("-")
                );
            }
        }),
    };
    backline.store().close().await;
    outcome.map_err(|e| anyhow::anyhow!("{}: {}", e.code(), e.public_message()))
}

async fn import(config: Config, file: &std::path::Path) -> anyhow::Result<()> {
    let backline = open_backline(&config).await?;
    let report = backline_server::import::import_file(&backline, file).await;
    backline.store().close().await;
    let report = report?;
    for (line, message) in &report.refused {
        eprintln!("{}:{line}: {message}", file.display());
    }
    println!(
        "imported {} contacts and {} past interactions; {} records refused",
        report.contacts,
        report.interactions,
        report.refused.len()
    );
    if !report.refused.is_empty() {
        anyhow::bail!(
            "{} records were refused (the others were loaded)",
            report.refused.len()
        );
    }
    Ok(())
}
