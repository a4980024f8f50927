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
            JobSpec::Ingest { req, entry_id, .. } => (
                "ingest",
                req.table.clone(),
                serde_json::json!({
                    "file": req.file.file_name().map(|f| f.to_string_lossy().into_owned()),
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
        let job = self.store.add_job(kind, &table, &who.username, who.org_id, &request, total).await?;
        let (this, who, id) = (self.clone(), who.clone(), job.id);
        tokio::spawn(async move { this.run_job(who, id, spec).await });
        Ok(job)
    }

    async fn run_job(self, who: Principal, id: i64, spec: JobSpec) {
        let _turn = self.job_slots.clone().acquire_owned().await;
        let progress = Arc::new(Progress::default());
        if let Err(e) = self.store.job_started(id).await {
            tracing::error!(job = id, "cannot start job: {e}");
            return;
        }
        let ticker = {
            let (store, progress) = (self.store.clone(), progress.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    let (rows, bytes) = (progress.rows.load(Ordering::Relaxed), progress.bytes.load(Ordering::Relaxed));
                    let _ = store.job_progress(id, rows as i64, bytes as i64).await;
                }
            })
        };
        let mut remove: Option<PathBuf> = None;
        let result = match spec {
            JobSpec::Ingest { req, org_id, entry_id, remove_file } => {
                let mut req = *req;
                req.progress = progress.clone();
                if remove_file {
                    remove = Some(req.file.clone());
                }
                match entry_id {
                    Some(entry) => boxed(self.create_for_entry(&who, req, entry)).await,
                    None => boxed(self.ingest(&who, req, org_id)).await,
                }
            }
            JobSpec::Pull { name } => boxed(self.run_pull(&who, &name, progress.clone())).await,
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
