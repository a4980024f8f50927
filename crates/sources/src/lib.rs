//! Department databases as data sources of the library.
//!
//! A source is a PostgreSQL or MySQL/MariaDB database; its password is kept sealed with
//! SM4-GCM ([`seal`]). A pull runs one read-only SELECT against it and streams the result
//! as [`Rows`] of text cells into an ingest, with column types taken from the database's own
//! description of the result. An incremental pull takes only rows whose monotonic column
//! (an id or an update time) is above the high-water mark of the last pull, and reports the
//! new mark, which the caller keeps once the ingest has committed.

mod my;
mod rows;
pub mod seal;

use std::sync::{Arc, Mutex};

use sqlx::{Column, Connection as _, Executor, Statement, TypeInfo};
use tongshu_lake::{ColumnType, TargetColumn};

pub use rows::PulledRows;
pub use seal::{SealError, SecretKey};

/// Which kind of database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    Mysql,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Some(Kind::Postgres),
            "mysql" | "mariadb" => Some(Kind::Mysql),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Postgres => "postgres",
            Kind::Mysql => "mysql",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Kind::Postgres => 5432,
            Kind::Mysql => 3306,
        }
    }

    fn quote(self, ident: &str) -> String {
        match self {
            Kind::Postgres => format!("\"{}\"", ident.replace('"', "\"\"")),
            Kind::Mysql => format!("`{}`", ident.replace('`', "``")),
        }
    }
}

/// How to reach a source database (the password in clear, only in memory).
#[derive(Clone, PartialEq, Eq)]
pub struct Connection {
    pub kind: Kind,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub username: String,
    pub password: String,
    /// The zone of the source's times without one (MySQL `DATETIME`, PostgreSQL
    /// `TIMESTAMP`), as `+08:00`: they are read as wall-clock times there. Default Beijing.
    pub time_zone: String,
}

/// The zone naive source times are in unless a source says otherwise: Beijing.
pub const DEFAULT_TIME_ZONE: &str = "+08:00";

/// Checks a zone offset (`+08:00`, `-05:30`, `+00:00`), giving it back in that form.
pub fn parse_time_zone(s: &str) -> Result<String, SourceError> {
    let t = s.trim();
    let bad = || SourceError::Query(format!("time zone {s:?}: give an offset such as +08:00"));
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| t.get(r).filter(|d| d.bytes().all(|c| c.is_ascii_digit()));
    match (b.len(), b.first(), b.get(3), digits(1..3), digits(4..6)) {
        (6, Some(b'+' | b'-'), Some(b':'), Some(h), Some(m)) if h <= "14" && m < "60" => Ok(t.to_owned()),
        _ => Err(bad()),
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}@{}:{}/{}", self.kind.as_str(), self.username, self.host, self.port, self.database)
    }
}

impl Connection {
    /// Reads `postgres://user[:password]@host[:port]/database` (or `mysql://…`, `mariadb://…`).
    pub fn from_url(url: &str) -> Result<Self, SourceError> {
        let bad = |why: &str| SourceError::Query(format!("bad database URL {:?}: {why}", redact(url)));
        let u = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let kind = Kind::parse(u.scheme()).ok_or_else(|| bad("the scheme must be postgres:// or mysql://"))?;
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Ok(Connection {
            kind,
            host: u.host_str().ok_or_else(|| bad("no host"))?.to_owned(),
            port: u.port().unwrap_or(kind.default_port()),
            database: u.path().trim_start_matches('/').to_owned(),
            username: decode(u.username()),
            password: u.password().map(decode).unwrap_or_default(),
            time_zone: DEFAULT_TIME_ZONE.to_owned(),
        })
    }

    /// The database's URL, with the password (for connecting; never for messages).
    pub fn url(&self) -> String {
        let mut url = url::Url::parse(&format!("{}://localhost/", self.kind.as_str())).expect("static url");
        let _ = url.set_host(Some(&self.host));
        let _ = url.set_port(Some(self.port));
        let _ = url.set_username(&self.username);
        let _ = url.set_password(Some(&self.password));
        url.set_path(&self.database);
        url.to_string()
    }
}

/// A database URL with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    Query(String),
    #[error("cannot connect to {what}: {err}")]
    Connect { what: String, err: String },
    #[error("the source database refused the query: {0}")]
    Database(String),
}

/// Only rows whose `column` is above `after` (all rows when `after` is `None`).
#[derive(Debug, Clone)]
pub struct Incremental {
    pub column: String,
    pub after: Option<String>,
}

/// A started pull: the result's columns and its rows, streaming.
pub struct Pull {
    pub columns: Vec<TargetColumn>,
    pub rows: PulledRows,
    /// The largest value of the incremental column seen so far; final once the rows end.
    pub high_water: Arc<Mutex<Option<String>>>,
    /// A consistent MySQL/MariaDB read ([`pull_table_consistent`]): the binlog file and position
    /// the rows stand at.
    pub binlog: Option<(String, u64)>,
    /// How many sessions read the rows (more than one for a split snapshot copy).
    pub sessions: usize,
}

/// Checks that `query` is one SELECT (or WITH … SELECT) statement and returns it without a
/// trailing semicolon.
pub fn check_query(query: &str) -> Result<&str, SourceError> {
    let q = query.trim().trim_end_matches(';').trim_end();
    let first = q.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    if first != "SELECT" && first != "WITH" {
        return Err(SourceError::Query(format!(
            "a pull runs one SELECT statement; this query starts with {:?}",
            q.chars().take(20).collect::<String>()
        )));
    }
    if q.contains(';') {
        return Err(SourceError::Query("a pull runs one statement; the query has a ';' inside".into()));
    }
    Ok(q)
}

/// The decimal a NUMERIC/DECIMAL column becomes when the database does not say its
/// precision (an expression, PostgreSQL's unconstrained `numeric`): 20 digits before the
/// point and 18 after. A value with more decimals is refused with its row, never rounded.
pub const UNKNOWN_DECIMAL: ColumnType = ColumnType::Decimal { precision: 38, scale: 18 };

/// The library column type for a database type name, as sqlx names them, with the declared
/// precision and scale of a decimal column when the database told them.
pub fn column_type(kind: Kind, type_name: &str, decimal: Option<(u32, u32)>) -> ColumnType {
    let t = type_name.to_ascii_uppercase();
    let t = t.trim_end_matches(" UNSIGNED");
    match (kind, t) {
        // Money and other exact quantities stay exact.
        (_, "NUMERIC" | "DECIMAL") => decimal.and_then(|(p, s)| ColumnType::decimal(p, s)).unwrap_or(UNKNOWN_DECIMAL),
        (_, "INT2" | "INT4" | "INT8" | "SMALLINT" | "INT" | "INTEGER" | "BIGINT" | "MEDIUMINT" | "YEAR") => {
            ColumnType::Integer
        }
        (Kind::Mysql, "TINYINT") => ColumnType::Integer,
        (_, "FLOAT4" | "FLOAT8" | "FLOAT" | "DOUBLE" | "REAL" | "MONEY") => ColumnType::Number,
        (_, "BOOL" | "BOOLEAN") => ColumnType::Boolean,
        (_, "DATE") => ColumnType::Date,
        (_, "TIMESTAMP" | "TIMESTAMPTZ" | "DATETIME") => ColumnType::DateTime,
        _ => ColumnType::Text,
    }
}

/// The SQL expression that turns a result column into text the library parses back.
/// Whether a PostgreSQL column of this type is read through a cast rather than as COPY
/// writes it.
fn pg_cast(type_name: &str) -> bool {
    matches!(type_name.to_ascii_uppercase().as_str(), "TIMESTAMPTZ" | "BOOL")
}

fn as_text(kind: Kind, col: &str, type_name: &str) -> String {
    let c = format!("src.{}", kind.quote(col));
    match (kind, type_name.to_ascii_uppercase().as_str()) {
        // With an explicit offset, so the instant survives whatever the session's zone.
        (Kind::Postgres, "TIMESTAMPTZ") => {
            format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
        }
        // `true`/`false` rather than the output function's `t`/`f`.
        (Kind::Postgres, "BOOL") => format!("CAST({c} AS TEXT)"),
        // The rest as COPY writes them: each type's output function, as a cast to text.
        (Kind::Postgres, _) => c,
        // The text protocol already sends these as the text the library reads (strings in
        // the connection's utf8mb4): a cast would only cost the server time per cell.
        (Kind::Mysql, t) if mysql_plain(t) => c,
        // Binary strings, bits, geometry and anything unknown: as the server's text.
        (Kind::Mysql, _) => format!("CAST({c} AS CHAR)"),
    }
}

/// Whether a MySQL column of this type (as the driver names it) is read as the text
/// protocol sends it, without a cast.
fn mysql_plain(type_name: &str) -> bool {
    matches!(
        type_name.trim_end_matches(" UNSIGNED"),
        "TINYINT"
            | "SMALLINT"
            | "MEDIUMINT"
            | "INT"
            | "BIGINT"
            | "YEAR"
            | "BOOLEAN"
            | "DECIMAL"
            | "FLOAT"
            | "DOUBLE"
            | "DATE"
            | "DATETIME"
            | "TIMESTAMP"
            | "TIME"
            | "CHAR"
            | "VARCHAR"
            | "TEXT"
            | "TINYTEXT"
            | "MEDIUMTEXT"
            | "LONGTEXT"
            | "ENUM"
            | "SET"
            | "JSON"
    )
}

/// A literal for the high-water mark in the WHERE clause of an incremental pull. The mark
/// came from the source itself, but is still checked or quoted, never pasted.
fn literal(kind: Kind, ty: ColumnType, value: &str) -> Result<String, SourceError> {
    match ty {
        ColumnType::Integer => value
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| SourceError::Query(format!("bad high-water mark {value:?}"))),
        ColumnType::Number => value
            .parse::<f64>()
            .map(|n| n.to_string())
            .map_err(|_| SourceError::Query(format!("bad high-water mark {value:?}"))),
        ColumnType::Decimal { precision, scale } => tongshu_lake::values::parse_decimal(value, precision, scale)
            .map(|n| tongshu_lake::values::format_decimal(n, scale))
            .map_err(|_| SourceError::Query(format!("bad high-water mark {value:?}"))),
        _ => {
            let mut v = value.replace('\'', "''");
            if kind == Kind::Mysql {
                v = v.replace('\\', "\\\\");
            }
            Ok(format!("'{v}'"))
        }
    }
}

fn db_err(e: sqlx::Error) -> SourceError {
    match e {
        sqlx::Error::Database(d) => SourceError::Database(d.message().to_owned()),
        other => SourceError::Database(other.to_string()),
    }
}

/// Connects once and disconnects: whether the source answers with these credentials.
pub async fn check(conn: &Connection) -> Result<(), SourceError> {
    let url = conn.url();
    match conn.kind {
        Kind::Postgres => {
            sqlx::PgConnection::connect(&url).await.map_err(|e| connect_err(conn, e))?.close().await.map_err(db_err)
        }
        Kind::Mysql => {
            sqlx::MySqlConnection::connect(&url).await.map_err(|e| connect_err(conn, e))?.close().await.map_err(db_err)
        }
    }
}

fn connect_err(conn: &Connection, e: sqlx::Error) -> SourceError {
    SourceError::Connect { what: format!("{conn:?}"), err: e.to_string() }
}

/// One result column as the database describes it: name, type name, and for a decimal
/// column of a table, its declared (precision, scale).
type Described = (String, String, Option<(u32, u32)>);

/// The query's result columns, with the precision and scale of NUMERIC columns that come
/// straight from a table (PostgreSQL keeps them in the column's type modifier).
async fn describe_postgres(c: &mut sqlx::PgConnection, query: &str) -> Result<Vec<Described>, SourceError> {
    let stmt =
        c.prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(query.to_owned()))).await.map_err(db_err)?;
    let mut out = Vec::new();
    for col in stmt.columns() {
        let ty = col.type_info().name().to_owned();
        let mut decimal = None;
        if ty.eq_ignore_ascii_case("NUMERIC")
            && let (Some(rel), Some(att)) = (col.relation_id(), col.relation_attribute_no())
        {
            let typmod: Option<(i32,)> =
                sqlx::query_as("SELECT atttypmod FROM pg_attribute WHERE attrelid = $1 AND attnum = $2")
                    .bind(rel)
                    .bind(att)
                    .fetch_optional(&mut *c)
                    .await
                    .map_err(db_err)?;
            // numeric(p, s): typmod = ((p << 16) | s) + 4; -1 when unconstrained.
            decimal = typmod.filter(|(m,)| *m >= 4).map(|(m,)| {
                let m = (m - 4) as u32;
                ((m >> 16) & 0xffff, m & 0xffff)
            });
        }
        out.push((col.name().to_owned(), ty, decimal));
    }
    Ok(out)
}

/// The query's result columns, with the precision and scale of DECIMAL columns that come
/// straight from a table (from `information_schema`).
async fn describe_mysql(c: &mut sqlx::MySqlConnection, query: &str) -> Result<Vec<Described>, SourceError> {
    let stmt =
        c.prepare(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(query.to_owned()))).await.map_err(db_err)?;
    let mut out = Vec::new();
    for col in stmt.columns() {
        let ty = col.type_info().name().to_owned();
        let mut decimal = None;
        if ty.eq_ignore_ascii_case("DECIMAL")
            && let Some(origin) = col.origin().table_column()
        {
            let (schema, table) = origin.table.split_once('.').unwrap_or(("", &origin.table));
            let found: Option<(Option<u64>, Option<u64>)> = sqlx::query_as(
                "SELECT CAST(NUMERIC_PRECISION AS UNSIGNED), CAST(NUMERIC_SCALE AS UNSIGNED) FROM information_schema.COLUMNS
                 WHERE TABLE_SCHEMA = IF(? = '', DATABASE(), ?) AND TABLE_NAME = ? AND COLUMN_NAME = ?",
            )
            .bind(schema)
            .bind(schema)
            .bind(table)
            .bind(&*origin.name)
            .fetch_optional(&mut *c)
            .await
            .map_err(db_err)?;
            if let Some((Some(p), Some(s))) = found {
                decimal = Some((p as u32, s as u32));
            }
        }
        out.push((col.name().to_owned(), ty, decimal));
    }
    Ok(out)
}

/// Starts a pull: connects, describes the query, and streams its rows (as text cells) from a
/// background task through a bounded channel, so memory stays bounded whatever the size.
pub async fn pull(conn: &Connection, query: &str, incremental: Option<Incremental>) -> Result<Pull, SourceError> {
    pull_with(conn, query, incremental, None, None).await
}

/// How a PostgreSQL snapshot copy of one table is split between sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// Sessions that copy page ranges at once (1: the table whole).
    pub parts: usize,
    /// Pages (8 KiB) each session reads at least: a smaller table is copied by fewer.
    pub min_pages: i64,
}

impl Default for Split {
    fn default() -> Self {
        Self { parts: 4, min_pages: 4096 }
    }
}

impl Split {
    /// The page ranges `[from, to)` a table of `pages` pages is copied in; the last range
    /// is open (`None`), so that no page is left out, whatever the table's size when read.
    pub fn ranges(self, pages: i64) -> Vec<(i64, Option<i64>)> {
        let n = (pages / self.min_pages.max(1)).clamp(1, self.parts.max(1) as i64);
        let step = pages / n;
        (0..n).map(|i| (i * step, (i + 1 < n).then_some((i + 1) * step))).collect()
    }
}

/// Starts a copy of `table` (its qualified, quoted name) inside the snapshot a PostgreSQL
/// replication slot exported (its name as `CREATE_REPLICATION_SLOT … EXPORT_SNAPSHOT` gave
/// it): the rows are the database exactly at the slot's starting point, however long the
/// copy takes. A large table is read by several sessions at once (`split`), each importing
/// the same snapshot and copying one range of the table's pages (a TID range scan); their
/// output is interleaved a block of whole records at a time.
pub async fn pull_table_in_snapshot(
    conn: &Connection,
    table: &str,
    snapshot: &str,
    split: Split,
) -> Result<Pull, SourceError> {
    if conn.kind != Kind::Postgres {
        return Err(SourceError::Query("an exported snapshot is a PostgreSQL source's".into()));
    }
    if snapshot.is_empty() || !snapshot.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(SourceError::Query(format!("{snapshot:?} is not a snapshot name")));
    }
    let query = format!("SELECT * FROM {table}");
    pull_with(conn, &query, None, Some(snapshot), Some(SplitTable { table, key: "", split })).await
}

/// A session of a PostgreSQL pull: read-only, ISO dates, inside `snapshot` if given.
async fn pg_session(conn: &Connection, snapshot: Option<&str>) -> Result<sqlx::PgConnection, SourceError> {
    let mut c = sqlx::PgConnection::connect(&conn.url()).await.map_err(|e| connect_err(conn, e))?;
    c.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY").await.map_err(db_err)?;
    c.execute("SET DateStyle = 'ISO, YMD'").await.map_err(db_err)?;
    if let Some(id) = snapshot {
        // Checked by the caller: hex digits and dashes only.
        c.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(db_err)?;
        c.execute(sqlx::AssertSqlSafe(format!("SET TRANSACTION SNAPSHOT '{id}'"))).await.map_err(db_err)?;
    }
    Ok(c)
}

/// Starts a copy of `table` (its qualified, quoted name) from a MySQL/MariaDB source in a
/// consistent read whose binlog position it records (`START TRANSACTION WITH CONSISTENT
/// SNAPSHOT`, then MariaDB's `binlog_snapshot_file` and `binlog_snapshot_position`): the
/// rows are the database exactly at that position, however long the copy takes, and the
/// binlog from there on holds every change after them. A large table with a single integer
/// key column (`key`) is read by several sessions at once (`split`), each a range of the
/// key, all in snapshots at that one position.
pub async fn pull_table_consistent(
    conn: &Connection,
    table: &str,
    key: Option<&str>,
    split: Split,
) -> Result<Pull, SourceError> {
    if conn.kind != Kind::Mysql {
        return Err(SourceError::Query("a consistent binlog read is a MySQL/MariaDB source's".into()));
    }
    let query = format!("SELECT * FROM {table}");
    let split = SplitTable { table, key: key.unwrap_or(""), split };
    pull_with(conn, &query, None, Some(""), Some(split)).await
}

/// The table a snapshot copy reads whole, and how it is split between sessions: by page
/// ranges on PostgreSQL, by ranges of `key` (a single integer key column; none: not split)
/// on MySQL.
#[derive(Clone, Copy)]
struct SplitTable<'a> {
    table: &'a str,
    key: &'a str,
    split: Split,
}

/// `snapshot`: on PostgreSQL the name of an exported snapshot to read in; on MySQL
/// (any value) a consistent read whose binlog position the pull records. `split`: on
/// PostgreSQL in a snapshot, the table `query` reads all of, and how many sessions may
/// copy its page ranges, each at least how many pages.
async fn pull_with(
    conn: &Connection,
    query: &str,
    incremental: Option<Incremental>,
    snapshot: Option<&str>,
    split: Option<SplitTable<'_>>,
) -> Result<Pull, SourceError> {
    let query = check_query(query)?;
    let what = format!("{conn:?}");
    let mut binlog = None;
    let sessions;
    enum Started {
        Copy(tokio::sync::mpsc::Receiver<rows::BlockMsg>),
        Groups(tokio::sync::mpsc::Receiver<rows::GroupMsg>),
    }
    let (columns, sql, started) = match conn.kind {
        Kind::Postgres => {
            let mut c = pg_session(conn, snapshot).await?;
            let described = describe_postgres(&mut c, query).await?;
            let (columns, select) = plan(Kind::Postgres, described.clone(), query, incremental.as_ref())?;
            // The result in COPY's text format: no protocol message per row, no quoting.
            let copy = |select: &str| format!("COPY ({select}) TO STDOUT");
            let ranges = match (split, snapshot) {
                (Some(SplitTable { table, split, .. }), Some(_)) if split.parts > 1 => {
                    let pages: i64 = sqlx::query_scalar(
                        "SELECT (pg_relation_size($1::regclass) / current_setting('block_size')::bigint)::bigint",
                    )
                    .bind(table)
                    .fetch_one(&mut c)
                    .await
                    .map_err(db_err)?;
                    split.ranges(pages)
                }
                _ => vec![],
            };
            let (tx, rx) = rows::copy_channel();
            // A whole table whose columns need no cast is copied as a table (the server's
            // fastest path: no query above the scan).
            let plain = described.iter().all(|(_, ty, _)| !pg_cast(ty));
            let whole = match split {
                Some(SplitTable { table, .. }) if plain && incremental.is_none() => {
                    let cols = described.iter().map(|(n, _, _)| Kind::Postgres.quote(n)).collect::<Vec<_>>();
                    Some(format!("COPY {table} ({}) TO STDOUT", cols.join(", ")))
                }
                _ => None,
            };
            sessions = ranges.len().max(1);
            if ranges.len() < 2 {
                let statement = whole.unwrap_or_else(|| copy(&select));
                rows::spawn_copy(c, statement.clone(), tx);
                (columns, statement, Started::Copy(rx))
            } else {
                let table = split.map(|s| s.table).unwrap_or_default();
                // Every session is open in the snapshot before any copy starts.
                let mut conns = vec![c];
                for _ in 1..ranges.len() {
                    conns.push(pg_session(conn, snapshot).await?);
                }
                let mut said = Vec::new();
                for (session, (from, to)) in conns.into_iter().zip(ranges) {
                    let upper = to.map(|to| format!(" AND ctid < '({to},0)'::tid")).unwrap_or_default();
                    let part = format!("SELECT * FROM {table} WHERE ctid >= '({from},0)'::tid{upper}");
                    let (_, select) = plan(Kind::Postgres, described.clone(), &part, None)?;
                    let statement = copy(&select);
                    rows::spawn_copy(session, statement.clone(), tx.clone());
                    said.push(statement);
                }
                (columns, said.join("; "), Started::Copy(rx))
            }
        }
        Kind::Mysql => {
            let mut c = my::session(conn).await?;
            let described = describe_mysql(&mut c, query).await?;
            let (columns, _) = plan(Kind::Mysql, described.clone(), query, incremental.as_ref())?;
            let split = split.filter(|s| !s.key.is_empty()).map(|s| (s.table, s.key, s.split));
            let opened = my::open(conn, c, query, snapshot.is_some(), split).await?;
            binlog = opened.binlog;
            sessions = opened.conns.len();
            let (tx, rx) = rows::group_channel();
            let mut said = Vec::new();
            for (session, part) in opened.conns {
                let (_, sql) = plan(Kind::Mysql, described.clone(), &part, incremental.as_ref())?;
                rows::spawn_rows(session, sql.clone(), columns.len(), tx.clone());
                said.push(sql);
            }
            (columns, said.join("; "), Started::Groups(rx))
        }
    };
    tracing::debug!(source = %what, %sql, "pulling");
    let high_water: Arc<Mutex<Option<String>>> =
        Arc::new(Mutex::new(incremental.as_ref().and_then(|i| i.after.clone())));
    let watch = match &incremental {
        Some(inc) => {
            let i = columns.iter().position(|c| c.name == inc.column).ok_or_else(|| {
                SourceError::Query(format!(
                    "the incremental column {:?} is not a column of the query's result",
                    inc.column
                ))
            })?;
            Some((i, columns[i].ty))
        }
        None => None,
    };
    let zone = parse_time_zone(&conn.time_zone)?;
    let of = rows::RowsOf {
        name: what,
        header: columns.iter().map(|c| c.name.clone()).collect(),
        watch,
        high_water: high_water.clone(),
        times: columns.iter().enumerate().filter(|(_, c)| c.ty == ColumnType::DateTime).map(|(i, _)| i).collect(),
        zone,
    };
    let rows = match started {
        Started::Copy(rx) => PulledRows::copied(of, rx),
        Started::Groups(rx) => PulledRows::grouped(of, rx),
    };
    Ok(Pull { columns, rows, high_water, binlog, sessions })
}

/// Describes the query and builds the statement actually run: every column cast to text,
/// filtered by the high-water mark.
fn plan(
    kind: Kind,
    described: Vec<Described>,
    query: &str,
    incremental: Option<&Incremental>,
) -> Result<(Vec<TargetColumn>, String), SourceError> {
    if described.is_empty() {
        return Err(SourceError::Query("the query returns no columns".into()));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some((dup, _, _)) = described.iter().find(|(n, _, _)| !seen.insert(n.as_str())) {
        return Err(SourceError::Query(format!("the query returns column {dup:?} twice; give it an alias")));
    }
    let columns: Vec<TargetColumn> = described
        .iter()
        .map(|(name, ty, decimal)| TargetColumn {
            name: name.clone(),
            ty: column_type(kind, ty, *decimal),
            max_len: None,
        })
        .collect();
    let select = described
        .iter()
        .map(|(name, ty, _)| format!("{} AS {}", as_text(kind, name, ty), kind.quote(name)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!("SELECT {select} FROM ({query}) AS src");
    if let Some(inc) = incremental {
        let col = columns.iter().find(|c| c.name == inc.column).ok_or_else(|| {
            SourceError::Query(format!("the incremental column {:?} is not a column of the query's result", inc.column))
        })?;
        sql.push_str(&format!(" WHERE src.{} IS NOT NULL", kind.quote(&inc.column)));
        if let Some(after) = &inc.after {
            sql.push_str(&format!(" AND src.{} > {}", kind.quote(&inc.column), literal(kind, col.ty, after)?));
        }
    }
    Ok((columns, sql))
}

/// A source's date-time text with its zone: `2026-11-01 10:00:00` in `+08:00` becomes
/// `2026-11-01T10:00:00+08:00`, an instant; text that names its zone is left alone.
pub fn with_zone(v: &str, zone: &str) -> Option<String> {
    let has_zone = v.ends_with('Z') || v.get(19..).is_some_and(|rest| rest.contains(['+', '-']));
    (v.len() >= 19 && !has_zone).then(|| format!("{}{zone}", v.replacen(' ', "T", 1)))
}

#[cfg(test)]
mod split {
    use proptest::prelude::*;

    use super::Split;

    proptest! {
        /// The ranges start at page 0, follow one another without gap or overlap, end open,
        /// are at most `parts`, and a split one has at least `min_pages` per closed range.
        #[test]
        fn ranges_cover_the_table_once(pages in 0i64..20_000_000, parts in 1usize..16, min_pages in 1i64..10_000) {
            let r = Split { parts, min_pages }.ranges(pages);
            prop_assert!(!r.is_empty() && r.len() <= parts);
            prop_assert_eq!(r[0].0, 0);
            prop_assert_eq!(r.last().unwrap().1, None);
            for w in r.windows(2) {
                prop_assert_eq!(w[0].1, Some(w[1].0));
                prop_assert!(w[1].0 - w[0].0 >= min_pages);
            }
        }
    }

    #[test]
    fn small_tables_are_one_copy_and_large_ones_as_many_as_allowed() {
        assert_eq!(Split::default().ranges(100), [(0, None)]);
        assert_eq!(Split { parts: 4, min_pages: 10 }.ranges(25), [(0, Some(12)), (12, None)]);
        assert_eq!(Split { parts: 3, min_pages: 1 }.ranges(9), [(0, Some(3)), (3, Some(6)), (6, None)]);
    }
}

#[cfg(test)]
mod send {
    fn is_send<T: Send>(_: T) {}

    #[allow(dead_code)]
    fn pulls_are_send(c: &super::Connection) {
        is_send(super::pull(c, "SELECT 1", None));
        is_send(super::check(c));
    }
}

/// Real source databases for tests of this and other crates (`scripts/test` starts them).
pub mod testing {
    /// The URL in `var` (`TONGSHU_TEST_POSTGRES_URL`, `TONGSHU_TEST_MYSQL_URL`); `None` outside
    /// CI when it is unset, and a panic under CI, so that CI never skips these tests.
    pub fn env_url(var: &str) -> Option<String> {
        match std::env::var(var) {
            Ok(u) if !u.is_empty() => Some(u),
            _ if std::env::var_os("CI").is_some() => panic!("{var} must be set under CI (scripts/test sets it)"),
            _ => {
                eprintln!("{var} is not set; skipping");
                None
            }
        }
    }

    /// Runs SQL statements (several, `;`-separated) against a PostgreSQL or MySQL URL.
    pub async fn exec(url: &str, sql: &str) {
        use sqlx::Connection as _;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if url.starts_with("postgres") {
            let mut c = sqlx::PgConnection::connect(url).await.expect("connect to the test PostgreSQL");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("test SQL");
        } else {
            let mut c = sqlx::MySqlConnection::connect(url).await.expect("connect to the test MySQL");
            sqlx::raw_sql(sql).execute(&mut c).await.expect("test SQL");
        }
    }

    /// A new PostgreSQL database `{family}_{pid}` on the cluster of `admin` (whose role has
    /// CREATEDB), and its URL. What earlier runs of the family left is dropped first: their
    /// databases, and the idle replication slots named `{slots}…` that would pin them
    /// and their WAL (a failed run does not clean up).
    pub async fn fresh_postgres_database(admin: &str, family: &str, slots: &str) -> String {
        use sqlx::{Connection as _, Executor};
        let mut c = sqlx::PgConnection::connect(admin).await.expect("connect to the test PostgreSQL");
        let _ = sqlx::query(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE $1 AND NOT active",
        )
        .bind(format!("{slots}%"))
        .execute(&mut c)
        .await;
        let stale: Vec<String> = sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE $1")
            .bind(format!("{family}\\_%"))
            .fetch_all(&mut c)
            .await
            .expect("list databases");
        for d in stale {
            let _ = c.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{d}\" WITH (FORCE)"))).await;
        }
        let db = format!("{family}_{}", std::process::id());
        c.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{db}\""))).await.expect("create the test database");
        let mut u = url::Url::parse(admin).expect("a database URL");
        u.set_path(&db);
        u.to_string()
    }
}
