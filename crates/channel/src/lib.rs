//! The real-time channel (数据高速通道): change data capture from a department's database
//! into library tables, without any server beside Tongshu.
//!
//! A pipeline is one source database and the tables it carries, each into a library table
//! of its own. It starts with a consistent snapshot of every table (PostgreSQL: read in
//! the snapshot its replication slot exported when it was created, so the stream that
//! follows starts exactly where the snapshot stands), then applies the source's log in
//! batches (by time and by size), each batch one Delta commit per table that merges the
//! batch's inserts, updates and deletes by primary key.
//!
//! **Exactly-once effect.** Each commit records the source position its batch ends at
//! (Delta's application transaction, app id `tongshu-channel:<pipeline>`), and the
//! source is told that position only after every table of the batch has committed. On
//! restart each table skips what it already holds; a change delivered again (a
//! reconnect, a crash between two tables' commits) changes nothing, because a batch
//! applies only the last change of each key and whole rows.
//!
//! **Schema changes.** A column the source adds is added to the library table; a column
//! dropped, renamed or retyped stops the pipeline with an error that names the table, the
//! column and the change, before anything of it is applied, and nothing after it is
//! confirmed to the source (so nothing it still needs is released).

mod apply;
mod my;
mod pg;
mod service;

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use my::{describe_position, log_behind};

/// A MySQL/MariaDB binlog position (file and offset) as the channel counts positions
/// (ordered as the binlog is); `None` when the file name does not end in a number.
pub fn binlog_position(file: &str, pos: u64) -> Option<i64> {
    my::encode(file, pos).ok()
}
pub use pg::{SlotInfo, drop_slot, slot_info};

/// The tables of a schema of the source (a MySQL/MariaDB database), by name: what
/// `schema.*` in a pipeline's table list stands for.
pub async fn tables_in(c: &Connection, schema: &str) -> Result<Vec<String>> {
    match c.kind {
        tongshu_sources::Kind::Postgres => pg::tables_in(c, schema).await,
        tongshu_sources::Kind::Mysql => my::tables_in(c, schema).await,
    }
}
pub use pg_walstream::CancellationToken;
pub use service::{ChannelService, NewPipeline, ServiceError, slot_of};
pub use tongshu_lake::Library;
pub use tongshu_sources::Connection;

/// One source table a pipeline carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// `schema.table` (`public` when no schema is named).
    pub source: String,
    /// The library table it feeds.
    pub target: String,
    /// Key columns; empty: the source table's primary key.
    pub keys: Vec<String>,
}

/// A pipeline: a source, its tables and how changes are batched.
#[derive(Clone)]
pub struct PipelineSpec {
    /// Lowercase letters, digits and `_`; names the slot and publication (`tongshu_<name>`).
    pub name: String,
    pub source: Connection,
    pub tables: Vec<TableSpec>,
    /// A batch is applied when it holds this many changes …
    pub batch_changes: usize,
    /// … or when its first change is this old.
    pub batch_wait: Duration,
    /// How often the pipeline writes a heartbeat into the source's log while its tables
    /// are quiet, so that the slot's confirmed position follows the source's other
    /// traffic and the source does not keep WAL for it (Debezium's heartbeats).
    pub heartbeat: Duration,
    /// Accept the source's schema changes that would pause the pipeline: a dropped or
    /// renamed column stays in the library table (empty in new rows), a retyped one keeps
    /// its type (values that do not fit it stop the pipeline).
    pub accept_schema: bool,
    /// Every this many batches a table's small files are compacted (without stopping the
    /// stream: the pipeline itself compacts between two batches). Delta checkpoints its
    /// log on its own every 100 commits.
    pub compact_every: u64,
    /// Copy every table again from a new snapshot, whatever position it holds (an
    /// operator's `resnapshot`).
    pub resnapshot: bool,
    /// A PostgreSQL publication the source's administrators made (it must publish every
    /// table; the pipeline does not change it), instead of the pipeline's own.
    pub publication: Option<String>,
    /// A replication slot name chosen by the operator, instead of `tongshu_<name>`.
    pub slot_name: Option<String>,
    /// How a large table is copied in the snapshot by several sessions at once (1 session
    /// by default, as Debezium's `snapshot.max.threads`: more help when the source has
    /// cores to spare): on PostgreSQL each imports the slot's exported snapshot and reads a
    /// range of pages; on MySQL/MariaDB each starts a consistent snapshot at the same
    /// binlog position and reads a range of the table's single integer key.
    pub snapshot_split: tongshu_sources::Split,
}

impl PipelineSpec {
    pub fn new(name: impl Into<String>, source: Connection, tables: Vec<TableSpec>) -> Self {
        Self {
            name: name.into(),
            source,
            tables,
            batch_changes: 20_000,
            batch_wait: Duration::from_millis(500),
            heartbeat: Duration::from_secs(10),
            accept_schema: false,
            compact_every: 200,
            resnapshot: false,
            publication: None,
            slot_name: None,
            snapshot_split: tongshu_sources::Split { parts: 1, ..Default::default() },
        }
    }

    /// Checks, changing nothing, that the pipeline could run: the source answers, has what
    /// change data capture needs (settings, privileges), and has every table, each with a
    /// key. `tongshu channel add` refuses what fails here, so no pipeline is kept that
    /// could never run.
    pub async fn probe(&self) -> Result<()> {
        self.check()?;
        match self.source.kind {
            tongshu_sources::Kind::Postgres => pg::probe(self).await,
            tongshu_sources::Kind::Mysql => my::probe(self).await,
        }
    }

    /// The Delta application id its tables record positions under.
    pub fn app(&self) -> String {
        format!("tongshu-channel:{}", self.name)
    }

    /// The replication slot it uses on the source.
    pub fn slot(&self) -> String {
        self.slot_name.clone().unwrap_or_else(|| format!("tongshu_{}", self.name))
    }

    /// The publication it reads on the source, and whether it is the pipeline's own (made
    /// and kept to its tables by the pipeline) rather than one the operator named.
    pub fn publication(&self) -> (String, bool) {
        match &self.publication {
            Some(p) => (p.clone(), false),
            None => (format!("tongshu_{}", self.name), true),
        }
    }

    fn check(&self) -> Result<()> {
        let ok = !self.name.is_empty()
            && self.name.len() <= 40
            && self.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && self.name.as_bytes()[0].is_ascii_lowercase();
        if !ok {
            return Err(ChannelError::Input(format!(
                "pipeline name {:?}: use 1 to 40 lowercase letters, digits and '_', starting with a letter",
                self.name
            )));
        }
        for (flag, name) in [("--publication", &self.publication), ("--slot", &self.slot_name)] {
            let Some(name) = name else { continue };
            if self.source.kind != tongshu_sources::Kind::Postgres {
                return Err(ChannelError::Input(format!(
                    "{flag}: only a PostgreSQL source has publications and slots"
                )));
            }
            let ok = (1..=63).contains(&name.len())
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && name.as_bytes()[0].is_ascii_lowercase();
            if !ok {
                return Err(ChannelError::Input(format!(
                    "{flag} {name:?}: use 1 to 63 lowercase letters, digits and '_', starting with a letter"
                )));
            }
        }
        if self.tables.is_empty() {
            return Err(ChannelError::Input(format!("pipeline {:?} carries no tables", self.name)));
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.tables {
            tongshu_lake::check_name(&t.target).map_err(|e| ChannelError::Input(e.to_string()))?;
            if !seen.insert(&t.target) {
                return Err(ChannelError::Input(format!("library table {:?} is fed twice", t.target)));
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// Bad configuration or a source that cannot be used as configured.
    #[error("{0}")]
    Input(String),
    /// The source cannot be reached or refused.
    #[error("{0}")]
    Source(String),
    /// A change the pipeline does not apply by itself (a dropped, renamed or retyped
    /// column): the pipeline stops until an operator resumes or re-snapshots.
    #[error(
        "table {table}: column {column:?} {change}; the pipeline is paused (resume to accept, or take a new snapshot)"
    )]
    Paused { table: String, column: String, change: String },
    #[error("library: {0}")]
    Lake(#[from] tongshu_lake::LakeError),
}

pub type Result<T, E = ChannelError> = std::result::Result<T, E>;

/// Where a pipeline is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum State {
    #[default]
    Starting,
    /// Copying the tables (`done` of `of` tables).
    Snapshotting {
        done: usize,
        of: usize,
    },
    Streaming,
    Paused(String),
    Failed(String),
    Stopped,
}

/// What one table of a pipeline has done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableStatus {
    pub source: String,
    pub target: String,
    /// The source position the library table holds.
    pub position: Option<i64>,
    /// Rows copied by the snapshot.
    pub snapshot_rows: u64,
    /// Sessions that copied them (more than one for a large table split by
    /// [`PipelineSpec::snapshot_split`]).
    pub snapshot_sessions: usize,
    /// Changes applied since the pipeline started.
    pub changes: u64,
}

/// A pipeline's live status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    pub state: State,
    pub tables: Vec<TableStatus>,
    /// The position last confirmed to the source.
    pub confirmed: Option<i64>,
    /// Milliseconds from the source's commit of the last applied change to its commit here.
    pub lag_ms: Option<u64>,
    /// Batches applied since the pipeline started.
    pub batches: u64,
    /// Schema changes accepted (see [`PipelineSpec::accept_schema`]).
    pub accepted: u64,
}

/// A pipeline that runs.
pub struct Pipeline {
    spec: PipelineSpec,
    lake: Library,
    status: Arc<Mutex<Status>>,
    /// Per applied transaction: microseconds from its commit in the source to the end of
    /// the Delta commits that made it visible (at most `LAG_SAMPLES`, the latest).
    lags: Mutex<std::collections::VecDeque<u32>>,
}

/// Lag samples kept.
const LAG_SAMPLES: usize = 1 << 20;

impl Pipeline {
    pub fn new(spec: PipelineSpec, lake: Library) -> Self {
        let tables = spec
            .tables
            .iter()
            .map(|t| TableStatus { source: t.source.clone(), target: t.target.clone(), ..Default::default() })
            .collect();
        Self {
            spec,
            lake,
            status: Arc::new(Mutex::new(Status { tables, ..Default::default() })),
            lags: Mutex::default(),
        }
    }

    /// The lag of each transaction applied since start (the latest million), in
    /// microseconds from its commit in the source to its visibility in the library.
    pub fn lag_samples(&self) -> Vec<u32> {
        self.lags.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect()
    }

    /// Records the lags of transactions committed at `commits` (Unix µs), now applied.
    fn sample_lags(&self, commits: &mut Vec<i64>) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        let mut lags = self.lags.lock().unwrap_or_else(|e| e.into_inner());
        for c in commits.drain(..) {
            if lags.len() >= LAG_SAMPLES {
                lags.pop_front();
            }
            lags.push_back((now - c).clamp(0, u32::MAX as i64) as u32);
        }
    }

    pub fn status(&self) -> Status {
        self.status.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut Status)) {
        f(&mut self.status.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Runs until `stop` is cancelled (then returns `Ok`, having applied and confirmed
    /// what it received) or an error stops it (its state says why).
    pub async fn run(&self, stop: CancellationToken) -> Result<()> {
        let result = async {
            self.spec.check()?;
            match self.spec.source.kind {
                tongshu_sources::Kind::Postgres => pg::run(self, stop).await,
                tongshu_sources::Kind::Mysql => my::run(self, stop).await,
            }
        }
        .await;
        self.update(|s| {
            s.state = match &result {
                Ok(()) => State::Stopped,
                Err(e @ ChannelError::Paused { .. }) => State::Paused(e.to_string()),
                Err(e) => State::Failed(e.to_string()),
            }
        });
        result
    }
}
