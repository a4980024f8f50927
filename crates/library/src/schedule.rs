//! The server's schedule: pulls that are due run as background jobs, and every table gets
//! its upkeep (compact small files, vacuum old ones) every so many hours.

use std::time::Duration;

use time::OffsetDateTime;
use tongshu_lake::CompactReport;

use crate::{JobSpec, LibraryService, Result};

/// When scheduled work runs.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Between upkeep runs; `None`: never.
    pub upkeep_every: Option<Duration>,
    pub vacuum_retention_hours: u64,
    /// How often the schedule looks for due work.
    pub tick: Duration,
}

const LAST_UPKEEP: &str = "library.last_upkeep";

/// What one look at the schedule started.
#[derive(Debug, Default)]
pub struct DueWork {
    /// Jobs started: pulls that were due, and jobs of stopped nodes taken over.
    pub jobs: Vec<i64>,
    /// The upkeep run, when it was due and this node claimed it.
    pub upkeep: Option<Vec<UpkeepOutcome>>,
}

/// What one upkeep run did to one table.
#[derive(Debug, Clone)]
pub struct UpkeepOutcome {
    pub table: String,
    pub compacted: Result<CompactReport, String>,
    pub vacuumed: Result<usize, String>,
}

impl LibraryService {
    /// Runs the schedule until the process ends.
    pub fn start_schedule(&self, schedule: Schedule) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = this.run_due(&schedule, OffsetDateTime::now_utc()).await {
                    tracing::warn!("scheduled work failed: {e}");
                }
                tokio::time::sleep(schedule.tick).await;
            }
        })
    }

    /// Takes over the jobs of stopped nodes, starts the pulls that are due and runs upkeep
    /// when it is due. Each due pull and upkeep runs on one node only (the first to claim
    /// its due time).
    pub async fn run_due(&self, schedule: &Schedule, now: OffsetDateTime) -> Result<DueWork> {
        // Jobs of nodes that stopped first (their leases ran out).
        let mut started = self.adopt_orphaned_jobs().await?;
        let mut upkeep = None;
        for pull in self.store.list_pulls().await? {
            let Some(every) = pull.every_minutes else { continue };
            let due = pull.last_run_at.is_none_or(|last| now - last >= time::Duration::minutes(every));
            let running =
                self.store.list_jobs(Some(&pull.created_by), 20).await?.iter().any(|j| {
                    j.kind == "pull" && j.table == pull.table && (j.status == "queued" || j.status == "running")
                });
            if !due || running {
                continue;
            }
            // Once per due time across every node: the first node to claim it runs it.
            let slot = format!("pull:{}:{}", pull.name, pull.last_run_at.map_or(0, |t| t.unix_timestamp()));
            if !self.store.claim_slot(&slot, self.node()).await? {
                continue;
            }
            let Some((user, _)) = self.store.user_credentials(&pull.created_by).await? else { continue };
            if user.disabled {
                continue;
            }
            let job = self.submit(&user.principal(), JobSpec::Pull { name: pull.name.clone() }).await?;
            tracing::info!(pull = %pull.name, job = job.id, "scheduled pull started");
            started.push(job.id);
        }
        if let Some(every) = schedule.upkeep_every {
            let last = self.store.meta_get(LAST_UPKEEP).await?.and_then(|t| t.parse::<i64>().ok());
            // The first period starts when the schedule first runs.
            let due = match last {
                None => {
                    self.store.meta_put(LAST_UPKEEP, &now.unix_timestamp().to_string()).await?;
                    false
                }
                Some(t) => now.unix_timestamp() - t >= every.as_secs() as i64,
            };
            if due && self.store.claim_slot(&format!("upkeep:{}", last.unwrap_or(0)), self.node()).await? {
                self.store.meta_put(LAST_UPKEEP, &now.unix_timestamp().to_string()).await?;
                let outcomes = self.upkeep(schedule.vacuum_retention_hours).await?;
                tracing::info!(tables = outcomes.len(), "scheduled upkeep done");
                upkeep = Some(outcomes);
            }
        }
        Ok(DueWork { jobs: started, upkeep })
    }

    /// Compacts (Z-ordered by no key) and vacuums every table, refreshing their figures.
    pub async fn upkeep(&self, retention_hours: u64) -> Result<Vec<UpkeepOutcome>> {
        let mut out = Vec::new();
        for table in self.lake.list().await? {
            let compacted = self.lake.compact(&table, &[]).await.map_err(|e| e.to_string());
            let vacuumed =
                self.lake.vacuum(&table, retention_hours, false).await.map(|v| v.len()).map_err(|e| e.to_string());
            if let Ok(Some(record)) = self.store.get_table(&table).await {
                let _ = self.refresh(&table, record.entry_id).await;
            }
            out.push(UpkeepOutcome { table, compacted, vacuumed });
        }
        Ok(out)
    }
}
