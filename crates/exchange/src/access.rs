//! What a consumer may see of a table, and calls shaped by it: only granted items, the
//! grant's row scope always applied, every item masked unless the grant shows it in clear.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tongshu_core::catalog::{CatalogEntry, EntryStatus, SharingType};
use tongshu_core::masking::{Mask, MaskRule, mask_for};
use tongshu_lake::{Condition, Op, RowPage, RowQuery};
use tongshu_store::GrantRecord;

use crate::{Exchange, ExchangeError, Result};

/// Who is calling a data interface: an organization, through one of its apps or as a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub org_id: i64,
    pub app_id: Option<i64>,
    pub user_id: Option<i64>,
}

/// One condition of a row scope: `column op value`, ops `eq`, `in` (comma-separated), `ne`,
/// `gt`, `gte`, `lt`, `lte`, `contains`, `isnull`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeCondition {
    pub column: String,
    pub op: String,
    pub value: String,
}

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
    pub masks: Vec<(String, Mask)>,
}

fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

pub(crate) fn json_scope(s: Option<&str>) -> Vec<ScopeCondition> {
    s.and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
}

impl Access {
    fn check_item(&self, column: &str, what: &str) -> Result<()> {
        if self.items.iter().any(|i| i == column) {
            Ok(())
        } else {
            Err(ExchangeError::Forbidden(format!("{what} {column:?} is not an item of your grant")))
        }
    }

    /// Narrows `q` to this access: granted columns only (all of them when none are chosen),
    /// filters and sorts only on granted items, no free-text search over other columns, and
    /// the grant's row scope added to whatever the caller asked.
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
                for c in cols {
                    self.check_item(c, "column")?;
                }
            }
        }
        for (c, _) in &q.equals {
            self.check_item(c, "filter on")?;
        }
        for c in &q.conditions {
            self.check_item(&c.column, "filter on")?;
        }
        for (c, _) in &q.sort {
            self.check_item(c, "sort on")?;
        }
        for s in &self.scope {
            match s.op.as_str() {
                "eq" => q.equals.push((s.column.clone(), vec![s.value.clone()])),
                "in" => q.equals.push((s.column.clone(), s.value.split(',').map(str::to_owned).collect())),
                op => q.conditions.push(Condition {
                    column: s.column.clone(),
                    op: Op::parse(op).ok_or_else(|| ExchangeError::Conflict(format!("grant scope op {op:?}")))?,
                    value: s.value.clone(),
                }),
            }
        }
        Ok(())
    }
}

impl Exchange {
    /// The entry a table belongs to, if it is listed, and the table's columns in order (from
    /// the store's record of the table, kept current by every write: no Delta log read).
    async fn shared_entry_of(&self, table: &str) -> Result<(CatalogEntry, Vec<String>)> {
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
        if who.role != tongshu_core::policy::Role::PlatformAdmin {
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

    /// What `who` may see of `table` now: its own organization everything in clear; anyone
    /// else needs an active grant whose window holds now, for its app or for every app of
    /// its organization (the newest such grant counts).
    pub async fn access(&self, who: &Consumer, table: &str) -> Result<Access> {
        let (entry, columns) = self.shared_entry_of(table).await?;
        self.access_to(who, table, entry, columns).await
    }

    /// What `who` may see of `columns` of an interface (a table or a view) of `entry`.
    pub(crate) async fn access_to(
        &self,
        who: &Consumer,
        table: &str,
        entry: CatalogEntry,
        columns: Vec<String>,
    ) -> Result<Access> {
        if who.org_id == entry.org_id {
            let masks = columns.iter().map(|c| (c.clone(), Mask::Clear)).collect();
            return Ok(Access { table: table.to_owned(), entry, grant: None, items: columns, scope: vec![], masks });
        }
        if entry.body.sharing.kind == SharingType::NotShared {
            return Err(ExchangeError::Forbidden(format!("{:?} is not shared", entry.body.name)));
        }
        if let Some(basis) = self.store.negative_basis(entry.id).await? {
            return Err(ExchangeError::Forbidden(format!("{:?} is on the negative list: {basis}", entry.body.name)));
        }
        let now = tongshu_core::now();
        let grant = self
            .store
            .grants_for(who.org_id, entry.id)
            .await?
            .into_iter()
            .filter(|g| g.valid_from <= now && now < g.valid_to)
            .filter(|g| g.app_id.is_none() || g.app_id == who.app_id)
            .max_by_key(|g| g.id)
            .ok_or_else(|| {
                ExchangeError::Forbidden(format!(
                    "no live grant of {:?} for your organization: request it in the sharing catalog",
                    entry.body.name
                ))
            })?;
        let granted = json_list(&grant.items);
        let clear = json_list(&grant.clear_items);
        let items: Vec<String> = columns.into_iter().filter(|c| granted.contains(c)).collect();
        let rules = self.rules().await?;
        let masks =
            items.iter().map(|i| (i.clone(), mask_for(i, entry.body.grading, &rules, clear.contains(i)))).collect();
        let scope = json_scope(grant.row_filter.as_deref());
        Ok(Access { table: table.to_owned(), entry, grant: Some(grant), items, scope, masks })
    }

    /// A page of rows as `access` allows: shaped, then masked.
    pub async fn query(&self, access: &Access, mut q: RowQuery) -> Result<RowPage> {
        access.shape(&mut q)?;
        let mut page = self.library.lake().rows(&q).await?;
        tongshu_lake::mask_page(&mut page, &access.masks)?;
        Ok(page)
    }

    /// Match or no match: whether some row in scope has all of `values` (granted items
    /// only). Nothing of the row is returned.
    pub async fn verify(&self, access: &Access, values: &BTreeMap<String, String>) -> Result<bool> {
        if values.is_empty() {
            return Err(ExchangeError::invalid("values", "give at least one item and its value"));
        }
        let first = values.keys().next().cloned().unwrap_or_default();
        let mut q = RowQuery {
            table: access.table.clone(),
            columns: Some(vec![first]),
            equals: values.iter().map(|(k, v)| (k.clone(), vec![v.clone()])).collect(),
            limit: 1,
            ..Default::default()
        };
        access.shape(&mut q)?;
        let page = self.library.lake().rows(&q).await?;
        Ok(page.batches.iter().any(|b| b.num_rows() > 0))
    }
}
