//! What `serve` does on its own, once per due time across every node (the first node to
//! claim the slot in the store does it): probes of the systems' URLs every configured
//! number of hours (off by default: addresses outside the intranet must not be probed
//! unasked), the daily zombie check with its tickets, and the daily reminders of
//! project steps due within two working days or overdue.

use std::time::Duration;

use crate::{ProjectsService, Result};

/// Working days before a step's due day that its reminder is written.
const REMIND_DAYS: u32 = 2;

impl ProjectsService {
    /// Runs the schedule every `tick` until the task is dropped; `probe_every`: probe the
    /// systems this often (`None`: never).
    pub fn spawn_schedule(
        &self,
        node: String,
        tick: Duration,
        probe_every: Option<Duration>,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(tick);
            loop {
                interval.tick().await;
                if let Err(e) = me.run_due(&node, probe_every).await {
                    tracing::warn!(error = %e, "projects schedule");
                }
            }
        })
    }

    /// Does what is due now and not yet claimed by another node. Returns what it did.
    pub async fn run_due(&self, node: &str, probe_every: Option<Duration>) -> Result<Vec<&'static str>> {
        let mut done = Vec::new();
        let now = tongshu_core::now();
        if let Some(every) = probe_every.filter(|d| !d.is_zero()) {
            let slot = now.unix_timestamp() / every.as_secs() as i64;
            if self.store.claim_slot(&format!("systems-probe:{slot}"), node).await? {
                self.probe_every_system().await?;
                done.push("probe");
            }
        }
        // Beijing's day.
        let today = (now + time::Duration::hours(8)).date();
        if self.store.claim_slot(&format!("systems-check:{today}"), node).await? {
            self.check_all().await?;
            done.push("check");
        }
        if self.store.claim_slot(&format!("project-reminders:{today}"), node).await? {
            self.remind(today).await?;
            done.push("remind");
        }
        Ok(done)
    }

    /// Writes a reminder into the history of each project whose current step is due within
    /// two working days, or overdue.
    async fn remind(&self, today: time::Date) -> Result<usize> {
        let calendar = self.calendar().await?;
        let soon = calendar.add_working_days(today, REMIND_DAYS);
        let mut n = 0;
        for p in self.store.list_projects(None).await? {
            let Some(due) = p.stage_due.as_deref().and_then(crate::parse_day) else { continue };
            let what = if due < today {
                format!("{}阶段已于 {due} 逾期", p.stage.label())
            } else if due <= soon {
                format!("{}阶段将于 {due} 到期", p.stage.label())
            } else {
                continue;
            };
            self.store.add_project_event(p.id, p.stage, "reminder", "system", &what).await?;
            n += 1;
        }
        Ok(n)
    }
}
