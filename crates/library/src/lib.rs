//! The resource library service: ingests on behalf of a user, links library tables to the
//! catalog entries that describe them, and keeps each table's figures in the metadata store.
//!
//! The lake crate knows Delta tables; the store knows records; this crate decides who may
//! feed which table and keeps the two in step.

mod feeds;
mod jobs;
mod pulls;
mod schedule;

use std::collections::HashMap;
use std::path::Path;

use tongshu_catalog::{Catalog, CatalogError};
use tongshu_core::catalog::{CatalogEntry, DataType, EntryInput, ItemInput};
use tongshu_core::policy::Principal;
use tongshu_lake::{ColumnType, IngestReport, IngestRequest, LakeError, Library, Mode, TargetColumn};
use tongshu_store::{ColumnStats, MetaStore, StoreError};

pub use feeds::{Feed, SAMPLES_KEPT_SECONDS};
pub use jobs::JobSpec;
pub use pulls::{NewSource, PullSpec};
pub use schedule::{DueWork, Schedule, UpkeepOutcome};
/// Records this service hands out.
pub use tongshu_store::{ChannelSample, ChannelTableStatus, JobRecord, PipelineRecord, TableRecord};

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Forbidden(String),
}

pub type Result<T, E = LibraryError> = std::result::Result<T, E>;

/// The library service. Cheap to clone.
#[derive(Clone)]
pub struct LibraryService {
    lake: Library,
    store: MetaStore,
    catalog: Catalog,
    /// Seals and opens the passwords of data sources.
    secret: Option<tongshu_sources::SecretKey>,
    /// Background jobs running at once.
    job_slots: std::sync::Arc<tokio::sync::Semaphore>,
    /// This node's name in job leases (made at start: host, process, random).
    node: std::sync::Arc<str>,
    /// How long a job's lease lasts unrenewed: a node that stops holds its jobs this long.
    lease: std::time::Duration,
}

fn item_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Text => DataType::Text,
        ColumnType::Integer => DataType::Integer,
        ColumnType::Number => DataType::Number,
        ColumnType::Date => DataType::Date,
        ColumnType::DateTime => DataType::DateTime,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Decimal { .. } => DataType::Number,
    }
}

impl LibraryService {
    pub fn new(lake: Library, store: MetaStore) -> Self {
        Self {
            catalog: Catalog::new(store.clone()),
            lake,
            store,
            secret: None,
            job_slots: std::sync::Arc::new(tokio::sync::Semaphore::new(2)),
            node: jobs::node_name().into(),
            lease: jobs::DEFAULT_LEASE,
        }
    }

    /// Jobs leased for `lease` (renewed every third of it while they wait or run).
    pub fn with_job_lease(mut self, lease: std::time::Duration) -> Self {
        self.lease = lease.max(std::time::Duration::from_secs(1));
        self
    }

    /// This node's name in job leases.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The key that seals data-source passwords (from the configuration).
    /// The platform's secret key, when one is configured.
    pub fn secret_key(&self) -> Option<&tongshu_sources::SecretKey> {
        self.secret.as_ref()
    }

    pub fn with_secret(mut self, key: tongshu_sources::SecretKey) -> Self {
        self.secret = Some(key);
        self
    }

    pub fn lake(&self) -> &Library {
        &self.lake
    }

    /// Feeds a table. For an existing table the caller must be allowed to edit the catalog
    /// entry it belongs to (tables without one: administrators only); text longer than the
    /// entry's item lengths is refused. With `req.create`, the table is made from the file
    /// and a draft catalog entry describing it is filed for `org_id` (default: the caller's
    /// organization), for its data officer to complete and submit.
    pub async fn ingest(
        &self,
        who: &Principal,
        mut req: IngestRequest,
        org_id: Option<i64>,
    ) -> Result<(IngestReport, TableRecord)> {
        let org_id = org_id.unwrap_or(who.org_id);
        let entry = self.may_feed(who, &req.table, req.create, org_id).await?;
        if let Some(e) = &entry {
            req.max_lengths = text_lengths(e);
        }
        let file_stem = Path::new(&req.file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let report = self.lake.ingest(req).await?;
        let record = if report.created {
            // One scan gives the figures for both the draft entry and the table record.
            let figures = self.lake.column_figures(&report.table, true).await?;
            let entry = self.file_entry(who, org_id, &report.table, &file_stem, &figures, false).await?;
            self.record(&report.table, Some(entry.id), figures).await?
        } else if report.mode == Mode::Append {
            self.refresh_after_append(&report.table, entry.map(|e| e.id), report.version).await?
        } else {
            self.refresh(&report.table, entry.map(|e| e.id)).await?
        };
        tracing::info!(table = %report.table, version = report.version, rows = report.rows_written, user = %who.username, "ingested");
        Ok((report, record))
    }

    /// Whether `who` may feed `table` (or, with `create`, make it for `org_id`): the table's
    /// entry's organization's officers, administrators for tables without an entry. Returns
    /// the entry, whose item lengths bound the text. Checked before a job is accepted, and
    /// again when it runs.
    pub async fn may_feed(
        &self,
        who: &Principal,
        table: &str,
        create: bool,
        org_id: i64,
    ) -> Result<Option<CatalogEntry>> {
        if create {
            if !who.may_edit_for(org_id) {
                return Err(LibraryError::Forbidden("you may only create tables for your own organization".into()));
            }
            return Ok(None);
        }
        let record = self.store.get_table(table).await?;
        match record.and_then(|r| r.entry_id) {
            Some(entry_id) => {
                let entry = self.store.get_entry(entry_id).await?;
                if !who.may_edit_for(entry.org_id) {
                    return Err(LibraryError::Forbidden(format!(
                        "table {table:?} belongs to {}; only its data officers may feed it",
                        entry.org_name
                    )));
                }
                Ok(Some(entry))
            }
            None if who.runs_the_platform() => Ok(None),
            None => Err(LibraryError::Forbidden(format!(
                "table {table:?} has no catalog entry; only administrators may feed it"
            ))),
        }
    }

    /// Creates a table for an existing catalog entry — its columns are the entry's items,
    /// with their types and lengths — fills it from a file, and links the two. When the
    /// first ingest fails, the new table is removed again.
    pub async fn create_for_entry(
        &self,
        who: &Principal,
        mut req: IngestRequest,
        entry_id: i64,
    ) -> Result<(IngestReport, TableRecord)> {
        let entry = self.store.get_entry(entry_id).await?;
        if !who.may_edit_for(entry.org_id) {
            return Err(LibraryError::Forbidden(
                "you may only create tables for your own organization's entries".into(),
            ));
        }
        let columns: Vec<TargetColumn> = entry
            .body
            .items
            .iter()
            .map(|i| TargetColumn { name: i.name.clone(), ty: ColumnType::from_item(i.data_type), max_len: i.length })
            .collect();
        let comment = format!("{}（{}）", entry.body.name, entry.code);
        self.lake.create_table(&req.table, &columns, &comment).await?;
        req.create = false;
        req.max_lengths = text_lengths(&entry);
        let table = req.table.clone();
        let report = match self.lake.ingest(req).await {
            Ok(r) => r,
            Err(e) => {
                let _ = self.lake.drop_table(&table).await;
                return Err(e.into());
            }
        };
        let record = self.refresh(&report.table, Some(entry_id)).await?;
        Ok((report, record))
    }

    /// Files a draft catalog entry whose items are the table's columns.
    async fn file_entry(
        &self,
        who: &Principal,
        org_id: i64,
        table: &str,
        file_stem: &str,
        figures: &[tongshu_lake::ColumnFigures],
        realtime: bool,
    ) -> Result<CatalogEntry> {
        let items: Vec<ItemInput> = figures
            .iter()
            .map(|c| ItemInput {
                name: c.name.clone(),
                data_type: item_type(c.ty).as_str().into(),
                length: (c.ty == ColumnType::Text).then(|| length_with_headroom(c.max_len.unwrap_or(1))),
                description: String::new(),
                element_code: None,
            })
            .collect();
        let name = if file_stem.trim().is_empty() { table.to_owned() } else { file_stem.trim().to_owned() };
        let input = |name: String| EntryInput {
            class: "3".into(),
            item: "99".into(),
            category: "999".into(),
            name,
            summary: if realtime {
                format!(
                    "由实时通道（变更数据捕获）创建的资源库表 {table}，请数源部门补充摘要、共享与开放属性后提交审核。"
                )
            } else {
                format!("由文件导入创建的资源库表 {table}，请数源部门补充摘要、共享与开放属性后提交审核。")
            },
            format: "database".into(),
            format_detail: Some(format!("资源库表 {table}")),
            items: items.clone(),
            sharing_type: "conditional".into(),
            sharing_condition: Some("待数源部门确认共享条件".into()),
            sharing_methods: vec!["interface".into()],
            open_type: "not_open".into(),
            update_cycle: if realtime { "realtime" } else { "monthly" }.into(),
            grading: "general".into(),
            ..Default::default()
        };
        match self.catalog.create(who, Some(org_id), &input(name.clone()), None).await {
            Err(CatalogError::Conflict(_)) => {
                Ok(self.catalog.create(who, Some(org_id), &input(format!("{name}（{table}）")), None).await?)
            }
            other => Ok(other?),
        }
    }

    /// Records table `name`, which something other than an ingest made (the real-time
    /// channel): the first time with a draft catalog entry of `org_id` whose items are its
    /// columns (as `--create` files one), later only its current figures.
    pub async fn adopt(&self, who: &Principal, name: &str, org_id: i64) -> Result<TableRecord> {
        if let Some(r) = self.store.get_table(name).await? {
            return self.refresh(name, r.entry_id).await;
        }
        let figures = self.lake.column_figures(name, true).await?;
        let entry = self.file_entry(who, org_id, name, name, &figures, true).await?;
        self.record(name, Some(entry.id), figures).await
    }

    /// Reads a table's current figures from the lake and records them.
    pub async fn refresh(&self, name: &str, entry_id: Option<i64>) -> Result<TableRecord> {
        let figures = self.lake.column_figures(name, false).await?;
        self.record(name, entry_id, figures).await
    }

    /// After an append: null counts add up exactly and distinct estimates are merged from
    /// a scan of the new rows only, so feeding a big table costs what the new rows cost.
    /// When the table has grown by a quarter since its distinct values were last counted
    /// over all rows, or the figures cannot be merged, it is scanned whole instead.
    async fn refresh_after_append(&self, name: &str, entry_id: Option<i64>, version: u64) -> Result<TableRecord> {
        let before = self.store.get_table(name).await?;
        let Some(before) = before.filter(|b| b.version as u64 + 1 == version) else {
            return self.refresh(name, entry_id).await;
        };
        let counted = before.columns.iter().map(|c| c.distinct_rows).min().unwrap_or(0);
        let old_rows = before.rows.max(0) as u64;
        let Some(added) = self.lake.added_figures(name, version).await? else {
            return self.refresh(name, entry_id).await;
        };
        let same_columns = added.columns.len() == before.columns.len()
            && added.columns.iter().zip(&before.columns).all(|(a, b)| a.name == b.name);
        if !same_columns || (old_rows + added.rows) * 4 >= counted * 5 {
            return self.refresh(name, entry_id).await;
        }
        let merged = added
            .columns
            .into_iter()
            .zip(&before.columns)
            .map(|(new, old)| tongshu_lake::ColumnFigures {
                nulls: old.nulls + new.nulls,
                distinct: merge_distinct(old.distinct, old_rows, new.distinct, added.rows),
                ..new
            })
            .collect();
        self.record_with(name, entry_id, merged, counted).await
    }

    /// Records a table's current version, size and these column figures, counted over the
    /// whole table.
    async fn record(
        &self,
        name: &str,
        entry_id: Option<i64>,
        figures: Vec<tongshu_lake::ColumnFigures>,
    ) -> Result<TableRecord> {
        self.record_with(name, entry_id, figures, u64::MAX).await
    }

    /// [`Library::record`], with distinct values last counted over all of `distinct_rows`
    /// rows (`u64::MAX`: now).
    async fn record_with(
        &self,
        name: &str,
        entry_id: Option<i64>,
        figures: Vec<tongshu_lake::ColumnFigures>,
        distinct_rows: u64,
    ) -> Result<TableRecord> {
        let info = self.lake.info(name).await?;
        let distinct_rows = distinct_rows.min(info.rows);
        let history = self.lake.history(name).await?;
        // Whole seconds, as the store keeps times.
        let last = history
            .first()
            .and_then(|v| v.timestamp)
            .and_then(|ms| time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok())
            .unwrap_or_else(tongshu_core::now);
        let record = TableRecord {
            name: name.to_owned(),
            entry_id,
            uri: info.uri,
            version: info.version as i64,
            rows: info.rows as i64,
            bytes: info.bytes as i64,
            files: info.files as i64,
            public_history: false,
            columns: figures
                .into_iter()
                .map(|c| ColumnStats {
                    name: c.name,
                    ty: c.ty.to_string(),
                    nulls: c.nulls,
                    distinct: c.distinct,
                    distinct_rows,
                })
                .collect(),
            updated_at: last,
        };
        self.store.put_table(&record).await?;
        Ok(self.store.get_table(name).await?.unwrap_or(record))
    }

    /// Links a table to the catalog entry that describes it (administrators, or the entry's
    /// own data officers).
    pub async fn link(&self, who: &Principal, name: &str, entry_id: i64) -> Result<TableRecord> {
        let entry = self.store.get_entry(entry_id).await?;
        if !who.may_edit_for(entry.org_id) {
            return Err(LibraryError::Forbidden("you may only link tables to your own organization's entries".into()));
        }
        self.refresh(name, Some(entry_id)).await
    }

    pub async fn tables_of_entry(&self, entry_id: i64) -> Result<Vec<TableRecord>> {
        Ok(self.store.tables_of_entry(entry_id).await?)
    }

    /// The tables `who` may feed and export: its organization's (every table for
    /// administrators).
    pub async fn tables_for(&self, who: &Principal) -> Result<Vec<TableRecord>> {
        if who.runs_the_platform() {
            return Ok(self.store.list_tables().await?);
        }
        Ok(self.store.tables_of_org(who.org_id).await?)
    }

    /// Whether `who` may read a whole table: administrators, and the owning organization's
    /// data officers.
    pub async fn may_read_table(&self, who: &Principal, name: &str) -> Result<()> {
        let record = self.store.get_table(name).await?;
        if !self.lake.exists(name).await? {
            return Err(LibraryError::Lake(LakeError::NoSuchTable(name.to_owned())));
        }
        if who.runs_the_platform() {
            return Ok(());
        }
        if let Some(entry_id) = record.and_then(|r| r.entry_id)
            && who.may_edit_for(self.store.get_entry(entry_id).await?.org_id)
        {
            return Ok(());
        }
        Err(LibraryError::Forbidden(format!("table {name:?} belongs to another organization")))
    }

    pub async fn list(&self) -> Result<Vec<TableRecord>> {
        Ok(self.store.list_tables().await?)
    }

    /// A table's record in the store (none for a table the store does not know).
    pub async fn table_record(&self, name: &str) -> Result<Option<TableRecord>> {
        Ok(self.store.get_table(name).await?)
    }

    /// The real-time channel's pipelines as their runners last reported them (the channel
    /// crate runs them; this is what every node reads of them, for metrics).
    pub async fn feeds(&self) -> Result<Vec<PipelineRecord>> {
        Ok(self.store.list_pipelines().await?)
    }

    /// The version a table is at: its store record's, else the Delta log's.
    pub async fn current_version(&self, name: &str) -> Result<u64> {
        match self.store.get_table(name).await? {
            Some(r) => Ok(r.version.max(0) as u64),
            None => Ok(self.lake.info(name).await?.version),
        }
    }

    /// Writes every row of `name` (at `version`, else the current one) to `out` in
    /// `format`, encoded off the async runtime. The caller has checked access. Returns the
    /// rows written.
    pub async fn export_table(
        &self,
        name: &str,
        version: Option<u64>,
        format: tongshu_lake::ExportFormat,
        out: std::fs::File,
    ) -> Result<u64> {
        let (rows, _) = self.lake.export_table(name, version, format, std::io::BufWriter::new(out)).await?;
        Ok(rows)
    }
}

/// The length a draft item gets for text of at most `seen` characters: the next step of a
/// ladder above it, so that the next file's longer name or address (山口盈文 after three-
/// character names, "N/A" in a two-character column) still fits. A length an officer
/// declares holds as declared.
pub fn length_with_headroom(seen: u64) -> u32 {
    const LADDER: [u32; 6] = [50, 100, 255, 500, 2000, 10_000];
    LADDER.into_iter().find(|&step| u64::from(step) >= seen.saturating_mul(2)).unwrap_or(1_000_000)
}

/// The longest text each column may hold, from the entry's text items.
fn text_lengths(entry: &CatalogEntry) -> HashMap<String, u32> {
    entry
        .body
        .items
        .iter()
        .filter(|i| i.data_type == DataType::Text)
        .filter_map(|i| i.length.map(|l| (i.name.clone(), l)))
        .collect()
}

/// The distinct values of a table after an append, from the estimates of its old rows and
/// of the added ones: a column unique in both parts (keys, ID numbers) adds up; any other
/// column is taken to repeat its values, so the larger estimate stands. The next full count
/// (after a quarter's growth) corrects what this misjudges.
fn merge_distinct(old: u64, old_rows: u64, new: u64, new_rows: u64) -> u64 {
    let unique = |d: u64, rows: u64| rows > 0 && d * 10 >= rows * 9;
    if unique(old, old_rows) && unique(new, new_rows) { (old + new).min(old_rows + new_rows) } else { old.max(new) }
}
