//! Sharing and exchange between departments (《政务信息资源共享管理暂行办法》): share requests answered on a
//! working-day calendar, grants (items, row scope, validity) that decide what a consumer
//! sees, masking, data interfaces called by signed apps or bearer tokens, quotas, and the
//! SM3 hash-chained evidence log that proves afterwards who received what.
//!
//! Publishing a table grants nobody anything (X-Road's rule): only its own organization and
//! holders of a live grant reach its rows, through [`Exchange::access`], which every data
//! interface call goes through.

mod access;
mod admit;
mod demo;
mod export;
mod lists;
mod metering;
mod pipeline;
mod requests;
pub mod signing;
mod views;

use tongshu_core::evidence::{EvidenceFields, Verified, Verifier};
use tongshu_core::policy::Principal;
use tongshu_core::workdays::{Calendar, DayKind, parse_day};
use tongshu_library::LibraryService as Library;
use tongshu_sources::SecretKey;
use tongshu_store::{AppRecord, MetaStore, StoreError};

pub use access::{Access, Consumer, ScopeCondition};
pub use export::EvidenceFormat;
pub use lists::{Duty, GrantDetail, NegativeEntry, OBJECTION_DAYS, ObjectionInput};
pub use metering::{InterfaceOps, SharedEntry, VerifyFlag};
pub use pipeline::{CallFailure, CallRequest, Delivered};
pub use requests::{DecisionInput, RequestInput, Supervision};
/// Records and filters this service takes and hands out.
pub use tongshu_store::{EvidenceFilter, GrantRecord, ShareRequest};

/// The exchange's settings (the `[exchange]` section of the configuration).
#[derive(Debug, Clone)]
pub struct ExchangeSettings {
    /// Working days a provider has to answer a conditional request (State Council: 10).
    pub deadline_days: u32,
    /// Remind the provider this many working days before the deadline.
    pub remind_days: u32,
    /// How far a signed call's timestamp may be from the platform's clock, in seconds.
    pub clock_skew_secs: i64,
    /// Default quotas of an app per interface.
    pub per_minute: i64,
    pub per_day: i64,
    /// Verifications without a match a caller may make per interface and day; beyond it
    /// verification answers 429 until midnight (Beijing).
    pub verify_misses_per_day: i64,
    /// Misses per caller, interface and day from which the provider's usage page flags the
    /// caller (a burst of guesses).
    pub verify_flag_misses: i64,
    /// A file outside the metadata store that each daily anchor is also appended to
    /// (`DAY SEQ HASH` lines), so that rewriting the store alone cannot hide a change.
    pub anchor_file: Option<std::path::PathBuf>,
}

impl Default for ExchangeSettings {
    fn default() -> Self {
        Self {
            deadline_days: 10,
            remind_days: 2,
            clock_skew_secs: 300,
            per_minute: 600,
            per_day: 100_000,
            verify_misses_per_day: 20,
            verify_flag_misses: 10,
            anchor_file: None,
        }
    }
}

/// Errors of the exchange. Messages name the field, item or record at fault.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("quota exceeded: {0}")]
    TooManyRequests(String, u64),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Library(#[from] tongshu_library::LibraryError),
    #[error(transparent)]
    Lake(#[from] tongshu_lake::LakeError),
    /// A fault of the platform (a file it could not write, a task that died).
    #[error("{0}")]
    Internal(String),
}

impl ExchangeError {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        ExchangeError::Invalid { field: field.to_owned(), message: message.into() }
    }
}

pub type Result<T, E = ExchangeError> = std::result::Result<T, E>;

/// The exchange service. Cheap to clone.
#[derive(Clone)]
pub struct Exchange {
    store: MetaStore,
    library: Library,
    key: SecretKey,
    /// The platform secret the `sm3` mask's per-grant keys derive from (from `key`, once).
    mask_secret: std::sync::Arc<[u8; 32]>,
    settings: ExchangeSettings,
    /// The group-commit writer of call records, started on the first call.
    calls: std::sync::Arc<std::sync::OnceLock<CallLog>>,
    /// Apps and accesses as computed at a stamp of the store's change counters, reused
    /// while the stamp holds (checked on every call: see `admit.rs`).
    caches: std::sync::Arc<admit::Caches>,
}

/// A call record waiting to be written, with the signed call's nonce (app, nonce) and who
/// waits for it (told whether the call stands, or was a replay).
/// A call computed at a stamp of the counters names it: its record is written only if they
/// still stand there.
type Queued = (
    EvidenceFields,
    Option<(i64, String)>,
    Option<tongshu_store::Stamp>,
    tokio::sync::oneshot::Sender<Result<tongshu_store::Written, String>>,
);

/// Call records waiting to be written.
type CallLog = tokio::sync::mpsc::Sender<Queued>;

/// Most call records written in one transaction.
const CALLS_PER_COMMIT: usize = 64;

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// Today in Beijing, where the working days are counted.
pub fn beijing_today() -> time::Date {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    tongshu_core::now().to_offset(offset).date()
}

/// Seconds until the next midnight in Beijing (when daily limits start again).
pub fn seconds_to_beijing_midnight() -> u64 {
    let offset = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let now = tongshu_core::now().to_offset(offset);
    let next = now.date().next_day().map(|d| d.midnight().assume_offset(offset));
    next.map_or(3600, |n| (n - now).whole_seconds().max(1) as u64)
}

/// An evidence record of `kind` stamped now, for the writer to fill in.
pub fn evidence_now(kind: &str) -> EvidenceFields {
    let at = tongshu_core::now().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    EvidenceFields { at, kind: kind.to_owned(), ..Default::default() }
}

impl Exchange {
    pub fn new(store: MetaStore, library: Library, key: SecretKey, settings: ExchangeSettings) -> Self {
        let mask_secret = tongshu_core::masking::hmac_sm3(key.to_hex().as_bytes(), b"tongshu mask secret v1");
        Self {
            store,
            library,
            key,
            mask_secret: std::sync::Arc::new(mask_secret),
            settings,
            calls: Default::default(),
            caches: Default::default(),
        }
    }

    pub fn settings(&self) -> &ExchangeSettings {
        &self.settings
    }

    /// Replaces the settings (from the configuration).
    pub fn configure(&mut self, settings: ExchangeSettings) {
        self.settings = settings;
    }

    /// Also appends each daily anchor to `path`.
    pub fn set_anchor_file(&mut self, path: std::path::PathBuf) {
        self.settings.anchor_file = Some(path);
    }

    /// Seeds the current year's holidays and the masking presets into a new store (once).
    pub async fn ensure_seeded(&self) -> Result<()> {
        if self.store.meta_set_once("exchange_seeded", "1").await? {
            for (day, kind, name) in tongshu_core::workdays::CHINA_2026 {
                self.store.set_calendar_day(day, Some(kind.as_str()), name).await?;
            }
            for (name, patterns, mask, grading) in tongshu_core::masking::DEFAULT_RULES {
                self.store.add_mask_rule(name, patterns, mask, grading).await?;
            }
        }
        Ok(())
    }

    /// The working-day calendar as the administrators keep it.
    pub async fn calendar(&self) -> Result<Calendar> {
        let days = self.store.calendar_days().await?;
        Ok(Calendar::new(days.iter().filter_map(|(d, k, _)| Some((parse_day(d)?, DayKind::parse(k)?)))))
    }

    /// The calendar's days as kept: (day, holiday|workday, name).
    pub async fn calendar_days(&self) -> Result<Vec<(String, String, String)>> {
        Ok(self.store.calendar_days().await?)
    }

    /// Sets or clears one day of the calendar (administrators).
    pub async fn set_calendar_day(&self, who: &Principal, day: &str, kind: Option<&str>, name: &str) -> Result<()> {
        if !who.supervises_the_exchange() {
            return Err(ExchangeError::Forbidden("only platform administrators keep the calendar".into()));
        }
        parse_day(day).ok_or_else(|| ExchangeError::invalid("day", format!("{day:?} is not YYYY-MM-DD")))?;
        if let Some(k) = kind {
            DayKind::parse(k)
                .ok_or_else(|| ExchangeError::invalid("kind", format!("{k:?}: use holiday or workday")))?;
        }
        self.store.set_calendar_day(day, kind, name.trim()).await?;
        Ok(())
    }

    /// Registers an app of the caller's organization; the secret is shown only here.
    pub async fn create_app(&self, who: &Principal, name: &str) -> Result<(AppRecord, String)> {
        if !who.acts_for_a_department() {
            return Err(ExchangeError::Forbidden("only departments register exchange apps".into()));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ExchangeError::invalid("name", "is required, at most 100 characters"));
        }
        let app_key = format!("tsa_{}", hex::encode(rand::random::<[u8; 8]>()));
        let secret = hex::encode(rand::random::<[u8; 24]>());
        let app =
            self.store.create_exchange_app(who.org_id, name, &app_key, &self.key.seal(&secret), who.user_id).await?;
        Ok((app, secret))
    }

    /// The apps of the caller's organization.
    pub async fn apps(&self, who: &Principal) -> Result<Vec<AppRecord>> {
        Ok(self.store.exchange_apps_of(who.org_id).await?)
    }

    /// Sets an app's quotas per interface (administrators).
    pub async fn set_app_quota(
        &self,
        who: &Principal,
        id: i64,
        per_minute: Option<i64>,
        per_day: Option<i64>,
    ) -> Result<()> {
        if !who.supervises_the_exchange() {
            return Err(ExchangeError::Forbidden("only platform administrators set quotas".into()));
        }
        if per_minute.is_some_and(|n| n < 0) || per_day.is_some_and(|n| n < 0) {
            return Err(ExchangeError::invalid("per_minute", "quotas are whole numbers ≥ 0"));
        }
        Ok(self.store.set_app_quota(id, per_minute, per_day).await?)
    }

    /// Writes the evidence record of one interface call, whatever its outcome, and returns
    /// once it is committed. Records of concurrent calls are committed together (up to
    /// [`CALLS_PER_COMMIT`] per transaction), so the chain's head lock is taken once per
    /// group rather than once per call; a failed group fails every call in it. A signed
    /// call's nonce is used in the same transaction: a replay is recorded as refused and
    /// answers 401 (its answer is withheld). A call computed at stamp `at` is written only
    /// if the counters still stand there: `Ok(false)` says it was not (answer it again).
    pub(crate) async fn record_call(
        &self,
        fields: EvidenceFields,
        nonce: Option<(i64, String)>,
        at: Option<tongshu_store::Stamp>,
    ) -> Result<bool> {
        let log = self.calls.get_or_init(|| {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Queued>(4 * CALLS_PER_COMMIT);
            let (store, caches) = (self.store.clone(), self.caches.clone());
            tokio::spawn(async move {
                while let Some(first) = rx.recv().await {
                    let mut group = vec![first];
                    while group.len() < CALLS_PER_COMMIT {
                        match rx.try_recv() {
                            Ok(next) => group.push(next),
                            Err(_) => break,
                        }
                    }
                    let calls: Vec<_> = group.iter().map(|(f, n, at, _)| (f.clone(), n.clone(), *at)).collect();
                    match store.append_calls(&calls).await {
                        Ok((written, stamp)) => {
                            caches.saw(stamp);
                            for ((_, _, _, done), w) in group.into_iter().zip(written) {
                                let _ = done.send(Ok(w));
                            }
                        }
                        Err(e) => {
                            for (_, _, _, done) in group {
                                let _ = done.send(Err(e.to_string()));
                            }
                        }
                    }
                }
            });
            tx
        });
        let (done, wait) = tokio::sync::oneshot::channel();
        let fields = EvidenceFields { kind: "call".into(), ..fields };
        let lost = || ExchangeError::Store(StoreError::Corrupt("the evidence writer stopped".into()));
        log.send((fields, nonce, at, done)).await.map_err(|_| lost())?;
        let written = wait
            .await
            .map_err(|_| lost())?
            .map_err(|e| ExchangeError::Store(StoreError::Corrupt(format!("evidence not written: {e}"))))?;
        match written {
            tongshu_store::Written::Stands => Ok(true),
            tongshu_store::Written::Stale => Ok(false),
            tongshu_store::Written::Replay => Err(ExchangeError::Unauthorized("nonce used before (replay)".into())),
        }
    }

    /// Every `every`: reminds and escalates due requests, anchors the evidence chain's head
    /// once a day, and forgets nonces older than the clock window.
    pub fn spawn_schedule(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let today = beijing_today();
                if let Err(e) = me.supervise(today).await {
                    tracing::warn!(error = %e, "supervision of share requests failed");
                }
                if let Err(e) = me.anchor(&today.to_string()).await {
                    tracing::warn!(error = %e, "anchoring the evidence chain failed");
                }
                let window = time::Duration::seconds(2 * me.settings.clock_skew_secs);
                if let Err(e) = me.store.prune_call_windows(tongshu_core::now().unix_timestamp()).await {
                    tracing::warn!(error = %e, "pruning ended quota windows failed");
                }
                if let Err(e) = me.store.prune_nonces(tongshu_core::now() - window).await {
                    tracing::warn!(error = %e, "pruning nonces failed");
                }
            }
        })
    }

    /// Anchors the chain's head for `day` (`YYYY-MM-DD`); later calls that day keep the first.
    pub async fn anchor(&self, day: &str) -> Result<bool> {
        let new = self.store.anchor_evidence(day).await?;
        if new && let Some(path) = &self.settings.anchor_file {
            let (seq, hash) = self.store.evidence_head().await?;
            use std::io::Write;
            let line = format!("{day} {seq} {hash}\n");
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| f.write_all(line.as_bytes()));
            if let Err(e) = written {
                tracing::error!(path = %path.display(), error = %e, "cannot append the evidence anchor");
            }
        }
        Ok(new)
    }
}

/// Reads an anchor file (`DAY SEQ HASH` lines); unreadable lines are skipped.
pub fn read_anchor_file(path: &std::path::Path) -> Vec<(i64, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (_day, seq, hash) = (parts.next()?, parts.next()?.parse().ok()?, parts.next()?);
            Some((seq, hash.to_owned()))
        })
        .collect()
}

/// Walks the whole evidence log of `store` and checks its chain, its head, its anchors in
/// the store and `more_anchors` (from the anchor file).
pub async fn audit_verify(
    store: &MetaStore,
    more_anchors: &[(i64, String)],
) -> Result<std::result::Result<Verified, tongshu_core::evidence::Broken>> {
    let mut anchors: Vec<(i64, String)> =
        store.evidence_anchors().await?.into_iter().map(|(_, seq, hash)| (seq, hash)).collect();
    anchors.extend(more_anchors.iter().cloned());
    let mut v = Verifier::new(anchors);
    let mut after = 0;
    // Pages follow the stored numbers; a record moved out of order shows as a gap or a repeat.
    loop {
        let page = store.evidence_page(after, 10_000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            if let Err(broken) = v.push(r) {
                return Ok(Err(broken));
            }
        }
    }
    let (seq, hash) = store.evidence_head().await?;
    Ok(v.finish((seq, &hash)))
}
