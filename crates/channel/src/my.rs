//! MySQL/MariaDB sources: each table copied in a consistent read that records its binlog
//! position, then the row-based binlog read from the oldest of those positions, each
//! table taking only the transactions that start at or after its own.
//!
//! A position is one number: the binlog file's sequence number (the digits after its last
//! `.`) in the high 32 bits and the byte offset in that file in the low ones, so positions
//! order as the binlog does. Nothing is created on the source: the binlog is kept by the
//! server's own expiry whatever the pipeline does, so a stopped pipeline never fills the
//! source's disk; a pipeline stopped for longer than the expiry finds its file purged and
//! must copy its tables again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mysql_async::BinlogStreamRequest;
use mysql_async::binlog::events::{EventData, RowsEventData, TableMapEvent};
use mysql_async::binlog::row::BinlogRow;
use sqlx::{Connection as _, Row};
use tongshu_lake::{ChangeKind, Changes, ColumnType, SourcePosition};
use tongshu_sources::{Connection, Kind};

mod decode;

use decode::{MapInfo, read_map, text_of};

use crate::apply::{HELD_CHANGES, Live, SourceColumn, SourceTable, copy, evolve, flush};
use crate::{ChannelError, Pipeline, Result, SlotInfo, State, TableSpec};

/// The number a binlog file name ends in (`mariadb-bin.000042` → 42).
fn file_number(file: &str) -> Option<u32> {
    file.rsplit_once('.').and_then(|(_, n)| n.parse().ok())
}

/// The position `pos` of file `file` as one ordered number.
pub(crate) fn encode(file: &str, pos: u64) -> Result<i64> {
    let n = file_number(file)
        .ok_or_else(|| ChannelError::Source(format!("binlog file name {file:?} does not end in a number")))?;
    Ok(((n as i64) << 32) | (pos & 0xffff_ffff) as i64)
}

fn decode(position: i64) -> (u32, u64) {
    ((position >> 32) as u32, (position & 0xffff_ffff) as u64)
}

/// A position as people read it: `mariadb-bin.000042:1234` (the file's stem as the source
/// names it, when known).
pub fn describe_position(position: i64, stem: Option<&str>) -> String {
    let (n, pos) = decode(position);
    format!("{}.{n:06}:{pos}", stem.unwrap_or("binlog"))
}

fn source_err(what: &str, e: sqlx::Error) -> ChannelError {
    match e {
        sqlx::Error::Database(d) => ChannelError::Source(format!("{what}: {}", d.message())),
        e => ChannelError::Source(format!("{what}: {e}")),
    }
}

fn quote(ident: &str) -> String {
    format!("`{}`", ident.replace('`', "``"))
}

async fn connect(c: &Connection) -> Result<sqlx::MySqlConnection> {
    if c.kind != Kind::Mysql {
        return Err(ChannelError::Input("this source is not a MySQL/MariaDB database".into()));
    }
    sqlx::MySqlConnection::connect(&c.url()).await.map_err(|e| {
        let why = match &e {
            sqlx::Error::Database(d) => d.message().to_owned(),
            e => e.to_string(),
        };
        ChannelError::Source(format!(
            "cannot connect to MySQL/MariaDB at {}:{} (database {:?}, user {:?}): {why}",
            c.host, c.port, c.database, c.username
        ))
    })
}

/// The source's binlog files and their sizes, oldest first.
async fn binary_logs(conn: &mut sqlx::MySqlConnection) -> Result<Vec<(String, u64)>> {
    let rows = sqlx::query("SHOW BINARY LOGS").fetch_all(&mut *conn).await.map_err(|e| {
        source_err("listing the binlog files (the source role needs REPLICATION CLIENT, on MariaDB BINLOG MONITOR)", e)
    })?;
    Ok(rows
        .iter()
        .map(|r| {
            let name: String = r.try_get(0).unwrap_or_default();
            let size = r.try_get::<u64, _>(1).or_else(|_| r.try_get::<i64, _>(1).map(|s| s as u64)).unwrap_or(0);
            (name, size)
        })
        .collect())
}

/// How much binlog the source holds beyond `position` (what the pipeline has still to
/// read), as a slot's retained WAL is shown for PostgreSQL.
pub async fn log_behind(c: &Connection, position: Option<i64>) -> Result<Option<SlotInfo>> {
    let mut conn = connect(c).await?;
    let logs = binary_logs(&mut conn).await?;
    let Some(position) = position else {
        return Ok(None);
    };
    let (n, pos) = decode(position);
    let behind: u64 = logs
        .iter()
        .filter_map(|(f, size)| {
            let m = file_number(f)?;
            Some(match m.cmp(&n) {
                std::cmp::Ordering::Less => 0,
                std::cmp::Ordering::Equal => size.saturating_sub(pos),
                std::cmp::Ordering::Greater => *size,
            })
        })
        .sum();
    Ok(Some(SlotInfo {
        active: false,
        active_pid: None,
        retained_bytes: Some(i64::try_from(behind).unwrap_or(i64::MAX)),
        confirmed: Some(position),
    }))
}

/// Checks what reading the row binlog needs of the source, each missing piece named.
async fn check_source(conn: &mut sqlx::MySqlConnection) -> Result<()> {
    let row = sqlx::query(
        "SELECT CAST(@@log_bin AS CHAR), CAST(@@binlog_format AS CHAR), CAST(@@binlog_row_image AS CHAR), \
         CAST(@@binlog_row_metadata AS CHAR)",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| source_err("reading the binlog settings (the source must be MariaDB 10.5+ or MySQL 8)", e))?;
    let get = |i: usize| row.try_get::<Option<String>, _>(i).ok().flatten().unwrap_or_default().to_ascii_uppercase();
    let wanted = [("log_bin", "1", "ON"), ("binlog_format", "ROW", ""), ("binlog_row_image", "FULL", "")];
    for (i, (name, want, alt)) in wanted.iter().enumerate() {
        let have = get(i);
        if have != *want && have != *alt {
            return Err(ChannelError::Input(format!(
                "the source's {name} is {have:?}: the channel reads the row-based binlog and needs {name} = {want} \
                 (set it in the server's configuration, then restart)"
            )));
        }
    }
    if get(3) != "FULL" {
        return Err(ChannelError::Input(format!(
            "the source's binlog_row_metadata is {:?}: the channel needs column names in the binlog, \
             binlog_row_metadata = FULL (SET GLOBAL binlog_row_metadata = FULL, and in the server's configuration)",
            get(3)
        )));
    }
    let privileges: Vec<String> = sqlx::query_scalar(
        "SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES \
         WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| source_err("reading the role's privileges", e))?;
    let has = |p: &str| privileges.iter().any(|x| x.eq_ignore_ascii_case(p) || x.eq_ignore_ascii_case("SUPER"));
    if !has("REPLICATION SLAVE") && !has("REPLICATION REPLICA") {
        return Err(ChannelError::Input(
            "the source role lacks the REPLICATION SLAVE privilege (GRANT REPLICATION SLAVE ON *.* TO …)".into(),
        ));
    }
    if !has("REPLICATION CLIENT") && !has("BINLOG MONITOR") {
        return Err(ChannelError::Input(
            "the source role lacks the REPLICATION CLIENT privilege (MariaDB: BINLOG MONITOR; GRANT … ON *.* TO …)"
                .into(),
        ));
    }
    Ok(())
}

async fn describe(conn: &mut sqlx::MySqlConnection, spec: &TableSpec, database: &str) -> Result<SourceTable> {
    let (schema, name) = spec.source.split_once('.').unwrap_or((database, &spec.source));
    let rows = sqlx::query(
        "SELECT CAST(COLUMN_NAME AS CHAR), CAST(DATA_TYPE AS CHAR), CAST(NUMERIC_PRECISION AS UNSIGNED), \
         CAST(NUMERIC_SCALE AS UNSIGNED) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    )
    .bind(schema)
    .bind(name)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| source_err(&format!("describing table {}", spec.source), e))?;
    if rows.is_empty() {
        return Err(ChannelError::Input(format!("table {schema}.{name} does not exist in database {database:?}")));
    }
    let mut columns = Vec::new();
    for r in rows {
        let col: String = r.get(0);
        let data_type: String = r.get::<String, _>(1).to_ascii_uppercase();
        let decimal = match (r.get::<Option<u64>, _>(2), r.get::<Option<u64>, _>(3)) {
            (Some(p), Some(s)) => Some((p as u32, s as u32)),
            _ => None,
        };
        if matches!(data_type.as_str(), "BIT" | "GEOMETRY" | "POINT" | "LINESTRING" | "POLYGON") {
            return Err(ChannelError::Input(format!(
                "table {schema}.{name}: column {col:?} has type {data_type}, which the channel does not carry; \
                 leave the table out, or change the column"
            )));
        }
        let ty = tongshu_sources::column_type(Kind::Mysql, &data_type, decimal);
        columns.push(SourceColumn { name: col, type_name: data_type, ty });
    }
    let pk: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.KEY_COLUMN_USAGE \
         WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
    )
    .bind(schema)
    .bind(name)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| source_err(&format!("reading the primary key of {}", spec.source), e))?;
    SourceTable::keyed(spec, schema, name, columns, pk)
}

/// The server id the pipeline reads the binlog as (each reader needs its own): derived
/// from its name, above the ids people give servers.
fn server_id(name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    0x4000_0000 | (h & 0x3fff_ffff)
}

/// `TRUNCATE [TABLE] [db.]name`: the table it empties (database, table).
fn truncated_table(query: &str, default_db: &str) -> Option<(String, String)> {
    fn strip<'a>(s: &'a str, word: &str) -> Option<&'a str> {
        let head = s.get(..word.len())?;
        let rest = &s[word.len()..];
        (head.eq_ignore_ascii_case(word) && (rest.starts_with(char::is_whitespace) || rest.starts_with('`')))
            .then_some(rest.trim_start())
    }
    let rest = strip(query.trim(), "TRUNCATE")?;
    let rest = strip(rest, "TABLE").unwrap_or(rest);
    let name = rest.trim_end_matches(';').trim();
    let unquote = |s: &str| s.trim().trim_matches('`').replace("``", "`");
    // A dot outside backquotes separates database and table.
    let mut quoted = false;
    let split = name.char_indices().find(|&(_, c)| {
        if c == '`' {
            quoted = !quoted;
        }
        c == '.' && !quoted
    });
    Some(match split {
        Some((i, _)) => (unquote(&name[..i]), unquote(&name[i + 1..])),
        None => (default_db.to_owned(), unquote(name)),
    })
}

/// Checks, without changing anything, that the pipeline could run: the source answers
/// with its credentials, has what the channel needs, and has every table with a key.
/// The base tables of `schema` (a database), by name.
pub(crate) async fn tables_in(c: &Connection, schema: &str) -> Result<Vec<String>> {
    let mut conn = connect(c).await?;
    sqlx::query_scalar(
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(&mut conn)
    .await
    .map_err(|e| source_err(&format!("listing the tables of database {schema}"), e))
}

pub(crate) async fn probe(spec: &crate::PipelineSpec) -> Result<()> {
    let mut admin = connect(&spec.source).await?;
    check_source(&mut admin).await?;
    for t in &spec.tables {
        describe(&mut admin, t, &spec.source.database).await?;
    }
    Ok(())
}

/// Runs the pipeline: a copy of each table that holds no position, then the binlog,
/// until `stop`.
pub(crate) async fn run(p: &Pipeline, stop: crate::CancellationToken) -> Result<()> {
    let spec = &p.spec;
    let app = spec.app();
    let mut admin = connect(&spec.source).await?;
    check_source(&mut admin).await?;
    let mut tables = Vec::new();
    for t in &spec.tables {
        let mut table = describe(&mut admin, t, &spec.source.database).await?;
        if p.lake.exists(&table.target).await? {
            table.position = p.lake.source_position(&table.target, &app).await?;
        }
        tables.push(table);
    }
    let of = tables.len();
    for (i, t) in tables.iter_mut().enumerate() {
        if t.position.is_some() && !spec.resnapshot {
            continue;
        }
        p.update(|s| s.state = State::Snapshotting { done: i, of });
        let table = format!("{}.{}", quote(&t.schema), quote(&t.name));
        // A single key column lets several sessions copy ranges of it.
        let key = match t.keys.as_slice() {
            [key] => Some(key.as_str()),
            _ => None,
        };
        let pull = tongshu_sources::pull_table_consistent(&spec.source, &table, key, spec.snapshot_split)
            .await
            .map_err(|e| ChannelError::Source(format!("copying {}.{}: {e}", t.schema, t.name)))?;
        let (file, pos) = pull.binlog.clone().ok_or_else(|| {
            ChannelError::Source(format!("copying {}.{}: no binlog position was recorded", t.schema, t.name))
        })?;
        let point = encode(&file, pos)?;
        let sessions = pull.sessions;
        let rows = copy(p, t, pull, SourcePosition { app: app.clone(), position: point }).await?;
        t.position = Some(point);
        p.update(|s| {
            if let Some(st) = s.tables.iter_mut().find(|x| x.target == t.target) {
                st.snapshot_rows = rows;
                st.snapshot_sessions = sessions;
                st.position = Some(point);
            }
        });
    }
    let from = tables.iter().filter_map(|t| t.position).min().unwrap_or(0);
    let (n, pos) = decode(from);
    let logs = binary_logs(&mut admin).await?;
    let file = logs.iter().map(|(f, _)| f).find(|f| file_number(f) == Some(n)).cloned().ok_or_else(|| {
        ChannelError::Source(format!(
            "binlog file number {n} (position {pos}), where the pipeline resumes, is no longer on the source \
             (purged by its expiry: the pipeline was stopped too long); take a new snapshot (tongshu channel resnapshot)"
        ))
    })?;
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(spec.source.host.clone())
        .tcp_port(spec.source.port)
        .user(Some(spec.source.username.clone()))
        .pass(Some(spec.source.password.clone()))
        .db_name(Some(spec.source.database.clone()))
        .prefer_socket(false);
    let conn = mysql_async::Conn::new(opts).await.map_err(|e| {
        ChannelError::Source(format!("binlog connection to {}:{}: {e}", spec.source.host, spec.source.port))
    })?;
    let stream = conn
        .get_binlog_stream(BinlogStreamRequest::new(server_id(&spec.name)).with_filename(file.as_bytes()).with_pos(pos))
        .await
        .map_err(|e| ChannelError::Source(format!("reading the binlog from {file}:{pos}: {e}")))?;
    for t in &tables {
        p.update(|s| {
            if let Some(st) = s.tables.iter_mut().find(|x| x.target == t.target) {
                st.position = t.position;
            }
        });
    }
    p.update(|s| {
        s.state = State::Streaming;
        s.confirmed = Some(from);
    });
    stream_changes(p, stream, tables, n, stop).await
}

/// Raw binlog event types this reader acts on beside those `mysql_common` names.
const MARIADB_GTID_EVENT: u8 = 162;

async fn stream_changes(
    p: &Pipeline,
    mut stream: mysql_async::BinlogStream,
    tables: Vec<SourceTable>,
    mut file: u32,
    stop: crate::CancellationToken,
) -> Result<()> {
    let zone =
        tongshu_sources::parse_time_zone(&p.spec.source.time_zone).map_err(|e| ChannelError::Input(e.to_string()))?;
    let mut live: Vec<Live> =
        tables.into_iter().map(|table| Live { table, pending: Changes::default(), applied: 0, batches: 0 }).collect();
    let by_name: HashMap<(String, String), usize> =
        live.iter().enumerate().map(|(i, l)| ((l.table.schema.clone(), l.table.name.clone()), i)).collect();
    // Table maps seen (by table id), checked against the tables as the pipeline knows them.
    let mut maps: HashMap<u64, Option<MapInfo>> = HashMap::new();
    // The transaction being read: where it starts.
    let mut txn_start: i64 = 0;
    let mut batch_end: Option<i64> = None;
    let mut batch_started: Option<Instant> = None;
    let mut last_commit_ms: Option<i64> = None;
    let mut commits: Vec<i64> = Vec::new();
    let mut held = 0usize;
    let mut open: Option<Vec<(usize, bool)>> = None;
    loop {
        let wait = match batch_started {
            Some(t) if open.is_none() => p.spec.batch_wait.saturating_sub(t.elapsed()),
            _ => Duration::from_secs(3600),
        };
        let next = tokio::select! {
            _ = stop.cancelled() => None,
            n = tokio::time::timeout(wait, stream.next()) => Some(n),
        };
        let event = match next {
            None => break,
            Some(Err(_elapsed)) => {
                flush(p, &mut live, batch_end, last_commit_ms).await?;
                p.sample_lags(&mut commits);
                (batch_end, batch_started, held) = (None, None, 0);
                continue;
            }
            Some(Ok(None)) => return Err(ChannelError::Source("the source ended the binlog stream".into())),
            Some(Ok(Some(Err(e)))) => return Err(ChannelError::Source(format!("binlog stream: {e}"))),
            Some(Ok(Some(Ok(e)))) => e,
        };
        let header = event.header();
        let end_pos = header.log_pos() as u64;
        // Artificial events (the first rotate and format description) have no position.
        let at = |pos: u64| ((file as i64) << 32) | (pos & 0xffff_ffff) as i64;
        let start = at(end_pos.saturating_sub(header.event_size() as u64));
        let end = at(end_pos);
        let mut commit = false;
        if header.event_type_raw() == MARIADB_GTID_EVENT {
            txn_start = start;
            open = Some(live.iter().map(|l| (l.pending.rows.len(), l.pending.truncated)).collect());
            continue;
        }
        let data = event.read_data().map_err(|e| ChannelError::Source(format!("reading a binlog event: {e}")))?;
        let takes = |l: &Live, start: i64| l.table.position.is_none_or(|p| start >= p);
        match data {
            Some(EventData::RotateEvent(r)) => {
                if let Some(n) = file_number(&r.name()) {
                    file = n;
                }
            }
            Some(EventData::XidEvent(_)) => commit = true,
            Some(EventData::QueryEvent(q)) => {
                let text = q.query();
                let head = text.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                match head.as_str() {
                    "BEGIN" => {
                        if open.is_none() {
                            txn_start = start;
                            open = Some(live.iter().map(|l| (l.pending.rows.len(), l.pending.truncated)).collect());
                        }
                    }
                    "COMMIT" => commit = true,
                    "SAVEPOINT" | "ROLLBACK" | "XA" | "RELEASE" => {}
                    // A comment: MariaDB's stand-in for an event this reader did not ask
                    // for (an annotation of the statement, a GTID of a DDL).
                    h if h.starts_with('#') || h.starts_with("/*") => {}
                    _ => {
                        // DDL commits on its own.
                        if open.is_none() {
                            txn_start = start;
                        }
                        if let Some((db, name)) = truncated_table(&text, &q.schema())
                            && let Some(&i) = by_name.get(&(db, name))
                            && takes(&live[i], txn_start)
                        {
                            live[i].pending.rows.clear();
                            live[i].pending.truncated = true;
                            held += 1;
                        }
                        commit = true;
                    }
                }
            }
            Some(EventData::RowsEvent(rows)) => {
                let id = rows.table_id();
                if let std::collections::hash_map::Entry::Vacant(slot) = maps.entry(id) {
                    let Some(tme) = stream.get_tme(id) else {
                        return Err(ChannelError::Source(format!(
                            "binlog rows of table id {id} without its table map"
                        )));
                    };
                    let key = (tme.database_name().into_owned(), tme.table_name().into_owned());
                    let info = match by_name.get(&key) {
                        None => None,
                        Some(&i) => Some(check_map(p, &mut live, i, tme).await?),
                    };
                    slot.insert(info);
                }
                let Some(Some(map)) = maps.get(&id) else { continue };
                let i = map.live;
                if !takes(&live[i], txn_start) {
                    continue;
                }
                let Some(tme) = stream.get_tme(id) else { continue };
                held += apply_rows(&mut live[i], &rows, tme, map, &zone)?;
            }
            _ => {}
        }
        if commit {
            open = None;
            batch_end = Some(end);
            let ts = header.timestamp() as i64;
            last_commit_ms = Some(ts * 1000);
            commits.push(ts * 1_000_000);
            batch_started.get_or_insert_with(Instant::now);
            if held >= p.spec.batch_changes || batch_started.is_some_and(|t| t.elapsed() >= p.spec.batch_wait) {
                flush(p, &mut live, batch_end, last_commit_ms).await?;
                p.sample_lags(&mut commits);
                (batch_end, batch_started, held) = (None, None, 0);
            }
        }
        if live.iter().any(|l| l.pending.rows.len() >= HELD_CHANGES) {
            flush(p, &mut live, None, None).await?;
        }
    }
    if let Some(marks) = open {
        for (l, (rows, truncated)) in live.iter_mut().zip(marks) {
            l.pending.rows.truncate(rows);
            l.pending.truncated = truncated;
        }
    }
    flush(p, &mut live, batch_end, last_commit_ms).await?;
    let _ = stream.close().await;
    Ok(())
}

/// Reads a table map of carried table `i` and evolves the table by it (see
/// [`evolve`]), as PostgreSQL's relation messages do.
async fn check_map(p: &Pipeline, live: &mut [Live], i: usize, tme: &TableMapEvent<'_>) -> Result<MapInfo> {
    let info = read_map(tme, i, &live[i].table.target)?;
    let now: Vec<(String, String, ColumnType)> =
        info.columns.iter().map(|(n, _, t)| (n.clone(), String::new(), *t)).collect();
    evolve(p, live, i, &now).await?;
    Ok(info)
}

/// The cells of a binlog row in the table's column order.
fn cells_of(l: &Live, row: &BinlogRow, map: &MapInfo, zone: &str) -> Result<Vec<Option<String>>> {
    let cols = row.columns_ref();
    l.table
        .columns
        .iter()
        .map(|c| {
            let Some(at) = map.columns.iter().position(|(n, _, _)| *n == c.name) else { return Ok(None) };
            let Some(ix) = cols.iter().position(|x| x.name_str() == c.name.as_str()) else {
                return Err(ChannelError::Paused {
                    table: l.table.target.clone(),
                    column: c.name.clone(),
                    change: "came without its value: set binlog_row_image = FULL on the source".into(),
                });
            };
            match row.as_ref(ix) {
                None => Ok(None),
                Some(v) => text_of(v, &cols[ix], map, at, &l.table.target, zone),
            }
        })
        .collect()
}

/// A row's images before and after its change (an insert has no before, a delete no after).
type RowImages = (Option<BinlogRow>, Option<BinlogRow>);

/// Queues the rows of one binlog rows event; returns how many changes it queued.
fn apply_rows(
    l: &mut Live,
    rows: &RowsEventData<'_>,
    tme: &TableMapEvent<'_>,
    map: &MapInfo,
    zone: &str,
) -> Result<usize> {
    let mut n = 0;
    let iter: Box<dyn Iterator<Item = std::io::Result<RowImages>>> = match rows {
        RowsEventData::WriteRowsEventV1(e) => Box::new(e.rows(tme)),
        RowsEventData::UpdateRowsEventV1(e) => Box::new(e.rows(tme)),
        RowsEventData::DeleteRowsEventV1(e) => Box::new(e.rows(tme)),
        RowsEventData::WriteRowsEvent(e) => Box::new(e.rows(tme)),
        RowsEventData::UpdateRowsEvent(e) => Box::new(e.rows(tme)),
        RowsEventData::DeleteRowsEvent(e) => Box::new(e.rows(tme)),
        RowsEventData::PartialUpdateRowsEvent(_) => {
            return Err(ChannelError::Paused {
                table: l.table.target.clone(),
                column: String::new(),
                change: "came as a partial JSON update: set binlog_row_value_options = '' on the source".into(),
            });
        }
    };
    for r in iter {
        let (before, after) = r.map_err(|e| ChannelError::Source(format!("binlog rows of {}: {e}", l.table.target)))?;
        match (before, after) {
            (None, Some(after)) => {
                let cells = cells_of(l, &after, map, zone)?;
                l.push(ChangeKind::Upsert, cells);
                n += 1;
            }
            (Some(before), Some(after)) => {
                let old = cells_of(l, &before, map, zone)?;
                let cells = cells_of(l, &after, map, zone)?;
                let (old_key, new_key) = (l.key_of(&old), l.key_of(&cells));
                if old_key.iter().all(Option::is_some) && old_key != new_key {
                    l.push_delete(old_key);
                    n += 1;
                }
                l.push(ChangeKind::Upsert, cells);
                n += 1;
            }
            (Some(before), None) => {
                let old = cells_of(l, &before, map, zone)?;
                let key = l.key_of(&old);
                l.push_delete(key);
                n += 1;
            }
            (None, None) => {}
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_order_as_the_binlog_does() {
        let a = encode("mariadb-bin.000001", 4_000_000).unwrap();
        let b = encode("mariadb-bin.000002", 4).unwrap();
        assert!(a < b);
        assert_eq!(decode(b), (2, 4));
        assert_eq!(describe_position(a, Some("mariadb-bin")), "mariadb-bin.000001:4000000");
        assert!(encode("noext", 4).is_err());
    }

    #[test]
    fn truncate_statements_name_their_table() {
        assert_eq!(truncated_table("TRUNCATE TABLE people", "db"), Some(("db".into(), "people".into())));
        assert_eq!(truncated_table("truncate `d b`.`pe.ople`", "x"), Some(("d b".into(), "pe.ople".into())));
        assert_eq!(truncated_table("  TRUNCATE table `t`;", "x"), Some(("x".into(), "t".into())));
        assert_eq!(truncated_table("ALTER TABLE t ADD c INT", "x"), None);
    }
}
