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
    /// Further conditions (ranges, inequality, containment, nulls).
    pub conditions: Vec<Condition>,
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
    /// Page in the table's stored order from this position (keyset paging: the cost of a
    /// page does not grow with its depth). Needs no `sort`, no `distinct` and no `offset`.
    pub after: Option<Position>,
}

/// Where a page in stored order starts: a table version (pinned, so that paging sees one
/// consistent table), one of its data files (in path order), and how many matching rows
/// of that file came before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub version: u64,
    pub file: usize,
    pub skip: usize,
}

/// How a [`Condition`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    /// Text contains the value.
    Contains,
    /// `true`: the column is null; `false`: it is not.
    IsNull,
}

impl Op {
    pub const ALL: [(&'static str, Op); 7] = [
        ("ne", Op::Ne),
        ("gt", Op::Gt),
        ("gte", Op::Gte),
        ("lt", Op::Lt),
        ("lte", Op::Lte),
        ("contains", Op::Contains),
        ("isnull", Op::IsNull),
    ];

    pub fn parse(s: &str) -> Option<Op> {
        Op::ALL.iter().find(|(n, _)| *n == s).map(|(_, o)| *o)
    }
}

/// One condition on a column; the value is text, parsed by the column's type.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub op: Op,
    pub value: String,
}

/// A page of rows.
#[derive(Debug)]
pub struct RowPage {
    /// The chosen columns and their types.
    pub fields: Vec<(String, ColumnType)>,
    pub batches: Vec<RecordBatch>,
    pub total: Option<u64>,
    /// Where the next page starts, for pages in stored order (`None`: this was the last).
    pub next: Option<Position>,
}

/// The first name that comes twice in `names`.
pub fn repeated(names: &[String]) -> Option<&str> {
    names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)).map(|(_, n)| n.as_str())
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
        let mut table = self.table(&q.table).await?;
        if let Some(p) = q.after
            && table.version() != Some(p.version)
        {
            table.load_version(p.version).await.map_err(|e| {
                LakeError::Input(format!(
                    "the cursor's version {} of {:?} is gone ({e}); start again",
                    p.version, q.table
                ))
            })?;
        }
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
            Some(names) => {
                if let Some(twice) = repeated(names) {
                    return Err(LakeError::Input(format!("column {twice:?} is chosen twice; name each column once")));
                }
                names.iter().map(|n| find(n)).collect::<Result<_>>()?
            }
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
        for c in &q.conditions {
            let column = find(&c.column)?;
            let bad = |why: String| LakeError::Input(format!("filter on {:?}: {why}", c.column));
            let value = || -> Result<ScalarValue> {
                match parse(&c.value, column.ty, None) {
                    Ok(Value::Null) => Err(bad(format!("{:?} is empty; use isnull to find nulls", c.value))),
                    Ok(p) => Ok(scalar(p, column.ty, c.value.trim())),
                    Err(why) => Err(bad(format!("{:?} {why} ({} column)", c.value, column.ty))),
                }
            };
            let e = col(&column.name);
            filters.push(match c.op {
                Op::Ne => e.not_eq(lit(value()?)),
                Op::Gt => e.gt(lit(value()?)),
                Op::Gte => e.gt_eq(lit(value()?)),
                Op::Lt => e.lt(lit(value()?)),
                Op::Lte => e.lt_eq(lit(value()?)),
                Op::Contains if column.ty == ColumnType::Text => contains(e, lit(c.value.clone())),
                Op::Contains => return Err(bad(format!("contains needs a text column, not a {} one", column.ty))),
                Op::IsNull => match c.value.trim() {
                    "" | "1" | "true" => e.is_null(),
                    "0" | "false" => e.is_not_null(),
                    v => return Err(bad(format!("isnull takes true or false, not {v:?}"))),
                },
            });
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

        let filter = filters.into_iter().reduce(Expr::and);
        if let Some(from) = q.after {
            if !sort.is_empty() || q.distinct || q.offset > 0 {
                return Err(LakeError::Input("a cursor pages in stored order: drop sort, distinct and offset".into()));
            }
            let select: Vec<Expr> = chosen.iter().map(|c| col(&c.name)).collect();
            let (batches, next) = stored_order_page(&table, select, filter.clone(), from, q.limit).await?;
            let total = match q.total {
                true => Some(self.count_rows(&table, filter).await?),
                false => None,
            };
            return Ok(RowPage {
                fields: chosen.iter().map(|c| (c.name.clone(), c.ty)).collect(),
                batches,
                total,
                next,
            });
        }
        let ctx = SessionContext::new();
        table.update_datafusion_session(&ctx.state())?;
        let mut df = ctx.read_table(table.table_provider().await?)?;
        if let Some(f) = filter {
            df = df.filter(f)?;
        }
        df = df.select(chosen.iter().map(|c| col(&c.name)).collect::<Vec<_>>())?;
        if q.distinct {
            df = df.distinct()?;
        }
        let total = if !q.total {
            None
        } else if q.equals.is_empty()
            && q.conditions.is_empty()
            && q.text.as_deref().is_none_or(|t| t.trim().is_empty())
            && !q.distinct
        {
            Some(self.info(&q.table).await?.rows) // from the Delta log, no scan
        } else {
            Some(df.clone().count().await? as u64)
        };
        if !sort.is_empty() {
            df = df.sort(sort)?;
        }
        let batches = df.limit(q.offset, Some(q.limit))?.collect().await?;
        Ok(RowPage { fields: chosen.iter().map(|c| (c.name.clone(), c.ty)).collect(), batches, total, next: None })
    }

    /// Rows of `table` (at its loaded version) matching `filter`: from the Delta log when
    /// there is no filter, else by a scan.
    async fn count_rows(&self, table: &deltalake::DeltaTable, filter: Option<Expr>) -> Result<u64> {
        let Some(f) = filter else {
            return Ok(crate::data_files(table).await?.iter().map(|f| f.rows).sum());
        };
        let ctx = SessionContext::new();
        table.update_datafusion_session(&ctx.state())?;
        Ok(ctx.read_table(table.table_provider().await?)?.filter(f)?.count().await? as u64)
    }
}

/// Up to `limit` matching rows in stored order from `from`, and where the next page starts.
/// Each file is scanned by one partition, so its rows come in their stored order; a page
/// reads only the files it takes rows from (skipping a file's earlier matches costs at
/// most that file).
async fn stored_order_page(
    table: &deltalake::DeltaTable,
    select: Vec<Expr>,
    filter: Option<Expr>,
    from: Position,
    limit: usize,
) -> Result<(Vec<RecordBatch>, Option<Position>)> {
    use deltalake::datafusion::prelude::SessionConfig;
    let files: Vec<String> = crate::data_files(table).await?.into_iter().map(|f| f.path).collect();
    let version = table.version().unwrap_or(0);
    let mut pos = Position { version, ..from };
    let mut out = Vec::new();
    let mut got = 0;
    while pos.file < files.len() && got < limit {
        let want = limit - got;
        // One row more than wanted tells whether the file has more after this page.
        let batches = match &filter {
            // Without a filter the Parquet reader skips whole row groups and pages to the
            // position, so a page deep in a big file costs what a first page costs.
            None => read_file_slice(table, &files[pos.file], &select, pos.skip, want + 1).await?,
            Some(f) => {
                let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
                table.update_datafusion_session(&ctx.state())?;
                let selection = deltalake::delta_datafusion::FileSelection::from_file_paths([files[pos.file].clone()]);
                let df = ctx.read_table(table.table_provider().with_file_selection(selection).await?)?;
                df.filter(f.clone())?.select(select.clone())?.limit(pos.skip, Some(want + 1))?.collect().await?
            }
        };
        let n: usize = batches.iter().map(|b| b.num_rows()).sum();
        take_rows(&mut out, batches, want);
        if n > want {
            pos.skip += want;
            got += want;
        } else {
            got += n;
            pos = Position { version, file: pos.file + 1, skip: 0 };
        }
    }
    let next = (pos.file < files.len()).then_some(pos);
    Ok((out, next))
}

/// Moves the first `want` rows of `batches` into `out`.
fn take_rows(out: &mut Vec<RecordBatch>, batches: Vec<RecordBatch>, want: usize) {
    let mut left = want;
    for b in batches {
        if left == 0 {
            break;
        }
        let take = b.num_rows().min(left);
        out.push(b.slice(0, take));
        left -= take;
    }
}

/// `limit` rows of the columns `select` names from one data file, after its first `skip`
/// rows, read with the Parquet reader's own offset (row groups and pages before it are not
/// decoded).
// `ParquetObjectReader` is deprecated in parquet 59 in favour of an own `AsyncFileReader`;
// it still reads through the table's object store (local or S3) as needed here.
#[allow(deprecated)]
async fn read_file_slice(
    table: &deltalake::DeltaTable,
    file: &str,
    select: &[Expr],
    skip: usize,
    limit: usize,
) -> Result<Vec<RecordBatch>> {
    use deltalake::parquet::arrow::ProjectionMask;
    use deltalake::parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};
    use futures::TryStreamExt;
    let store = table.log_store().object_store(None);
    let path = deltalake::Path::parse(file).map_err(|e| LakeError::Internal(format!("data file {file:?}: {e}")))?;
    let reader = ParquetObjectReader::new(store, path);
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| LakeError::Internal(format!("data file {file:?}: {e}")))?;
    let names: Vec<String> = select
        .iter()
        .filter_map(|e| match e {
            Expr::Column(c) => Some(c.name.clone()),
            _ => None,
        })
        .collect();
    let fields = builder.schema().fields().clone();
    let roots: Vec<usize> = names.iter().filter_map(|n| fields.iter().position(|f| f.name() == n)).collect();
    if roots.len() != names.len() {
        return Err(LakeError::Internal(format!("data file {file:?} lacks some of the columns {names:?}")));
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.clone());
    let stream = builder
        .with_projection(mask)
        .with_offset(skip)
        .with_limit(limit)
        .with_batch_size(limit.clamp(1, 8192))
        .build()
        .map_err(|e| LakeError::Internal(format!("data file {file:?}: {e}")))?;
    let batches: Vec<RecordBatch> =
        stream.try_collect().await.map_err(|e| LakeError::Internal(format!("data file {file:?}: {e}")))?;
    // The projection keeps the file's column order; answer in the order asked for.
    let mut sorted: Vec<usize> = roots.clone();
    sorted.sort_unstable();
    let order: Vec<usize> = roots.iter().map(|r| sorted.iter().position(|s| s == r).unwrap_or(0)).collect();
    batches.into_iter().map(|b| b.project(&order).map_err(|e| LakeError::Internal(e.to_string()))).collect()
}

/// Masks the columns of a page in place, each by its name: every value is shown as its
/// mask makes it (DOMAIN.md §4), and a masked column becomes text. A column that comes back
/// twice is masked twice; columns masked `clear` are left as they are.
pub fn mask_page(page: &mut RowPage, masks: &tongshu_core::masking::Masks) -> Result<()> {
    page.batches = mask_batches(std::mem::take(&mut page.batches), masks)?;
    for (name, ty) in page.fields.iter_mut() {
        if masks.hides(name) {
            *ty = ColumnType::Text;
        }
    }
    Ok(())
}

/// Masks every column of `batches` by its name (see [`mask_page`]).
pub fn mask_batches(batches: Vec<RecordBatch>, masks: &tongshu_core::masking::Masks) -> Result<Vec<RecordBatch>> {
    use std::sync::Arc;

    use deltalake::arrow::array::{Array, ArrayRef, StringArray};
    use deltalake::arrow::compute::cast;
    use deltalake::arrow::datatypes::{DataType, Field, Schema};
    use tongshu_core::masking::Mask;

    batches
        .into_iter()
        .map(|batch| {
            let schema = batch.schema();
            let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            for idx in 0..fields.len() {
                let mask = masks.of(fields[idx].name());
                if mask == Mask::Clear {
                    continue;
                }
                let text = cast(&columns[idx], &DataType::Utf8).map_err(|e| LakeError::Input(format!("mask: {e}")))?;
                let text = text.as_any().downcast_ref::<StringArray>().expect("cast to Utf8 gives a StringArray");
                let out: StringArray = text.iter().map(|v| v.and_then(|v| mask.apply(v, &masks.key))).collect();
                columns[idx] = Arc::new(out);
                fields[idx] = Field::new(fields[idx].name(), DataType::Utf8, true);
            }
            RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
                .map_err(|e| LakeError::Input(format!("mask: {e}")))
        })
        .collect()
}
