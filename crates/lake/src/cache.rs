//! What a page of rows may reuse, so that it costs what it returns and not what the table
//! holds: the snapshot of a table version (its files and columns, no log replay), the
//! Parquet metadata of a data file (footer and page indexes), and per-version indexes of
//! the values of a column (for equality filters).
//!
//! Everything cached is immutable: a table version never changes and data files are never
//! rewritten in place. A cached version is still checked on every use against its commit
//! file in the log (one HEAD or `stat`), so a table dropped and created again under the same
//! name — by this node or another — is read afresh. Nothing here decides access: the portal
//! checks who may read before it asks for rows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use deltalake::DeltaTable;
use deltalake::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use deltalake::parquet::file::metadata::PageIndexPolicy;

use crate::{DataFile, LakeError, Result, TargetColumn};

/// Snapshots kept (table versions).
const SNAPSHOTS: usize = 32;
/// Parquet metadata kept (data files).
const FOOTERS: usize = 1024;
/// Index memory across all snapshots: positions of 8 bytes each.
const INDEX_BUDGET_BYTES: u64 = 512 << 20;

/// A loaded table version.
pub(crate) struct Snapshot {
    pub table: DeltaTable,
    pub files: Vec<DataFile>,
    pub columns: Vec<TargetColumn>,
    /// The commit file's size and modification time, to notice a re-created table.
    commit: (u64, i64),
    /// Value indexes by column, built on first use.
    indexes: Mutex<HashMap<String, Arc<ColumnIndex>>>,
    /// Held while an index is built, so that concurrent first uses build it once.
    building: tokio::sync::Mutex<()>,
}

/// Where each value of one column is: positions `(file << 32) | row` in ascending order,
/// so a value's rows come in stored order.
pub(crate) struct ColumnIndex {
    pub positions: HashMap<String, Vec<u64>>,
    /// Each row's value rank, built on the first range condition on the column (`None`:
    /// the column has no order kept here, or the budget was spent).
    ranks: std::sync::OnceLock<Option<Arc<crate::ranges::Ranks>>>,
    /// Budget bytes held: the positions', then the ranks' too.
    bytes: AtomicU64,
    budget: Arc<AtomicU64>,
}

impl Drop for ColumnIndex {
    fn drop(&mut self) {
        self.budget.fetch_sub(self.bytes.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

/// A small least-recently-used map (linear; it holds few entries).
struct Lru<K, V> {
    cap: usize,
    items: Vec<(K, V)>,
}

impl<K: PartialEq, V: Clone> Lru<K, V> {
    fn new(cap: usize) -> Self {
        Self { cap, items: Vec::new() }
    }

    fn get(&mut self, k: &K) -> Option<V> {
        let i = self.items.iter().position(|(key, _)| key == k)?;
        let item = self.items.remove(i);
        let v = item.1.clone();
        self.items.push(item);
        Some(v)
    }

    fn put(&mut self, k: K, v: V) {
        self.items.retain(|(key, _)| *key != k);
        if self.items.len() >= self.cap {
            self.items.remove(0);
        }
        self.items.push((k, v));
    }
}

pub(crate) struct Caches {
    snapshots: Mutex<Lru<(String, u64), Arc<Snapshot>>>,
    footers: Mutex<HashMap<String, ArrowReaderMetadata>>,
    index_bytes: Arc<AtomicU64>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches").field("index_bytes", &self.index_bytes.load(Ordering::Relaxed)).finish()
    }
}

impl Default for Caches {
    fn default() -> Self {
        Self {
            snapshots: Mutex::new(Lru::new(SNAPSHOTS)),
            footers: Mutex::new(HashMap::new()),
            index_bytes: Arc::new(AtomicU64::new(0)),
        }
    }
}

/// The size and modification time of version `v`'s commit file.
async fn commit_of(table: &DeltaTable, v: u64) -> Result<Option<(u64, i64)>> {
    use object_store::ObjectStoreExt;
    let store = table.log_store().object_store(None);
    let path = deltalake::Path::from(format!("_delta_log/{v:020}.json"));
    match store.head(&path).await {
        Ok(m) => Ok(Some((m.size, m.last_modified.timestamp_millis()))),
        Err(deltalake::ObjectStoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(LakeError::Internal(format!("reading the log of a table: {e}"))),
    }
}

impl Caches {
    /// Version `version` of table `key`: the cached one while the version's commit file is
    /// the one cached (one HEAD through the cached table's store), else the table `fresh`
    /// opens (unloaded) loaded at that version.
    pub(crate) async fn snapshot<F, Fut>(&self, key: &str, version: u64, fresh: F) -> Result<Arc<Snapshot>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<DeltaTable>>,
    {
        let cached = self.snapshots.lock().unwrap_or_else(|e| e.into_inner()).get(&(key.to_owned(), version));
        if let Some(s) = cached
            && commit_of(&s.table, version).await? == Some(s.commit)
        {
            return Ok(s);
        }
        let mut table = fresh().await?;
        let commit = commit_of(&table, version).await?;
        table
            .load_version(version)
            .await
            .map_err(|e| LakeError::Input(format!("version {version} of {key:?} cannot be read ({e}); start again")))?;
        self.keep(key, version, table, commit).await
    }

    /// The latest version of table `key`: the newest cached version while its commit file
    /// is the one cached and no next commit file exists (two HEADs or `stat`s, no log
    /// replay), else the table `latest` opens loaded at its latest version. Versions are
    /// committed in sequence, so a newer one always has the next commit file.
    pub(crate) async fn latest<F, Fut>(&self, key: &str, latest: F) -> Result<Arc<Snapshot>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<DeltaTable>>,
    {
        let newest = {
            let mut snapshots = self.snapshots.lock().unwrap_or_else(|e| e.into_inner());
            let v = snapshots.items.iter().filter(|((k, _), _)| k == key).map(|((_, v), _)| *v).max();
            v.and_then(|v| snapshots.get(&(key.to_owned(), v)).map(|s| (v, s)))
        };
        if let Some((v, s)) = newest
            && commit_of(&s.table, v).await? == Some(s.commit)
            && commit_of(&s.table, v + 1).await?.is_none()
        {
            return Ok(s);
        }
        let table = latest().await?;
        let version = table.version().unwrap_or(0);
        let commit = commit_of(&table, version).await?;
        self.keep(key, version, table, commit).await
    }

    /// A snapshot of `table` loaded at `version`, cached unless its commit file is gone
    /// (log cleaned up).
    async fn keep(
        &self,
        key: &str,
        version: u64,
        table: DeltaTable,
        commit: Option<(u64, i64)>,
    ) -> Result<Arc<Snapshot>> {
        let files = crate::data_files(&table).await?;
        let columns = crate::Library::columns_of(&table)?;
        let snapshot = Arc::new(Snapshot {
            table,
            files,
            columns,
            commit: commit.unwrap_or_default(),
            indexes: Mutex::default(),
            building: tokio::sync::Mutex::new(()),
        });
        if commit.is_some() {
            self.snapshots.lock().unwrap_or_else(|e| e.into_inner()).put((key.to_owned(), version), snapshot.clone());
        }
        Ok(snapshot)
    }

    /// The Parquet metadata (with page indexes) of a data file, read once.
    #[allow(deprecated)] // ParquetObjectReader: see `Library::read_file`
    pub(crate) async fn footer(
        &self,
        key: &str,
        reader: &mut deltalake::parquet::arrow::async_reader::ParquetObjectReader,
    ) -> Result<ArrowReaderMetadata> {
        if let Some(m) = self.footers.lock().unwrap_or_else(|e| e.into_inner()).get(key) {
            return Ok(m.clone());
        }
        let m = ArrowReaderMetadata::load_async(
            reader,
            ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional),
        )
        .await
        .map_err(|e| LakeError::Internal(format!("data file {key:?}: {e}")))?;
        let mut footers = self.footers.lock().unwrap_or_else(|e| e.into_inner());
        if footers.len() >= FOOTERS {
            footers.clear();
        }
        footers.insert(key.to_owned(), m.clone());
        Ok(m)
    }

    /// The index of `column` in `snapshot`, built by `build` on first use; `None` when the
    /// index budget is spent (the caller scans instead).
    pub(crate) async fn index<F, Fut>(
        &self,
        snapshot: &Snapshot,
        column: &str,
        build: F,
    ) -> Result<Option<Arc<ColumnIndex>>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<HashMap<String, Vec<u64>>>>,
    {
        let built = || snapshot.indexes.lock().unwrap_or_else(|e| e.into_inner()).get(column).cloned();
        if let Some(i) = built() {
            return Ok(Some(i));
        }
        let _one = snapshot.building.lock().await;
        if let Some(i) = built() {
            return Ok(Some(i));
        }
        let rows: u64 = snapshot.files.iter().map(|f| f.rows).sum();
        let bytes = rows * 8 + 64;
        if self.index_bytes.load(Ordering::Relaxed) + bytes > INDEX_BUDGET_BYTES {
            return Ok(None);
        }
        let positions = build().await?;
        self.index_bytes.fetch_add(bytes, Ordering::Relaxed);
        let index = Arc::new(ColumnIndex {
            positions,
            ranks: std::sync::OnceLock::new(),
            bytes: AtomicU64::new(bytes),
            budget: self.index_bytes.clone(),
        });
        snapshot.indexes.lock().unwrap_or_else(|e| e.into_inner()).insert(column.to_owned(), index.clone());
        Ok(Some(index))
    }

    /// The value ranks of `index`'s column (of type `ty`) in `snapshot`, built on first use
    /// within the index budget; `None` when they cannot be had (the caller scans).
    pub(crate) fn ranks(
        &self,
        snapshot: &Snapshot,
        index: &ColumnIndex,
        ty: crate::ColumnType,
    ) -> Option<Arc<crate::ranges::Ranks>> {
        index
            .ranks
            .get_or_init(|| {
                let file_rows: Vec<u64> = snapshot.files.iter().map(|f| f.rows).collect();
                let bytes = crate::ranges::Ranks::bytes_for(file_rows.iter().sum());
                if self.index_bytes.load(Ordering::Relaxed) + bytes > INDEX_BUDGET_BYTES {
                    return None;
                }
                let started = std::time::Instant::now();
                let ranks = crate::ranges::Ranks::build(ty, &index.positions, &file_rows)?;
                self.index_bytes.fetch_add(bytes, Ordering::Relaxed);
                index.bytes.fetch_add(bytes, Ordering::Relaxed);
                tracing::debug!(ms = started.elapsed().as_millis() as u64, "value ranks built");
                Some(Arc::new(ranks))
            })
            .clone()
    }
}

/// The positions an equality filter matches: a value's list in the index, or a list made
/// for several values or columns.
pub(crate) enum Matches {
    Shared(Arc<ColumnIndex>, String),
    Owned(Vec<u64>),
}

impl Matches {
    pub(crate) fn positions(&self) -> &[u64] {
        match self {
            Matches::Shared(index, value) => index.positions.get(value).map(Vec::as_slice).unwrap_or(&[]),
            Matches::Owned(v) => v,
        }
    }
}

/// The positions in both sorted lists.
pub(crate) fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}
