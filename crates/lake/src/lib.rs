//! The resource library: each table is a Delta Lake table under one root (`file://` in the
//! data directory by default), written with `deltalake` and queried with DataFusion.
//!
//! Every ingest is one Delta commit: the input is parsed as a stream of Arrow batches and
//! handed to a Delta write or merge as a DataFusion plan, so memory stays bounded and a
//! failure anywhere leaves the previous version as it was.

mod cache;
mod changes;
mod chunk;
mod csv_rows;
mod export;
mod figures;
mod formats;
mod ingest;
mod query;
mod ranges;
mod rows;
pub mod source;
mod upkeep;
pub mod values;

use std::collections::HashMap;
use std::sync::Arc;

use deltalake::DeltaTable;
use deltalake::arrow::datatypes::{DataType as ArrowType, Field, Schema, SchemaRef, TimeUnit};
use deltalake::kernel::{DataType as DeltaType, PrimitiveType, StructField};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use url::Url;

pub use changes::{Applied, ChangeKind, Changes, SourcePosition};
pub use deltalake::arrow;
pub use deltalake::datafusion;
pub use export::ExportFormat;
pub use figures::{AddedFigures, ColumnFigures};
pub use ingest::{BadRowPolicy, IngestReport, IngestRequest, Mode, RowStream};
pub use query::{QueryLimits, QueryResult};
pub use rows::{Condition, Op, Position, RowPage, RowQuery, mask_batches, mask_page, repeated};
pub use source::{BadRow, GUESS_ROWS, InputFormat, Progress, SourceOptions, TargetColumn, encoding_named};
pub use upkeep::CompactReport;
pub use values::ColumnType;

/// Errors of the library. Messages name the table, file, row or column at fault.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("{0}")]
    Input(String),
    #[error("table {0:?} does not exist")]
    NoSuchTable(String),
    #[error("table {0:?} already exists")]
    TableExists(String),
    #[error("bad table name {0:?}: use 1 to 63 lowercase letters, digits and '_', starting with a letter")]
    BadName(String),
    #[error("ingest refused: {} bad rows (first: {}){}", .0.bad_rows, .0.bad_row_samples.first().map(|b| b.to_string()).unwrap_or_default(),
        .0.notes.iter().filter(|n| n.contains("widen")).map(|n| format!("; {n}")).collect::<String>())]
    Rejected(Box<source::ReadReport>),
    #[error("{0}")]
    Query(String),
    #[error("query took longer than {0} seconds")]
    Timeout(u64),
    #[error("delta: {0}")]
    Delta(#[from] deltalake::DeltaTableError),
    #[error("internal: {0}")]
    Internal(String),
    /// A column type guessed from the first rows of a new table's file did not fit a later
    /// value; the ingest starts again with types from the whole file (never shown to users).
    #[error("column types guessed from the first rows do not fit the rest: {0}")]
    GuessWrong(String),
}

impl From<deltalake::datafusion::error::DataFusionError> for LakeError {
    fn from(e: deltalake::datafusion::error::DataFusionError) -> Self {
        LakeError::Query(e.to_string())
    }
}

pub type Result<T, E = LakeError> = std::result::Result<T, E>;

/// A library table name: stable, readable, usable unquoted in SQL.
pub fn check_name(name: &str) -> Result<()> {
    let ok = (1..=63).contains(&name.len())
        && name.as_bytes()[0].is_ascii_lowercase()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok { Ok(()) } else { Err(LakeError::BadName(name.to_owned())) }
}

/// Where a table stands now.
#[derive(Debug, Clone, Serialize)]
pub struct TableInfo {
    pub name: String,
    /// The Delta table's URI, which any Delta reader can open.
    pub uri: String,
    pub version: u64,
    pub rows: u64,
    pub files: u64,
    pub bytes: u64,
    pub columns: Vec<ColumnInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
}

/// One version in a table's history.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    pub version: u64,
    /// Milliseconds since the epoch.
    pub timestamp: Option<i64>,
    pub operation: String,
    /// Who made the change and from what (Tongshu's commit metadata).
    pub user: Option<String>,
    pub source: Option<String>,
    /// The background job that made it, if one did.
    pub job: Option<i64>,
    pub metrics: serde_json::Value,
}

/// The library: a root location holding one Delta table per directory.
#[derive(Debug, Clone)]
pub struct Library {
    root: Url,
    storage_options: HashMap<String, String>,
    /// Snapshots, Parquet metadata and value indexes for pages of rows ([`cache`]).
    caches: Arc<cache::Caches>,
    /// Tables read in place from source databases (logical centralization), which SQL
    /// names beside the library's own.
    external: Option<Arc<dyn ExternalTables>>,
}

/// Tables that live elsewhere (a department's database) and that SQL statements over the
/// library may name: `provider` answers the table provider for a name, `None` for a name
/// that is not one of them. Read in place at each statement, under the statement's row
/// and time limits; statements stay read-only.
pub trait ExternalTables: std::fmt::Debug + Send + Sync {
    fn provider<'a>(
        &'a self,
        name: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Option<Arc<dyn deltalake::datafusion::catalog::TableProvider>>>>;
}

fn arrow_type(t: ColumnType) -> ArrowType {
    match t {
        ColumnType::Text => ArrowType::Utf8,
        ColumnType::Integer => ArrowType::Int64,
        ColumnType::Number => ArrowType::Float64,
        ColumnType::Date => ArrowType::Date32,
        ColumnType::DateTime => ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::Boolean => ArrowType::Boolean,
        ColumnType::Decimal { precision, scale } => ArrowType::Decimal128(precision, scale as i8),
    }
}

fn column_type(t: &ArrowType) -> Option<ColumnType> {
    Some(match t {
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => ColumnType::Text,
        ArrowType::Int8 | ArrowType::Int16 | ArrowType::Int32 | ArrowType::Int64 => ColumnType::Integer,
        ArrowType::Float32 | ArrowType::Float64 => ColumnType::Number,
        ArrowType::Decimal128(p, s) if *s >= 0 => ColumnType::decimal(u32::from(*p), *s as u32)?,
        ArrowType::Date32 | ArrowType::Date64 => ColumnType::Date,
        ArrowType::Timestamp(..) => ColumnType::DateTime,
        ArrowType::Boolean => ColumnType::Boolean,
        _ => return None,
    })
}

/// The Arrow schema of batches for these columns (all nullable).
pub fn arrow_schema(cols: &[TargetColumn]) -> SchemaRef {
    Arc::new(Schema::new(cols.iter().map(|c| Field::new(&c.name, arrow_type(c.ty), true)).collect::<Vec<_>>()))
}

fn delta_field(c: &TargetColumn) -> StructField {
    let t = match c.ty {
        ColumnType::Text => PrimitiveType::String,
        ColumnType::Integer => PrimitiveType::Long,
        ColumnType::Number => PrimitiveType::Double,
        ColumnType::Date => PrimitiveType::Date,
        ColumnType::DateTime => PrimitiveType::Timestamp,
        ColumnType::Boolean => PrimitiveType::Boolean,
        // `ColumnType::decimal` only makes valid ones; a double would be the lossy fallback.
        ColumnType::Decimal { precision, scale } => {
            PrimitiveType::decimal(precision, scale).unwrap_or(PrimitiveType::Double)
        }
    };
    StructField::new(c.name.clone(), DeltaType::Primitive(t), true)
}

impl Library {
    /// A library rooted at `root`: a local directory, or an `s3://bucket/prefix` URL with
    /// `storage_options` (endpoint, credentials) for S3-compatible storage.
    pub fn open(root: &str, storage_options: HashMap<String, String>) -> Result<Self> {
        let url = if root.contains("://") {
            Url::parse(root).map_err(|e| LakeError::Input(format!("library location {root:?}: {e}")))?
        } else {
            let path = std::path::Path::new(root);
            std::fs::create_dir_all(path).map_err(|e| LakeError::Input(format!("library directory {root}: {e}")))?;
            let abs = path.canonicalize().map_err(|e| LakeError::Input(format!("library directory {root}: {e}")))?;
            Url::from_directory_path(&abs)
                .map_err(|_| LakeError::Input(format!("library directory {root} is not absolute")))?
        };
        let root = if url.path().ends_with('/') {
            url
        } else {
            Url::parse(&format!("{url}/")).map_err(|e| LakeError::Internal(e.to_string()))?
        };
        Ok(Self { root, storage_options, caches: Arc::default(), external: None })
    }

    /// The library whose SQL also sees `external` tables (read in place).
    pub fn with_external(mut self, external: Arc<dyn ExternalTables>) -> Self {
        self.external = Some(external);
        self
    }

    /// The object store options it was opened with (credentials, endpoint).
    pub fn storage_options(&self) -> &HashMap<String, String> {
        &self.storage_options
    }

    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The location of table `name`.
    pub fn table_url(&self, name: &str) -> Result<Url> {
        check_name(name)?;
        self.root.join(&format!("{name}/")).map_err(|e| LakeError::Internal(e.to_string()))
    }

    async fn load_url(&self, url: Url) -> Result<DeltaTable> {
        let table =
            deltalake::DeltaTableBuilder::from_url(url)?.with_storage_options(self.storage_options.clone()).build()?;
        Ok(table)
    }

    /// The local directory of a table, for `file://` libraries.
    fn local_dir(url: &Url) -> Option<std::path::PathBuf> {
        (url.scheme() == "file").then(|| url.to_file_path().ok()).flatten()
    }

    /// Opens an existing table at its latest version.
    pub async fn table(&self, name: &str) -> Result<DeltaTable> {
        let url = self.table_url(name)?;
        if Self::local_dir(&url).is_some_and(|d| !d.join("_delta_log").is_dir()) {
            return Err(LakeError::NoSuchTable(name.to_owned()));
        }
        let mut t = self.load_url(url).await?;
        match t.load().await {
            Ok(()) => Ok(t),
            Err(deltalake::DeltaTableError::NotATable(_)) => Err(LakeError::NoSuchTable(name.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn exists(&self, name: &str) -> Result<bool> {
        match self.table(name).await {
            Ok(_) => Ok(true),
            Err(LakeError::NoSuchTable(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Creates an empty table with these columns (version 0).
    pub async fn create_table(&self, name: &str, columns: &[TargetColumn], comment: &str) -> Result<DeltaTable> {
        if self.exists(name).await? {
            return Err(LakeError::TableExists(name.to_owned()));
        }
        if columns.is_empty() {
            return Err(LakeError::Input(format!("table {name:?} needs at least one column")));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = columns.iter().find(|c| !seen.insert(c.name.as_str())) {
            return Err(LakeError::Input(format!("column {:?} is defined twice", dup.name)));
        }
        let url = self.table_url(name)?;
        if let Some(dir) = Self::local_dir(&url) {
            std::fs::create_dir_all(&dir).map_err(|e| LakeError::Input(format!("{}: {e}", dir.display())))?;
        }
        let t = self.load_url(url).await?;
        let t = t
            .create()
            .with_table_name(name)
            .with_comment(comment)
            .with_columns(columns.iter().map(delta_field))
            .await?;
        Ok(t)
    }

    /// The object store at `url` (a table's location, or the library's root).
    fn store_at(&self, url: &Url) -> Result<Arc<dyn deltalake::ObjectStore>> {
        let log_store = deltalake::DeltaTableBuilder::from_url(url.clone())?
            .with_storage_options(self.storage_options.clone())
            .build_storage()?;
        Ok(log_store.object_store(None))
    }

    /// Keeps `bytes` under `_files/<key>` beside the library's tables (a local directory or
    /// the object store), so every node reads what any node put: written to a temporary
    /// name and renamed on disk; one PUT on an object store.
    pub async fn put_file(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        let key = file_key(key)?;
        if self.root.scheme() == "file" {
            let root = self.root.to_file_path().map_err(|_| LakeError::Internal("bad library path".into()))?;
            let path = root.join("_files").join(&key);
            return tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                let dir = path.parent().expect("a key has a folder");
                std::fs::create_dir_all(dir)?;
                let tmp = dir.join(format!(".{}.{}.tmp", std::process::id(), rand_suffix()));
                std::fs::write(&tmp, &bytes)?;
                std::fs::File::open(&tmp)?.sync_all()?;
                std::fs::rename(&tmp, &path)
            })
            .await
            .map_err(|e| LakeError::Internal(e.to_string()))?
            .map_err(|e| LakeError::Internal(format!("storing file {key}: {e}")));
        }
        use object_store::ObjectStoreExt;
        let store = self.store_at(&self.root)?;
        store
            .put(&deltalake::Path::from(format!("_files/{key}")), bytes.into())
            .await
            .map_err(|e| LakeError::Internal(format!("storing file {key}: {e}")))?;
        Ok(())
    }

    /// The bytes kept under `_files/<key>`; `None` when there are none.
    pub async fn get_file(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let key = file_key(key)?;
        if self.root.scheme() == "file" {
            let root = self.root.to_file_path().map_err(|_| LakeError::Internal("bad library path".into()))?;
            return match tokio::fs::read(root.join("_files").join(&key)).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(LakeError::Internal(format!("reading file {key}: {e}"))),
            };
        }
        use object_store::ObjectStoreExt;
        let store = self.store_at(&self.root)?;
        match store.get(&deltalake::Path::from(format!("_files/{key}"))).await {
            Ok(r) => {
                Ok(Some(r.bytes().await.map_err(|e| LakeError::Internal(format!("reading file {key}: {e}")))?.to_vec()))
            }
            Err(deltalake::ObjectStoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(LakeError::Internal(format!("reading file {key}: {e}"))),
        }
    }

    /// Removes a table and all its files, wherever the library lives (used to undo a table
    /// whose creation failed).
    pub async fn drop_table(&self, name: &str) -> Result<()> {
        let url = self.table_url(name)?;
        if let Some(dir) = Self::local_dir(&url) {
            return match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(LakeError::Internal(format!("removing {}: {e}", dir.display())))
                }
                _ => Ok(()),
            };
        }
        let store = self.store_at(&url)?;
        let paths = store.list(None).map_ok(|m| m.location).boxed();
        let mut deleted = store.delete_stream(paths);
        while let Some(r) = deleted.next().await {
            r.map_err(|e| LakeError::Internal(format!("removing table {name:?}: {e}")))?;
        }
        Ok(())
    }

    /// The names of all tables in the library, sorted.
    pub async fn list(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = if self.root.scheme() == "file" {
            let dir = self.root.to_file_path().map_err(|_| LakeError::Internal("bad library path".into()))?;
            std::fs::read_dir(&dir)
                .map_err(|e| LakeError::Input(format!("{}: {e}", dir.display())))?
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join("_delta_log").is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .filter(|n| check_name(n).is_ok())
                .collect()
        } else {
            let listing = self
                .store_at(&self.root)?
                .list_with_delimiter(None)
                .await
                .map_err(|e| LakeError::Input(format!("listing {}: {e}", self.root)))?;
            let mut names = Vec::new();
            for prefix in listing.common_prefixes {
                let Some(name) = prefix.parts().next_back().map(|p| p.as_ref().to_owned()) else { continue };
                if check_name(&name).is_ok() && self.exists(&name).await? {
                    names.push(name);
                }
            }
            names
        };
        names.sort();
        Ok(names)
    }

    /// The columns of a table as the ingest sees them.
    pub fn columns_of(table: &DeltaTable) -> Result<Vec<TargetColumn>> {
        let schema = table.snapshot()?.snapshot().arrow_schema();
        schema
            .fields()
            .iter()
            .map(|f| {
                let ty = column_type(f.data_type()).ok_or_else(|| {
                    LakeError::Input(format!(
                        "column {:?} has type {} which Tongshu cannot fill",
                        f.name(),
                        f.data_type()
                    ))
                })?;
                Ok(TargetColumn { name: f.name().clone(), ty, max_len: None })
            })
            .collect()
    }

    /// URI, version, rows, files and bytes of a table now.
    pub async fn info(&self, name: &str) -> Result<TableInfo> {
        let t = self.table(name).await?;
        let version = t.version().unwrap_or(0);
        let data = data_files(&t).await?;
        let files = data.len() as u64;
        let (rows, bytes) = data.iter().fold((0, 0), |a, f| (a.0 + f.rows, a.1 + f.bytes));
        let columns = Self::columns_of(&t)?
            .into_iter()
            .map(|c| ColumnInfo { name: c.name, ty: c.ty.as_str().to_owned() })
            .collect();
        Ok(TableInfo { name: name.to_owned(), uri: t.table_url().to_string(), version, rows, files, bytes, columns })
    }

    /// Every version of a table, newest first.
    pub async fn history(&self, name: &str) -> Result<Vec<VersionInfo>> {
        let t = self.table(name).await?;
        let latest = t.version().unwrap_or(0);
        let commits: Vec<_> = t.history(None).try_collect().await?;
        Ok(commits
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let get = |k: &str| c.info.get(k).and_then(|v| v.as_str()).map(str::to_owned);
                VersionInfo {
                    version: latest.saturating_sub(i as u64),
                    timestamp: c.timestamp,
                    operation: c.operation.clone().unwrap_or_default(),
                    user: get("tongshu.user"),
                    source: get("tongshu.source"),
                    job: c.info.get("tongshu.job").and_then(|v| v.as_i64()),
                    metrics: c.info.get("operationMetrics").cloned().unwrap_or(serde_json::Value::Null),
                }
            })
            .collect())
    }

    /// Makes `version` the table's content again, as a new version. Returns the new version.
    pub async fn restore(&self, name: &str, version: u64) -> Result<u64> {
        let t = self.table(name).await?;
        let latest = t.version().unwrap_or(0);
        if version >= latest {
            return Err(LakeError::Input(format!(
                "table {name:?} has versions 0 to {latest}; restore needs an earlier one than {latest}"
            )));
        }
        let (t, _metrics) = t.restore().with_version_to_restore(version).await?;
        Ok(t.version().unwrap_or(latest + 1))
    }
}

/// How Tongshu writes Parquet: Snappy; data pages of at most 2,048 rows (Parquet's default
/// allows 20,000) and dictionaries of at most 64 KiB (default 1 MiB), so that a page of
/// rows, an equality match or a deep cursor decodes a few small pages and dictionaries
/// instead of megabytes: the page index lets a reader skip the rest, and a column with
/// many distinct values (ids, amounts) falls back to plain pages early instead of carrying
/// a dictionary every reader must decode first. Columns of few values (districts, names,
/// codes) keep their dictionaries.
pub(crate) fn writer_properties() -> deltalake::parquet::file::properties::WriterProperties {
    deltalake::parquet::file::properties::WriterProperties::builder()
        .set_created_by(format!("tongshu {}", env!("CARGO_PKG_VERSION")))
        .set_compression(deltalake::parquet::basic::Compression::SNAPPY)
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_write_batch_size(PAGE_ROWS)
        .set_dictionary_page_size_limit(64 << 10)
        .build()
}

/// Rows per Parquet data page at most (see [`writer_properties`]).
pub(crate) const PAGE_ROWS: usize = 2048;

/// One data file of a table version, as its Delta log describes it.
pub(crate) struct DataFile {
    /// Relative to the table's root.
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
}

/// The data files of a table's loaded version, in path order (a stable order for paging).
pub(crate) async fn data_files(table: &DeltaTable) -> Result<Vec<DataFile>> {
    let snapshot = table.snapshot()?;
    let mut views = snapshot.snapshot().file_views(table.log_store().as_ref(), None);
    let mut files = Vec::new();
    while let Some(f) = views.next().await {
        let f = f?;
        files.push(DataFile {
            path: f.path().into_owned(),
            rows: f.num_records().unwrap_or(0) as u64,
            bytes: f.size().max(0) as u64,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// A key of [`Library::put_file`]: folders and names of letters, digits, `-`, `_` and `.`
/// (no `..`, no leading `/`), so that no key reaches outside `_files`.
fn file_key(key: &str) -> Result<String> {
    let ok = !key.is_empty()
        && key.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
    if ok {
        Ok(key.to_owned())
    } else {
        Err(LakeError::Input(format!("file key {key:?}: letters, digits, '-', '_', '.' and '/' only")))
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn table_names_are_sql_friendly() {
        assert!(super::check_name("renkou_2024").is_ok());
        for bad in ["", "2x", "Renkou", "人口", "a-b", &"x".repeat(64)] {
            assert!(super::check_name(bad).is_err(), "{bad}");
        }
    }
}
