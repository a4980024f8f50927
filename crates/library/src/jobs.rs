//! Background jobs: long ingests (uploaded files) and pulls run on the server while their
//! status, progress and final report are kept in the metadata store for anyone to read later.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tongshu_core::policy::Principal;
use tongshu_lake::{IngestRequest, LakeError, Progress};
use tongshu_store::JobRecord;

use crate::{LibraryError, LibraryService, Result};

/// What a job does.
#[derive(Debug)]
pub enum JobSpec {
    /// Ingest a file already on the server's disk.
    Ingest {
        req: Box<IngestRequest>,
        /// Organization of a table to create (default: the caller's).
        org_id: Option<i64>,
        /// For a new table: make it from this catalog entry's items.
        entry_id: Option<i64>,
        /// Remove the file when the job ends (an upload's temporary copy).
        remove_file: bool,
    },
    /// Run a saved pull.
    Pull { name: String },
}

/// How long a job's lease lasts unless the library is told otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// A name for this node in job leases: host, process and a random part (two processes of
/// one host, or a restarted process, are different nodes).
pub(crate) fn node_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_default();
    format!(
        "{}-{}-{:08x}",
        if host.is_empty() { "node" } else { &host },
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
    )
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Boxes a future as `Send` (works around the compiler's "`Send` is not general enough"
/// for futures that hold borrows across awaits inside a spawned task).
fn boxed<'a, T>(
    f: impl std::future::Future<Output = T> + Send + 'a,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>> {
    Box::pin(f)
}

impl LibraryService {
    /// Files a job and starts it in the background; at most two run at once, the rest wait
    /// their turn in the queue.
    pub async fn submit(&self, who: &Principal, spec: JobSpec) -> Result<JobRecord> {
        // Refused before a job is accepted (not a 202 and then a failed job).
        if let JobSpec::Ingest { req, org_id, entry_id, .. } = &spec {
            match entry_id {
                Some(id) => {
                    let entry = self.store.get_entry(*id).await?;
                    if !who.may_edit_for(entry.org_id) {
                        return Err(crate::LibraryError::Forbidden(
                            "you may only create tables for your own organization's entries".into(),
                        ));
                    }
                }
                None => {
                    self.may_feed(who, &req.table, req.create, org_id.unwrap_or(who.org_id)).await?;
                }
            }
        }
        let (kind, table, request, total) = match &spec {
            JobSpec::Ingest { req, entry_id, org_id, .. } => (
                "ingest",
                req.table.clone(),
                serde_json::json!({
                    "file": req.file.file_name().map(|f| f.to_string_lossy().into_owned()),
                    // Where the file is, for a node that takes the job over (it can when the
                    // directory is shared; otherwise the job fails, naming this).
                    "path": req.file.display().to_string(), "remove_file": matches!(spec, JobSpec::Ingest { remove_file: true, .. }),
                    "org_id": org_id,
                    "format": req.source.format.map(|f| format!("{f:?}").to_lowercase()),
                    "delimiter": req.source.delimiter, "sheet": req.source.sheet,
                    "encoding": req.source.encoding.map(|e| e.name()),
                    "mode": req.mode, "keys": req.keys, "on_bad_rows": req.on_bad_rows,
                    "create": req.create, "entry_id": entry_id,
                }),
                std::fs::metadata(&req.file).ok().map(|m| m.len() as i64),
            ),
            JobSpec::Pull { name } => {
                let pull = self.store.get_pull(name).await?;
                ("pull", pull.table, serde_json::json!({ "pull": name }), None)
            }
        };
        let until = unix_now() + self.lease.as_secs() as i64;
        let job =
            self.store.add_job(kind, &table, &who.username, who.org_id, &request, total, &self.node, until).await?;
        let (this, who, id) = (self.clone(), who.clone(), job.id);
        tokio::spawn(async move { this.run_job(who, id, spec).await });
        Ok(job)
    }

    async fn run_job(self, who: Principal, id: i64, spec: JobSpec) {
        let progress = Arc::new(Progress::default());
        // While the job waits for its turn and while it runs: progress twice a second, the
        // lease every third of its length (a stopped node's jobs are taken over after it).
        let ticker = {
            let (store, progress, node, lease) = (self.store.clone(), progress.clone(), self.node.clone(), self.lease);
            tokio::spawn(async move {
                let mut renewed = std::time::Instant::now();
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let (rows, bytes) = (progress.rows.load(Ordering::Relaxed), progress.bytes.load(Ordering::Relaxed));
                    let _ = store.job_progress(id, rows as i64, bytes as i64).await;
                    if renewed.elapsed() >= lease / 3 {
                        renewed = std::time::Instant::now();
                        let _ = store.renew_job_leases(&node, unix_now() + lease.as_secs() as i64).await;
                    }
                }
            })
        };
        let _turn = self.job_slots.clone().acquire_owned().await;
        if let Err(e) = self.store.job_started(id).await {
            tracing::error!(job = id, "cannot start job: {e}");
            ticker.abort();
            return;
        }
        let mut remove: Option<PathBuf> = None;
        let result = match spec {
            JobSpec::Ingest { req, org_id, entry_id, remove_file } => {
                let mut req = *req;
                req.progress = progress.clone();
                req.job = Some(id);
                if remove_file {
                    remove = Some(req.file.clone());
                }
                match entry_id {
                    Some(entry) => boxed(self.create_for_entry(&who, req, entry)).await,
                    None => boxed(self.ingest(&who, req, org_id)).await,
                }
            }
            JobSpec::Pull { name } => boxed(self.run_pull_as(&who, &name, progress.clone(), Some(id))).await,
        };
        ticker.abort();
        if let Some(file) = remove {
            let _ = std::fs::remove_file(file);
        }
        let (rows, bytes) =
            (progress.rows.load(Ordering::Relaxed) as i64, progress.bytes.load(Ordering::Relaxed) as i64);
        let saved = match result {
            Ok((report, _)) => {
                let report = serde_json::to_value(&report).unwrap_or_default();
                self.store.job_finished(id, true, rows, bytes, Some(&report), None).await
            }
            Err(e) => {
                let report = match &e {
                    LibraryError::Lake(LakeError::Rejected(read)) => serde_json::to_value(read).ok(),
                    _ => None,
                };
                self.store.job_finished(id, false, rows, bytes, report.as_ref(), Some(&e.to_string())).await
            }
        };
        if let Err(e) = saved {
            tracing::error!(job = id, "cannot record the end of the job: {e}");
        }
    }

    /// Takes over the jobs of nodes that stopped (their lease ran out) and finishes each
    /// once: a job whose commit is already in its table's history is recorded as done;
    /// a pull runs again; an ingest runs again when its file is reachable from this node,
    /// else it fails saying so. Returns the jobs taken over.
    pub async fn adopt_orphaned_jobs(&self) -> Result<Vec<i64>> {
        let now = unix_now();
        let taken = self.store.claim_expired_jobs(&self.node, now, now + self.lease.as_secs() as i64).await?;
        let mut ids = Vec::new();
        for job in taken {
            ids.push(job.id);
            tracing::warn!(job = job.id, attempt = job.attempts, "taking over a job whose node stopped");
            let committed = match self.lake.history(&job.table).await {
                Ok(h) => h.into_iter().find(|v| v.job == Some(job.id)),
                Err(_) => None,
            };
            if let Some(v) = committed {
                let report = serde_json::json!({"version": v.version, "note": "committed before its node stopped"});
                self.store.job_finished(job.id, true, job.rows_done, job.bytes_done, Some(&report), None).await?;
                continue;
            }
            let who = match self.store.user_credentials(&job.created_by).await? {
                Some((user, _)) if !user.disabled => user.principal(),
                _ => {
                    let why = "interrupted: its node stopped, and its user can no longer run it; nothing was committed";
                    self.store.job_finished(job.id, false, 0, 0, None, Some(why)).await?;
                    continue;
                }
            };
            let spec = match job.kind.as_str() {
                "pull" => job.request["pull"].as_str().map(|name| JobSpec::Pull { name: name.to_owned() }),
                "ingest" => self.ingest_spec(&job),
                _ => None,
            };
            match spec {
                Some(spec) => {
                    let (this, id) = (self.clone(), job.id);
                    tokio::spawn(async move { this.run_job(who, id, spec).await });
                }
                None => {
                    let why = format!(
                        "interrupted: its node stopped and its input ({}) is not reachable from this node; nothing was committed, submit it again",
                        job.request["file"].as_str().unwrap_or("?")
                    );
                    self.store.job_finished(job.id, false, 0, 0, None, Some(&why)).await?;
                }
            }
        }
        Ok(ids)
    }

    /// The ingest a stored job asked for, when its file is here.
    fn ingest_spec(&self, job: &JobRecord) -> Option<JobSpec> {
        let r = &job.request;
        let path = PathBuf::from(r["path"].as_str()?);
        if !path.is_file() {
            return None;
        }
        let mut req = IngestRequest::new(job.table.clone(), path, job.created_by.clone());
        req.mode = serde_json::from_value(r["mode"].clone()).ok()?;
        req.keys = serde_json::from_value(r["keys"].clone()).unwrap_or_default();
        req.on_bad_rows = serde_json::from_value(r["on_bad_rows"].clone()).ok()?;
        req.create = r["create"].as_bool().unwrap_or(false);
        req.source = tongshu_lake::SourceOptions {
            format: r["format"].as_str().and_then(tongshu_lake::InputFormat::parse),
            delimiter: r["delimiter"].as_u64().and_then(|d| u8::try_from(d).ok()),
            encoding: r["encoding"].as_str().and_then(tongshu_lake::encoding_named),
            sheet: r["sheet"].as_str().map(str::to_owned),
        };
        Some(JobSpec::Ingest {
            req: Box::new(req),
            org_id: r["org_id"].as_i64(),
            entry_id: r["entry_id"].as_i64(),
            remove_file: r["remove_file"].as_bool().unwrap_or(false),
        })
    }

    /// A job, for its creator, the members of its organization's data office, or an
    /// administrator.
    pub async fn job(&self, who: &Principal, id: i64) -> Result<JobRecord> {
        let job = self.store.get_job(id).await?;
        if job.created_by != who.username && !who.may_edit_for(job.org_id) {
            return Err(LibraryError::Store(tongshu_store::StoreError::NotFound(format!("job {id}"))));
        }
        Ok(job)
    }

    /// The caller's newest jobs (everyone's for administrators).
    pub async fn jobs(&self, who: &Principal, limit: i64) -> Result<Vec<JobRecord>> {
        let only = (!who.runs_the_platform()).then_some(who.username.as_str());
        Ok(self.store.list_jobs(only, limit).await?)
    }

    /// Waits until a job has ended (for tests and the CLI).
    pub async fn wait_for_job(&self, id: i64, timeout: Duration) -> Result<JobRecord> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let job = self.store.get_job(id).await?;
            if job.status == "succeeded" || job.status == "failed" || tokio::time::Instant::now() > deadline {
                return Ok(job);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
