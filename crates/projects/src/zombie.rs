//! Zombie-system detection and rectification: HTTP probes of the systems' URLs (reachable,
//! response time, page changed), the platform's own evidence of activity (interface
//! calls, feeds, catalog updates), entered facts of new-media accounts, judged by the
//! configured rules; a finding opens a rectification ticket to the owning department with
//! a deadline, closed as fixed (re-checked), merged into another system, or stopped (after
//! the decommission checklist).

use serde::Serialize;
use sm3::{Digest, Sm3};
use tongshu_core::policy::Principal;
use tongshu_core::projects::zombie::{Severity, Signals, Verdict};
use tongshu_core::projects::{SystemStatus, decommission_label};
use tongshu_store::{ProbeRecord, SystemRecord, TicketRecord};

use crate::{ProjectsError, ProjectsService, Result, forbidden, invalid, parse_day};

/// The most of a page that is read to hash it.
const PAGE_LIMIT: usize = 4 << 20;

/// One probe's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    pub system_id: i64,
    pub url: String,
    pub ok: bool,
    pub status: Option<u16>,
    pub ms: u64,
    pub error: Option<String>,
}

/// A system's verdict after a check, and its ticket.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub system_id: i64,
    pub name: String,
    pub verdict: Verdict,
    pub ticket: Option<i64>,
    pub new_ticket: bool,
}

fn unix_now() -> i64 {
    tongshu_core::now().unix_timestamp()
}

fn days_since_day(day: &str, today: time::Date) -> Option<i64> {
    parse_day(day).map(|d| (today - d).whole_days())
}

fn days_since_ts(ts: &str, now: time::OffsetDateTime) -> Option<i64> {
    time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).ok().map(|t| (now - t).whole_days())
}

impl ProjectsService {
    /// Probes every URL of a system once: a GET within the probe timeout, its status,
    /// time and the SM3 of the page (to see whether it changes).
    pub async fn probe_system(&self, s: &SystemRecord) -> Result<Vec<ProbeResult>> {
        let mut out = Vec::new();
        for url in &s.urls {
            let started = std::time::Instant::now();
            let got = async {
                let resp = self.http.get(url).send().await?;
                let status = resp.status();
                let mut body = Vec::new();
                let mut resp = resp;
                while let Some(chunk) = resp.chunk().await? {
                    body.extend_from_slice(&chunk);
                    if body.len() > PAGE_LIMIT {
                        break;
                    }
                }
                Ok::<_, reqwest::Error>((status, body))
            }
            .await;
            let ms = started.elapsed().as_millis() as u64;
            let slow = ms > self.settings.rules.probe_timeout_secs * 1000;
            let (ok, status, hash, error) = match got {
                Ok((st, body)) => {
                    (st.as_u16() < 400 && !slow, Some(st.as_u16()), Some(hex::encode(Sm3::digest(&body))), None)
                }
                Err(e) => (false, None, None, Some(e.to_string())),
            };
            self.store
                .add_probe(&ProbeRecord {
                    system_id: s.id,
                    url: url.clone(),
                    at: unix_now(),
                    ok: i64::from(ok),
                    status: status.map(i64::from),
                    ms: ms as i64,
                    page_hash: hash.filter(|_| ok),
                })
                .await?;
            out.push(ProbeResult { system_id: s.id, url: url.clone(), ok, status, ms, error });
        }
        Ok(out)
    }

    /// Probes every system in use (the bureau; `serve` runs it on a schedule when
    /// configured).
    pub async fn probe_all(&self, who: &Principal) -> Result<Vec<ProbeResult>> {
        if !who.manages_projects() {
            return Err(forbidden("only the bureau probes the systems"));
        }
        self.probe_every_system().await
    }

    pub(crate) async fn probe_every_system(&self) -> Result<Vec<ProbeResult>> {
        let mut out = Vec::new();
        for s in self.store.list_systems(None).await?.iter().filter(|s| s.status != SystemStatus::Stopped) {
            out.extend(self.probe_system(s).await?);
        }
        Ok(out)
    }

    /// What is known of a system now.
    pub async fn signals(&self, s: &SystemRecord) -> Result<Signals> {
        let now = tongshu_core::now();
        let today = now.date();
        let measured_activity = !(s.entries.is_empty() && s.apps.is_empty());
        let days_since_activity = if measured_activity {
            match self.store.system_activity(&s.entries, &s.apps).await? {
                Some(t) => days_since_ts(&t, now),
                // Linked to the platform but never seen at work: since it was recorded.
                None => days_since_ts(&s.created_at, now),
            }
        } else {
            None
        };
        let week = self.store.probes_since(s.id, unix_now() - 7 * 86_400).await?;
        let probes = (!week.is_empty()).then(|| (week.len() as u32, week.iter().filter(|p| p.ok == 0).count() as u32));
        // Since when the page has been what it is now: the first probe of the current hash
        // after a different one (the last 60 days are looked at).
        let history = self.store.probes_since(s.id, unix_now() - 60 * 86_400).await?;
        let hashed: Vec<&ProbeRecord> = history.iter().filter(|p| p.page_hash.is_some()).collect();
        let days_page_unchanged = hashed.last().map(|last| {
            let since = hashed
                .iter()
                .rev()
                .take_while(|p| p.page_hash == last.page_hash)
                .last()
                .map(|p| p.at)
                .unwrap_or(last.at);
            (unix_now() - since) / 86_400
        });
        let duplicate_of = match s.duplicate_of {
            Some(other) => match self.store.get_system(other).await {
                Ok(o) if o.status != SystemStatus::Stopped => Some(o.name),
                _ => None,
            },
            None => None,
        };
        Ok(Signals {
            days_since_activity,
            probes,
            days_page_unchanged,
            days_since_post: s.last_post_on.as_deref().and_then(|d| days_since_day(d, today)),
            days_oldest_unanswered: s.oldest_unanswered_on.as_deref().and_then(|d| days_since_day(d, today)),
            // Use detached from the business: no project built it and no users are recorded.
            detached: s.project_id.is_none() && s.users.trim().is_empty(),
            duplicate_of,
            new_media: s.kind.is_new_media(),
        })
    }

    /// Judges every system that is not stopped; each finding opens a ticket to the owning
    /// department (one open ticket per system), due in the configured working days.
    pub async fn check_systems(&self, who: &Principal) -> Result<Vec<CheckResult>> {
        if !who.manages_projects() {
            return Err(forbidden("only the bureau runs the zombie check"));
        }
        self.check_all().await
    }

    /// The check itself (the daily schedule runs it as the platform).
    pub(crate) async fn check_all(&self) -> Result<Vec<CheckResult>> {
        let due = self.due_in(self.settings.ticket_days).await?;
        let mut out = Vec::new();
        for s in self.store.list_systems(None).await?.into_iter().filter(|s| s.status != SystemStatus::Stopped) {
            let verdict = self.settings.rules.judge(&self.signals(&s).await?);
            self.store.set_verdict(s.id, verdict.severity, &verdict.findings).await?;
            let (ticket, new_ticket) = if verdict.severity > Severity::Healthy {
                let (t, new) = self.store.open_ticket(s.id, verdict.severity, &verdict.findings, &due).await?;
                (Some(t.id), new)
            } else {
                (None, false)
            };
            out.push(CheckResult { system_id: s.id, name: s.name, verdict, ticket, new_ticket });
        }
        Ok(out)
    }

    /// Enters the facts the probes cannot see: a new-media account's last post, the day
    /// the oldest unanswered message came, another system it duplicates.
    pub async fn set_system_facts(
        &self,
        who: &Principal,
        id: i64,
        last_post_on: Option<&str>,
        oldest_unanswered_on: Option<&str>,
        duplicate_of: Option<i64>,
    ) -> Result<()> {
        let s = self.system(who, id).await?;
        if !who.proposes_for(s.org_id) {
            return Err(forbidden("only the bureau or the owning department enters a system's facts"));
        }
        for (field, v) in [("last_post_on", last_post_on), ("oldest_unanswered_on", oldest_unanswered_on)] {
            if v.is_some_and(|d| parse_day(d).is_none()) {
                return Err(invalid(field, "日期须为 YYYY-MM-DD"));
            }
        }
        if duplicate_of == Some(id) {
            return Err(invalid("duplicate_of", "不能与自身重复"));
        }
        if let Some(o) = duplicate_of {
            self.store.get_system(o).await.map_err(|_| invalid("duplicate_of", format!("系统 {o} 不存在")))?;
        }
        Ok(self.store.set_system_facts(id, last_post_on, oldest_unanswered_on, duplicate_of).await?)
    }

    /// The tickets `who` may read (the bureau and readers of all: every one; a department:
    /// its systems').
    pub async fn tickets(&self, who: &Principal) -> Result<Vec<TicketRecord>> {
        let all = self.store.list_tickets().await?;
        if who.reads_all_projects() {
            return Ok(all);
        }
        let mine: std::collections::HashSet<i64> = self.systems(who).await?.into_iter().map(|s| s.id).collect();
        Ok(all.into_iter().filter(|t| mine.contains(&t.system_id)).collect())
    }

    /// Closes a ticket (the owning department or the bureau): `fixed` only when a fresh
    /// check finds nothing; `merged` into another system in use; `stopped` only when the
    /// decommission checklist holds for each of its catalog entries (data archived into the
    /// library, entry delisted or moved to another system, grants revoked).
    pub async fn close_ticket(
        &self,
        who: &Principal,
        id: i64,
        outcome: &str,
        note: &str,
        merged_into: Option<i64>,
    ) -> Result<()> {
        let t = self.store.get_ticket(id).await?;
        let s = self.system(who, t.system_id).await?;
        if !who.proposes_for(s.org_id) {
            return Err(forbidden("only the owning department or the bureau closes its tickets"));
        }
        match outcome {
            "fixed" => {
                let verdict = self.settings.rules.judge(&self.signals(&s).await?);
                if verdict.severity > Severity::Healthy {
                    let why = verdict.findings.iter().map(|f| f.evidence.clone()).collect::<Vec<_>>().join("；");
                    return Err(invalid("outcome", format!("复查仍未通过：{why}")));
                }
                self.store.set_verdict(s.id, verdict.severity, &verdict.findings).await?;
            }
            "merged" => {
                let Some(into) = merged_into.filter(|o| *o != s.id) else {
                    return Err(invalid("merged_into", "须指明并入的系统"));
                };
                match self.store.get_system(into).await {
                    Ok(o) if o.status != SystemStatus::Stopped => {}
                    _ => return Err(invalid("merged_into", format!("系统 {into} 不存在或已停用"))),
                }
            }
            "stopped" => {
                let mut e = tongshu_core::FieldErrors::default();
                let others: Vec<SystemRecord> = self
                    .store
                    .list_systems(None)
                    .await?
                    .into_iter()
                    .filter(|o| o.id != s.id && o.status != SystemStatus::Stopped)
                    .collect();
                for entry in &s.entries {
                    let f = self.store.entry_facts(*entry).await?;
                    if f.tables == 0 || f.rows == 0 {
                        e.add(
                            "decommission.data_archived",
                            format!("{}：目录 {entry} 的数据未归档入库", decommission_label("data_archived")),
                        );
                    }
                    let moved = others.iter().any(|o| o.entries.contains(entry));
                    if f.status == "listed" && !moved {
                        e.add("decommission.entries_delisted", format!("目录 {entry} 仍上架且未移交其他系统"));
                    }
                    if f.live_grants > 0 {
                        e.add("decommission.grants_revoked", format!("目录 {entry} 仍有 {} 个有效授权", f.live_grants));
                    }
                }
                e.into_result(())?;
            }
            other => return Err(invalid("outcome", format!("{other:?}: 须为 fixed、merged 或 stopped"))),
        }
        self.store.close_ticket(id, outcome, note.trim(), merged_into, &who.username).await.map_err(ProjectsError::from)
    }
}
