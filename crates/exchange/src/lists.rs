//! The three lists (需求清单, 责任清单, 负面清单) and objections: the demand list (a department's need,
//! assigned by the platform to a provider, answered with a catalog entry or an explanation,
//! then turned into a request), the responsibility list (who must provide what by when, and
//! whether it has), the negative list (entries never shared, with their legal basis) and
//! objections (a consumer flags wrong data; the provider corrects it, naming the library
//! version with the fix, or rejects it with a reason, by a working-day deadline).

use serde::{Deserialize, Serialize};
use tongshu_core::catalog::EntryStatus;
use tongshu_core::policy::Principal;
use tongshu_core::workdays::parse_day;
use tongshu_store::{Demand, GrantRecord, NewObjection, Objection, Responsibility, ShareRequest, StoreError};

use crate::{Exchange, ExchangeError, RequestInput, Result, beijing_today, evidence_now};

/// Working days a provider has to answer an objection.
pub const OBJECTION_DAYS: u32 = 5;

fn text(field: &str, s: &str, max: usize) -> Result<String> {
    let s = s.trim();
    if s.chars().count() < 2 || s.chars().count() > max {
        return Err(ExchangeError::invalid(field, format!("2 to {max} characters")));
    }
    Ok(s.to_owned())
}

/// An entry of the negative list (负面清单).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NegativeEntry {
    pub entry_id: i64,
    /// The entry's name (empty if the entry is gone).
    pub name: String,
    pub legal_basis: String,
}

/// A grant with the names shown beside it.
#[derive(Debug, Clone, Serialize)]
pub struct GrantDetail {
    pub grant: GrantRecord,
    pub entry: String,
    pub provider: String,
    pub consumer: String,
    pub tables: Vec<String>,
}

/// A record that is gone reads as an empty name; any other store error is an error.
fn missing<T: Default>(e: StoreError) -> Result<T> {
    match e {
        StoreError::NotFound(_) => Ok(T::default()),
        e => Err(e.into()),
    }
}

fn admin(who: &Principal) -> Result<()> {
    if !who.supervises_the_exchange() {
        return Err(ExchangeError::Forbidden("only platform administrators keep this list".into()));
    }
    Ok(())
}

fn department(who: &Principal) -> Result<()> {
    if !who.acts_for_a_department() {
        return Err(ExchangeError::Forbidden("only departments take part in sharing".into()));
    }
    Ok(())
}

/// How a duty on the responsibility list stands.
#[derive(Debug, Clone, Serialize)]
pub struct Duty {
    #[serde(flatten)]
    pub duty: Responsibility,
    /// done | pending | overdue
    pub progress: &'static str,
}

/// An objection as a consumer raises it.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ObjectionInput {
    pub table: String,
    /// Which record, e.g. `公民身份号码=371302199001011234`.
    pub record: String,
    pub item: Option<String>,
    /// What the value should be.
    pub expected: Option<String>,
    /// Why: a document, a registry, a decision.
    pub evidence: String,
}

impl Exchange {
    /// Posts a need on the demand list.
    pub async fn post_demand(&self, who: &Principal, title: &str, description: &str) -> Result<Demand> {
        department(who)?;
        let (title, description) = (text("title", title, 200)?, text("description", description, 5000)?);
        Ok(self.store.insert_demand(who.org_id, who.user_id, &title, &description).await?)
    }

    pub async fn demands(&self, who: &Principal) -> Result<Vec<Demand>> {
        if !who.is_government() {
            return Err(ExchangeError::Forbidden("the demand list is for departments".into()));
        }
        Ok(self.store.demands().await?)
    }

    /// The platform assigns a demand to the department expected to provide the data.
    pub async fn assign_demand(&self, who: &Principal, id: i64, provider_org_id: i64) -> Result<Demand> {
        admin(who)?;
        self.store
            .get_org(provider_org_id)
            .await
            .map_err(|_| ExchangeError::invalid("org_id", "no such organization"))?;
        Ok(self
            .store
            .update_demand(id, &["open", "assigned"], "assigned", Some(provider_org_id), None, None, None)
            .await?)
    }

    /// The assigned provider answers: a listed entry of its own that meets the need, or why
    /// there is none.
    pub async fn answer_demand(&self, who: &Principal, id: i64, entry_id: Option<i64>, answer: &str) -> Result<Demand> {
        let d = self.store.demand(id).await.map_err(|_| ExchangeError::NotFound(format!("demand {id}")))?;
        let provider =
            d.provider_org_id.ok_or_else(|| ExchangeError::Conflict(format!("demand {id} is not assigned yet")))?;
        if !who.answers_for(provider) {
            return Err(ExchangeError::Forbidden("only the assigned provider answers this demand".into()));
        }
        let answer = text("answer", answer, 5000)?;
        match entry_id {
            Some(e) => {
                let entry =
                    self.store.get_entry(e).await.map_err(|_| ExchangeError::invalid("entry_id", "no such entry"))?;
                if entry.status != EntryStatus::Listed || entry.org_id != provider {
                    return Err(ExchangeError::invalid("entry_id", "must be a listed entry of the provider"));
                }
                Ok(self.store.update_demand(id, &["assigned"], "matched", None, Some(e), Some(&answer), None).await?)
            }
            None => {
                Ok(self.store.update_demand(id, &["assigned"], "explained", None, None, Some(&answer), None).await?)
            }
        }
    }

    /// Turns a matched demand of the caller's department into a share request.
    pub async fn request_from_demand(&self, who: &Principal, id: i64, mut input: RequestInput) -> Result<ShareRequest> {
        let d = self.store.demand(id).await.map_err(|_| ExchangeError::NotFound(format!("demand {id}")))?;
        if d.org_id != who.org_id {
            return Err(ExchangeError::NotFound(format!("demand {id}")));
        }
        let entry = d.entry_id.filter(|_| d.status == "matched").ok_or_else(|| {
            ExchangeError::Conflict(format!("demand {id} is {}: only matched demands become requests", d.status))
        })?;
        if d.request_id.is_some() {
            return Err(ExchangeError::Conflict(format!("demand {id} has its request already")));
        }
        input.entry_id = entry;
        if input.purpose.trim().is_empty() {
            input.purpose = d.description.clone();
        }
        let r = self.request(who, &input).await?;
        self.store.update_demand(id, &["matched"], "matched", None, None, None, Some(r.id)).await?;
        Ok(r)
    }

    /// Records a duty: `org_id` must provide the described data by `due_on`.
    pub async fn add_duty(
        &self,
        who: &Principal,
        org_id: i64,
        title: &str,
        description: &str,
        due_on: &str,
    ) -> Result<Responsibility> {
        admin(who)?;
        self.store.get_org(org_id).await.map_err(|_| ExchangeError::invalid("org_id", "no such organization"))?;
        parse_day(due_on).ok_or_else(|| ExchangeError::invalid("due_on", format!("{due_on:?} is not YYYY-MM-DD")))?;
        let (title, description) = (text("title", title, 200)?, text("description", description, 5000)?);
        Ok(self.store.insert_responsibility(org_id, &title, &description, due_on, None, who.user_id).await?)
    }

    /// The provider names the entry that fulfils its duty.
    pub async fn fulfil_duty(&self, who: &Principal, id: i64, entry_id: i64) -> Result<()> {
        let duty = self.store.responsibilities().await?.into_iter().find(|d| d.id == id);
        let duty = duty.ok_or_else(|| ExchangeError::NotFound(format!("responsibility {id}")))?;
        if !who.answers_for(duty.org_id) {
            return Err(ExchangeError::Forbidden("only the responsible department fulfils this duty".into()));
        }
        let entry =
            self.store.get_entry(entry_id).await.map_err(|_| ExchangeError::invalid("entry_id", "no such entry"))?;
        if entry.org_id != duty.org_id {
            return Err(ExchangeError::invalid("entry_id", "must be an entry of the responsible department"));
        }
        Ok(self.store.set_responsibility_entry(id, entry_id).await?)
    }

    /// The responsibility list with each duty's progress: done once its entry is listed and
    /// has a table with rows; overdue after its day.
    pub async fn duties(&self) -> Result<Vec<Duty>> {
        let today = beijing_today().to_string();
        let mut out = Vec::new();
        for duty in self.store.responsibilities().await? {
            let done = match duty.entry_id {
                Some(e) => {
                    let listed = self.store.get_entry(e).await.is_ok_and(|x| x.status == EntryStatus::Listed);
                    listed && self.store.tables_of_entry(e).await?.iter().any(|t| t.rows > 0)
                }
                None => false,
            };
            let progress = if done {
                "done"
            } else if today > duty.due_on {
                "overdue"
            } else {
                "pending"
            };
            out.push(Duty { duty, progress });
        }
        Ok(out)
    }

    /// Puts an entry on the negative list; requests for it are refused from then on.
    /// The negative list: each entry with its name and legal basis.
    pub async fn negative_list(&self) -> Result<Vec<NegativeEntry>> {
        let mut out = Vec::new();
        for (entry_id, legal_basis) in self.store.negative_list().await? {
            let name = self.store.get_entry(entry_id).await.map(|e| e.body.name).or_else(missing)?;
            out.push(NegativeEntry { entry_id, name, legal_basis });
        }
        Ok(out)
    }

    /// Grants with the names a page shows beside them: the entry and its provider, the
    /// consumer, the tables the grant reaches. A name that no longer exists is empty.
    pub async fn grant_details(&self, grants: Vec<GrantRecord>) -> Result<Vec<GrantDetail>> {
        let mut out = Vec::new();
        for grant in grants {
            let (entry, provider) =
                self.store.get_entry(grant.entry_id).await.map(|e| (e.body.name, e.org_name)).or_else(missing)?;
            let consumer = self.store.get_org(grant.consumer_org_id).await.map(|o| o.name).or_else(missing)?;
            let tables = self.store.tables_of_entry(grant.entry_id).await?.into_iter().map(|t| t.name).collect();
            out.push(GrantDetail { grant, entry, provider, consumer, tables });
        }
        Ok(out)
    }

    pub async fn add_negative(&self, who: &Principal, entry_id: i64, legal_basis: &str) -> Result<()> {
        admin(who)?;
        self.store.get_entry(entry_id).await.map_err(|_| ExchangeError::invalid("entry_id", "no such entry"))?;
        let basis = text("legal_basis", legal_basis, 1000)?;
        Ok(self.store.put_negative(entry_id, &basis, who.user_id).await?)
    }

    pub async fn remove_negative(&self, who: &Principal, entry_id: i64) -> Result<()> {
        admin(who)?;
        if !self.store.remove_negative(entry_id).await? {
            return Err(ExchangeError::NotFound(format!("entry {entry_id} on the negative list")));
        }
        Ok(())
    }

    /// Raises an objection against a table the caller's organization may read.
    pub async fn object(&self, who: &Principal, input: &ObjectionInput) -> Result<Objection> {
        department(who)?;
        let consumer = crate::Consumer::user(who.org_id, who.user_id);
        let access = self.access(&consumer, &input.table).await?;
        if let Some(item) = &input.item
            && !access.items.contains(item)
        {
            return Err(ExchangeError::invalid("item", format!("{item:?} is not an item you receive")));
        }
        let due = self.calendar().await?.add_working_days(beijing_today(), OBJECTION_DAYS);
        let o = NewObjection {
            table_name: input.table.clone(),
            entry_id: access.entry.id,
            provider_org_id: access.entry.org_id,
            org_id: who.org_id,
            user_id: who.user_id,
            record: text("record", &input.record, 500)?,
            item: input.item.clone(),
            expected: input.expected.clone(),
            evidence: text("evidence", &input.evidence, 5000)?,
            due_on: due.to_string(),
        };
        let saved = self.store.insert_objection(&o).await?;
        let mut ev = evidence_now("request");
        (ev.org_id, ev.user_id, ev.subject) = (Some(who.org_id), Some(who.user_id), format!("objection:{}", saved.id));
        ev.detail = format!("objection to {} ({})", input.table, saved.record);
        self.store.append_evidence(&ev).await?;
        Ok(saved)
    }

    /// Objections the caller's organization raised or must answer (all, for the platform).
    pub async fn objections(&self, who: &Principal) -> Result<Vec<Objection>> {
        let all = who.sees_all_of_the_exchange();
        Ok(self.store.objections((!all).then_some(who.org_id)).await?)
    }

    /// The provider answers: `fixed_version` names the table version carrying the correction,
    /// or without it the objection is rejected and `answer` says why.
    pub async fn answer_objection(
        &self,
        who: &Principal,
        id: i64,
        fixed_version: Option<i64>,
        answer: &str,
    ) -> Result<Objection> {
        let o = self.store.objection(id).await.map_err(|_| ExchangeError::NotFound(format!("objection {id}")))?;
        if !who.answers_for(o.provider_org_id) {
            return Err(ExchangeError::Forbidden("only the provider answers this objection".into()));
        }
        let answer = text("answer", answer, 5000)?;
        if let Some(v) = fixed_version {
            let current = self.library.lake().info(&o.table_name).await?.version as i64;
            if v < 0 || v > current {
                return Err(ExchangeError::invalid(
                    "fixed_version",
                    format!("table {} has versions 0 to {current}", o.table_name),
                ));
            }
        }
        let on_time = beijing_today().to_string() <= o.due_on;
        let status = if fixed_version.is_some() { "corrected" } else { "rejected" };
        Ok(self.store.answer_objection(id, status, &answer, who.user_id, fixed_version, on_time).await?)
    }
}
