//! What a consumer may see of a table, and calls shaped by it: only granted items, the
//! grant's row scope always applied, every item masked unless the grant shows it in clear.

use std::collections::BTreeMap;

use time::OffsetDateTime;
use tongshu_core::catalog::{CatalogEntry, EntryStatus, SharingType};
use tongshu_core::masking::{Mask, MaskKey, MaskRule, Masks, mask_for};
use tongshu_lake::{Condition, Op, RowPage, RowQuery};
use tongshu_store::{GrantRecord, Stamp};

use crate::{Exchange, ExchangeError, Result};

/// Who is calling a data interface: an organization, through one of its apps or as a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub org_id: i64,
    pub app_id: Option<i64>,
    pub user_id: Option<i64>,
    /// The store's change counters when the call was admitted (by [`Exchange::call`]);
    /// `None` outside a call: [`Exchange::access`] reads them.
    pub(crate) stamp: Option<Stamp>,
}

impl Consumer {
    /// A department user acting for its organization.
    pub fn user(org_id: i64, user_id: i64) -> Self {
        Consumer { org_id, app_id: None, user_id: Some(user_id), stamp: None }
    }

    /// Who this caller is for per-caller limits: its app, else its user, else its organization.
    pub fn key(&self) -> String {
        match (self.app_id, self.user_id) {
            (Some(app), _) => format!("app:{app}"),
            (None, Some(user)) => format!("user:{user}"),
            (None, None) => format!("org:{}", self.org_id),
        }
    }
}

pub use tongshu_core::sharing::ScopeCondition;

/// Checks a row scope against the entry's items.
pub(crate) fn check_scope(scope: &[ScopeCondition], entry: &CatalogEntry, field: &str) -> Result<()> {
    for (i, c) in scope.iter().enumerate() {
        if !entry.body.items.iter().any(|it| it.name == c.column) {
            return Err(ExchangeError::invalid(
                &format!("{field}[{i}].column"),
                format!("{:?} is not an item of this entry", c.column),
            ));
        }
        if !matches!(c.op.as_str(), "eq" | "in") && Op::parse(&c.op).is_none() {
            return Err(ExchangeError::invalid(
                &format!("{field}[{i}].op"),
                format!("{:?}: use eq, in, ne, gt, gte, lt, lte, contains or isnull", c.op),
            ));
        }
    }
    Ok(())
}

/// What one caller may see of one table.
#[derive(Debug, Clone)]
pub struct Access {
    pub table: String,
    pub entry: CatalogEntry,
    /// `None` for the table's own organization, which sees everything in clear.
    pub grant: Option<GrantRecord>,
    /// The items it may see, in the table's order.
    pub items: Vec<String>,
    pub scope: Vec<ScopeCondition>,
    pub masks: Masks,
    /// The items a verification must give values for, all of them (see
    /// [`Exchange::verify`]); empty for the owner, who sees everything anyway.
    pub verify_items: Vec<String>,
}

impl Access {
    fn check_item(&self, column: &str, what: &str) -> Result<()> {
        if self.items.iter().any(|i| i == column) {
            Ok(())
        } else {
            Err(ExchangeError::Forbidden(format!("{what} {column:?} is not an item of your grant")))
        }
    }

    /// Refuses `what` on an item the caller sees only masked: no answer may depend on the
    /// clear value of such an item (a range walk on a masked ID number would reveal it
    /// digit by digit).
    fn check_clear(&self, column: &str, what: &str) -> Result<()> {
        self.check_item(column, what)?;
        if self.masks.hides(column) {
            return Err(ExchangeError::Forbidden(format!(
                "{what} {column:?} is not allowed: your grant shows it masked ({}); only verification tests masked values",
                self.masks.of(column)
            )));
        }
        Ok(())
    }

    /// Narrows `q` to this access: granted columns only (all of them when none are chosen),
    /// each named once; filters, sorts and distinct rows only on items the caller sees in
    /// clear; no free-text search; and the grant's row scope added to whatever the caller
    /// asked.
    pub fn shape(&self, q: &mut RowQuery) -> Result<()> {
        if q.text.as_deref().is_some_and(|t| !t.trim().is_empty()) {
            return Err(ExchangeError::invalid(
                "q",
                "free-text search is not offered here; filter an item with __contains",
            ));
        }
        match &q.columns {
            None => q.columns = Some(self.items.clone()),
            Some(cols) => {
                if let Some(twice) = tongshu_lake::repeated(cols) {
                    return Err(ExchangeError::invalid(
                        "select",
                        format!("{twice:?} is named twice; name each item once"),
                    ));
                }
                for c in cols {
                    self.check_item(c, "column")?;
                }
            }
        }
        for (c, _) in &q.equals {
            self.check_clear(c, "filter on")?;
        }
        for c in &q.conditions {
            self.check_clear(&c.column, "filter on")?;
        }
        for (c, _) in &q.sort {
            self.check_clear(c, "sort on")?;
        }
        if q.distinct {
            for c in q.columns.iter().flatten() {
                self.check_clear(c, "distinct rows of")?;
            }
        }
        for s in &self.scope {
            shape_scope(s, q)?;
        }
        Ok(())
    }
}

/// Adds one condition of a grant's row scope to `q`.
fn shape_scope(s: &ScopeCondition, q: &mut RowQuery) -> Result<()> {
    match s.op.as_str() {
        "eq" => q.equals.push((s.column.clone(), vec![s.value.clone()])),
        "in" => q.equals.push((s.column.clone(), s.value.split(',').map(str::to_owned).collect())),
        op => q.conditions.push(Condition {
            column: s.column.clone(),
            op: Op::parse(op).ok_or_else(|| ExchangeError::Conflict(format!("grant scope op {op:?}")))?,
            value: s.value.clone(),
        }),
    }
    Ok(())
}

impl Exchange {
    /// The entry a table belongs to, if it is listed, and the table's columns in order (from
    /// the store's record of the table, kept current by every write: no Delta log read).
    pub(crate) async fn shared_entry_of(&self, table: &str) -> Result<(CatalogEntry, Vec<String>)> {
        let rec =
            self.store.get_table(table).await?.ok_or_else(|| ExchangeError::NotFound(format!("table {table}")))?;
        let entry_id = rec.entry_id.ok_or_else(|| ExchangeError::NotFound(format!("interface {table}")))?;
        let entry = self.store.get_entry(entry_id).await?;
        if entry.status != EntryStatus::Listed {
            return Err(ExchangeError::NotFound(format!("interface {table}")));
        }
        Ok((entry, rec.columns.into_iter().map(|c| c.name).collect()))
    }

    /// Adds a masking rule (administrators); tried after the existing ones.
    pub async fn add_mask_rule(&self, who: &tongshu_core::policy::Principal, rule: &MaskRule) -> Result<()> {
        if !who.supervises_the_exchange() {
            return Err(ExchangeError::Forbidden("only platform administrators keep the masking rules".into()));
        }
        if rule.name.trim().is_empty() || rule.patterns.split('|').all(|p| p.trim().is_empty()) {
            return Err(ExchangeError::invalid(
                "patterns",
                "name the rule and give parts of item names, separated by |",
            ));
        }
        let grading = rule.min_grading.as_str();
        self.store.add_mask_rule(rule.name.trim(), rule.patterns.trim(), &rule.mask.to_string(), grading).await?;
        Ok(())
    }

    pub async fn mask_rules(&self) -> Result<Vec<MaskRule>> {
        self.rules().await
    }

    pub(crate) async fn rules(&self) -> Result<Vec<MaskRule>> {
        Ok(self
            .store
            .mask_rules()
            .await?
            .into_iter()
            .filter_map(|(_, name, patterns, mask, grading)| {
                Some(MaskRule {
                    name,
                    patterns,
                    mask: Mask::parse(&mask)?,
                    min_grading: <tongshu_core::catalog::Grading as tongshu_core::catalog::Vocabulary>::parse(
                        &grading,
                    )?,
                })
            })
            .collect())
    }

    /// What `who` may see of `columns` of an interface (a table or a view) of `entry`.
    pub(crate) async fn access_to(
        &self,
        who: &Consumer,
        table: &str,
        entry: CatalogEntry,
        columns: Vec<String>,
    ) -> Result<Access> {
        Ok(self.access_until(who, table, entry, columns, tongshu_core::now()).await?.0)
    }

    /// [`Self::access_to`] at `now`, and until when it holds by the clock: the end of the
    /// grant, or the start of a newer grant that would then count (`None`: for ever).
    pub(crate) async fn access_until(
        &self,
        who: &Consumer,
        table: &str,
        entry: CatalogEntry,
        columns: Vec<String>,
        now: OffsetDateTime,
    ) -> Result<(Access, Option<OffsetDateTime>)> {
        if who.org_id == entry.org_id {
            let masks = Masks::clear(&columns);
            let access = Access {
                table: table.to_owned(),
                entry,
                grant: None,
                items: columns,
                scope: vec![],
                masks,
                verify_items: vec![],
            };
            return Ok((access, None));
        }
        if entry.body.sharing.kind == SharingType::NotShared {
            return Err(ExchangeError::Forbidden(format!("{:?} is not shared", entry.body.name)));
        }
        if let Some(basis) = self.store.negative_basis(entry.id).await? {
            return Err(ExchangeError::Forbidden(format!("{:?} is on the negative list: {basis}", entry.body.name)));
        }
        let grants: Vec<GrantRecord> = self
            .store
            .grants_for(who.org_id, entry.id)
            .await?
            .into_iter()
            .filter(|g| g.app_id.is_none() || g.app_id == who.app_id)
            .collect();
        let later =
            grants.iter().filter(|g| g.valid_from > now && g.valid_to > g.valid_from).map(|g| g.valid_from).min();
        let grant =
            grants.into_iter().filter(|g| g.valid_from <= now && now < g.valid_to).max_by_key(|g| g.id).ok_or_else(
                || {
                    ExchangeError::Forbidden(format!(
                        "no live grant of {:?} for your organization: request it in the sharing catalog",
                        entry.body.name
                    ))
                },
            )?;
        // The store decoded the grant's lists and scope, or refused it as corrupt.
        let (granted, clear, named, scope) =
            (&grant.items, &grant.clear_items, grant.verify_items.clone(), grant.row_filter.clone());
        let items: Vec<String> = columns.into_iter().filter(|c| granted.contains(c)).collect();
        let rules = self.rules().await?;
        let masks = Masks {
            items: items
                .iter()
                .map(|i| (i.clone(), mask_for(i, entry.body.grading, &rules, clear.contains(i))))
                .collect(),
            key: MaskKey::for_grant(&self.mask_secret[..], grant.id),
        };
        // Verification answers only for the whole set the provider named; without one, for
        // every item the consumer sees masked (safe, if strict).
        let verify_items = match named {
            Some(v) if !v.is_empty() => v,
            _ => items.iter().filter(|i| masks.hides(i)).cloned().collect(),
        };
        let until = later.map_or(grant.valid_to, |l| l.min(grant.valid_to));
        let access = Access { table: table.to_owned(), entry, grant: Some(grant), items, scope, masks, verify_items };
        Ok((access, Some(until)))
    }

    /// A page of rows as `access` allows: shaped, then masked.
    pub async fn query(&self, access: &Access, mut q: RowQuery) -> Result<RowPage> {
        access.shape(&mut q)?;
        let mut page = self.library.lake().rows(&q).await?;
        tongshu_lake::mask_page(&mut page, &access.masks)?;
        Ok(page)
    }

    /// Match or no match: whether some row in scope has all of `values` (granted items
    /// only, and at least every item of the grant's verification set). Nothing of the row
    /// is returned. Misses count against the caller's daily limit (`caller` names it).
    pub async fn verify(&self, access: &Access, caller: &str, values: &BTreeMap<String, String>) -> Result<bool> {
        if values.is_empty() {
            return Err(ExchangeError::invalid("values", "give at least one item and its value"));
        }
        let missing: Vec<&String> = access.verify_items.iter().filter(|i| !values.contains_key(*i)).collect();
        if !missing.is_empty() {
            return Err(ExchangeError::invalid(
                "values",
                format!(
                    "verification needs every one of {:?} (your grant's verification items); missing {missing:?}",
                    access.verify_items
                ),
            ));
        }
        for k in values.keys() {
            if !access.items.contains(k) {
                return Err(ExchangeError::Forbidden(format!("verify {k:?}: it is not an item of your grant")));
            }
        }
        let first = values.keys().next().cloned().unwrap_or_default();
        let mut q = RowQuery {
            table: access.table.clone(),
            columns: Some(vec![first]),
            equals: values.iter().map(|(k, v)| (k.clone(), vec![v.clone()])).collect(),
            limit: 1,
            ..Default::default()
        };
        // The one place clear values of masked items are tested: shaped by the grant's items
        // and row scope, but not refused for masked filters.
        for s in &access.scope {
            shape_scope(s, &mut q)?;
        }
        let limited = access.grant.is_some();
        let day = crate::beijing_today().to_string();
        let subject = format!("table:{}", access.table);
        if limited {
            let misses = self.store.add_verify_miss(caller, &subject, &day, 1).await?;
            if misses > self.settings.verify_misses_per_day {
                self.store.add_verify_miss(caller, &subject, &day, -1).await?;
                return Err(ExchangeError::TooManyRequests(
                    format!(
                        "{} verifications without a match today on {}; the limit is {} a day",
                        misses - 1,
                        access.table,
                        self.settings.verify_misses_per_day
                    ),
                    crate::seconds_to_beijing_midnight(),
                ));
            }
        }
        let page = self.library.lake().rows(&q).await?;
        let matched = page.batches.iter().any(|b| b.num_rows() > 0);
        if matched && limited {
            // A match is no miss: give back the one counted before the query.
            self.store.add_verify_miss(caller, &subject, &day, -1).await?;
        }
        Ok(matched)
    }
}
