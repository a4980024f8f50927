//! The `source` and `pull` subcommands: department databases and the pulls that feed the
//! library from them.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use tongshu_lake::Mode;
use tongshu_library::{LibraryService, NewSource, PullSpec};
use tongshu_store::MetaStore;

use crate::Common;

#[derive(Subcommand)]
pub enum SourceCmd {
    /// Register a department database. The connection is tried first; the password (from the
    /// URL, or standard input) is stored sealed with SM4.
    Add {
        #[command(flatten)]
        common: Common,
        /// Name of the source, e.g. scj_main.
        #[arg(long)]
        name: String,
        /// postgres://USER@HOST:PORT/DB or mysql://USER@HOST:PORT/DB (MariaDB too).
        #[arg(long)]
        url: String,
        /// Organization (slug) owning the database. [default: the user's]
        #[arg(long, value_name = "SLUG")]
        org: Option<String>,
        /// The zone of the database's times without one (DATETIME, TIMESTAMP), as an
        /// offset; they are read as that zone's wall clock. [default: +08:00, Beijing]
        #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
        time_zone: Option<String>,
        /// Act as this user. [default: the first platform administrator]
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: Option<String>,
    },
    /// List registered sources (never their passwords).
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum PullCmd {
    /// Save a pull: a SELECT against a source whose rows feed a library table.
    Add(PullAddArgs),
    /// Run a saved pull now (only the rows above its high-water mark, when incremental).
    Run {
        #[command(flatten)]
        common: Common,
        /// The pull's name.
        name: String,
        #[arg(long = "as", value_name = "USERNAME")]
        as_user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List saved pulls with their last run and high-water mark.
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct PullAddArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long)]
    pub name: String,
    /// The source's name.
    #[arg(long)]
    pub source: String,
    /// Library table to feed (made on the first run).
    #[arg(long)]
    pub table: String,
    /// One SELECT statement.
    #[arg(long)]
    pub query: String,
    /// append, overwrite, upsert or delete.
    #[arg(long, default_value = "append")]
    pub mode: String,
    /// Key columns for upsert and delete, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub key: Vec<String>,
    /// A column that only grows (an id or an update time): each run takes the rows above
    /// the largest value taken before.
    #[arg(long, value_name = "COLUMN")]
    pub incremental: Option<String>,
    /// Run on the server's schedule every so many minutes.
    #[arg(long, value_name = "MINUTES")]
    pub every: Option<i64>,
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_user: Option<String>,
}

pub async fn source(cmd: SourceCmd, store: MetaStore, service: LibraryService) -> Result<()> {
    match cmd {
        SourceCmd::Add { name, url, org, time_zone, as_user, .. } => {
            let who = crate::library::principal(&store, as_user.as_deref()).await?;
            let mut conn = tongshu_sources::Connection::from_url(&url)?;
            if conn.password.is_empty() {
                conn.password = crate::read_password(None)?;
            }
            let org_id = match &org {
                Some(slug) => Some(
                    store
                        .get_org_by_slug(slug)
                        .await
                        .with_context(|| format!("--org {slug:?}: no such organization"))?
                        .id,
                ),
                None => None,
            };
            let s = service
                .add_source(
                    &who,
                    NewSource {
                        name,
                        org_id,
                        kind: conn.kind.as_str().into(),
                        host: conn.host,
                        port: Some(conn.port),
                        database: conn.database,
                        username: conn.username,
                        password: conn.password,
                        time_zone,
                    },
                )
                .await?;
            say!(
                "registered data source {} ({}://{}:{}/{}, times without a zone in UTC{}); its password is stored sealed",
                s.name,
                s.kind,
                s.host,
                s.port,
                s.database,
                s.time_zone
            );
            Ok(())
        }
        SourceCmd::List { json, .. } => {
            let all = store.list_sources(None).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            say!("{:<24} {:<9} {:<40} {:<8} user", "source", "kind", "where", "zone");
            for s in all {
                say!(
                    "{:<24} {:<9} {:<40} {:<8} {}",
                    s.name,
                    s.kind,
                    format!("{}:{}/{}", s.host, s.port, s.database),
                    s.time_zone,
                    s.username
                );
            }
            Ok(())
        }
    }
}

pub async fn pull(cmd: PullCmd, store: MetaStore, service: LibraryService) -> Result<()> {
    match cmd {
        PullCmd::Add(a) => {
            let who = crate::library::principal(&store, a.as_user.as_deref()).await?;
            let mode = Mode::parse(&a.mode)
                .with_context(|| format!("--mode {:?} is not append, overwrite, upsert or delete", a.mode))?;
            let p = service
                .add_pull(
                    &who,
                    PullSpec {
                        name: a.name,
                        source: a.source,
                        table: a.table,
                        query: a.query,
                        mode,
                        keys: a.key,
                        incremental_column: a.incremental,
                        every_minutes: a.every,
                    },
                )
                .await?;
            say!("saved pull {} into table {}; run it with `tongshu pull run {}`", p.name, p.table, p.name);
            Ok(())
        }
        PullCmd::Run { name, as_user, json, .. } => {
            let who = crate::library::principal(&store, as_user.as_deref()).await?;
            let (report, record) = service.run_pull(&who, &name, Arc::default()).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(());
            }
            let pull = store.get_pull(&name).await?;
            say!(
                "committed version {} of table {}: {} rows read, {} written, {} updated, {} deleted; table has {} rows",
                report.version,
                report.table,
                report.rows_read,
                report.rows_written,
                report.rows_updated,
                report.rows_deleted,
                record.rows
            );
            if let Some(mark) = pull.high_water {
                say!("high-water mark: {mark}");
            }
            Ok(())
        }
        PullCmd::List { json, .. } => {
            let all = store.list_pulls().await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            say!(
                "{:<20} {:<24} {:<9} {:<17} {:<10} {:<26} every",
                "pull",
                "table",
                "mode",
                "last run (UTC+8)",
                "status",
                "high-water mark"
            );
            for p in all {
                say!(
                    "{:<20} {:<24} {:<9} {:<17} {:<10} {:<26} {}",
                    p.name,
                    p.table,
                    p.mode,
                    p.last_run_at.map(crate::beijing_minute).unwrap_or_else(|| "never".into()),
                    p.last_status.as_deref().unwrap_or("-"),
                    p.high_water.as_deref().unwrap_or("-"),
                    p.every_minutes.map(|m| format!("{m} min")).unwrap_or_else(|| "-".into())
                );
            }
            Ok(())
        }
    }
}
