//! Pipelines as the platform keeps them: added, listed, paused, resumed and removed by the
//! source's organization (or the platform), and run by one runner at a time under a lease
//! in the store, whichever node (or `tongshu channel run`) it is on.

use std::sync::Arc;
use std::time::Duration;

use tongshu_core::policy::Principal;
use tongshu_library::{LibraryError, LibraryService};
use tongshu_store::{ChannelTable, ChannelTableStatus, MetaStore, PipelineRecord, PipelineReport, StoreError};

use crate::{CancellationToken, ChannelError, Pipeline, PipelineSpec, SlotInfo, State, TableSpec};

/// How long a runner's lease lasts unless renewed (it is renewed every second), unless
/// configured otherwise: a killed runner's pipeline is taken up this long after.
const LEASE_SECONDS: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Input(String),
    /// Another runner holds the pipeline.
    #[error("{0}")]
    Busy(String),
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// What a new pipeline is made of.
#[derive(Debug, Clone)]
pub struct NewPipeline {
    pub name: String,
    /// The data source's name.
    pub source: String,
    pub tables: Vec<ChannelTable>,
    pub batch_ms: Option<i64>,
    pub batch_changes: Option<i64>,
    /// Added held: it runs once started ([`ChannelService::start`]).
    pub stopped: bool,
    /// A PostgreSQL source's existing publication and a slot name, instead of the
    /// pipeline's own `tongshu_<name>`.
    pub publication: Option<String>,
    pub slot_name: Option<String>,
}

/// Why a pipeline added with `stopped` is held.
const ADDED_STOPPED: &str = "added stopped; start it to run";

/// The channel service. Cheap to clone.
#[derive(Clone)]
pub struct ChannelService {
    store: MetaStore,
    library: LibraryService,
    lease: i64,
    /// A running pipeline whose slot holds more WAL than this on its source warns.
    wal_warn_bytes: i64,
    /// Sessions that copy a large PostgreSQL table's page ranges at once in a snapshot.
    snapshot_sessions: usize,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl ChannelService {
    pub fn new(store: MetaStore, library: LibraryService) -> Self {
        Self { store, library, lease: LEASE_SECONDS, wal_warn_bytes: 1 << 30, snapshot_sessions: 1 }
    }

    /// Copy a large table by up to `n` sessions at once in a snapshot (each reads a range of
    /// its pages on PostgreSQL, of its integer key on MySQL/MariaDB); 1 copies it whole.
    pub fn with_snapshot_sessions(mut self, n: usize) -> Self {
        self.snapshot_sessions = n.max(1);
        self
    }

    /// Warn when a pipeline's slot holds more than `bytes` of WAL on its source.
    pub fn with_wal_warning(mut self, bytes: u64) -> Self {
        self.wal_warn_bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
        self
    }

    /// Leases of `lease` (the platform's job lease).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.as_secs().max(2) as i64;
        self
    }

    /// The pipeline and its source, for `who` of the source's organization (or the platform).
    async fn owned(&self, who: &Principal, name: &str) -> Result<(PipelineRecord, tongshu_sources::Connection)> {
        let p = self.store.get_pipeline(name).await?;
        let source = self.store.get_source_by_id(p.source_id).await?;
        if !who.may_edit_for(source.org_id) {
            return Err(ServiceError::Forbidden(format!("pipeline {name:?} belongs to another organization")));
        }
        let (_, conn) = self.library.source_connection(who, &source.name).await?;
        Ok((p, conn))
    }

    pub async fn add(&self, who: &Principal, mut n: NewPipeline) -> Result<PipelineRecord> {
        let (source, conn) = self.library.source_connection(who, &n.source).await?;
        n.tables = expand(&conn, &n.name, n.tables).await?;
        let mut spec = spec_of(&n.name, conn, &n.tables, n.batch_ms.unwrap_or(500), n.batch_changes.unwrap_or(20_000));
        spec.publication = n.publication.clone();
        spec.slot_name = n.slot_name.clone();
        spec.check()?;
        spec.probe().await?;
        if n.batch_ms.is_some_and(|ms| !(10..=600_000).contains(&ms)) {
            return Err(ServiceError::Input("--batch-ms: from 10 to 600000 milliseconds".into()));
        }
        if n.batch_changes.is_some_and(|c| !(1..=1_000_000).contains(&c)) {
            return Err(ServiceError::Input("--batch-changes: from 1 to 1000000".into()));
        }
        Ok(self
            .store
            .insert_pipeline(&tongshu_store::NewPipelineRecord {
                name: &n.name,
                source_id: source.id,
                tables: &n.tables,
                batch_ms: n.batch_ms.unwrap_or(500),
                batch_changes: n.batch_changes.unwrap_or(20_000),
                created_by: &who.username,
                publication: n.publication.as_deref(),
                slot_name: n.slot_name.as_deref(),
                paused: n.stopped.then_some(ADDED_STOPPED),
            })
            .await?)
    }

    /// Lets a pipeline that is held by an operator (or was added stopped) run. A pipeline
    /// that a schema change paused is not started this way: it needs `resume` (accepting
    /// the change) or `resnapshot`, so that no change is taken without an operator's word.
    pub async fn start(&self, who: &Principal, name: &str) -> Result<()> {
        let (p, _) = self.owned(who, name).await?;
        if p.lease_until.is_some_and(|t| t >= now()) {
            return Err(ServiceError::Input(format!(
                "pipeline {name:?} is already running on {}",
                p.node.unwrap_or_default()
            )));
        }
        if let Some(why) = p.paused.as_deref().filter(|w| w.contains("the pipeline is paused")) {
            return Err(ServiceError::Input(format!(
                "pipeline {name:?} was paused by a schema change ({why}): resume it with --accept, or resnapshot it"
            )));
        }
        self.library.resume_feed(who, name, false).await?;
        Ok(())
    }

    pub async fn list(&self) -> Result<Vec<PipelineRecord>> {
        Ok(self.store.list_pipelines().await?)
    }

    /// The pipeline and what it holds of the source's log: a PostgreSQL slot's retained
    /// WAL, or the MySQL/MariaDB binlog still to read.
    pub async fn show(
        &self,
        who: &Principal,
        name: &str,
    ) -> Result<(PipelineRecord, Option<SlotInfo>, tongshu_sources::Kind)> {
        let (p, conn) = self.owned(who, name).await?;
        let slot = source_log(&conn, &slot_of(&p), p.confirmed).await?;
        Ok((p, slot, conn.kind))
    }

    /// Holds the pipeline: its runner stops after applying what it has received.
    pub async fn pause(&self, who: &Principal, name: &str) -> Result<()> {
        self.library.pause_feed(who, name).await?;
        Ok(())
    }

    /// Lets the pipeline run again; `accept`: its next run accepts the schema change that
    /// paused it.
    pub async fn resume(&self, who: &Principal, name: &str, accept: bool) -> Result<()> {
        self.library.resume_feed(who, name, accept).await?;
        Ok(())
    }

    /// Makes the pipeline's next run copy every table again from a new snapshot (after a
    /// schema change, or to start over); a PostgreSQL source's slot is dropped for it.
    /// Not while it runs. Returns whether a slot was dropped.
    pub async fn resnapshot(&self, who: &Principal, name: &str) -> Result<bool> {
        let (p, conn) = self.owned(who, name).await?;
        let dropped = match conn.kind {
            tongshu_sources::Kind::Postgres => crate::drop_slot(&conn, &slot_of(&p)).await?,
            tongshu_sources::Kind::Mysql => false,
        };
        self.store.set_pipeline_resnapshot(name, true).await?;
        self.store.set_pipeline_paused(name, None, false).await?;
        Ok(dropped)
    }

    /// Removes the pipeline and its slot (so the source keeps no WAL for it); its library
    /// tables stay. Not while it runs.
    pub async fn remove(&self, who: &Principal, name: &str) -> Result<()> {
        let (p, conn) = self.owned(who, name).await?;
        if p.lease_until.is_some_and(|t| t >= now()) {
            return Err(ServiceError::Input(format!(
                "pipeline {name:?} is running on {}; stop it first",
                p.node.unwrap_or_default()
            )));
        }
        if conn.kind == tongshu_sources::Kind::Postgres {
            crate::drop_slot(&conn, &slot_of(&p)).await?;
        }
        Ok(self.store.remove_pipeline(name).await?)
    }

    /// Runs pipeline `name` here until `stop`, a pause, the loss of its lease, or an error.
    /// The runner holds the pipeline's lease in the store (renewed every second), reports
    /// its status there, and records its library tables (a draft catalog entry for each
    /// new one).
    pub async fn run(&self, who: &Principal, name: &str, node: &str, stop: CancellationToken) -> Result<()> {
        let (p, conn) = self.owned(who, name).await?;
        if let Some(why) = &p.paused {
            return Err(ServiceError::Input(format!("pipeline {name:?} is paused ({why}); resume it first")));
        }
        if !self.store.lease_pipeline(name, node, now(), now() + self.lease).await? {
            let holder = self.store.get_pipeline(name).await?.node;
            return Err(ServiceError::Busy(format!(
                "pipeline {name:?} is running on {}",
                holder.as_deref().unwrap_or("another node")
            )));
        }
        tracing::info!(pipeline = %name, %node, "running pipeline");
        let source = self.store.get_source_by_id(p.source_id).await?;
        let slot_conn = conn.clone();
        let mut spec = spec_of(&p.name, conn, &p.tables, p.batch_ms, p.batch_changes);
        spec.publication = p.publication.clone();
        spec.slot_name = p.slot_name.clone();
        spec.accept_schema = p.accept_schema;
        spec.resnapshot = p.resnapshot;
        spec.snapshot_split.parts = self.snapshot_sessions;
        let pipeline = Arc::new(Pipeline::new(spec, self.library.lake().clone()));
        // What an earlier runner reported is not this one's state.
        self.report(name, node, &pipeline.status(), None, None).await?;
        let inner = stop.child_token();
        let watcher = {
            let (svc, pipeline, inner, name, node, who) =
                (self.clone(), pipeline.clone(), inner.clone(), name.to_owned(), node.to_owned(), who.clone());
            tokio::spawn(
                async move { svc.watch(&who, &name, &node, source.org_id, &pipeline, &inner, &slot_conn).await },
            )
        };
        let result = pipeline.run(inner.clone()).await;
        inner.cancel();
        let _ = watcher.await;
        let status = pipeline.status();
        self.report(name, node, &status, None, None).await?;
        if let Err(e @ ChannelError::Paused { .. }) = &result {
            self.store.set_pipeline_paused(name, Some(&e.to_string()), false).await?;
        }
        self.adopt(who, &status, source.org_id).await?;
        self.store.release_pipeline(name, node).await?;
        Ok(result?)
    }

    /// While the pipeline runs: renew the lease, report, record tables, and stop it when
    /// an operator paused it or another node took the lease.
    #[allow(clippy::too_many_arguments)]
    async fn watch(
        &self,
        who: &Principal,
        name: &str,
        node: &str,
        org_id: i64,
        pipeline: &Pipeline,
        stop: &CancellationToken,
        source: &tongshu_sources::Connection,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut ticks = 0u64;
        let mut warning: Option<String> = None;
        let mut log_bytes: Option<i64> = None;
        let mut adopted = false;
        let mut recorded_at = std::time::Instant::now();
        let mut recorded_changes = 0u64;
        let mut resnapshot = self.store.get_pipeline(name).await.map(|p| p.resnapshot).unwrap_or(false);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let status = pipeline.status();
            let held = match self.store.lease_pipeline(name, node, now(), now() + self.lease).await {
                Ok(held) => held,
                Err(e) => {
                    tracing::warn!(pipeline = name, error = %e, "renewing the lease");
                    continue;
                }
            };
            if !held {
                tracing::warn!(pipeline = name, "another node took the lease; stopping");
                stop.cancel();
                return;
            }
            // The WAL the slot keeps on the source (or the binlog still to read), every
            // half minute.
            if ticks.is_multiple_of(30)
                && let Ok(Some(slot)) = source_log(source, &pipeline.spec.slot(), status.confirmed).await
            {
                let what = match source.kind {
                    tongshu_sources::Kind::Postgres => "the slot holds {} MiB of WAL on the source",
                    tongshu_sources::Kind::Mysql => "{} MiB of the source's binlog are still to read",
                };
                log_bytes = slot.retained_bytes;
                warning = slot.retained_bytes.filter(|b| *b > self.wal_warn_bytes).map(|b| {
                    format!(
                        "{} (warning above {} MiB)",
                        what.replace("{}", &(b >> 20).to_string()),
                        self.wal_warn_bytes >> 20
                    )
                });
                if let Some(w) = &warning {
                    tracing::warn!(pipeline = name, "{w}");
                }
            }
            ticks += 1;
            let _ = self.report(name, node, &status, warning.as_deref(), log_bytes).await;
            if ticks % 10 == 1 {
                let sample = tongshu_store::ChannelSample {
                    at: now(),
                    lag_ms: status.lag_ms.map(|l| l as i64),
                    changes: status.tables.iter().map(|t| t.changes).sum::<u64>() as i64,
                    log_bytes,
                };
                if let Err(e) = self.store.add_channel_sample(name, &sample).await {
                    tracing::warn!(pipeline = name, error = %e, "recording a measurement");
                }
            }
            if status.state == State::Streaming
                && resnapshot
                && self.store.set_pipeline_resnapshot(name, false).await.is_ok()
            {
                resnapshot = false;
            }
            if status.accepted > 0 {
                let _ = self.store.set_pipeline_paused(name, None, false).await;
            }
            match self.store.get_pipeline(name).await {
                Ok(p) if p.paused.is_some() => {
                    tracing::info!(pipeline = name, "paused by an operator; stopping");
                    stop.cancel();
                    return;
                }
                _ => {}
            }
            // Table records (and draft entries) once streaming, then their figures now and
            // then while changes arrive.
            let changes: u64 = status.tables.iter().map(|t| t.changes).sum();
            let due = !adopted || (changes > recorded_changes && recorded_at.elapsed() > Duration::from_secs(60));
            if status.state == State::Streaming && due {
                match self.adopt(who, &status, org_id).await {
                    Ok(()) => {
                        adopted = true;
                        recorded_at = std::time::Instant::now();
                        recorded_changes = changes;
                    }
                    Err(e) => tracing::warn!(pipeline = name, error = %e, "recording the pipeline's tables"),
                }
            }
        }
    }

    /// Runs, on this node, every pipeline that may run and that no runner holds: each is
    /// leased to one node at a time, so on several nodes each pipeline runs once, and the
    /// pipelines of a node that stopped are taken up once their leases run out. A pipeline
    /// that stopped on an error is tried again a minute later. Runs until `stop`.
    pub fn supervise(&self, node: String, every: Duration, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let svc = self.clone();
        tokio::spawn(async move {
            let running: Arc<std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>> = Arc::default();
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let Ok(all) = svc.store.list_pipelines().await else { continue };
                for p in all {
                    let free = p.node.is_none() || p.lease_until.is_none_or(|t| t < now());
                    let busy = running.lock().unwrap_or_else(|e| e.into_inner()).get(&p.name).is_some_and(|t| {
                        // Running here, or failed here less than a minute ago.
                        t.elapsed() < Duration::from_secs(60)
                    });
                    if p.paused.is_some() || !free || busy {
                        continue;
                    }
                    let who = match svc.store.user_credentials(&p.created_by).await {
                        Ok(Some((u, _))) => u.principal(),
                        _ => continue,
                    };
                    running.lock().unwrap_or_else(|e| e.into_inner()).insert(p.name.clone(), std::time::Instant::now());
                    let (svc, node, stop, running) = (svc.clone(), node.clone(), stop.child_token(), running.clone());
                    tokio::spawn(async move {
                        match svc.run(&who, &p.name, &node, stop).await {
                            // Another node took it first, or it stopped cleanly.
                            Ok(()) | Err(ServiceError::Busy(_)) => {
                                running.lock().unwrap_or_else(|e| e.into_inner()).remove(&p.name);
                            }
                            // Kept in `running` with the time it failed: tried again later.
                            Err(e) => {
                                tracing::warn!(pipeline = %p.name, error = %e, "pipeline stopped");
                                running
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .insert(p.name.clone(), std::time::Instant::now());
                            }
                        }
                    });
                }
            }
        })
    }

    /// Waits (at most `limit`) until no pipeline is leased to `node`: its runners stopped.
    pub async fn stopped_on(&self, node: &str, limit: Duration) {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            match self.store.list_pipelines().await {
                Ok(all) if all.iter().any(|p| p.node.as_deref() == Some(node)) => {}
                _ => return,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn adopt(&self, who: &Principal, status: &crate::Status, org_id: i64) -> Result<()> {
        for t in &status.tables {
            if t.position.is_some() && self.library.lake().exists(&t.target).await.map_err(ChannelError::from)? {
                self.library.adopt(who, &t.target, org_id).await?;
            }
        }
        Ok(())
    }

    async fn report(
        &self,
        name: &str,
        node: &str,
        s: &crate::Status,
        warning: Option<&str>,
        log_bytes: Option<i64>,
    ) -> Result<()> {
        let (state, message) = match &s.state {
            State::Starting => ("starting", String::new()),
            State::Snapshotting { done, of } => ("snapshotting", format!("{done} of {of} tables copied")),
            State::Streaming => ("streaming", String::new()),
            State::Paused(why) => ("paused", why.clone()),
            State::Failed(why) => ("failed", why.clone()),
            State::Stopped => ("stopped", String::new()),
        };
        let message = match warning {
            Some(w) if message.is_empty() => w.to_owned(),
            Some(w) => format!("{message}; {w}"),
            None => message,
        };
        let report = PipelineReport {
            state: state.into(),
            message,
            tables: s
                .tables
                .iter()
                .map(|t| ChannelTableStatus {
                    target: t.target.clone(),
                    position: t.position,
                    snapshot_rows: t.snapshot_rows,
                    snapshot_sessions: t.snapshot_sessions,
                    changes: t.changes,
                })
                .collect(),
            confirmed: s.confirmed,
            lag_ms: s.lag_ms.map(|l| l as i64),
            log_bytes,
        };
        self.store.report_pipeline(name, node, &report).await?;
        Ok(())
    }
}

/// The tables with every `schema.*` replaced by the schema's tables as they are now (each
/// into `<pipeline>_<table>`), those listed by name kept as given.
async fn expand(
    conn: &tongshu_sources::Connection,
    pipeline: &str,
    tables: Vec<ChannelTable>,
) -> Result<Vec<ChannelTable>> {
    let mut out: Vec<ChannelTable> = tables.iter().filter(|t| !t.source.ends_with(".*")).cloned().collect();
    for t in tables.iter().filter(|t| t.source.ends_with(".*")) {
        let schema = t.source.trim_end_matches(".*");
        let names = crate::tables_in(conn, schema).await?;
        if names.is_empty() {
            return Err(ServiceError::Input(format!("--table {}: schema {schema:?} has no tables", t.source)));
        }
        for name in names {
            let source = format!("{schema}.{name}");
            if !out.iter().any(|o| o.source == source) {
                out.push(ChannelTable { source, target: format!("{pipeline}_{}", name.to_lowercase()), keys: vec![] });
            }
        }
    }
    Ok(out)
}

/// The replication slot of a pipeline on a PostgreSQL source.
pub fn slot_of(p: &PipelineRecord) -> String {
    p.slot_name.clone().unwrap_or_else(|| format!("tongshu_{}", p.name))
}

/// What the pipeline holds of its source's log (see [`ChannelService::show`]): `slot` on
/// PostgreSQL, the binlog after `confirmed` on MySQL/MariaDB.
async fn source_log(
    conn: &tongshu_sources::Connection,
    slot: &str,
    confirmed: Option<i64>,
) -> Result<Option<SlotInfo>> {
    Ok(match conn.kind {
        tongshu_sources::Kind::Postgres => crate::slot_info(conn, slot).await?,
        tongshu_sources::Kind::Mysql => crate::log_behind(conn, confirmed).await?,
    })
}

fn spec_of(
    name: &str,
    conn: tongshu_sources::Connection,
    tables: &[ChannelTable],
    batch_ms: i64,
    batch_changes: i64,
) -> PipelineSpec {
    let tables = tables
        .iter()
        .map(|t| TableSpec { source: t.source.clone(), target: t.target.clone(), keys: t.keys.clone() })
        .collect();
    let mut spec = PipelineSpec::new(name, conn, tables);
    spec.batch_wait = Duration::from_millis(batch_ms.max(1) as u64);
    spec.batch_changes = batch_changes.max(1) as usize;
    spec
}
