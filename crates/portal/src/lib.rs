//! The open data portal's service: which catalog entries the public sees as datasets, how
//! they are described (CKAN's dataset model: names, organizations, groups, tags,
//! resources), the search index over them, and their rows for data APIs.
//!
//! A public dataset is a listed catalog entry whose open attribute is 无条件开放 or
//! 有条件开放. Its resources are the library tables linked to the entry. Rows of an
//! unconditionally open dataset are served to anyone; rows of a conditionally open one need
//! an approved application ([`interact`]).
//!
//! The portal keeps a snapshot of the public datasets in memory and rebuilds it (and the
//! search index) when the metadata store's change stamp moves; [`Portal::spawn_refresh`]
//! checks every few seconds, so a listed, changed or delisted entry shows within seconds.

pub mod dcat;
pub mod interact;
pub mod quality;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tongshu_core::catalog::{CatalogEntry, EntryStatus, OpenType};
use tongshu_core::city::City;
use tongshu_core::org::Organization;
use tongshu_core::policy::Principal;
use tongshu_core::synonyms::SynonymInput;
use tongshu_lake::{RowPage, RowQuery};
use tongshu_library::LibraryService;
use tongshu_search::{SearchDoc, SearchIndex, SearchQuery, SearchResults, SynonymRule};
use tongshu_store::{EntryFilter, MetaStore, StoreError, TableRecord, UsageTotals};
/// Records this service takes and hands out.
pub use tongshu_store::{Interaction, InteractionKind, Synonym, UsageKind};

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Fields(tongshu_core::FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Search(#[from] tongshu_search::SearchError),
    #[error("{0}")]
    Lake(tongshu_lake::LakeError),
}

impl From<tongshu_lake::LakeError> for PortalError {
    fn from(e: tongshu_lake::LakeError) -> Self {
        match e {
            tongshu_lake::LakeError::Input(m) => PortalError::Invalid(m),
            e => PortalError::Lake(e),
        }
    }
}

pub type Result<T, E = PortalError> = std::result::Result<T, E>;

/// Topics (CKAN groups): slug, title, and the providers whose datasets belong to each.
pub const TOPICS: &[(&str, &str, &[&str])] = &[
    ("jingji", "经济建设", &["fgw", "gxj", "tjj", "swuj", "gzw", "sjj"]),
    ("caishui-jinrong", "财税金融", &["swj", "czj", "jrj", "gjj"]),
    ("ziyuan-huanjing", "资源环境", &["zrzyj", "sthjj", "slj", "qxj", "swjt", "gdgs"]),
    ("jiaoyu-keji", "教育科技", &["jyj", "kjj", "lydx"]),
    ("daolu-jiaotong", "道路交通", &["jtysj", "gjjt"]),
    ("shehui-fazhan", "社会发展", &["mzj", "mzzjj", "xfj", "tyjrj", "cl", "dag"]),
    ("nongye-nongcun", "农业农村", &["nyncj"]),
    ("gonggong-anquan", "公共安全", &["gaj", "yjglj", "xfzd", "rfb", "sfj"]),
    ("shichang-jianguan", "市场监管", &["scjgj", "ycj", "hg", "ggzy"]),
    ("chengjian-zhufang", "城建住房", &["zjj", "cgj"]),
    ("shebao-jiuye", "社保就业", &["rsj", "ybj"]),
    ("yiliao-weisheng", "医疗卫生", &["wjw"]),
    ("wenhua-xiuxian", "文化休闲", &["whlyj", "tyj"]),
    ("zhengwu-fuwu", "政务服务", &["dsjj", "xzspj", "jgswj", "yzglj"]),
    ("qita", "其他", &[]),
];

/// The topic of a provider (by its slug). A county's department (`lanling-ga`) shares the
/// topic of the city's (`gaj`).
pub fn topic_of(org_slug: &str) -> (&'static str, &'static str) {
    let find = |slug: &str| TOPICS.iter().find(|(_, _, orgs)| orgs.contains(&slug)).map(|(s, t, _)| (*s, *t));
    find(org_slug)
        .or_else(|| {
            let (_, dept) = org_slug.rsplit_once('-')?;
            find(dept).or_else(|| find(&format!("{dept}j")))
        })
        .unwrap_or(("qita", "其他"))
}

/// A dataset name as CKAN requires it: lowercase ASCII letters, digits, `-` and `_`, from
/// the provider's slug and the entry's resource code (unique and stable).
pub fn dataset_name(org_slug: &str, code: &str) -> String {
    let slug: String = org_slug
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' })
        .collect();
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    format!("{slug}-{digits}")
}

/// One public dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub entry: CatalogEntry,
    pub org: Organization,
    /// The CKAN name (URL slug).
    pub name: String,
    pub topic: (&'static str, &'static str),
    /// The district's name.
    pub district: String,
    /// Library tables holding its data.
    pub tables: Vec<TableRecord>,
}

impl Dataset {
    /// Whether anyone may read its rows (else an approved application is needed).
    pub fn rows_public(&self) -> bool {
        self.entry.body.open.kind == OpenType::Open
    }

    /// The resource format shown to users.
    pub fn formats(&self) -> Vec<String> {
        if self.tables.is_empty() {
            vec![self.entry.body.format.label().to_owned()]
        } else {
            vec!["CSV".into(), "XLSX".into(), "JSON".into(), "Parquet".into()]
        }
    }

    fn search_doc(&self, usage: UsageTotals) -> SearchDoc {
        let e = &self.entry;
        let mut facets = vec![
            ("organization", self.org.slug.clone()),
            ("district", self.district.clone()),
            ("topic", self.topic.0.to_owned()),
            ("open", e.body.open.kind.as_str().to_owned()),
            ("cycle", e.body.update_cycle.as_str().to_owned()),
        ];
        facets.extend(self.formats().into_iter().map(|f| ("format", f)));
        facets.extend(e.body.keywords.iter().map(|k| ("tags", k.clone())));
        SearchDoc {
            id: e.id,
            title: e.body.name.clone(),
            summary: e.body.summary.clone(),
            keywords: e.body.keywords.clone(),
            items: e.body.items.iter().map(|i| i.name.clone()).collect(),
            organization: self.org.name.clone(),
            facets,
            updated: e.updated_at.unix_timestamp(),
            downloads: usage.downloads,
            calls: usage.calls,
        }
    }
}

#[derive(Default)]
struct Snapshot {
    stamp: String,
    datasets: BTreeMap<i64, Arc<Dataset>>,
    by_name: HashMap<String, i64>,
    /// Table name → dataset id.
    by_table: HashMap<String, i64>,
    orgs: Vec<Organization>,
}

/// The portal service. Cheap to clone.
#[derive(Clone)]
pub struct Portal {
    store: MetaStore,
    library: LibraryService,
    search: Arc<SearchIndex>,
    snapshot: Arc<RwLock<Arc<Snapshot>>>,
    refreshing: Arc<tokio::sync::Mutex<()>>,
    /// When the store was last checked for changes (milliseconds since `started`).
    checked: Arc<std::sync::atomic::AtomicU64>,
    started: std::time::Instant,
    /// Downloads and calls per dataset name: counted here at once, reloaded from the
    /// store (other processes count too) and fed to the search index every [`USAGE_RELOAD`].
    usage: Arc<RwLock<HashMap<String, UsageTotals>>>,
    /// When usage was last reloaded (milliseconds since `started`).
    usage_loaded: Arc<std::sync::atomic::AtomicU64>,
    /// The city served: district names, catalogue titles, the DCAT publisher.
    city: Arc<City>,
    /// Counts not yet written to the store: busy APIs cost no store write per call.
    pending: Arc<std::sync::Mutex<PendingUsage>>,
}

/// Counts by (dataset, kind, API key id) waiting to be written.
type PendingUsage = HashMap<(String, UsageKind, i64), u64>;

/// How often usage counts are reloaded and re-sorted in the search index.
pub const USAGE_RELOAD: Duration = Duration::from_secs(30);

/// One page of search results with their datasets.
pub struct Found {
    pub results: SearchResults,
    pub datasets: Vec<Arc<Dataset>>,
}

impl Portal {
    pub fn new(store: MetaStore, library: LibraryService) -> Result<Self> {
        Ok(Self {
            store,
            library,
            search: Arc::new(SearchIndex::new()?),
            snapshot: Arc::default(),
            refreshing: Arc::default(),
            checked: Arc::default(),
            started: std::time::Instant::now(),
            usage: Arc::default(),
            usage_loaded: Arc::default(),
            pending: Arc::default(),
            city: Arc::new(City::linyi()),
        })
    }

    /// The portal of `city` (Linyi unless configured).
    pub fn with_city(mut self, city: City) -> Self {
        self.city = Arc::new(city);
        self
    }

    pub fn city(&self) -> &City {
        &self.city
    }

    pub fn library(&self) -> &LibraryService {
        &self.library
    }

    fn snap(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Rebuilds the public datasets and the search index when the store changed since the
    /// last time. Returns whether it rebuilt.
    pub async fn refresh(&self) -> Result<bool> {
        let _one = self.refreshing.lock().await;
        self.flush_usage().await?;
        let stamp = self.store.change_stamp().await?;
        let old = self.snap();
        if !old.stamp.is_empty() && old.stamp == stamp {
            self.reload_usage_if_due(&old).await?;
            return Ok(false);
        }
        self.load_usage().await?;
        // Synonyms apply at query time: replacing them reindexes nothing.
        let rules: Vec<SynonymRule> = self
            .store
            .synonyms()
            .await?
            .into_iter()
            .map(|s| SynonymRule { terms: s.terms, targets: s.targets })
            .collect();
        self.search.set_synonyms(&rules);
        let orgs = self.store.list_orgs().await?;
        let org_of: HashMap<i64, &Organization> = orgs.iter().map(|o| (o.id, o)).collect();
        let mut tables: HashMap<i64, Vec<TableRecord>> = HashMap::new();
        for t in self.library.list().await.map_err(|e| PortalError::Invalid(e.to_string()))? {
            if let Some(id) = t.entry_id {
                tables.entry(id).or_default().push(t);
            }
        }
        let mut datasets = BTreeMap::new();
        let mut offset = 0;
        loop {
            let page = self
                .store
                .list_entries(&EntryFilter {
                    statuses: vec![EntryStatus::Listed],
                    public_only: true,
                    limit: 1000,
                    offset,
                    ..Default::default()
                })
                .await?;
            let n = page.entries.len();
            for entry in page.entries {
                let Some(org) = org_of.get(&entry.org_id) else { continue };
                let district = self
                    .city
                    .area(&entry.district_code)
                    .map(str::to_owned)
                    .unwrap_or_else(|| entry.district_code.clone());
                let ds = Dataset {
                    name: dataset_name(&org.slug, entry.code.as_str()),
                    topic: topic_of(&org.slug),
                    district,
                    tables: tables.remove(&entry.id).unwrap_or_default(),
                    org: (*org).clone(),
                    entry,
                };
                datasets.insert(ds.entry.id, Arc::new(ds));
            }
            if n < 1000 {
                break;
            }
            offset += 1000;
        }
        let gone: Vec<i64> = old.datasets.keys().filter(|id| !datasets.contains_key(id)).copied().collect();
        self.search.remove(&gone)?;
        let usage = self.usage.read().unwrap_or_else(|e| e.into_inner()).clone();
        self.search.upsert(datasets.values().map(|d| d.search_doc(usage.get(&d.name).copied().unwrap_or_default())))?;
        let by_name = datasets.values().map(|d| (d.name.clone(), d.entry.id)).collect();
        let by_table = datasets.values().flat_map(|d| d.tables.iter().map(|t| (t.name.clone(), d.entry.id))).collect();
        let snapshot = Snapshot { stamp, datasets, by_name, by_table, orgs };
        tracing::debug!(datasets = snapshot.datasets.len(), "portal refreshed");
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
        Ok(true)
    }

    fn ms_now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64 + 1
    }

    /// Reloads usage counts from the store; returns the datasets whose counts changed.
    async fn load_usage(&self) -> Result<Vec<String>> {
        let fresh: HashMap<String, UsageTotals> = self.store.usage_by_dataset().await?.into_iter().collect();
        self.usage_loaded.store(self.ms_now(), std::sync::atomic::Ordering::Relaxed);
        let mut usage = self.usage.write().unwrap_or_else(|e| e.into_inner());
        let changed = fresh.iter().filter(|(k, v)| usage.get(*k) != Some(v)).map(|(k, _)| k.clone()).collect();
        *usage = fresh;
        Ok(changed)
    }

    async fn reload_usage_if_due(&self, snap: &Snapshot) -> Result<()> {
        let last = self.usage_loaded.load(std::sync::atomic::Ordering::Relaxed);
        if self.ms_now().saturating_sub(last) < USAGE_RELOAD.as_millis() as u64 {
            return Ok(());
        }
        let changed = self.load_usage().await?;
        let usage = self.usage.read().unwrap_or_else(|e| e.into_inner()).clone();
        let docs = changed
            .iter()
            .filter_map(|n| snap.by_name.get(n).and_then(|id| snap.datasets.get(id)))
            .map(|d| d.search_doc(usage.get(&d.name).copied().unwrap_or_default()));
        self.search.upsert(docs)?;
        Ok(())
    }

    /// Counts `n` downloads or API calls of a dataset (for `token_id`, 0 for none). The
    /// count shows at once in [`Portal::usage_of`]; it reaches the store with the next
    /// [`Portal::flush_usage`] (every refresh, and before usage is read from the store).
    pub fn count_usage(&self, dataset: &str, kind: UsageKind, token_id: i64, n: u64) {
        *self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((dataset.to_owned(), kind, token_id))
            .or_default() += n;
        let mut usage = self.usage.write().unwrap_or_else(|e| e.into_inner());
        let u = usage.entry(dataset.to_owned()).or_default();
        match kind {
            UsageKind::Download => u.downloads += n,
            UsageKind::Call => u.calls += n,
        }
    }

    /// Writes the counts taken since the last flush to the store. A count whose write
    /// fails is kept for the next flush.
    /// Open objections to a dataset's tables (a quality signal on its page).
    pub async fn open_objections(&self, d: &Dataset) -> Result<i64> {
        let mut n = 0;
        for t in &d.tables {
            n += self.store.open_objections(&t.name).await?;
        }
        Ok(n)
    }

    /// Daily downloads and calls over the last 30 days: of API key `token_id` (the caller
    /// has checked the key is theirs), else of everyone.
    pub async fn usage_by_day(&self, token_id: Option<i64>) -> Result<Vec<tongshu_store::UsageDay>> {
        self.flush_usage().await?;
        let since = (tongshu_core::now() - time::Duration::days(29)).date().to_string();
        Ok(self.store.usage_by_day(&since, token_id).await?)
    }

    pub async fn flush_usage(&self) -> Result<()> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let mut failed = None;
        for ((dataset, kind, token), n) in pending {
            if let Err(e) = self.store.count_usage(&dataset, kind, token, n).await {
                *self.pending.lock().unwrap_or_else(|e| e.into_inner()).entry((dataset, kind, token)).or_default() += n;
                failed = Some(e);
            }
        }
        failed.map_or(Ok(()), |e| Err(e.into()))
    }

    /// Downloads and calls of a dataset so far.
    pub fn usage_of(&self, dataset: &str) -> UsageTotals {
        self.usage.read().unwrap_or_else(|e| e.into_inner()).get(dataset).copied().unwrap_or_default()
    }

    /// Refreshes at once when anything public changed in the store (its change counter
    /// moved), and otherwise at most every `within` (usage counts).
    pub async fn refresh_if_due(&self, within: Duration) -> Result<()> {
        use std::sync::atomic::Ordering;
        // What is public is decided by the store's exact change counter, read on every call
        // (one row): a delisting made on any node is seen by the next request here.
        let stamp = self.store.change_stamp().await?;
        if self.snap().stamp != stamp {
            self.checked.store(self.ms_now(), Ordering::Relaxed);
            return self.refresh().await.map(|_| ());
        }
        // Usage counts only are flushed and reloaded on a clock.
        let now = self.ms_now();
        let last = self.checked.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < within.as_millis() as u64 {
            return Ok(());
        }
        self.checked.store(now, Ordering::Relaxed);
        self.refresh().await.map(|_| ())
    }

    /// Refreshes every `every` in the background, for as long as the runtime runs.
    pub fn spawn_refresh(&self, every: Duration) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = me.refresh().await {
                    tracing::warn!(error = %e, "portal refresh failed");
                }
                tokio::time::sleep(every).await;
            }
        });
    }

    /// Every public dataset, by id.
    pub fn datasets(&self) -> Vec<Arc<Dataset>> {
        self.snap().datasets.values().cloned().collect()
    }

    /// A public dataset by its name or id.
    pub fn dataset(&self, key: &str) -> Result<Arc<Dataset>> {
        let snap = self.snap();
        let id = snap.by_name.get(key).copied().or_else(|| key.parse::<i64>().ok());
        id.and_then(|id| snap.datasets.get(&id).cloned())
            .ok_or_else(|| PortalError::NotFound(format!("dataset {key:?}")))
    }

    /// The dataset holding a table (a CKAN resource id).
    pub fn dataset_of_table(&self, table: &str) -> Result<Arc<Dataset>> {
        let snap = self.snap();
        snap.by_table
            .get(table)
            .and_then(|id| snap.datasets.get(id).cloned())
            .ok_or_else(|| PortalError::NotFound(format!("resource {table:?}")))
    }

    /// The current version of a public table, as its record in the store says.
    pub fn table_version(&self, table: &str) -> Option<u64> {
        let ds = self.dataset_of_table(table).ok()?;
        ds.tables.iter().find(|t| t.name == table).map(|t| t.version.max(0) as u64)
    }

    /// Organizations with public datasets, with their counts.
    pub fn organizations(&self) -> Vec<(Organization, usize)> {
        let snap = self.snap();
        let mut counts: HashMap<i64, usize> = HashMap::new();
        for d in snap.datasets.values() {
            *counts.entry(d.org.id).or_default() += 1;
        }
        snap.orgs.iter().filter_map(|o| counts.get(&o.id).map(|n| (o.clone(), *n))).collect()
    }

    /// Searches the public datasets.
    pub fn search(&self, q: &SearchQuery) -> Result<Found> {
        let results = self.search.search(q)?;
        let snap = self.snap();
        let datasets = results.hits.iter().filter_map(|h| snap.datasets.get(&h.id).cloned()).collect();
        Ok(Found { results, datasets })
    }

    /// The synonym dictionary, oldest rule first.
    pub async fn synonyms(&self) -> Result<Vec<Synonym>> {
        Ok(self.store.synonyms().await?)
    }

    /// Adds a synonym rule (the route allows administrators only). Every node applies it
    /// at its next search: the store's change counter moves.
    pub async fn add_synonym(&self, who: &Principal, rule: SynonymInput) -> Result<Synonym> {
        let rule = rule.validate().map_err(PortalError::Fields)?;
        let added = self.store.add_synonym(&rule, Some(who.user_id)).await?;
        tracing::info!(rule = %added.line, by = %who.username, "synonym added");
        self.refresh().await?;
        Ok(added)
    }

    /// Removes a synonym rule.
    pub async fn remove_synonym(&self, who: &Principal, id: i64) -> Result<()> {
        self.store.remove_synonym(id).await?;
        tracing::info!(id, by = %who.username, "synonym removed");
        self.refresh().await?;
        Ok(())
    }

    /// Rows of a public table: for anyone when its dataset is open unconditionally, else
    /// for viewers with access ([`Portal::has_access`]).
    pub async fn rows(&self, q: &RowQuery, viewer: Option<&Principal>) -> Result<(Arc<Dataset>, RowPage)> {
        let ds = self.dataset_of_table(&q.table)?;
        self.check_rows(&ds, viewer).await?;
        let page = self.library.lake().rows(q).await?;
        Ok((ds, page))
    }

    /// Refuses reads of an earlier version of `table` unless the provider publishes its
    /// history, the viewer is of the providing organization (or the platform), or (for a
    /// cursor, `pinned_for` set) the version was replaced less than that long ago, so that
    /// a paging client finishes its walk. Wrongly published rows that a provider removed are
    /// thus unreachable for the public.
    pub async fn check_version(
        &self,
        ds: &Dataset,
        table: &str,
        version: u64,
        viewer: Option<&Principal>,
        pinned_for: Option<Duration>,
    ) -> Result<()> {
        let rec = ds.tables.iter().find(|t| t.name == table);
        let current = rec.map(|t| t.version as u64);
        if current.is_some_and(|c| version > c) {
            return Err(PortalError::Invalid(format!("{table:?} has no version {version}; start again")));
        }
        if current == Some(version) || rec.is_some_and(|t| t.public_history) {
            return Ok(());
        }
        if viewer.is_some_and(|who| who.may_edit_for(ds.org.id)) {
            return Ok(());
        }
        if let (Some(ttl), Some(cur)) = (pinned_for, current)
            && version < cur
        {
            let history = self.library.lake().history(table).await?;
            let replaced = history.iter().find(|v| v.version == version + 1).and_then(|v| v.timestamp);
            let now_ms = tongshu_core::now().unix_timestamp() * 1000;
            if replaced.is_some_and(|at| now_ms - at < ttl.as_millis() as i64) {
                return Ok(());
            }
            return Err(PortalError::Invalid(format!(
                "the cursor's version {version} of {table:?} was replaced more than {} minutes ago; start again from the first page",
                ttl.as_secs() / 60
            )));
        }
        Err(PortalError::Forbidden(format!(
            "earlier versions of {table:?} are not published; read the current version {}",
            current.unwrap_or_default()
        )))
    }

    /// Refuses viewers who may not read the rows of `ds`.
    pub async fn check_rows(&self, ds: &Dataset, viewer: Option<&Principal>) -> Result<()> {
        let allowed = match viewer {
            _ if ds.rows_public() => true,
            Some(who) => self.has_access(who, ds).await?,
            None => false,
        };
        if !allowed {
            return Err(PortalError::Forbidden(format!(
                "the rows of {:?} are open on conditions: apply for access first",
                ds.entry.body.name
            )));
        }
        Ok(())
    }
}
