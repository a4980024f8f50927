//! The metadata store: organizations, accounts, sessions, API tokens, catalog entries and
//! their history, in SQLite (the embedded default) or PostgreSQL.
//!
//! Both backends run the same code through sqlx's `Any` driver with portable SQL (`$1`
//! placeholders, `RETURNING`, text timestamps). Only the id columns of the migrations differ,
//! so each backend has its own migration folder. [`MetaStore`] is the one interface; the test
//! suite in `tests/suite.rs` runs every case against both backends.

mod channel;
mod entries;
mod evidence;
mod exchange;
mod external;
mod library;
mod limits;
mod lists;
mod metering;
mod orgs;
mod portal;
mod projects;
mod sources;
mod synonyms;
mod systems;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use channel::{ChannelSample, ChannelTable, ChannelTableStatus, NewPipelineRecord, PipelineRecord, PipelineReport};
pub use entries::{Dimension, EntryFilter, EntryPage};
pub use evidence::{CallToRecord, EvidenceFilter, Written};
pub use exchange::{AppRecord, GrantChange, GrantRecord, NewGrant, NewShareRequest, RequestFilter, ShareRequest};
pub use external::ExternalTableRecord;
pub use library::{ColumnStats, TableRecord};
pub use limits::{Admission, Admitted, Stamp, Verdict};
pub use lists::{CustomView, Demand, NewObjection, Objection, Responsibility};
pub use metering::UsageRow;
pub use portal::{
    Interaction, InteractionFilter, InteractionKind, InteractionStatus, NewInteraction, UsageDay, UsageKind,
    UsageTotals,
};
pub use projects::{
    Baseline, EntryFacts, EvaluationRecord, Milestone, NewProject, Payment, ProjectDocument, ProjectEvent,
    ProjectRecord, ProjectReview, RiskRecord, RoundRecord,
};
pub use sources::{DataSourceRecord, JobRecord, NewPull, PullRecord};
pub use synonyms::Synonym;
pub use systems::{NewSystem, ProbeRecord, SystemRecord, TicketRecord};
pub use users::{NewToken, NewUser, SessionInfo, TokenInfo, TokenOwner, UserRecord};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Errors of the metadata store. Messages say which record or value was at fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("unsupported database url {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Maps a unique-constraint violation to [`StoreError::Conflict`] with `what` as message.
pub(crate) fn conflict_on_unique(what: impl Fn() -> String) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what()),
        _ => StoreError::Db(e),
    }
}

/// The metadata store. Cheap to clone: it holds a connection pool.
#[derive(Clone, Debug)]
pub struct MetaStore {
    pool: AnyPool,
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl MetaStore {
    /// Connects to `url` (`sqlite://PATH` or `postgres://...`). SQLite files are created
    /// on first use and run in WAL mode with foreign keys on.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let url = if backend == Backend::Sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_owned()
        };
        let options = AnyConnectOptions::from_str(&url)?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        Ok(Self { pool, backend })
    }

    /// Applies the embedded migrations that have not run yet, then adds the seed synonym
    /// dictionary if no node has (once per store).
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        self.seed_synonyms_once().await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Answers when the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A value that changes whenever a catalog entry or a library table record changes
    /// (counts and latest change times), for caches of public data to notice cheaply.
    pub async fn change_stamp(&self) -> Result<String> {
        // Bumped by triggers in the transaction of every change of an entry, a table record
        // or an organization (migration 0007): exact, whatever the clock's resolution.
        let (seq,): (i64,) =
            sqlx::query_as("SELECT seq FROM change_counter WHERE id = 1").fetch_one(&self.pool).await?;
        Ok(seq.to_string())
    }

    /// Reads a value of the store's small key-value table.
    pub async fn meta_get(&self, key: &str) -> Result<Option<String>> {
        let v: Option<(String,)> =
            sqlx::query_as("SELECT value FROM meta WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        Ok(v.map(|(v,)| v))
    }

    /// Sets a key, replacing any earlier value.
    pub async fn meta_put(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets a key only when it is not set yet; returns whether this call set it.
    pub async fn meta_set_once(&self, key: &str, value: &str) -> Result<bool> {
        let r = sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }
}

/// A database URL with any password replaced, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

pub(crate) fn ts(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

pub(crate) fn parse_ts(s: &str) -> Result<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}

/// Fresh databases for tests of this and other crates.
pub mod testing {
    use super::{MetaStore, Result};

    /// Names a PostgreSQL server for tests: a URL whose user may create databases. `.ci/run`
    /// sets it; without it the PostgreSQL half of the suites is skipped, except under CI.
    pub const POSTGRES_ENV: &str = "TONGSHU_TEST_POSTGRES_URL";

    /// A new, empty, migrated SQLite store in `dir`.
    pub async fn sqlite_store(dir: &std::path::Path) -> Result<MetaStore> {
        let store = MetaStore::connect(&format!("sqlite://{}", dir.join("meta.db").display())).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// The URL of a new, empty PostgreSQL database, or `None` when no server is configured.
    /// Panics under CI (`CI` set) when the server is missing, so CI never skips silently.
    pub async fn postgres_url() -> Option<String> {
        let Ok(admin) = std::env::var(POSTGRES_ENV) else {
            if std::env::var_os("CI").is_some() {
                panic!("{POSTGRES_ENV} must name a PostgreSQL server when CI is set");
            }
            eprintln!("skipping PostgreSQL case: {POSTGRES_ENV} is not set");
            return None;
        };
        let name = format!("tongshu_test_{:016x}", rand::random::<u64>());
        let server = MetaStore::connect(&admin).await.expect("connect to the test PostgreSQL server");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&server.pool)
            .await
            .expect("create a test database");
        server.close().await;
        let mut url = url::Url::parse(&admin).expect("test PostgreSQL url");
        url.set_path(&name);
        Some(url.to_string())
    }

    /// Runs raw SQL against a store: for tests that tamper with records behind the store's
    /// back (the evidence log's tamper tests).
    pub async fn execute(store: &MetaStore, sql: &str) -> Result<u64> {
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&store.pool).await?.rows_affected())
    }

    /// A new, empty, migrated PostgreSQL store, or `None` (see [`postgres_url`]).
    pub async fn postgres_store() -> Option<MetaStore> {
        let url = postgres_url().await?;
        let store = MetaStore::connect(&url).await.expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        Some(store)
    }
}
