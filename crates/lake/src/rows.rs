//! Pages of a table's rows for data APIs (CKAN's `datastore_search`, the native row API):
//! chosen columns, equality filters, a text search, sorting, paging, totals. Built with
//! DataFusion expressions, never SQL text, so no filter or sort value can inject anything;
//! every column named must be a column of the table and every filter value must parse as
//! the column's type, or the caller gets a [`LakeError::Input`] naming it.

use deltalake::arrow::record_batch::RecordBatch;
use deltalake::datafusion::common::{Column, ScalarValue};
use deltalake::datafusion::functions::string::expr_fn::contains;
use deltalake::datafusion::prelude::{Expr, SessionContext, lit};

use crate::values::{ColumnType, Value, parse};
use crate::{LakeError, Library, Result};

/// Which rows of one table.
#[derive(Debug, Clone, Default)]
pub struct RowQuery {
    pub table: String,
    /// `None`: every column, in table order.
    pub columns: Option<Vec<String>>,
    /// Column equals one of the values (values given as text, parsed by the column's type).
    pub equals: Vec<(String, Vec<String>)>,
    /// Rows where some text column contains this text.
    pub text: Option<String>,
    /// (column, descending).
    pub sort: Vec<(String, bool)>,
    pub limit: usize,
    pub offset: usize,
    /// Distinct rows of the chosen columns.
    pub distinct: bool,
    /// Count the matching rows too.
    pub total: bool,
}

/// A page of rows.
#[derive(Debug)]
pub struct RowPage {
    /// The chosen columns and their types.
    pub fields: Vec<(String, ColumnType)>,
    pub batches: Vec<RecordBatch>,
    pub total: Option<u64>,
}

/// A column by its exact name (no parsing of dots or case folding).
fn col(name: &str) -> Expr {
    Expr::Column(Column::new_unqualified(name))
}

fn scalar(v: Value, ty: ColumnType, text: &str) -> ScalarValue {
    match v {
        Value::Null => ScalarValue::Null,
        Value::Text => ScalarValue::Utf8(Some(text.to_owned())),
        Value::Integer(n) => ScalarValue::Int64(Some(n)),
        Value::Number(n) => ScalarValue::Float64(Some(n)),
        Value::Date(d) => ScalarValue::Date32(Some(d)),
        Value::DateTime(t) => ScalarValue::TimestampMicrosecond(Some(t), Some("UTC".into())),
        Value::Boolean(b) => ScalarValue::Boolean(Some(b)),
    }
    .cast_to(&crate::arrow_type(ty))
    .unwrap_or(ScalarValue::Null)
}

impl Library {
    /// One page of rows of a table.
    pub async fn rows(&self, q: &RowQuery) -> Result<RowPage> {
        let table = self.table(&q.table).await?;
        let columns = Library::columns_of(&table)?;
        let find = |name: &str| {
            columns.iter().find(|c| c.name == name).ok_or_else(|| {
                LakeError::Input(format!(
                    "{name:?} is not a column of this table (it has {:?})",
                    columns.iter().map(|c| &c.name).collect::<Vec<_>>()
                ))
            })
        };
        let chosen: Vec<&crate::TargetColumn> = match &q.columns {
            None => columns.iter().collect(),
            Some(names) => names.iter().map(|n| find(n)).collect::<Result<_>>()?,
        };
        let mut filters: Vec<Expr> = Vec::new();
        for (name, values) in &q.equals {
            let c = find(name)?;
            let mut alternatives = Vec::new();
            for v in values {
                let parsed = parse(v, c.ty, None)
                    .map_err(|why| LakeError::Input(format!("filter on {name:?}: {v:?} {why} ({} column)", c.ty)))?;
                alternatives.push(match parsed {
                    Value::Null => col(name).is_null(),
                    p => col(name).eq(lit(scalar(p, c.ty, v.trim()))),
                });
            }
            if let Some(any) = alternatives.into_iter().reduce(Expr::or) {
                filters.push(any);
            }
        }
        if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let any = columns
                .iter()
                .filter(|c| c.ty == ColumnType::Text)
                .map(|c| contains(col(&c.name), lit(text)))
                .reduce(Expr::or)
                .unwrap_or(lit(false));
            filters.push(any);
        }
        let sort = q
            .sort
            .iter()
            .map(|(name, desc)| find(name).map(|c| col(&c.name).sort(!desc, *desc)))
            .collect::<Result<Vec<_>>>()?;

        let ctx = SessionContext::new();
        table.update_datafusion_session(&ctx.state())?;
        let mut df = ctx.read_table(table.table_provider().await?)?;
        if let Some(f) = filters.into_iter().reduce(Expr::and) {
            df = df.filter(f)?;
        }
        df = df.select(chosen.iter().map(|c| col(&c.name)).collect::<Vec<_>>())?;
        if q.distinct {
            df = df.distinct()?;
        }
        let total = if !q.total {
            None
        } else if q.equals.is_empty() && q.text.as_deref().is_none_or(|t| t.trim().is_empty()) && !q.distinct {
            Some(self.info(&q.table).await?.rows) // from the Delta log, no scan
        } else {
            Some(df.clone().count().await? as u64)
        };
        if !sort.is_empty() {
            df = df.sort(sort)?;
        }
        let batches = df.limit(q.offset, Some(q.limit))?.collect().await?;
        Ok(RowPage { fields: chosen.iter().map(|c| (c.name.clone(), c.ty)).collect(), batches, total })
    }
}
