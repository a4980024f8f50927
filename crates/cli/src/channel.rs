//! The `channel` subcommands: real-time pipelines (change data capture) from department
//! databases into library tables.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use tongshu_channel::{CancellationToken, ChannelService, NewPipeline};
use tongshu_store::{ChannelTable, MetaStore};

use crate::Common;

#[derive(Subcommand)]
pub enum ChannelCmd {
    /// Add a pipeline: the tables of a source (PostgreSQL, MySQL/MariaDB) it carries, each into a library
    /// table (made from a consistent snapshot on its first run, then fed change by change).
    Add(AddArgs),
    /// List pipelines with their state, position and lag.
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Show a pipeline: each table's position and changes, and the WAL its slot holds (or the
    /// binlog still to read).
    Show(NameArgs),
    /// Let a pipeline added with --stopped (or paused by an operator) run: `tongshu serve`
    /// takes it up on one of its nodes within seconds.
    Start(NameArgs),
    /// Run a pipeline here until interrupted (Ctrl-C or SIGTERM apply and confirm what has
    /// arrived, then stop). One runner at a time holds a pipeline.
    Run(NameArgs),
    /// Hold a pipeline: its runner stops after applying what it has received.
    Pause(NameArgs),
    /// Let a held pipeline run again. With --accept its next run accepts the schema change
    /// that paused it (a dropped, renamed or retyped column) instead of pausing again.
    Resume {
        #[command(flatten)]
        name: NameArgs,
        #[arg(long)]
        accept: bool,
    },
    /// Make the pipeline's next run copy every table again (a PostgreSQL slot is dropped).
    Resnapshot(NameArgs),
    /// Remove a pipeline and a PostgreSQL source's replication slot (its library tables stay).
    Remove(NameArgs),
}

#[derive(Args)]
pub struct NameArgs {
    #[command(flatten)]
    pub common: Common,
    /// The pipeline's name.
    pub name: String,
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_user: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub common: Common,
    /// Lowercase letters, digits and '_'; names the slot and publication on the source.
    #[arg(long)]
    pub name: String,
    /// The data source's name (`tongshu source add`).
    #[arg(long)]
    pub source: String,
    /// A source table to carry: `schema.table` or `schema.table=library_table`
    /// (default library table: `<pipeline>_<table>`), or `schema.*` for every table the
    /// schema (a MySQL database) has now. Repeat for more.
    #[arg(long = "table", required = true)]
    pub tables: Vec<String>,
    /// Key columns for tables without a primary key, as `table:col1,col2`. Repeatable.
    #[arg(long = "key")]
    pub keys: Vec<String>,
    /// Apply a batch at least this often (milliseconds).
    #[arg(long)]
    pub batch_ms: Option<i64>,
    /// … or when it holds this many changes.
    #[arg(long)]
    pub batch_changes: Option<i64>,
    /// PostgreSQL: read this existing publication (it must publish every table; the
    /// pipeline leaves it as it is) instead of making its own `tongshu_<name>`.
    #[arg(long)]
    pub publication: Option<String>,
    /// PostgreSQL: the replication slot's name, instead of `tongshu_<name>` (an existing
    /// slot is used while the tables' positions are in it; a new snapshot makes it anew).
    #[arg(long = "slot")]
    pub slot_name: Option<String>,
    /// Keep the pipeline held until `tongshu channel start` (by default `serve` takes it up at once).
    #[arg(long)]
    pub stopped: bool,
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_user: Option<String>,
}

impl ChannelCmd {
    pub fn common(&self) -> &Common {
        match self {
            ChannelCmd::Add(a) => &a.common,
            ChannelCmd::List { common, .. } => common,
            ChannelCmd::Show(n)
            | ChannelCmd::Run(n)
            | ChannelCmd::Start(n)
            | ChannelCmd::Pause(n)
            | ChannelCmd::Resnapshot(n)
            | ChannelCmd::Remove(n)
            | ChannelCmd::Resume { name: n, .. } => &n.common,
        }
    }
}

/// The tables of `--table` and `--key` arguments.
fn tables_of(pipeline: &str, tables: &[String], keys: &[String]) -> Result<Vec<ChannelTable>> {
    let mut out = Vec::new();
    for t in tables {
        let (source, target) = match t.split_once('=') {
            Some((s, t)) => (s.trim().to_owned(), t.trim().to_owned()),
            None => {
                let bare = t.rsplit('.').next().unwrap_or(t).trim().to_ascii_lowercase();
                (t.trim().to_owned(), format!("{pipeline}_{bare}"))
            }
        };
        if source.ends_with(".*") && t.contains('=') {
            bail!("--table {t:?}: the tables of schema.* go into <pipeline>_<table>; name no library table");
        }
        if source.is_empty() || target.is_empty() {
            bail!("--table {t:?}: give schema.table or schema.table=library_table");
        }
        out.push(ChannelTable { source, target, keys: vec![] });
    }
    for k in keys {
        let Some((table, cols)) = k.split_once(':') else {
            bail!("--key {k:?}: give table:column[,column…]");
        };
        let cols: Vec<String> = cols.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
        if let Some(t) = out
            .iter_mut()
            .find(|t| t.source == table || t.source.rsplit('.').next() == Some(table) || t.target == table)
        {
            t.keys = cols;
            continue;
        }
        // A table of a `schema.*` entry: listed by name so that it carries these keys.
        let Some(schema) = out.iter().find_map(|t| t.source.strip_suffix(".*")) else {
            bail!("--key {k:?}: {table:?} is not one of the --table tables");
        };
        let (source, bare) = match table.split_once('.') {
            Some((_, bare)) => (table.to_owned(), bare),
            None => (format!("{schema}.{table}"), table),
        };
        out.push(ChannelTable { source, target: format!("{pipeline}_{}", bare.to_ascii_lowercase()), keys: cols });
    }
    Ok(out)
}

pub async fn channel(cmd: ChannelCmd, store: MetaStore, service: ChannelService, node: &str) -> Result<()> {
    match cmd {
        ChannelCmd::Add(a) => {
            let who = crate::library::principal(&store, a.as_user.as_deref()).await?;
            let tables = tables_of(&a.name, &a.tables, &a.keys)?;
            let p = service
                .add(
                    &who,
                    NewPipeline {
                        name: a.name,
                        source: a.source,
                        tables,
                        batch_ms: a.batch_ms,
                        batch_changes: a.batch_changes,
                        stopped: a.stopped,
                        publication: a.publication,
                        slot_name: a.slot_name,
                    },
                )
                .await?;
            for t in &p.tables {
                say!("{} → library table {}", t.source, t.target);
            }
            if a.stopped {
                say!("added pipeline {} stopped; `tongshu channel start {}` lets `serve` run it", p.name, p.name);
            } else {
                say!(
                    "added pipeline {}; `serve` runs it on one of its nodes (or run it here: `tongshu channel run {}`)",
                    p.name,
                    p.name
                );
            }
            Ok(())
        }
        ChannelCmd::List { json, .. } => {
            let all = service.list().await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&all)?);
                return Ok(());
            }
            say!("{:<20} {:<13} {:<22} {:>9} {:<20} message", "pipeline", "state", "position", "lag ms", "runner");
            for p in all {
                let state = if p.paused.is_some() { "paused".to_owned() } else { p.state.clone() };
                let mysql = store.get_source_by_id(p.source_id).await.is_ok_and(|s| s.kind == "mysql");
                let at = |v: i64| if mysql { tongshu_channel::describe_position(v, None) } else { lsn(v) };
                say!(
                    "{:<20} {:<13} {:<22} {:>9} {:<20} {}",
                    p.name,
                    state,
                    p.confirmed.map(at).unwrap_or_else(|| "-".into()),
                    p.lag_ms.map(|l| l.to_string()).unwrap_or_else(|| "-".into()),
                    p.node.as_deref().unwrap_or("-"),
                    p.paused.as_deref().unwrap_or(&p.message)
                );
            }
            Ok(())
        }
        ChannelCmd::Show(n) => {
            let who = crate::library::principal(&store, n.as_user.as_deref()).await?;
            let (p, slot, kind) = service.show(&who, &n.name).await?;
            let mysql = kind == tongshu_sources::Kind::Mysql;
            let at = |v: i64| if mysql { tongshu_channel::describe_position(v, None) } else { lsn(v) };
            if n.json {
                say!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"pipeline": p, "slot": slot.map(|s| serde_json::json!({
                            "active": s.active, "retained_bytes": s.retained_bytes, "confirmed": s.confirmed
                        }))})
                    )?
                );
                return Ok(());
            }
            say!(
                "pipeline {} ({}), runner {}",
                p.name,
                p.paused.as_deref().unwrap_or(&p.state),
                p.node.as_deref().unwrap_or("none")
            );
            if !p.message.is_empty() {
                say!("  {}", p.message);
            }
            for t in &p.tables {
                let st = p.table_status.iter().find(|s| s.target == t.target);
                let sessions = st.map(|s| s.snapshot_sessions).unwrap_or(0);
                say!(
                    "  {} → {}: position {}, {} rows copied{}, {} changes applied",
                    t.source,
                    t.target,
                    st.and_then(|s| s.position).map(at).unwrap_or_else(|| "-".into()),
                    st.map(|s| s.snapshot_rows).unwrap_or(0),
                    if sessions > 1 { format!(" by {sessions} sessions") } else { String::new() },
                    st.map(|s| s.changes).unwrap_or(0)
                );
            }
            match slot {
                Some(s) if mysql => say!(
                    "  binlog: {} still to read on the source (the server's expiry keeps it, not the pipeline)",
                    s.retained_bytes.map(bytes).unwrap_or_else(|| "-".into())
                ),
                None if mysql => say!("  no position yet (the next run takes a snapshot)"),
                Some(s) => say!(
                    "  slot {}: {}, holds {} of WAL on the source",
                    tongshu_channel::slot_of(&p),
                    if s.active { "in use" } else { "idle" },
                    s.retained_bytes.map(bytes).unwrap_or_else(|| "-".into())
                ),
                None => say!("  no replication slot on the source (the next run takes a snapshot)"),
            }
            Ok(())
        }
        ChannelCmd::Run(n) => {
            let who = crate::library::principal(&store, n.as_user.as_deref()).await?;
            let stop = CancellationToken::new();
            let s2 = stop.clone();
            tokio::spawn(async move {
                crate::shutdown_signal().await;
                s2.cancel();
            });
            say!("running pipeline {} on {node}; Ctrl-C stops it", n.name);
            service.run(&who, &n.name, node, stop).await?;
            say!("pipeline {} stopped", n.name);
            Ok(())
        }
        ChannelCmd::Start(n) => {
            let who = crate::library::principal(&store, n.as_user.as_deref()).await?;
            service.start(&who, &n.name).await?;
            say!("pipeline {} may run; `serve` takes it up on one of its nodes", n.name);
            Ok(())
        }
        ChannelCmd::Pause(n) => {
            let who = crate::library::principal(&store, n.as_user.as_deref()).await?;
            service.pause(&who, &n.name).await?;
            say!("pipeline {} is held; its runner stops after applying what it has", n.name);
            Ok(())
        }
        ChannelCmd::Resume { name: n, accept } => {
            let who = crate::library::principal(&store, n.as_user.as_deref()).await?;
            service.resume(&who, &n.name, accept).await?;
            say!("pipeline {} may run again{}", n.name, if accept { ", accepting the schema change" } else { "" });
            Ok(())
        }
        ChannelCmd::Resnapshot(n) => {
            let who = crate::library::principal(&store, n.as_user.as_deref()).await?;
            let dropped = service.resnapshot(&who, &n.name).await?;
            say!(
                "{}; the next run of {} copies every table again",
                if dropped { "dropped the replication slot" } else { "no replication slot to drop" },
                n.name
            );
            Ok(())
        }
        ChannelCmd::Remove(n) => {
            let who = crate::library::principal(&store, n.as_user.as_deref()).await?;
            service.remove(&who, &n.name).await?;
            say!("removed pipeline {} (and a PostgreSQL source's replication slot); its library tables stay", n.name);
            Ok(())
        }
    }
}

/// A PostgreSQL LSN as PostgreSQL writes it (`16/B374D848`).
fn lsn(v: i64) -> String {
    format!("{:X}/{:X}", (v as u64) >> 32, (v as u64) & 0xffff_ffff)
}

fn bytes(n: i64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
