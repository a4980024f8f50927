//! Logical centralization (逻辑集中): beside copying a department's tables into the library,
//! an administrator registers a source's table as an *external table*; `tongshu sql`, the
//! SQL console and custom interface views then read it in place, joined with library
//! tables, under the same read-only rule and row and time limits. Filters and projections
//! are pushed down: the source receives a SELECT of the columns asked for with the
//! statement's filters it can evaluate (DataFusion table providers for PostgreSQL and
//! MySQL from `datafusion-table-providers`).
//!
//! The registrations live in the store, so every node sees the same external tables; each
//! node keeps a connection pool per source (connections, not decisions: who may read an
//! external table is decided by who may run SQL over the library at all).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion_table_providers_mysql::MySQLTableFactory;
use datafusion_table_providers_mysql::pool::MySQLConnectionPool;
use datafusion_table_providers_postgres::PostgresTableFactory;
use datafusion_table_providers_postgres::pool::PostgresConnectionPool;
use futures::future::BoxFuture;
use secrecy::SecretString;
use tongshu_core::policy::Principal;
use tongshu_lake::datafusion::catalog::TableProvider;
use tongshu_lake::datafusion::common::TableReference;
use tongshu_lake::{LakeError, Library};
use tongshu_library::{LibraryError, LibraryService};
use tongshu_sources::{Connection, Kind};
use tongshu_store::{ExternalTableRecord, MetaStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Source(String),
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Lake(#[from] LakeError),
}

pub type Result<T, E = ExternalError> = std::result::Result<T, E>;

/// A source's connection pool, as the providers keep them.
enum Pool {
    Postgres(Arc<PostgresConnectionPool>),
    Mysql(Arc<MySQLConnectionPool>),
}

/// Per source id: the connection a pool was opened with, and the pool.
type Pools = HashMap<i64, (Connection, Arc<Pool>)>;

/// The external tables of the platform, and what opens them. Cheap to clone.
#[derive(Clone)]
pub struct ExternalTables {
    store: MetaStore,
    library: LibraryService,
    /// Per source id: its pool, and the connection it was made for (a changed source gets
    /// a new pool).
    pools: Arc<tokio::sync::Mutex<Pools>>,
}

impl std::fmt::Debug for ExternalTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExternalTables")
    }
}

fn secret(v: impl Into<String>) -> SecretString {
    SecretString::from(v.into())
}

/// `schema.table` (or `table`) as the provider names it.
fn reference(table: &str) -> TableReference {
    match table.split_once('.') {
        Some((schema, name)) => TableReference::partial(schema.to_owned(), name.to_owned()),
        None => TableReference::bare(table.to_owned()),
    }
}

impl ExternalTables {
    pub fn new(store: MetaStore, library: LibraryService) -> Self {
        Self { store, library, pools: Arc::default() }
    }

    async fn pool(&self, source_id: i64) -> Result<Arc<Pool>> {
        let conn = self.library.platform_source_connection(source_id).await?;
        let mut pools = self.pools.lock().await;
        if let Some((c, p)) = pools.get(&source_id)
            && *c == conn
        {
            return Ok(p.clone());
        }
        let place = format!("{}:{}/{}", conn.host, conn.port, conn.database);
        let pool = match conn.kind {
            Kind::Postgres => {
                let params = HashMap::from([
                    ("host".to_owned(), secret(conn.host.clone())),
                    ("port".to_owned(), secret(conn.port.to_string())),
                    ("db".to_owned(), secret(conn.database.clone())),
                    ("user".to_owned(), secret(conn.username.clone())),
                    ("pass".to_owned(), secret(conn.password.clone())),
                    ("sslmode".to_owned(), secret("prefer")),
                ]);
                let p = PostgresConnectionPool::new(params)
                    .await
                    .map_err(|e| ExternalError::Source(format!("PostgreSQL at {place}: {e}")))?;
                Pool::Postgres(Arc::new(p))
            }
            Kind::Mysql => {
                let params = HashMap::from([
                    ("host".to_owned(), secret(conn.host.clone())),
                    ("tcp_port".to_owned(), secret(conn.port.to_string())),
                    ("db".to_owned(), secret(conn.database.clone())),
                    ("user".to_owned(), secret(conn.username.clone())),
                    ("pass".to_owned(), secret(conn.password.clone())),
                    ("sslmode".to_owned(), secret("disabled")),
                ]);
                let p = MySQLConnectionPool::new(params)
                    .await
                    .map_err(|e| ExternalError::Source(format!("MySQL/MariaDB at {place}: {e}")))?;
                Pool::Mysql(Arc::new(p))
            }
        };
        let pool = Arc::new(pool);
        pools.insert(source_id, (conn, pool.clone()));
        Ok(pool)
    }

    /// The provider reading external table `t` in place (it asks the source for the
    /// table's columns).
    async fn open(&self, t: &ExternalTableRecord) -> Result<Arc<dyn TableProvider>> {
        let pool = self.pool(t.source_id).await?;
        let what = |e: Box<dyn std::error::Error + Send + Sync>| {
            ExternalError::Source(format!("external table {:?} ({}): {e}", t.name, t.source_table))
        };
        match pool.as_ref() {
            Pool::Postgres(p) => {
                PostgresTableFactory::new(p.clone()).table_provider(reference(&t.source_table)).await.map_err(what)
            }
            Pool::Mysql(p) => {
                MySQLTableFactory::new(p.clone()).table_provider(reference(&t.source_table)).await.map_err(what)
            }
        }
    }

    /// Registers `source_table` of data source `source` as external table `name`, after
    /// reading its columns from the source (a table that cannot be read is refused, and
    /// nothing is kept). Platform administrators only.
    pub async fn add(
        &self,
        who: &Principal,
        name: &str,
        source: &str,
        source_table: &str,
    ) -> Result<ExternalTableRecord> {
        if !who.runs_the_platform() {
            return Err(ExternalError::Forbidden("only platform administrators register external tables".into()));
        }
        tongshu_lake::check_name(name).map_err(|e| ExternalError::Input(e.to_string()))?;
        if self.library.lake().exists(name).await? {
            return Err(ExternalError::Input(format!("{name:?} is a library table; choose another name")));
        }
        let ok = !source_table.is_empty()
            && source_table.split('.').count() <= 2
            && source_table.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'));
        if !ok {
            return Err(ExternalError::Input(format!(
                "source table {source_table:?}: use `schema.table` or `table` (letters, digits and _)"
            )));
        }
        let (src, _) = self.library.source_connection(who, source).await?;
        let probe = ExternalTableRecord {
            name: name.to_owned(),
            source_id: src.id,
            source_table: source_table.to_owned(),
            created_by: who.username.clone(),
            created_at: tongshu_core::now(),
        };
        self.open(&probe).await?;
        Ok(self.store.add_external_table(name, src.id, source_table, &who.username).await?)
    }

    pub async fn list(&self) -> Result<Vec<ExternalTableRecord>> {
        Ok(self.store.list_external_tables().await?)
    }

    pub async fn remove(&self, who: &Principal, name: &str) -> Result<()> {
        if !who.runs_the_platform() {
            return Err(ExternalError::Forbidden("only platform administrators remove external tables".into()));
        }
        Ok(self.store.remove_external_table(name).await?)
    }

    /// The library `lake` whose SQL also reads these external tables.
    pub fn attach(&self, lake: Library) -> Library {
        lake.with_external(Arc::new(self.clone()))
    }
}

impl tongshu_lake::ExternalTables for ExternalTables {
    fn provider<'a>(&'a self, name: &'a str) -> BoxFuture<'a, tongshu_lake::Result<Option<Arc<dyn TableProvider>>>> {
        Box::pin(async move {
            let Some(t) = self.store.get_external_table(name).await.map_err(|e| LakeError::Internal(e.to_string()))?
            else {
                return Ok(None);
            };
            self.open(&t).await.map(Some).map_err(|e| LakeError::Query(e.to_string()))
        })
    }
}
