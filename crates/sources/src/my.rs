//! The sessions of a MySQL/MariaDB pull, and how a consistent copy of a large table is
//! split between several of them.
//!
//! MariaDB has no exported snapshot to share. Instead every session starts its own
//! `START TRANSACTION WITH CONSISTENT SNAPSHOT` at once, and each reports the binlog
//! position its snapshot stands at (`binlog_snapshot_file`/`_position`, kept consistent
//! with the engine's snapshot by the binlog's group commit). Sessions whose positions are
//! equal see the same committed transactions: the same database. When a commit slips in
//! between them they are rolled back and started again; after a few tries the copy is
//! read by one session, which is always consistent.

use sqlx::{Connection as _, Executor as _};

use crate::{Connection, Kind, SourceError, Split, connect_err, db_err, parse_time_zone};

/// Tries at starting every session of a split copy at one binlog position.
const TRIES: usize = 5;

/// The key range `[from, to)` one session reads; an open end reads everything beyond.
pub(crate) type KeyRange = (Option<i64>, Option<i64>);

/// The sessions a pull reads with, each with the part of the query it runs (the query
/// itself when one session reads it whole), and the binlog position of a consistent read.
pub(crate) struct Sessions {
    pub conns: Vec<(sqlx::MySqlConnection, String)>,
    pub binlog: Option<(String, u64)>,
}

/// A session of a MySQL pull: read-only, `TIMESTAMP`s in the source's own zone.
pub(crate) async fn session(conn: &Connection) -> Result<sqlx::MySqlConnection, SourceError> {
    let mut c = sqlx::MySqlConnection::connect(&conn.url()).await.map_err(|e| connect_err(conn, e))?;
    c.execute("SET SESSION TRANSACTION READ ONLY").await.map_err(db_err)?;
    let zone = parse_time_zone(&conn.time_zone)?;
    c.execute(sqlx::AssertSqlSafe(format!("SET time_zone = '{zone}'"))).await.map_err(db_err)?;
    Ok(c)
}

/// Opens the sessions that read `query` (on `first`, already open and used to describe
/// it): a consistent read if `consistent`; with `split` (the table the query reads whole,
/// its single integer key column, how many sessions), several sessions each reading a
/// range of the key, all in snapshots at one binlog position.
pub(crate) async fn open(
    conn: &Connection,
    mut first: sqlx::MySqlConnection,
    query: &str,
    consistent: bool,
    split: Option<(&str, &str, Split)>,
) -> Result<Sessions, SourceError> {
    let ranges = match split {
        Some((table, key, split)) if consistent && split.parts > 1 => key_ranges(&mut first, table, key, split).await?,
        _ => vec![],
    };
    let mut conns = vec![first];
    if ranges.len() > 1 {
        for _ in 1..ranges.len() {
            conns.push(session(conn).await?);
        }
        for attempt in 1..=TRIES {
            if let Some(at) = start_together(&mut conns).await? {
                let (table, key, _) = split.expect("ranges come from a split");
                let parts = ranges.iter().map(|r| range_query(table, key, *r)).collect::<Vec<_>>();
                return Ok(Sessions { conns: conns.into_iter().zip(parts).collect(), binlog: Some(at) });
            }
            tracing::debug!(attempt, "a commit came between the sessions' snapshots; starting them again");
        }
        tracing::info!(
            "the source commits too often to start {} snapshots at one position: one session copies",
            ranges.len()
        );
        conns.truncate(1);
    }
    let mut first = conns.pop().expect("the first session");
    let binlog = if consistent {
        first.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT").await.map_err(db_err)?;
        Some(binlog_snapshot(&mut first).await?)
    } else {
        None
    };
    Ok(Sessions { conns: vec![(first, query.to_owned())], binlog })
}

/// Starts a consistent snapshot in every session at once: their binlog position if they
/// all stand at the same one; otherwise (a commit came between them) rolls them back.
async fn start_together(conns: &mut [sqlx::MySqlConnection]) -> Result<Option<(String, u64)>, SourceError> {
    futures::future::try_join_all(conns.iter_mut().map(|c| c.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")))
        .await
        .map_err(db_err)?;
    let mut at = Vec::with_capacity(conns.len());
    for c in conns.iter_mut() {
        at.push(binlog_snapshot(c).await?);
    }
    if at.windows(2).all(|w| w[0] == w[1]) {
        return Ok(at.pop());
    }
    for c in conns.iter_mut() {
        c.execute("ROLLBACK").await.map_err(db_err)?;
    }
    Ok(None)
}

/// The key ranges a table is read in: as many as [`Split::ranges`] gives its size (in
/// 8 KiB units, from the server's statistics), dividing the key's span evenly. One range
/// (none returned) when the table is small, empty, or its key is no integer column. The span is
/// only a guide: the first and last ranges are open, so a row outside it is still read.
async fn key_ranges(
    c: &mut sqlx::MySqlConnection,
    table: &str,
    key: &str,
    split: Split,
) -> Result<Vec<KeyRange>, SourceError> {
    let (schema, name) = unquote_table(table);
    let found: Option<(Option<u64>, Option<String>)> = sqlx::query_as(
        "SELECT CAST(t.DATA_LENGTH AS UNSIGNED), CAST(c.DATA_TYPE AS CHAR)
         FROM information_schema.TABLES t JOIN information_schema.COLUMNS c
           ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
         WHERE t.TABLE_SCHEMA = IF(? = '', DATABASE(), ?) AND t.TABLE_NAME = ? AND c.COLUMN_NAME = ?",
    )
    .bind(&schema)
    .bind(&schema)
    .bind(&name)
    .bind(key)
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?;
    let Some((bytes, Some(ty))) = found else { return Ok(vec![]) };
    let integer = ["tinyint", "smallint", "mediumint", "int", "bigint"].contains(&ty.to_ascii_lowercase().as_str());
    let n = split.ranges(bytes.unwrap_or(0) as i64 / 8192).len();
    if n < 2 || !integer {
        return Ok(vec![]);
    }
    let k = Kind::Mysql.quote(key);
    let (lo, hi): (Option<String>, Option<String>) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(MIN({k}) AS CHAR), CAST(MAX({k}) AS CHAR) FROM {table}"
    )))
    .fetch_one(&mut *c)
    .await
    .map_err(db_err)?;
    match (lo.and_then(|v| v.parse::<i64>().ok()), hi.and_then(|v| v.parse::<i64>().ok())) {
        (Some(lo), Some(hi)) => Ok(divide(lo, hi, n)),
        _ => Ok(vec![]),
    }
}

/// `[lo, hi]` in `n` ranges of about equal width, the first open below and the last
/// above; fewer when the span has fewer values.
pub(crate) fn divide(lo: i64, hi: i64, n: usize) -> Vec<KeyRange> {
    let span = (hi as i128 - lo as i128 + 1).max(1);
    let n = (n as i128).clamp(1, span);
    let bounds: Vec<i64> = (1..n).map(|i| (lo as i128 + span * i / n) as i64).collect();
    (0..=bounds.len()).map(|i| (i.checked_sub(1).map(|j| bounds[j]), bounds.get(i).copied())).collect()
}

/// The query that reads one key range of `table`.
fn range_query(table: &str, key: &str, (from, to): KeyRange) -> String {
    let k = Kind::Mysql.quote(key);
    let mut bounds = Vec::new();
    if let Some(from) = from {
        bounds.push(format!("{k} >= {from}"));
    }
    match (from, to) {
        // A key the operator named may be NULL: the first range reads those rows.
        (None, Some(to)) => bounds.push(format!("({k} < {to} OR {k} IS NULL)")),
        (_, Some(to)) => bounds.push(format!("{k} < {to}")),
        _ => {}
    }
    match bounds.is_empty() {
        true => format!("SELECT * FROM {table}"),
        false => format!("SELECT * FROM {table} WHERE {}", bounds.join(" AND ")),
    }
}

/// `schema` and `name` of a table written `` `schema`.`name` `` or `` `name` ``.
fn unquote_table(table: &str) -> (String, String) {
    let parts: Vec<String> = table.split("`.`").map(|p| p.trim_matches('`').replace("``", "`")).collect();
    match parts.as_slice() {
        [schema, name] => (schema.clone(), name.clone()),
        _ => (String::new(), parts.concat()),
    }
}

/// The binlog position a MariaDB consistent snapshot stands at.
pub(crate) async fn binlog_snapshot(c: &mut sqlx::MySqlConnection) -> Result<(String, u64), SourceError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SHOW STATUS LIKE 'binlog_snapshot_%'").fetch_all(&mut *c).await.map_err(db_err)?;
    let get = |k: &str| rows.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
    match (get("binlog_snapshot_file"), get("binlog_snapshot_position").and_then(|p| p.parse::<u64>().ok())) {
        (Some(file), Some(pos)) if !file.is_empty() => Ok((file, pos)),
        _ => Err(SourceError::Query(
            "the source reports no binlog_snapshot_file/binlog_snapshot_position (MariaDB with log_bin on does): \
             a consistent snapshot at a binlog position is not possible"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{divide, unquote_table};

    proptest! {
        /// The ranges follow one another without gap or overlap, the first open below and
        /// the last above, at most `n`, each non-empty.
        #[test]
        fn key_ranges_cover_every_key_once(lo in -1_000_000i64..1_000_000, width in 0i64..1_000_000, n in 1usize..16) {
            let hi = lo + width;
            let r = divide(lo, hi, n);
            prop_assert!(!r.is_empty() && r.len() <= n);
            prop_assert_eq!(r[0].0, None);
            prop_assert_eq!(r[r.len() - 1].1, None);
            for w in r.windows(2) {
                prop_assert_eq!(w[0].1, w[1].0);
                prop_assert!(w[0].1.is_some());
            }
            for x in r.iter().filter_map(|x| x.0.zip(x.1)) {
                prop_assert!(x.0 < x.1);
            }
        }
    }

    #[test]
    fn extreme_spans_divide() {
        assert_eq!(divide(i64::MIN, i64::MAX, 2), [(None, Some(0)), (Some(0), None)]);
        assert_eq!(divide(5, 5, 4), [(None, None)]);
        assert_eq!(divide(1, 9, 3), [(None, Some(4)), (Some(4), Some(7)), (Some(7), None)]);
    }

    #[test]
    fn tables_unquote() {
        assert_eq!(unquote_table("`db`.`t`"), ("db".into(), "t".into()));
        assert_eq!(unquote_table("`a``b`"), (String::new(), "a`b".into()));
    }
}
