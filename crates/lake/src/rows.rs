//! Pages of a table's rows for data APIs (CKAN's `datastore_search`, the native row API):
//! chosen columns, equality filters, a text search, sorting, paging, totals. Built with
//! DataFusion expressions, never SQL text, so no filter or sort value can inject anything;
//! every column named must be a column of the table and every filter value must parse as
//! the column's type, or the caller gets a [`LakeError::Input`] naming it.

use deltalake::arrow::record_batch::RecordBatch;
use deltalake::datafusion::common::{Column, ScalarValue};
use deltalake::datafusion::functions::string::expr_fn::contains;
use deltalake::datafusion::prelude::{Expr, SessionContext, lit};

use crate::cache::{Matches, intersect};
use crate::ranges::Start;
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
        Value::Decimal(n) => match ty {
            ColumnType::Decimal { precision, scale } => ScalarValue::Decimal128(Some(n), precision, scale as i8),
            _ => ScalarValue::Null,
        },
    }
    .cast_to(&crate::arrow_type(ty))
    .unwrap_or(ScalarValue::Null)
}

impl Library {
    /// One page of rows of a table.
    pub async fn rows(&self, q: &RowQuery) -> Result<RowPage> {
        // Pages in stored order read a cached snapshot of their version: no log replay.
        // Other pages read the cached snapshot of the latest version (checked, not replayed).
        let snapshot = match q.after {
            Some(p) if p.version != u64::MAX => self.snapshot(&q.table, p.version).await?,
            _ => self.latest(&q.table).await?,
        };
        let table = snapshot.table.clone();
        let columns = snapshot.columns.clone();
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
        // The equality filters as index keys (column, values), while every one has a value.
        let mut keys: Option<Vec<(String, Vec<String>)>> = Some(Vec::new());
        for (name, values) in &q.equals {
            let c = find(name)?;
            let mut alternatives = Vec::new();
            let mut these = Vec::new();
            for v in values {
                let parsed = parse(v, c.ty, None)
                    .map_err(|why| LakeError::Input(format!("filter on {name:?}: {v:?} {why} ({} column)", c.ty)))?;
                alternatives.push(match parsed {
                    Value::Null => {
                        keys = None;
                        col(name).is_null()
                    }
                    p => {
                        let s = scalar(p, c.ty, v.trim());
                        these.push(index_key(&s)?);
                        col(name).eq(lit(s))
                    }
                });
            }
            if let Some(k) = keys.as_mut() {
                k.push((name.clone(), these));
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
        let fields: Vec<(String, ColumnType)> = chosen.iter().map(|c| (c.name.clone(), c.ty)).collect();
        let names: Vec<String> = chosen.iter().map(|c| c.name.clone()).collect();
        let no_text = q.text.as_deref().is_none_or(|t| t.trim().is_empty());
        if let Some(from) = q.after {
            if !sort.is_empty() || q.distinct || q.offset > 0 {
                return Err(LakeError::Input("a cursor pages in stored order: drop sort, distinct and offset".into()));
            }
            if from.version == u64::MAX {
                return Err(LakeError::Internal("a cursor without a version".into()));
            }
            if let Some(page) = self
                .page_from_memory(&snapshot, &names, keys.as_deref(), &q.conditions, no_text, Start::At(from), q)
                .await?
            {
                return Ok(RowPage { fields, ..page });
            }
            let select: Vec<Expr> = chosen.iter().map(|c| col(&c.name)).collect();
            let (batches, next) = self.stored_order_page(&snapshot, select, filter.clone(), from, q.limit).await?;
            let total = match (q.total, &filter) {
                (false, _) => None,
                (true, None) => Some(snapshot.files.iter().map(|f| f.rows).sum()),
                (true, Some(_)) => Some(self.count_rows(&table, filter).await?),
            };
            return Ok(RowPage { fields, batches, total, next });
        }
        // Pages by offset in stored order (CKAN's datastore_search, the row API's offset,
        // first pages included): found by position in the current version, so a deep page
        // costs what a first one does; filters that memory cannot answer are left to the
        // scan below.
        if sort.is_empty()
            && !q.distinct
            && let Some(page) = self
                .page_from_memory(
                    &snapshot,
                    &names,
                    keys.as_deref(),
                    &q.conditions,
                    no_text,
                    Start::Offset(q.offset),
                    q,
                )
                .await?
        {
            return Ok(RowPage { fields, next: None, ..page });
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
            Some(snapshot.files.iter().map(|f| f.rows).sum()) // from the Delta log, no scan
        } else {
            Some(df.clone().count().await? as u64)
        };
        if !sort.is_empty() {
            df = df.sort(sort)?;
        }
        let batches = df.limit(q.offset, Some(q.limit))?.collect().await?;
        Ok(RowPage { fields, batches, total, next: None })
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

impl Library {
    /// The latest version of table `name`, from the cache while it is still the latest.
    pub(crate) async fn latest(&self, name: &str) -> Result<std::sync::Arc<crate::cache::Snapshot>> {
        self.caches.latest(name, || self.table(name)).await
    }

    /// Version `version` of table `name`, from the cache when it is the version cached.
    pub(crate) async fn snapshot(&self, name: &str, version: u64) -> Result<std::sync::Arc<crate::cache::Snapshot>> {
        let url = self.table_url(name)?;
        let fresh = || async move {
            if Self::local_dir(&url).is_some_and(|d| !d.join("_delta_log").is_dir()) {
                return Err(LakeError::NoSuchTable(name.to_owned()));
            }
            self.load_url(url).await
        };
        self.caches.snapshot(name, version, fresh).await.map_err(|e| match e {
            LakeError::Input(m) => LakeError::Input(format!("the cursor's {m}")),
            e => e,
        })
    }

    /// The rows matching every `(column, values)` key (a value of each column), as sorted
    /// positions; `None` when an index cannot be had (the caller scans). One value of one
    /// column shares the index's own list (no copy of a value's millions of positions).
    async fn matching(
        &self,
        snapshot: &crate::cache::Snapshot,
        keys: &[(String, Vec<String>)],
    ) -> Result<Option<Matches>> {
        let mut result: Option<Vec<u64>> = None;
        for (column, values) in keys {
            let Some(index) = self.caches.index(snapshot, column, || self.build_index(snapshot, column)).await? else {
                return Ok(None);
            };
            if keys.len() == 1 && values.len() == 1 {
                return Ok(Some(Matches::Shared(index, values[0].clone())));
            }
            let mut these: Vec<u64> = Vec::new();
            for v in values {
                if let Some(p) = index.positions.get(v) {
                    these.extend_from_slice(p);
                }
            }
            if values.len() > 1 {
                these.sort_unstable();
                these.dedup();
            }
            result = Some(match result {
                None => these,
                Some(before) => intersect(&before, &these),
            });
        }
        Ok(result.map(Matches::Owned))
    }

    /// A page in stored order answered from the version's in-memory indexes, or `None`
    /// when they cannot answer it: equality filters from the value indexes, range
    /// conditions from the value ranks, no filter from the files' row counts. Any other
    /// condition, free text or a null to match is left to a scan. `fields` is left empty.
    #[allow(clippy::too_many_arguments)]
    async fn page_from_memory(
        &self,
        snapshot: &crate::cache::Snapshot,
        names: &[String],
        keys: Option<&[(String, Vec<String>)]>,
        conditions: &[Condition],
        no_text: bool,
        start: Start,
        q: &RowQuery,
    ) -> Result<Option<RowPage>> {
        let Some(keys) = keys.filter(|_| no_text) else { return Ok(None) };
        let Some(ranges) = self.ranges(snapshot, conditions).await? else { return Ok(None) };
        let matches = match keys.is_empty() {
            true => None,
            false => match self.matching(snapshot, keys).await? {
                Some(m) => Some(m),
                None => return Ok(None),
            },
        };
        let page = |batches, next, total| Some(RowPage { fields: Vec::new(), batches, total, next });
        if !ranges.is_empty() {
            let (batches, next, total) = self
                .ranged_page(
                    snapshot,
                    names,
                    matches.as_ref().map(Matches::positions),
                    &ranges,
                    start,
                    q.limit,
                    q.total,
                )
                .await?;
            return Ok(page(batches, next, total));
        }
        let version = snapshot.table.version().unwrap_or(0);
        match matches {
            Some(matches) => {
                let matches = matches.positions();
                let from = match start {
                    Start::At(p) => p,
                    Start::Offset(n) => match matches.get(n) {
                        Some(p) => {
                            let file = (p >> 32) as usize;
                            let first = matches.partition_point(|m| (m >> 32) < file as u64);
                            Position { version, file, skip: n - first }
                        }
                        None => Position { version, file: snapshot.files.len(), skip: 0 },
                    },
                };
                let (batches, next) = self.indexed_page(snapshot, names, matches, from, q.limit).await?;
                Ok(page(batches, next, q.total.then_some(matches.len() as u64)))
            }
            None => {
                let from = match start {
                    Start::At(p) => p,
                    Start::Offset(n) => {
                        let mut left = n as u64;
                        let mut at = Position { version, file: snapshot.files.len(), skip: 0 };
                        for (file, f) in snapshot.files.iter().enumerate() {
                            if left < f.rows {
                                at = Position { version, file, skip: left as usize };
                                break;
                            }
                            left -= f.rows;
                        }
                        at
                    }
                };
                let select: Vec<Expr> = names.iter().map(|n| col(n)).collect();
                let (batches, next) = self.stored_order_page(snapshot, select, None, from, q.limit).await?;
                Ok(page(batches, next, q.total.then(|| snapshot.files.iter().map(|f| f.rows).sum::<u64>())))
            }
        }
    }

    /// The range conditions of a page as rank bounds; an empty list for none, `None` when
    /// one cannot be answered from memory (not a range, a column without an order kept
    /// here, the index budget spent).
    async fn ranges(
        &self,
        snapshot: &crate::cache::Snapshot,
        conditions: &[Condition],
    ) -> Result<Option<Vec<(std::sync::Arc<crate::ranges::Ranks>, (u32, u32))>>> {
        let mut out = Vec::new();
        for c in conditions {
            if !matches!(c.op, Op::Gt | Op::Gte | Op::Lt | Op::Lte) {
                return Ok(None);
            }
            let Some(column) = snapshot.columns.iter().find(|x| x.name == c.column) else { return Ok(None) };
            let key = match parse(&c.value, column.ty, None) {
                Ok(Value::Null) | Err(_) => return Ok(None),
                Ok(v) => index_key(&scalar(v, column.ty, c.value.trim()))?,
            };
            let build = || self.build_index(snapshot, &column.name);
            let Some(index) = self.caches.index(snapshot, &column.name, build).await? else { return Ok(None) };
            let Some(ranks) = self.caches.ranks(snapshot, &index, column.ty) else { return Ok(None) };
            let Some(bounds) = ranks.bounds(c.op, &key) else { return Ok(None) };
            out.push((ranks, bounds));
        }
        Ok(Some(out))
    }

    /// The rows at `positions` (sorted), file by file, each file reading only those rows.
    pub(crate) async fn read_positions(
        &self,
        snapshot: &crate::cache::Snapshot,
        names: &[String],
        positions: &[u64],
    ) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < positions.len() {
            let file = (positions[i] >> 32) as usize;
            let j = i + positions[i..].partition_point(|p| (p >> 32) as usize == file);
            let rows: Vec<u32> = positions[i..j].iter().map(|p| (p & 0xffff_ffff) as u32).collect();
            let path =
                &snapshot.files.get(file).ok_or_else(|| LakeError::Internal("index out of the files".into()))?.path;
            out.extend(self.read_file(snapshot, path, names, Pick::Rows(&rows)).await?);
            i = j;
        }
        Ok(out)
    }

    /// Reads one column of every data file of `snapshot` into a value → positions map.
    async fn build_index(
        &self,
        snapshot: &crate::cache::Snapshot,
        column: &str,
    ) -> Result<std::collections::HashMap<String, Vec<u64>>> {
        use deltalake::arrow::array::{Array, AsArray};
        use deltalake::arrow::datatypes::DataType;
        use deltalake::arrow::util::display::{ArrayFormatter, FormatOptions};
        let started = std::time::Instant::now();
        let mut map: std::collections::HashMap<String, Vec<u64>> = std::collections::HashMap::new();
        let names = [column.to_owned()];
        for (f, file) in snapshot.files.iter().enumerate() {
            let mut row: u64 = 0;
            for b in self.read_file(snapshot, &file.path, &names, Pick::All).await? {
                let a = b.column(0);
                let mut put = |key: &str, r: u64| match map.get_mut(key) {
                    Some(v) => v.push(((f as u64) << 32) | r),
                    None => {
                        map.insert(key.to_owned(), vec![((f as u64) << 32) | r]);
                    }
                };
                match a.data_type() {
                    DataType::Utf8 => {
                        for (i, v) in a.as_string::<i32>().iter().enumerate() {
                            if let Some(v) = v {
                                put(v, row + i as u64);
                            }
                        }
                    }
                    DataType::Utf8View => {
                        for (i, v) in a.as_string_view().iter().enumerate() {
                            if let Some(v) = v {
                                put(v, row + i as u64);
                            }
                        }
                    }
                    _ => {
                        let fmt = ArrayFormatter::try_new(a.as_ref(), &FormatOptions::default())
                            .map_err(|e| LakeError::Internal(format!("index of {column:?}: {e}")))?;
                        for i in 0..a.len() {
                            if a.is_valid(i) {
                                put(&fmt.value(i).to_string(), row + i as u64);
                            }
                        }
                    }
                }
                row += a.len() as u64;
            }
        }
        tracing::debug!(column, values = map.len(), ms = started.elapsed().as_millis() as u64, "value index built");
        Ok(map)
    }

    /// A page of the rows at `matches` (sorted positions) from `from`, and where the next
    /// page starts: each file reads only the rows (and pages) the page takes.
    async fn indexed_page(
        &self,
        snapshot: &crate::cache::Snapshot,
        names: &[String],
        matches: &[u64],
        from: Position,
        limit: usize,
    ) -> Result<(Vec<RecordBatch>, Option<Position>)> {
        let version = snapshot.table.version().unwrap_or(0);
        let first_of = |file: usize| matches.partition_point(|p| (p >> 32) < file as u64);
        let start = (first_of(from.file) + from.skip).min(matches.len());
        let end = (start + limit).min(matches.len());
        let out = self.read_positions(snapshot, names, &matches[start..end]).await?;
        let next = matches.get(end).map(|p| {
            let file = (p >> 32) as usize;
            Position { version, file, skip: end - first_of(file) }
        });
        Ok((out, next))
    }

    /// Up to `limit` matching rows in stored order from `from`, and where the next page
    /// starts. Each file is scanned by one partition, so its rows come in their stored
    /// order; a page reads only the files it takes rows from (skipping a file's earlier
    /// matches costs at most that file).
    async fn stored_order_page(
        &self,
        snapshot: &crate::cache::Snapshot,
        select: Vec<Expr>,
        filter: Option<Expr>,
        from: Position,
        limit: usize,
    ) -> Result<(Vec<RecordBatch>, Option<Position>)> {
        use deltalake::datafusion::prelude::SessionConfig;
        let table = &snapshot.table;
        let files: Vec<&str> = snapshot.files.iter().map(|f| f.path.as_str()).collect();
        let names: Vec<String> = select
            .iter()
            .filter_map(|e| match e {
                Expr::Column(c) => Some(c.name.clone()),
                _ => None,
            })
            .collect();
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
                None => self.read_file(snapshot, files[pos.file], &names, Pick::Range(pos.skip, want + 1)).await?,
                Some(f) => {
                    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
                    table.update_datafusion_session(&ctx.state())?;
                    let selection =
                        deltalake::delta_datafusion::FileSelection::from_file_paths([files[pos.file].to_owned()]);
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

    /// The columns `names` of one data file, in that order: all rows, `skip` then `limit`
    /// rows (row groups and pages before are not decoded), or the rows at sorted indices.
    /// The file's Parquet metadata comes from the cache.
    // `ParquetObjectReader` is deprecated in parquet 59 in favour of an own `AsyncFileReader`;
    // it still reads through the table's object store (local or S3) as needed here.
    #[allow(deprecated)]
    async fn read_file(
        &self,
        snapshot: &crate::cache::Snapshot,
        file: &str,
        names: &[String],
        pick: Pick<'_>,
    ) -> Result<Vec<RecordBatch>> {
        use deltalake::parquet::arrow::ProjectionMask;
        use deltalake::parquet::arrow::arrow_reader::{RowSelection, RowSelector};
        use deltalake::parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};
        use futures::TryStreamExt;
        let table = &snapshot.table;
        let store = table.log_store().object_store(None);
        let path = deltalake::Path::parse(file).map_err(|e| LakeError::Internal(format!("data file {file:?}: {e}")))?;
        let mut reader = ParquetObjectReader::new(store, path);
        let key = format!("{}{file}", table.table_url());
        let meta = self.caches.footer(&key, &mut reader).await?;
        let builder = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta);
        let fields = builder.schema().fields().clone();
        let roots: Vec<usize> = names.iter().filter_map(|n| fields.iter().position(|f| f.name() == n)).collect();
        if roots.len() != names.len() {
            return Err(LakeError::Internal(format!("data file {file:?} lacks some of the columns {names:?}")));
        }
        let total = builder.metadata().file_metadata().num_rows().max(0) as usize;
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots.clone());
        let builder = builder.with_projection(mask);
        let builder = match pick {
            Pick::All => builder.with_batch_size(8192),
            Pick::Range(skip, limit) => {
                builder.with_offset(skip).with_limit(limit).with_batch_size(limit.clamp(1, 8192))
            }
            Pick::Rows(rows) => {
                let mut selectors = Vec::new();
                let mut at = 0usize;
                for &r in rows {
                    let r = r as usize;
                    if r > at {
                        selectors.push(RowSelector::skip(r - at));
                    }
                    selectors.push(RowSelector::select(1));
                    at = r + 1;
                }
                if total > at {
                    selectors.push(RowSelector::skip(total - at));
                }
                builder.with_row_selection(RowSelection::from(selectors)).with_batch_size(rows.len().clamp(1, 8192))
            }
        };
        let stream = builder.build().map_err(|e| LakeError::Internal(format!("data file {file:?}: {e}")))?;
        let batches: Vec<RecordBatch> =
            stream.try_collect().await.map_err(|e| LakeError::Internal(format!("data file {file:?}: {e}")))?;
        // The projection keeps the file's column order; answer in the order asked for.
        let mut sorted: Vec<usize> = roots.clone();
        sorted.sort_unstable();
        let order: Vec<usize> = roots.iter().map(|r| sorted.iter().position(|s| s == r).unwrap_or(0)).collect();
        batches.into_iter().map(|b| b.project(&order).map_err(|e| LakeError::Internal(e.to_string()))).collect()
    }
}

/// Which rows of a file [`Library::read_file`] reads.
enum Pick<'a> {
    All,
    /// Skip, then at most this many.
    Range(usize, usize),
    /// These row indices, ascending.
    Rows(&'a [u32]),
}

/// The text an index keeps a value under (what Arrow's display gives, as for the file's
/// values).
fn index_key(s: &ScalarValue) -> Result<String> {
    if let ScalarValue::Utf8(Some(t)) = s {
        return Ok(t.clone());
    }
    let a = s.to_array().map_err(|e| LakeError::Internal(format!("filter value: {e}")))?;
    deltalake::arrow::util::display::array_value_to_string(&a, 0)
        .map_err(|e| LakeError::Internal(format!("filter value: {e}")))
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

/// Masks the columns of a page in place, each by its name: every value is shown as its
/// mask makes it (`core::masking`), and a masked column becomes text. A column that comes back
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
