//! `tongshu`: the one binary. Subcommands parse flags, load settings and call into the
//! platform's crates; no logic of its own lives here.

/// `println!` that ends the program quietly when standard output is a closed pipe
/// (`tongshu table list | head`), as Unix tools do, instead of panicking.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($t)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            panic!("cannot write to standard output: {e}");
        }
    }};
}

mod channel;
mod external;
mod library;
mod projects;
mod settings;
mod sources;

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use settings::{LogFormat, Overrides, Settings};
use tongshu_accounts::Accounts;
use tongshu_core::policy::Role;
use tongshu_store::MetaStore;

#[derive(Parser)]
#[command(name = "tongshu", version, about = "通数 Tongshu: a city's public data platform in one binary")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Where settings and data come from (every subcommand that touches the store takes these).
#[derive(Args, Clone, Default)]
pub struct Common {
    /// TOML configuration file (see `tongshu config` for the commented defaults).
    /// Also TONGSHU_CONFIG.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Directory for Tongshu's files; holds the embedded SQLite database meta.db.
    /// Also TONGSHU_DATA_DIR. [default: ./tongshu-data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Metadata database, `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`.
    /// Also TONGSHU_DATABASE_URL. [default: SQLite in the data directory]
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the web server (pages, JSON API, metrics).
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on. Also TONGSHU_ADDR. [default: 127.0.0.1:8080]
        #[arg(long, value_name = "HOST:PORT")]
        addr: Option<String>,
        /// Load the demo city (Linyi) on first start; later starts leave it as it is.
        #[arg(long)]
        demo: bool,
    },
    /// Load the demo city into the data directory without serving.
    Demo {
        #[command(flatten)]
        common: Common,
        /// Residents in the demo population; the other demo tables scale with it.
        #[arg(long, default_value_t = DEMO_ROWS)]
        rows: usize,
    },
    /// Create or upgrade the metadata database's tables (serve does this too).
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Feed a library table from a file (one atomic Delta commit).
    Ingest(library::IngestArgs),
    /// Inspect and manage library tables.
    #[command(subcommand)]
    Table(library::TableCmd),
    /// Run read-only SQL over library tables.
    Sql(library::SqlArgs),
    /// Export a table or a query's rows as CSV, XLSX, JSON, NDJSON or Parquet (streamed).
    Export(library::ExportArgs),
    /// Register and list department databases the library pulls from.
    #[command(subcommand)]
    Source(sources::SourceCmd),
    /// Check the evidence log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Save, run and list pulls (a SELECT against a source feeding a library table).
    #[command(subcommand)]
    Pull(sources::PullCmd),
    /// Real-time pipelines: change data capture from department databases into library tables.
    #[command(subcommand)]
    Channel(channel::ChannelCmd),
    /// External tables: source tables that SQL reads in place (logical centralization).
    #[command(subcommand)]
    External(external::ExternalCmd),
    /// The inventory of information systems: import, probe, zombie check.
    #[command(subcommand)]
    Systems(projects::SystemsCmd),
    /// IT projects: the portfolio, evaluation rounds and their reports.
    #[command(subcommand)]
    Projects(projects::ProjectsCmd),
    /// Print the OpenAPI document of the JSON API.
    Openapi,
    /// Print the commented default configuration file.
    Config,
}

/// The file in the data directory that daily evidence anchors are also appended to.
const ANCHOR_FILE: &str = "evidence-anchors.txt";

#[derive(Subcommand)]
enum AuditCmd {
    /// Walk the SM3 hash chain of the evidence log, its head and its daily anchors. Exits 0
    /// when intact; otherwise non-zero, naming the first broken record.
    Verify {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create an account. The password is read from standard input unless --password is given.
    Add {
        #[command(flatten)]
        common: Common,
        /// Login name: 3-32 letters, digits, '_', '-' or '.'.
        #[arg(long)]
        username: String,
        /// platform_admin, data_officer, consumer, auditor or public.
        #[arg(long)]
        role: String,
        /// Slug of the account's organization (e.g. gaj), see GET /api/v1/organizations.
        #[arg(long, value_name = "SLUG")]
        org: String,
        /// Name shown in pages. [default: the username]
        #[arg(long)]
        display_name: Option<String>,
        /// The password (visible to other local users in the process list; prefer stdin).
        #[arg(long)]
        password: Option<String>,
    },
    /// Set a new password (ends the user's sessions). Read from standard input unless given.
    Passwd {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        username: String,
        /// The new password (prefer standard input).
        #[arg(long)]
        password: Option<String>,
    },
}

/// Residents in the demo population by default: small, so the demo starts in seconds.
const DEMO_ROWS: usize = 2000;

fn settings(common: &Common, addr: Option<String>) -> Result<Settings> {
    let overrides = Overrides {
        config: common.config.clone(),
        addr,
        data_dir: common.data_dir.clone(),
        database_url: common.database_url.clone(),
    };
    Settings::load(&overrides, &|k| std::env::var(k).ok())
}

/// A time as Beijing wall-clock minutes, `YYYY-MM-DD HH:MM` (what the CLI's lists show).
fn beijing_minute(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC));
    format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

/// What turns the log filter down while the demo is seeded, and back up.
type LogFilter = tracing_subscriber::reload::Handle<tracing_subscriber::EnvFilter, tracing_subscriber::Registry>;

/// The configured log filter. deltalake's merge warns, on every upsert and delete, of a
/// metric it derives itself: that line is not news to anyone, so it is left out unless the
/// filter names its target.
fn log_filter(s: &Settings) -> tracing_subscriber::EnvFilter {
    const MERGE: &str = "deltalake_core::operations::merge";
    let spec = if s.log.contains(MERGE) { s.log.clone() } else { format!("{},{MERGE}=error", s.log) };
    tracing_subscriber::EnvFilter::try_new(&spec).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

fn init_logging(s: &Settings) -> LogFilter {
    use tracing_subscriber::prelude::*;
    let filter = log_filter(s);
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    let json = s.log_format == LogFormat::Json;
    tracing_subscriber::registry()
        .with(filter)
        .with(json.then(|| tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr)))
        .with((!json).then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr)))
        .init();
    handle
}

/// Runs `work` with only warnings and errors logged (the demo's seeding goes through the
/// real services, which log every change; a new user should see the summary and the demo
/// accounts, not hundreds of lines), then restores the configured filter.
async fn quietly<T>(log: &LogFilter, s: &Settings, work: impl std::future::Future<Output = T>) -> T {
    let _ = log.modify(|f| *f = tracing_subscriber::EnvFilter::new("warn"));
    let out = work.await;
    let restored = log_filter(s);
    let _ = log.modify(|f| *f = restored);
    out
}

/// Opens (creating if needed) and migrates the metadata store.
async fn open_store(s: &Settings) -> Result<MetaStore> {
    if s.database_url.expose().is_empty() {
        std::fs::create_dir_all(&s.data_dir)
            .with_context(|| format!("cannot create data directory {}", s.data_dir.display()))?;
    }
    let url = s.store_url();
    let store = MetaStore::connect(&url)
        .await
        .with_context(|| format!("cannot open the metadata store {}", tongshu_store::redact_url(&url)))?;
    store.migrate().await.context("cannot migrate the metadata store")?;
    Ok(store)
}

/// The library service with the configured lake and secret key; its SQL also reads the
/// registered external tables in place.
fn library_service(s: &Settings, store: &MetaStore) -> Result<tongshu_library::LibraryService> {
    let (base, _) = external_tables(s, store)?;
    Ok(base)
}

/// The library service (with external tables) and the external tables themselves.
fn external_tables(
    s: &Settings,
    store: &MetaStore,
) -> Result<(tongshu_library::LibraryService, tongshu_external::ExternalTables)> {
    let lake = library::library(s)?;
    let plain = tongshu_library::LibraryService::new(lake.clone(), store.clone()).with_secret(s.secret_key()?);
    let ext = tongshu_external::ExternalTables::new(store.clone(), plain);
    let service = tongshu_library::LibraryService::new(ext.attach(lake), store.clone()).with_secret(s.secret_key()?);
    Ok((service, ext))
}

fn read_password(given: Option<String>) -> Result<String> {
    if let Some(p) = given {
        return Ok(p);
    }
    eprint!("password: ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        bail!("no password given: pass --password or write it to standard input");
    }
    Ok(p)
}

/// The projects service as the settings configure it (documents in the library's storage).
fn projects_service(s: &Settings, store: &MetaStore) -> Result<tongshu_projects::ProjectsService> {
    let settings = tongshu_projects::Settings {
        rules: s.zombie.clone(),
        stage_days: u32::try_from(s.project_stage_days).unwrap_or(20),
        ticket_days: u32::try_from(s.ticket_days).unwrap_or(20),
        ..Default::default()
    };
    Ok(tongshu_projects::ProjectsService::new(store.clone(), library_service(s, store)?.lake().clone(), settings))
}

fn print_demo_accounts(addr: Option<&std::net::SocketAddr>) {
    say!("demo accounts (演示账号):");
    for a in tongshu_demo::DEMO_ACCOUNTS {
        say!("  {:<14} {:<14} {:<16} {}", a.username, a.password, a.role.as_str(), a.note);
    }
    say!("  every department's data officer: officer.<slug> / {}", tongshu_demo::OFFICER_PASSWORD);
    say!(
        "  IT project experts expert.zhang, expert.chen, expert.liu and the evaluation body evaluator / {}",
        tongshu_demo::EXPERT_PASSWORD
    );
    if let Some(addr) = addr {
        say!("open http://{addr}/");
    }
}

async fn seed_demo(store: &MetaStore, s: &Settings, rows: usize) -> Result<()> {
    let report = tongshu_demo::seed(store).await.context("cannot load the demo city")?;
    if report.seeded {
        say!(
            "demo city loaded: {} organizations, {} accounts, {} catalog entries",
            report.organizations,
            report.users,
            report.entries
        );
    } else {
        say!("demo city already loaded");
    }
    let library = library_service(s, store)?;
    let tables = tongshu_demo::seed_tables(store, &library, rows).await.context("cannot load the demo tables")?;
    if tables.seeded {
        say!("demo tables loaded: {} tables, {} rows", tables.tables, tables.rows);
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Serve { common, addr, demo } => {
            let s = settings(&common, addr)?;
            let log = init_logging(&s);
            tracing::info!(settings = ?s, "starting");
            let store = open_store(&s).await?;
            if demo {
                quietly(&log, &s, seed_demo(&store, &s, DEMO_ROWS)).await?;
            }
            let listener =
                tokio::net::TcpListener::bind(s.addr).await.with_context(|| format!("cannot listen on {}", s.addr))?;
            let bound = listener.local_addr()?;
            if demo {
                print_demo_accounts(Some(&bound));
            } else {
                say!("listening on http://{bound}/");
            }
            let web = tongshu_web::WebSettings {
                secure_cookies: s.secure_cookies,
                max_body_bytes: s.max_body_bytes,
                demo,
                upload_max_bytes: s.upload_max_bytes,
                upload_dir: s.data_dir.join("uploads"),
                public_rate_per_minute: u32::try_from(s.public_rate_per_minute).unwrap_or(u32::MAX),
                key_rate_per_minute: u32::try_from(s.key_rate_per_minute).unwrap_or(u32::MAX),
                public_url: s.public_url.clone(),
                city: s.city.clone(),
            };
            // Jobs are leased: this node takes over only the jobs of nodes that stopped (on
            // its schedule's first tick and every tick after), never those of live ones.
            let library = library_service(&s, &store)?.with_job_lease(std::time::Duration::from_secs(s.job_lease_secs));
            let _schedule = library.start_schedule(tongshu_library::Schedule {
                upkeep_every: (s.upkeep_every_hours > 0)
                    .then(|| std::time::Duration::from_secs(s.upkeep_every_hours * 3600)),
                vacuum_retention_hours: s.vacuum_retention_hours,
                tick: std::time::Duration::from_secs(s.schedule_tick_secs),
            });
            // Real-time pipelines run on whichever node holds each one's lease.
            let channel = tongshu_channel::ChannelService::new(store.clone(), library.clone())
                .with_lease(std::time::Duration::from_secs(s.job_lease_secs))
                .with_wal_warning(s.channel_wal_warn_mb << 20)
                .with_snapshot_sessions(s.channel_snapshot_sessions);
            let node = library.node().to_owned();
            let pipelines = tongshu_channel::CancellationToken::new();
            channel.supervise(
                node.clone(),
                std::time::Duration::from_secs(s.schedule_tick_secs.clamp(1, 10)),
                pipelines.clone(),
            );
            let mut state = tongshu_web::AppState::new(store.clone(), Accounts::new(store.clone()), library, web);
            state.projects = projects_service(&s, &store)?;
            state.exchange.configure(tongshu_exchange::ExchangeSettings {
                deadline_days: u32::try_from(s.share_deadline_days).unwrap_or(10),
                remind_days: u32::try_from(s.share_remind_days).unwrap_or(2),
                clock_skew_secs: i64::try_from(s.signature_window_secs).unwrap_or(300),
                per_minute: i64::try_from(s.interface_calls_per_minute).unwrap_or(i64::MAX),
                per_day: i64::try_from(s.interface_calls_per_day).unwrap_or(i64::MAX),
                verify_misses_per_day: i64::try_from(s.verify_misses_per_day).unwrap_or(i64::MAX),
                verify_flag_misses: i64::try_from(s.verify_flag_misses).unwrap_or(i64::MAX),
                anchor_file: Some(s.data_dir.join(ANCHOR_FILE)),
            });
            state.exchange.ensure_seeded().await.context("cannot seed the exchange's calendar and masking rules")?;
            if demo && quietly(&log, &s, state.exchange.seed_demo()).await.context("cannot seed the demo's sharing")? {
                say!("demo sharing loaded: requests, grants, calls, lists");
            }
            if demo {
                let seeded = quietly(&log, &s, tongshu_demo::seed_projects(&store, &state.projects))
                    .await
                    .context("cannot seed the demo's IT projects")?;
                if seeded.seeded {
                    say!(
                        "demo IT projects loaded: {} projects, {} information systems",
                        seeded.projects,
                        seeded.systems
                    );
                }
            }
            state.exchange.spawn_schedule(std::time::Duration::from_secs(600));
            // Daily zombie check and reminders, probes when configured: once per due time
            // across the nodes.
            state.projects.spawn_schedule(
                node.clone(),
                std::time::Duration::from_secs(s.schedule_tick_secs.max(30)),
                (s.system_probe_every_hours > 0)
                    .then(|| std::time::Duration::from_secs(s.system_probe_every_hours * 3600)),
            );
            // The portal's datasets and search index follow the catalog within seconds.
            state.portal.spawn_refresh(std::time::Duration::from_secs(2));
            tongshu_web::serve(listener, state, shutdown_signal()).await?;
            // Pipelines apply and confirm what they have, then give up their leases.
            pipelines.cancel();
            channel.stopped_on(&node, std::time::Duration::from_secs(10)).await;
            store.close().await;
            Ok(())
        }
        Cmd::Audit(AuditCmd::Verify { common }) => {
            let s = settings(&common, None)?;
            init_logging(&s);
            if s.database_url.expose().is_empty() && !s.data_dir.join("meta.db").exists() {
                bail!("no metadata store in {}: give the --data-dir of a Tongshu installation", s.data_dir.display());
            }
            let store = open_store(&s).await?;
            let anchors = tongshu_exchange::read_anchor_file(&s.data_dir.join(ANCHOR_FILE));
            let outcome =
                tongshu_exchange::audit_verify(&store, &anchors).await.context("cannot read the evidence log")?;
            store.close().await;
            match outcome {
                Ok(v) => {
                    say!("evidence log intact: {} records, {} daily anchors, head {}", v.records, v.anchors, v.head);
                    Ok(())
                }
                Err(broken) => bail!("evidence log broken at {broken}"),
            }
        }
        Cmd::Demo { common, rows } => {
            let s = settings(&common, None)?;
            let log = init_logging(&s);
            let store = open_store(&s).await?;
            quietly(&log, &s, seed_demo(&store, &s, rows)).await?;
            print_demo_accounts(None);
            store.close().await;
            Ok(())
        }
        Cmd::Migrate { common } => {
            let s = settings(&common, None)?;
            init_logging(&s);
            let store = open_store(&s).await?;
            store.close().await;
            say!("metadata store is up to date");
            Ok(())
        }
        Cmd::User(UserCmd::Add { common, username, role, org, display_name, password }) => {
            let s = settings(&common, None)?;
            init_logging(&s);
            let Some(role) = Role::parse(&role) else {
                bail!("--role {role:?} is not one of platform_admin, data_officer, consumer, auditor, public");
            };
            let store = open_store(&s).await?;
            let org =
                store.get_org_by_slug(&org).await.with_context(|| format!("--org {org:?}: no such organization"))?;
            let password = read_password(password)?;
            let accounts = Accounts::new(store.clone());
            let u =
                accounts.add_user(&username, display_name.as_deref().unwrap_or(""), &password, role, org.id).await?;
            say!("created user {} ({}, {})", u.username, u.role.as_str(), u.org_name);
            store.close().await;
            Ok(())
        }
        Cmd::User(UserCmd::Passwd { common, username, password }) => {
            let s = settings(&common, None)?;
            init_logging(&s);
            let store = open_store(&s).await?;
            let password = read_password(password)?;
            Accounts::new(store.clone()).set_password(&username, &password).await?;
            say!("password of {username} changed; their sessions were ended");
            store.close().await;
            Ok(())
        }
        Cmd::Ingest(args) => {
            let s = settings(&args.common, None)?;
            init_logging(&s);
            let store = open_store(&s).await?;
            let lake = library::library(&s)?;
            let result = library::ingest(args, store.clone(), lake).await;
            store.close().await;
            result
        }
        Cmd::Table(cmd) => {
            let common = match &cmd {
                library::TableCmd::List { common, .. }
                | library::TableCmd::Info { common, .. }
                | library::TableCmd::History { common, .. }
                | library::TableCmd::Optimize { common, .. }
                | library::TableCmd::Vacuum { common, .. }
                | library::TableCmd::Restore { common, .. } => common.clone(),
            };
            let s = settings(&common, None)?;
            init_logging(&s);
            let store = open_store(&s).await?;
            let result = library::table(cmd, store.clone(), library::library(&s)?).await;
            store.close().await;
            result
        }
        Cmd::Export(args) => {
            let s = settings(&args.common, None)?;
            init_logging(&s);
            library::export(args, library::library(&s)?).await
        }
        Cmd::Sql(args) => {
            let s = settings(&args.common, None)?;
            init_logging(&s);
            let store = open_store(&s).await?;
            let result = library::sql(args, library_service(&s, &store)?.lake().clone()).await;
            store.close().await;
            result
        }
        Cmd::Source(cmd) => {
            let common = match &cmd {
                sources::SourceCmd::Add { common, .. } | sources::SourceCmd::List { common, .. } => common.clone(),
            };
            let s = settings(&common, None)?;
            init_logging(&s);
            let store = open_store(&s).await?;
            let result = sources::source(cmd, store.clone(), library_service(&s, &store)?).await;
            store.close().await;
            result
        }
        Cmd::Pull(cmd) => {
            let common = match &cmd {
                sources::PullCmd::Add(a) => a.common.clone(),
                sources::PullCmd::Run { common, .. } | sources::PullCmd::List { common, .. } => common.clone(),
            };
            let s = settings(&common, None)?;
            init_logging(&s);
            let store = open_store(&s).await?;
            let result = sources::pull(cmd, store.clone(), library_service(&s, &store)?).await;
            store.close().await;
            result
        }
        Cmd::Channel(cmd) => {
            let s = settings(cmd.common(), None)?;
            init_logging(&s);
            let store = open_store(&s).await?;
            let library = library_service(&s, &store)?;
            let node = library.node().to_owned();
            let service = tongshu_channel::ChannelService::new(store.clone(), library)
                .with_lease(std::time::Duration::from_secs(s.job_lease_secs))
                .with_wal_warning(s.channel_wal_warn_mb << 20)
                .with_snapshot_sessions(s.channel_snapshot_sessions);
            let result = channel::channel(cmd, store.clone(), service, &node).await;
            store.close().await;
            result
        }
        Cmd::External(cmd) => {
            let s = settings(cmd.common(), None)?;
            init_logging(&s);
            let store = open_store(&s).await?;
            let (_, ext) = external_tables(&s, &store)?;
            let result = external::external(cmd, store.clone(), ext).await;
            store.close().await;
            result
        }
        Cmd::Systems(cmd) => {
            let s = settings(cmd.common(), None)?;
            init_logging(&s);
            let store = open_store(&s).await?;
            let result = projects::systems(cmd, store.clone(), projects_service(&s, &store)?).await;
            store.close().await;
            result
        }
        Cmd::Projects(cmd) => {
            let s = settings(cmd.common(), None)?;
            init_logging(&s);
            let store = open_store(&s).await?;
            let result = projects::projects(cmd, store.clone(), projects_service(&s, &store)?).await;
            store.close().await;
            result
        }
        Cmd::Openapi => {
            say!("{}", tongshu_web::openapi_json());
            Ok(())
        }
        Cmd::Config => {
            print!("{}", settings::DEFAULT_CONFIG);
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
