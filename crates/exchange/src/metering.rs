//! Metering and operational figures from the evidence log, and the sharing catalog as a
//! department sees it.

use serde::Serialize;
use tongshu_core::catalog::{EntryStatus, SharingType};
use tongshu_core::policy::Principal;
use tongshu_store::{EntryFilter, UsageRow};

use crate::{Exchange, ExchangeError, Result};

/// Operational figures of one interface.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterfaceOps {
    pub subject: String,
    pub calls: usize,
    pub errors: usize,
    /// Share of calls answered 4xx/5xx, 0 to 1.
    pub error_rate: f64,
    pub p50_ms: i64,
    pub p95_ms: i64,
    pub p99_ms: i64,
}

/// A caller with many verifications without a match on one interface today: a burst of
/// guesses that the provider should look at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyFlag {
    pub subject: String,
    /// `app:<id>` or `user:<id>`.
    pub caller: String,
    pub misses: i64,
    /// The caller can verify no more today.
    pub at_limit: bool,
}

/// One entry of the sharing catalog with what the caller's department has of it.
#[derive(Debug, Clone, Serialize)]
pub struct SharedEntry {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub org_id: i64,
    pub org_name: String,
    pub sharing_type: SharingType,
    pub condition: Option<String>,
    /// Why it is not shared (its own basis, or the negative list's).
    pub legal_basis: Option<String>,
    pub requestable: bool,
    pub items: Vec<String>,
    /// Its data interfaces (library tables).
    pub interfaces: Vec<String>,
    /// Custom interfaces (SQL views) over it.
    pub views: Vec<String>,
    /// none | pending | granted | own
    pub mine: &'static str,
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

impl Exchange {
    /// The subjects (`table:<name>`) a caller may see figures of: all for the platform and
    /// auditors, else its own tables'.
    async fn own_subjects(&self, who: &Principal) -> Result<Option<Vec<String>>> {
        if who.sees_all_of_the_exchange() {
            return Ok(None);
        }
        let tables = self.store.tables_of_org(who.org_id).await?;
        Ok(Some(tables.into_iter().map(|t| format!("table:{}", t.name)).collect()))
    }

    /// Evidence records matching `f` that `who` may read, newest first, and the chain's
    /// head. Decided here for every page and API: administrators and auditors read all;
    /// others the records of their organization's own calls and actions and those about its
    /// tables.
    pub async fn evidence(
        &self,
        who: &Principal,
        mut f: tongshu_store::EvidenceFilter,
    ) -> Result<(Vec<tongshu_core::evidence::EvidenceRecord>, (i64, String))> {
        if !who.is_government() {
            return Err(ExchangeError::Forbidden("the evidence log is for departments".into()));
        }
        if let tongshu_core::policy::EvidenceScope::Organization(org) = who.evidence_scope() {
            let tables = self.store.tables_of_org(org).await?;
            f.visible_to = Some((org, tables.into_iter().map(|t| format!("table:{}", t.name)).collect()));
        }
        let head = self.store.evidence_head().await?;
        Ok((self.store.evidence_search(&f).await?, head))
    }

    /// Callers with a burst of verification misses today on the caller's tables (all tables
    /// for the platform and auditors).
    pub async fn verify_flags(&self, who: &Principal) -> Result<Vec<VerifyFlag>> {
        if !who.is_government() {
            return Err(ExchangeError::Forbidden("metering is for departments".into()));
        }
        let day = crate::beijing_today().to_string();
        let min = self.settings.verify_flag_misses.max(1);
        let own = self.own_subjects(who).await?;
        Ok(self
            .store
            .verify_misses(own.as_deref(), &day, min)
            .await?
            .into_iter()
            .map(|(caller, subject, misses)| VerifyFlag {
                at_limit: misses >= self.settings.verify_misses_per_day,
                subject,
                caller,
                misses,
            })
            .collect())
    }

    /// Usage per interface, consumer and day over the last `days` days: of the caller's own
    /// tables (as provider) and of its own calls (as consumer); everything for the platform.
    pub async fn usage(&self, who: &Principal, days: i64) -> Result<Vec<UsageRow>> {
        if !who.is_government() {
            return Err(ExchangeError::Forbidden("metering is for departments".into()));
        }
        let since = (tongshu_core::now() - time::Duration::days(days.clamp(1, 366))).date().to_string();
        let own = self.own_subjects(who).await?;
        let rows = self.store.usage_rows(&since).await?;
        Ok(match own {
            None => rows,
            Some(own) => {
                rows.into_iter().filter(|r| own.contains(&r.subject) || r.org_id == Some(who.org_id)).collect()
            }
        })
    }

    /// Latency percentiles and error rates per interface over the last `days` days.
    pub async fn operations(&self, who: &Principal, days: i64) -> Result<Vec<InterfaceOps>> {
        if !who.is_government() {
            return Err(ExchangeError::Forbidden("operational figures are for departments".into()));
        }
        let since = (tongshu_core::now() - time::Duration::days(days.clamp(1, 366))).date().to_string();
        let own = self.own_subjects(who).await?;
        let mut by: std::collections::BTreeMap<String, (Vec<i64>, usize)> = Default::default();
        for (subject, ms, status) in self.store.call_durations(&since, 200_000).await? {
            if own.as_ref().is_some_and(|o| !o.contains(&subject)) {
                continue;
            }
            let e = by.entry(subject).or_default();
            e.0.push(ms);
            e.1 += usize::from(status >= 400);
        }
        Ok(by
            .into_iter()
            .map(|(subject, (mut ms, errors))| {
                ms.sort_unstable();
                InterfaceOps {
                    calls: ms.len(),
                    errors,
                    error_rate: errors as f64 / ms.len().max(1) as f64,
                    p50_ms: percentile(&ms, 0.50),
                    p95_ms: percentile(&ms, 0.95),
                    p99_ms: percentile(&ms, 0.99),
                    subject,
                }
            })
            .collect())
    }

    /// Every listed entry with its sharing type; not-shared ones (by type or negative list)
    /// show their legal basis and cannot be requested.
    pub async fn sharing_catalog(
        &self,
        who: &Principal,
        text: Option<String>,
        org_id: Option<i64>,
    ) -> Result<Vec<SharedEntry>> {
        if !who.is_government() {
            return Err(ExchangeError::Forbidden("the sharing catalog is for departments".into()));
        }
        let filter =
            EntryFilter { statuses: vec![EntryStatus::Listed], text, org_id, limit: 1000, ..Default::default() };
        let entries = self.store.list_entries(&filter).await?.entries;
        let negative: std::collections::HashMap<i64, String> = self.store.negative_list().await?.into_iter().collect();
        let mine = self
            .store
            .share_requests(&tongshu_store::RequestFilter { consumer_org_id: Some(who.org_id), ..Default::default() })
            .await?;
        let tables = self.store.list_tables().await?;
        let views = self.store.views().await?;
        Ok(entries
            .into_iter()
            .map(|e| {
                let blocked = negative.get(&e.id).cloned();
                let not_shared = e.body.sharing.kind == SharingType::NotShared || blocked.is_some();
                let status = if e.org_id == who.org_id {
                    "own"
                } else {
                    mine.iter().filter(|r| r.entry_id == e.id).map(|r| r.status.as_str()).fold("none", |acc, s| match (
                        acc, s,
                    ) {
                        (_, "granted") | ("granted", _) => "granted",
                        (_, "pending") | ("pending", _) => "pending",
                        _ => "none",
                    })
                };
                SharedEntry {
                    id: e.id,
                    code: e.code.to_string(),
                    name: e.body.name.clone(),
                    org_id: e.org_id,
                    org_name: e.org_name.clone(),
                    sharing_type: e.body.sharing.kind,
                    condition: e.body.sharing.condition.clone(),
                    legal_basis: blocked.or_else(|| not_shared.then(|| e.body.sharing.legal_basis.clone()).flatten()),
                    requestable: !not_shared && e.org_id != who.org_id,
                    items: e.body.items.iter().map(|i| i.name.clone()).collect(),
                    interfaces: tables.iter().filter(|t| t.entry_id == Some(e.id)).map(|t| t.name.clone()).collect(),
                    views: views.iter().filter(|v| v.entry_id == e.id).map(|v| v.name.clone()).collect(),
                    mine: status,
                }
            })
            .collect())
    }
}
