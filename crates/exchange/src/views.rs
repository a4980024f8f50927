//! Custom interfaces: read-only SQL views over library tables that administrators define.
//! A view belongs to a catalog entry and may only output that entry's items, so the
//! entry's grants decide who sees which column; the grant's row scope is applied to the
//! view's output (a view that drops a scoped column cannot serve that grant).

use tongshu_core::catalog::EntryStatus;
use tongshu_core::policy::Principal;
use tongshu_lake::QueryLimits;
use tongshu_lake::arrow::record_batch::RecordBatch;
use tongshu_store::CustomView;

use crate::access::ScopeCondition;
use crate::{Consumer, Exchange, ExchangeError, Result};

fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A scope condition as SQL over the view's output, identifiers and values quoted.
fn condition(c: &ScopeCondition) -> String {
    let col = ident(&c.column);
    match c.op.as_str() {
        "eq" => format!("{col} = {}", literal(&c.value)),
        "in" => format!("{col} IN ({})", c.value.split(',').map(literal).collect::<Vec<_>>().join(", ")),
        "ne" => format!("{col} <> {}", literal(&c.value)),
        "gt" => format!("{col} > {}", literal(&c.value)),
        "gte" => format!("{col} >= {}", literal(&c.value)),
        "lt" => format!("{col} < {}", literal(&c.value)),
        "lte" => format!("{col} <= {}", literal(&c.value)),
        "contains" => format!("strpos(CAST({col} AS VARCHAR), {}) > 0", literal(&c.value)),
        _ => match c.value.trim() {
            "0" | "false" => format!("{col} IS NOT NULL"),
            _ => format!("{col} IS NULL"),
        },
    }
}

impl Exchange {
    /// Defines a view (administrators): a slug name, the entry it belongs to, and a
    /// read-only statement whose every output column is an item of that entry.
    pub async fn define_view(
        &self,
        who: &Principal,
        name: &str,
        entry_id: i64,
        sql: &str,
        description: &str,
    ) -> Result<CustomView> {
        if !who.supervises_the_exchange() {
            return Err(ExchangeError::Forbidden("only platform administrators define interfaces".into()));
        }
        let ok = name.len() >= 3
            && name.len() <= 63
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(ExchangeError::invalid("name", "3 to 63 of a-z, 0-9 and _, starting with a letter"));
        }
        let entry =
            self.store.get_entry(entry_id).await.map_err(|_| ExchangeError::invalid("entry_id", "no such entry"))?;
        if entry.status != EntryStatus::Listed {
            return Err(ExchangeError::invalid("entry_id", "the entry must be listed"));
        }
        let columns =
            self.library.lake().sql_columns(sql).await.map_err(|e| ExchangeError::invalid("sql", e.to_string()))?;
        if let Some(twice) = tongshu_lake::repeated(&columns) {
            return Err(ExchangeError::invalid("sql", format!("output column {twice:?} comes twice; name each once")));
        }
        for c in &columns {
            if !entry.body.items.iter().any(|i| i.name == *c) {
                return Err(ExchangeError::invalid(
                    "sql",
                    format!("output column {c:?} is not an item of the entry (name columns after its items)"),
                ));
            }
        }
        Ok(self.store.insert_view(name, entry_id, sql.trim(), description.trim(), who.user_id).await?)
    }

    pub async fn views(&self) -> Result<Vec<CustomView>> {
        Ok(self.store.views().await?)
    }

    /// A view, what `who` may see of it, and all its output columns.
    pub async fn view_access(&self, who: &Consumer, name: &str) -> Result<(CustomView, crate::Access, Vec<String>)> {
        let view = self.store.view(name).await?.ok_or_else(|| ExchangeError::NotFound(format!("interface {name}")))?;
        let entry = self.store.get_entry(view.entry_id).await?;
        if entry.status != EntryStatus::Listed {
            return Err(ExchangeError::NotFound(format!("interface {name}")));
        }
        let columns = self.library.lake().sql_columns(&view.sql).await?;
        let access = self.access_to(who, name, entry, columns.clone()).await?;
        Ok((view, access, columns))
    }

    /// Runs a view for `who`: granted columns only, the grant's rows only, masked; at most
    /// `limit` rows.
    pub async fn call_view(&self, who: &Consumer, name: &str, limit: usize) -> Result<Vec<RecordBatch>> {
        let (view, access, columns) = self.view_access(who, name).await?;
        for s in &access.scope {
            if !columns.contains(&s.column) {
                return Err(ExchangeError::Forbidden(format!(
                    "interface {name} does not output {:?}, which your grant's rows are scoped by",
                    s.column
                )));
            }
        }
        let select = access.items.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
        let filter = access.scope.iter().map(condition).collect::<Vec<_>>();
        let filter = if filter.is_empty() { String::new() } else { format!(" WHERE {}", filter.join(" AND ")) };
        let sql = format!("SELECT {select} FROM ({}) AS v{filter}", view.sql);
        let limits = QueryLimits { max_rows: limit, timeout: std::time::Duration::from_secs(30) };
        let result = self.library.lake().sql(&sql, &[], limits).await?;
        Ok(tongshu_lake::mask_batches(result.batches, &access.masks)?)
    }
}
