//! Share requests and grants (《政务信息资源共享管理暂行办法》): unconditional entries are granted at once,
//! conditional ones wait for the provider's data officer, who approves (possibly narrowing
//! items, rows or period) or refuses with a reason by a deadline counted in working days.
//! Not-shared entries cannot be requested. Every step leaves an evidence record.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use tongshu_core::catalog::{CatalogEntry, EntryStatus, SharingType};
use tongshu_core::policy::Principal;
use tongshu_core::sharing::{GrantStatus, RequestStatus};
use tongshu_core::workdays::parse_day;
use tongshu_store::{GrantRecord, NewGrant, NewShareRequest, RequestFilter, ShareRequest};

use crate::access::{ScopeCondition, check_scope};
use crate::{Exchange, ExchangeError, Result, beijing_today, evidence_now};

/// A request as a consumer department files it.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    /// The catalog entry whose data is requested.
    pub entry_id: i64,
    /// What the data is for (required, at most 2000 characters).
    #[serde(default)]
    pub purpose: String,
    /// The law or document the request rests on (required for conditionally shared data).
    #[serde(default)]
    pub legal_basis: Option<String>,
    /// Items wanted (empty: all).
    #[serde(default)]
    pub items: Vec<String>,
    /// Rows wanted (empty: all).
    #[serde(default)]
    pub row_filter: Vec<ScopeCondition>,
    /// `YYYY-MM-DD`; default today.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// `YYYY-MM-DD` (last day of use); default a year on.
    #[serde(default)]
    pub valid_to: Option<String>,
    /// The consumer's information system that will use the data.
    #[serde(default)]
    pub consuming_system: Option<String>,
    /// Only this app of the consumer may use the grant (default: all of its apps and users).
    #[serde(default)]
    pub app_id: Option<i64>,
}

/// A provider's answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// Approve (true) or refuse (false).
    pub approve: bool,
    /// The reason for a refusal (required), or a note with an approval.
    #[serde(default)]
    pub answer: String,
    /// Narrow the items to these (a subset of those requested).
    #[serde(default)]
    pub items: Option<Vec<String>>,
    /// Further row conditions, added to those requested.
    #[serde(default)]
    pub row_filter: Vec<ScopeCondition>,
    /// End the grant earlier (`YYYY-MM-DD`, not after the requested end).
    #[serde(default)]
    pub valid_to: Option<String>,
    /// Items the consumer may see in clear (default: none; masking rules apply).
    #[serde(default)]
    pub clear_items: Vec<String>,
    /// The items a verification must give values for, all together (e.g. the ID number
    /// and the name); default: every item the consumer sees masked.
    #[serde(default)]
    pub verify_items: Option<Vec<String>>,
}

/// What the supervision run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Supervision {
    /// Requests whose provider was reminded (due within the reminder window).
    pub reminded: Vec<i64>,
    /// Overdue requests escalated to the platform administrators.
    pub escalated: Vec<i64>,
}

fn beijing() -> time::UtcOffset {
    time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC)
}

/// The start of a Beijing day.
fn day_start(field: &str, s: &str) -> Result<OffsetDateTime> {
    let d = parse_day(s.trim()).ok_or_else(|| ExchangeError::invalid(field, format!("{s:?} is not YYYY-MM-DD")))?;
    Ok(d.midnight().assume_offset(beijing()))
}

fn json(v: &impl Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Refuses the first of `list` (the field `field`) that is not among `allowed`.
fn all_among(list: &[String], allowed: &[String], field: &str, why: &str) -> Result<()> {
    match list.iter().enumerate().find(|(_, item)| !allowed.contains(item)) {
        Some((i, item)) => Err(ExchangeError::invalid(&format!("{field}[{i}]"), format!("{item:?} {why}"))),
        None => Ok(()),
    }
}

impl Exchange {
    async fn requestable(&self, entry_id: i64) -> Result<CatalogEntry> {
        let entry =
            self.store.get_entry(entry_id).await.map_err(|_| ExchangeError::NotFound(format!("entry {entry_id}")))?;
        if entry.status != EntryStatus::Listed {
            return Err(ExchangeError::NotFound(format!("entry {entry_id}")));
        }
        Ok(entry)
    }

    /// Files a request. Unconditional entries are granted at once; not-shared entries are
    /// refused with their legal basis (and the refusal logged).
    pub async fn request(&self, who: &Principal, input: &RequestInput) -> Result<ShareRequest> {
        if !who.acts_for_a_department() {
            return Err(ExchangeError::Forbidden("only departments request shared data".into()));
        }
        let entry = self.requestable(input.entry_id).await?;
        if entry.org_id == who.org_id {
            return Err(ExchangeError::invalid("entry_id", "this is your own organization's data"));
        }
        let negative = self.store.negative_basis(entry.id).await?;
        if entry.body.sharing.kind == SharingType::NotShared || negative.is_some() {
            let basis = negative.or_else(|| entry.body.sharing.legal_basis.clone()).unwrap_or_default();
            let mut ev = evidence_now("request");
            (ev.org_id, ev.user_id, ev.status) = (Some(who.org_id), Some(who.user_id), 403);
            ev.subject = format!("entry:{}", entry.id);
            ev.detail = format!("refused: not shared ({basis})");
            self.store.append_evidence(&ev).await?;
            return Err(ExchangeError::Forbidden(format!("{:?} is not shared: {basis}", entry.body.name)));
        }
        let purpose = input.purpose.trim();
        if purpose.chars().count() < 2 || purpose.chars().count() > 2000 {
            return Err(ExchangeError::invalid("purpose", "say what the data is for (2 to 2000 characters)"));
        }
        let all: Vec<String> = entry.body.items.iter().map(|i| i.name.clone()).collect();
        let items = if input.items.is_empty() { all.clone() } else { input.items.clone() };
        for (i, item) in items.iter().enumerate() {
            if !all.contains(item) {
                return Err(ExchangeError::invalid(
                    &format!("items[{i}]"),
                    format!("{item:?} is not an item of this entry"),
                ));
            }
        }
        check_scope(&input.row_filter, &entry, "row_filter")?;
        let today = beijing_today();
        let from = match &input.valid_from {
            Some(s) => day_start("valid_from", s)?,
            None => today.midnight().assume_offset(beijing()),
        };
        let to = match &input.valid_to {
            Some(s) => day_start("valid_to", s)? + Duration::days(1),
            None => from + Duration::days(365),
        };
        if to <= from || to - from > Duration::days(3 * 366) {
            return Err(ExchangeError::invalid("valid_to", "must be after valid_from and within three years"));
        }
        if let Some(app) = input.app_id {
            let a = self.store.exchange_app(app).await.map_err(|_| ExchangeError::invalid("app_id", "no such app"))?;
            if a.org_id != who.org_id {
                return Err(ExchangeError::invalid("app_id", "not an app of your organization"));
            }
        }
        let unconditional = entry.body.sharing.kind == SharingType::Unconditional;
        if !unconditional && input.legal_basis.as_deref().is_none_or(|b| b.trim().is_empty()) {
            return Err(ExchangeError::invalid("legal_basis", "conditional sharing needs the legal basis of the use"));
        }
        let calendar = self.calendar().await?;
        let due = calendar.add_working_days(today, self.settings.deadline_days);
        let new = NewShareRequest {
            entry_id: entry.id,
            provider_org_id: entry.org_id,
            consumer_org_id: who.org_id,
            user_id: who.user_id,
            app_id: input.app_id,
            purpose: purpose.to_owned(),
            legal_basis: input.legal_basis.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
            items: items.clone(),
            row_filter: input.row_filter.clone(),
            valid_from: from,
            valid_to: to,
            consuming_system: input.consuming_system.clone(),
            due_on: due.to_string(),
        };
        let mut ev = evidence_now("request");
        (ev.org_id, ev.user_id, ev.app_id) = (Some(who.org_id), Some(who.user_id), input.app_id);
        ev.detail = json(&serde_json::json!({"entry": entry.id, "items": items, "row_filter": input.row_filter}));
        let id = self.store.insert_share_request(&new, ev).await?;
        if unconditional {
            let grant = NewGrant {
                request_id: Some(id),
                entry_id: entry.id,
                consumer_org_id: who.org_id,
                app_id: input.app_id,
                items: new.items.clone(),
                clear_items: vec![],
                row_filter: new.row_filter.clone(),
                verify_items: None,
                valid_from: from,
                valid_to: to,
            };
            let mut ev = evidence_now("grant");
            (ev.org_id, ev.user_id) = (Some(who.org_id), Some(who.user_id));
            ev.subject = format!("request:{id}");
            ev.detail = "granted at once: unconditional sharing".into();
            self.store.answer_share_request(id, who.user_id, "无条件共享，自动授权", true, Some(&grant), ev).await?;
        }
        Ok(self.store.share_request(id).await?)
    }

    /// A request, for its consumer organization, its provider and administrators.
    pub async fn request_of(&self, who: &Principal, id: i64) -> Result<ShareRequest> {
        let r = self.store.share_request(id).await?;
        if !(who.sees_exchange_of(r.provider_org_id) || who.sees_exchange_of(r.consumer_org_id)) {
            return Err(ExchangeError::NotFound(format!("request {id}")));
        }
        Ok(r)
    }

    /// Requests filed by (`provider = false`) or addressed to the caller's organization.
    pub async fn requests(
        &self,
        who: &Principal,
        provider: bool,
        status: Option<RequestStatus>,
    ) -> Result<Vec<ShareRequest>> {
        let f = RequestFilter {
            provider_org_id: provider.then_some(who.org_id),
            consumer_org_id: (!provider).then_some(who.org_id),
            status,
            ..Default::default()
        };
        Ok(self.store.share_requests(&f).await?)
    }

    /// Approves (possibly narrowed) or refuses a pending request; the answer's timeliness
    /// against the working-day deadline is recorded.
    pub async fn decide(&self, who: &Principal, id: i64, d: &DecisionInput) -> Result<ShareRequest> {
        let r = self.request_of(who, id).await?;
        if !who.answers_for(r.provider_org_id) {
            return Err(ExchangeError::Forbidden("only the provider's data officers answer this request".into()));
        }
        if r.status != RequestStatus::Pending {
            return Err(ExchangeError::Conflict(format!("request {id} is already {}", r.status)));
        }
        let answer = d.answer.trim();
        if !d.approve && answer.chars().count() < 2 {
            return Err(ExchangeError::invalid("answer", "a refusal must give its reason"));
        }
        let on_time = beijing_today().to_string() <= r.due_on;
        let entry = self.store.get_entry(r.entry_id).await?;
        let mut ev = evidence_now("grant");
        (ev.org_id, ev.user_id) = (Some(r.consumer_org_id), Some(who.user_id));
        ev.subject = format!("request:{id}");
        if !d.approve {
            ev.detail = format!("refused: {answer}");
            self.store.answer_share_request(id, who.user_id, answer, on_time, None, ev).await?;
            return Ok(self.store.share_request(id).await?);
        }
        let requested = r.items.clone();
        let items = match &d.items {
            Some(narrowed) => {
                all_among(narrowed, &requested, "items", "was not requested")?;
                if narrowed.is_empty() {
                    return Err(ExchangeError::invalid("items", "approve at least one item, or refuse"));
                }
                narrowed.clone()
            }
            None => requested,
        };
        all_among(&d.clear_items, &items, "clear_items", "is not granted")?;
        if let Some(v) = &d.verify_items {
            all_among(v, &items, "verify_items", "is not granted")?;
            if v.is_empty() {
                return Err(ExchangeError::invalid("verify_items", "name at least one item, or leave it out"));
            }
        }
        check_scope(&d.row_filter, &entry, "row_filter")?;
        let mut scope = r.row_filter.clone();
        scope.extend(d.row_filter.iter().cloned());
        let valid_to = match &d.valid_to {
            Some(s) => (day_start("valid_to", s)? + Duration::days(1)).min(r.valid_to),
            None => r.valid_to,
        };
        if valid_to <= r.valid_from {
            return Err(ExchangeError::invalid("valid_to", "must be after the start of the period"));
        }
        let grant = NewGrant {
            request_id: Some(id),
            entry_id: r.entry_id,
            consumer_org_id: r.consumer_org_id,
            app_id: r.app_id,
            items: items.clone(),
            clear_items: d.clear_items.clone(),
            row_filter: scope.clone(),
            verify_items: d.verify_items.clone(),
            valid_from: r.valid_from,
            valid_to,
        };
        ev.detail = json(
            &serde_json::json!({"approved": true, "items": items, "row_filter": scope, "clear_items": d.clear_items}),
        );
        self.store.answer_share_request(id, who.user_id, answer, on_time, Some(&grant), ev).await?;
        Ok(self.store.share_request(id).await?)
    }

    /// Grants held by the caller's organization (`provider = false`) or given on its data.
    pub async fn grants(&self, who: &Principal, provider: bool) -> Result<Vec<GrantRecord>> {
        let (c, p) = if provider { (None, Some(who.org_id)) } else { (Some(who.org_id), None) };
        Ok(self.store.grants_list(c, p).await?)
    }

    /// A grant with its history, for both sides and administrators.
    pub async fn grant_of(&self, who: &Principal, id: i64) -> Result<(GrantRecord, Vec<tongshu_store::GrantChange>)> {
        let g = self.store.grant(id).await?;
        let entry = self.store.get_entry(g.entry_id).await?;
        if !(who.sees_exchange_of(g.consumer_org_id) || who.sees_exchange_of(entry.org_id)) {
            return Err(ExchangeError::NotFound(format!("grant {id}")));
        }
        let history = self.store.grant_history(id).await?;
        Ok((g, history))
    }

    /// Revokes a grant at once (`valid_to: None`) or renews it to a new last day.
    pub async fn change_grant(
        &self,
        who: &Principal,
        id: i64,
        renew_to: Option<&str>,
        reason: &str,
    ) -> Result<GrantRecord> {
        let (mut g, _) = self.grant_of(who, id).await?;
        let entry = self.store.get_entry(g.entry_id).await?;
        if !who.answers_for(entry.org_id) {
            return Err(ExchangeError::Forbidden("only the provider's data officers change this grant".into()));
        }
        let action = match renew_to {
            Some(day) => {
                let to = day_start("valid_to", day)? + Duration::days(1);
                if to <= tongshu_core::now() {
                    return Err(ExchangeError::invalid("valid_to", "a renewal must end in the future"));
                }
                g.valid_to = to;
                "renewed"
            }
            None => {
                g.status = GrantStatus::Revoked;
                "revoked"
            }
        };
        let mut ev = evidence_now("grant");
        (ev.org_id, ev.user_id) = (Some(g.consumer_org_id), Some(who.user_id));
        ev.subject = format!("grant:{id}");
        ev.detail = format!("{action}: {}", reason.trim());
        self.store.change_grant(id, who.user_id, action, &g, ev).await?;
        Ok(self.store.grant(id).await?)
    }

    /// Reminds providers of requests due soon and escalates overdue ones (once each), as of
    /// `today`. Runs on the schedule; the supervision page lists what is overdue.
    pub async fn supervise(&self, today: time::Date) -> Result<Supervision> {
        let calendar = self.calendar().await?;
        let pending = self
            .store
            .share_requests(&RequestFilter { status: Some(RequestStatus::Pending), ..Default::default() })
            .await?;
        let mut out = Supervision::default();
        for r in pending {
            let Some(due) = parse_day(&r.due_on) else { continue };
            if today > due {
                if r.escalated_at.is_none() {
                    self.store.mark_request(r.id, true).await?;
                    tracing::warn!(request = r.id, due = %r.due_on, "share request overdue: escalated");
                    out.escalated.push(r.id);
                }
            } else if r.reminded_at.is_none() && calendar.working_days_between(today, due) <= self.settings.remind_days
            {
                self.store.mark_request(r.id, false).await?;
                out.reminded.push(r.id);
            }
        }
        Ok(out)
    }

    /// How many answers were given on time and how many late: by every provider for the
    /// platform and auditors, else by the caller's organization.
    pub async fn timeliness(&self, who: &Principal) -> Result<(usize, usize)> {
        let all = who.sees_all_of_the_exchange();
        let answered = self.store.share_requests(&RequestFilter::default()).await?;
        Ok(answered.iter().filter(|r| all || r.provider_org_id == who.org_id).fold((0, 0), |(a, b), r| {
            match r.on_time {
                Some(true) => (a + 1, b),
                Some(false) => (a, b + 1),
                None => (a, b),
            }
        }))
    }

    /// Pending requests past their due day: all of them for the platform and auditors (the
    /// supervision page), else those the caller's organization filed or must answer.
    pub async fn overdue(&self, who: &Principal) -> Result<Vec<ShareRequest>> {
        let f = RequestFilter { due_before: Some(beijing_today().to_string()), ..Default::default() };
        let all = self.store.share_requests(&f).await?;
        Ok(if who.sees_all_of_the_exchange() {
            all
        } else {
            all.into_iter().filter(|r| r.provider_org_id == who.org_id || r.consumer_org_id == who.org_id).collect()
        })
    }
}
