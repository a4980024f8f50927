//! PostgreSQL sources: a publication and a logical replication slot (pgoutput) that the
//! pipeline creates on the source, the snapshot the slot exports, and the stream.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use pg_walstream::{
    CancellationToken, ColumnValue, EventType, LogicalReplicationStream, ReplicationSlotOptions,
    ReplicationStreamConfig, RetryConfig, RowData, StreamingMode,
};
use sqlx::{Connection as _, Executor, Row};
use tongshu_lake::{ChangeKind, Changes, ColumnType, SourcePosition};
use tongshu_sources::{Connection, Kind};

use crate::apply::{HELD_CHANGES, Live, SourceColumn, SourceTable, copy, evolve, flush};
use crate::{ChannelError, Pipeline, Result, State, TableSpec};

impl SourceTable {
    fn qualified(&self) -> String {
        format!("{}.{}", quote(&self.schema), quote(&self.name))
    }
}

/// A replication slot on the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    /// Some consumer is connected to it now.
    pub active: bool,
    pub active_pid: Option<i32>,
    /// Bytes of WAL the slot keeps on the source's disk.
    pub retained_bytes: Option<i64>,
    /// The position the consumer confirmed.
    pub confirmed: Option<i64>,
}

fn source_err(what: &str, e: sqlx::Error) -> ChannelError {
    match e {
        sqlx::Error::Database(d) => ChannelError::Source(format!("{what}: {}", d.message())),
        e => ChannelError::Source(format!("{what}: {e}")),
    }
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// libpq's keyword form, each value quoted; times come in UTC and ISO form.
fn replication_conninfo(c: &Connection) -> String {
    let q = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    format!(
        "host={} port={} dbname={} user={} password={} replication=database application_name=tongshu-channel options={}",
        q(&c.host),
        c.port,
        q(&c.database),
        q(&c.username),
        q(&c.password),
        q("-c TimeZone=UTC -c DateStyle=ISO")
    )
}

async fn connect(c: &Connection) -> Result<sqlx::PgConnection> {
    if c.kind != Kind::Postgres {
        return Err(ChannelError::Input("this source is not a PostgreSQL database".into()));
    }
    sqlx::PgConnection::connect(&c.url()).await.map_err(|e| {
        let why = match &e {
            sqlx::Error::Database(d) => d.message().to_owned(),
            e => e.to_string(),
        };
        ChannelError::Source(format!(
            "cannot connect to PostgreSQL at {}:{} (database {:?}, user {:?}): {why}",
            c.host, c.port, c.database, c.username
        ))
    })
}

/// The slot `slot` on the source, if it exists.
pub async fn slot_info(c: &Connection, slot: &str) -> Result<Option<SlotInfo>> {
    let mut conn = connect(c).await?;
    slot_of(&mut conn, slot).await
}

async fn slot_of(conn: &mut sqlx::PgConnection, slot: &str) -> Result<Option<SlotInfo>> {
    let row = sqlx::query(
        "SELECT active, active_pid, (pg_current_wal_lsn() - restart_lsn)::int8, (confirmed_flush_lsn - '0/0'::pg_lsn)::int8 \
         FROM pg_replication_slots WHERE slot_name = $1",
    )
    .bind(slot)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| source_err("reading the replication slots", e))?;
    Ok(row.map(|r| SlotInfo { active: r.get(0), active_pid: r.get(1), retained_bytes: r.get(2), confirmed: r.get(3) }))
}

/// Drops the slot `slot` (the source then keeps no WAL for it); `false` if it did not exist.
pub async fn drop_slot(c: &Connection, slot: &str) -> Result<bool> {
    let mut conn = connect(c).await?;
    drop_slot_on(&mut conn, slot).await
}

async fn drop_slot_on(conn: &mut sqlx::PgConnection, slot: &str) -> Result<bool> {
    match slot_of(conn, slot).await? {
        None => Ok(false),
        Some(s) if s.active => Err(ChannelError::Input(format!(
            "replication slot {slot:?} is in use by another consumer (pid {}); stop it first",
            s.active_pid.unwrap_or_default()
        ))),
        Some(_) => {
            sqlx::query("SELECT pg_drop_replication_slot($1)")
                .bind(slot)
                .execute(&mut *conn)
                .await
                .map_err(|e| source_err(&format!("dropping replication slot {slot:?}"), e))?;
            Ok(true)
        }
    }
}

/// The sqlx name and library type of a column of PostgreSQL type `oid` (modifier `typmod`).
fn type_of_oid(oid: u32, typmod: i32) -> (String, ColumnType) {
    let name = match oid {
        16 => "BOOL",
        20 => "INT8",
        21 => "INT2",
        23 => "INT4",
        700 => "FLOAT4",
        701 => "FLOAT8",
        790 => "MONEY",
        1700 => "NUMERIC",
        1082 => "DATE",
        1114 => "TIMESTAMP",
        1184 => "TIMESTAMPTZ",
        _ => "TEXT",
    };
    let decimal = (oid == 1700 && typmod >= 4).then(|| {
        let m = (typmod - 4) as u32;
        ((m >> 16) & 0xffff, m & 0xffff)
    });
    (name.to_owned(), tongshu_sources::column_type(Kind::Postgres, name, decimal))
}

async fn describe(conn: &mut sqlx::PgConnection, spec: &TableSpec, database: &str) -> Result<SourceTable> {
    let (schema, name) = spec.source.split_once('.').unwrap_or(("public", &spec.source));
    let rows = sqlx::query(
        "SELECT a.attname::text, a.atttypid::oid, a.atttypmod, COALESCE(a.attnum = ANY(i.indkey), false) \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
         WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
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
    let mut pk = Vec::new();
    for r in rows {
        let col: String = r.get(0);
        let oid: sqlx::postgres::types::Oid = r.get(1);
        let (type_name, ty) = type_of_oid(oid.0, r.get(2));
        if r.get::<bool, _>(3) {
            pk.push(col.clone());
        }
        columns.push(SourceColumn { name: col, type_name, ty });
    }
    SourceTable::keyed(spec, schema, name, columns, pk)
}

/// Checks what logical replication needs of the source, each missing piece named.
async fn check_source(conn: &mut sqlx::PgConnection) -> Result<()> {
    let level: String = sqlx::query_scalar("SHOW wal_level")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| source_err("reading wal_level", e))?;
    if level != "logical" {
        return Err(ChannelError::Input(format!(
            "the source's wal_level is {level:?}: logical replication needs wal_level = logical (ALTER SYSTEM SET wal_level = logical, then restart)"
        )));
    }
    let may: bool = sqlx::query_scalar("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| source_err("reading the role's privileges", e))?;
    if !may {
        return Err(ChannelError::Input(
            "the source role lacks the REPLICATION privilege (ALTER ROLE … REPLICATION)".into(),
        ));
    }
    Ok(())
}

/// Makes the pipeline's own publication publish exactly its tables; a publication the
/// operator named is only checked: it must exist and publish every table.
async fn ensure_publication(
    conn: &mut sqlx::PgConnection,
    spec: &crate::PipelineSpec,
    tables: &[SourceTable],
) -> Result<()> {
    let (name, own) = spec.publication();
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_publication WHERE pubname = $1")
        .bind(&name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| source_err("reading the publications", e))?;
    if !own {
        if exists.is_none() {
            return Err(ChannelError::Input(format!("publication {name:?} does not exist on the source")));
        }
        let published: Vec<(String, String)> =
            sqlx::query_as("SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1")
                .bind(&name)
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| source_err(&format!("reading publication {name:?}"), e))?;
        let mut missing: Vec<String> = tables
            .iter()
            .filter(|t| !published.iter().any(|(s, n)| *s == t.schema && *n == t.name))
            .map(|t| format!("{}.{}", t.schema, t.name))
            .collect();
        missing.sort();
        if !missing.is_empty() {
            return Err(ChannelError::Input(format!(
                "publication {name:?} does not publish {}: add them (ALTER PUBLICATION {name} ADD TABLE …) or name another",
                missing.join(", ")
            )));
        }
        return Ok(());
    }
    let list = tables.iter().map(SourceTable::qualified).collect::<Vec<_>>().join(", ");
    // Names are quoted identifiers of tables that exist (described above).
    let sql = match exists {
        None => format!("CREATE PUBLICATION {} FOR TABLE {list}", quote(&name)),
        Some(_) => format!("ALTER PUBLICATION {} SET TABLE {list}", quote(&name)),
    };
    conn.execute(sqlx::AssertSqlSafe(sql)).await.map_err(|e| {
        source_err(&format!("publishing {list} (the source role must own the tables, or be a superuser)"), e)
    })?;
    Ok(())
}

/// A text value of pgoutput as the library parses it: booleans spelled out, instants
/// in RFC 3339, naive times in the source's zone.
fn normalize(ty: &str, v: &str, zone: &str) -> String {
    match ty {
        "BOOL" => match v {
            "t" => "true".into(),
            "f" => "false".into(),
            v => v.into(),
        },
        "TIMESTAMPTZ" => {
            // `2026-11-01 02:00:00.5+00` (ISO style) → `2026-11-01T02:00:00.5+00:00`
            let v = v.replacen(' ', "T", 1);
            match v.rfind(['+', '-']).filter(|&i| i > 10) {
                Some(i) if v[i + 1..].len() == 2 => format!("{v}:00"),
                Some(i) if v[i + 1..].len() == 5 && !v[i + 1..].contains(':') => {
                    format!("{}:{}", &v[..i + 3], &v[i + 3..])
                }
                _ => v,
            }
        }
        "TIMESTAMP" => tongshu_sources::with_zone(v, zone).unwrap_or_else(|| v.into()),
        _ => v.into(),
    }
}

/// The tables (ordinary and partitioned, not partitions) of `schema`, by name.
pub(crate) async fn tables_in(c: &Connection, schema: &str) -> Result<Vec<String>> {
    let mut conn = connect(c).await?;
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1",
    )
    .bind(schema)
    .fetch_all(&mut conn)
    .await
    .map_err(|e| source_err(&format!("listing the tables of schema {schema}"), e))
}

/// Checks, without changing anything, that the pipeline could run: the source answers
/// with its credentials, has what the channel needs, and has every table with a key.
pub(crate) async fn probe(spec: &crate::PipelineSpec) -> Result<()> {
    let mut admin = connect(&spec.source).await?;
    check_source(&mut admin).await?;
    let mut tables = Vec::new();
    for t in &spec.tables {
        tables.push(describe(&mut admin, t, &spec.source.database).await?);
    }
    if !spec.publication().1 {
        // Only reads: a publication the operator named must publish every table.
        ensure_publication(&mut admin, spec, &tables).await?;
    }
    in_use(&mut admin, &spec.slot()).await
}

/// Refuses a slot that another consumer is reading.
async fn in_use(conn: &mut sqlx::PgConnection, slot: &str) -> Result<()> {
    match slot_of(conn, slot).await? {
        Some(s) if s.active => Err(ChannelError::Input(format!(
            "replication slot {slot:?} is in use by another consumer (pid {}); stop it, or drop the slot",
            s.active_pid.unwrap_or_default()
        ))),
        _ => Ok(()),
    }
}

/// Runs the pipeline: snapshot when needed, then the stream, until `stop`.
pub(crate) async fn run(p: &Pipeline, stop: CancellationToken) -> Result<()> {
    let spec = &p.spec;
    let slot = spec.slot();
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
    ensure_publication(&mut admin, spec, &tables).await?;
    in_use(&mut admin, &slot).await?;
    let existing = slot_of(&mut admin, &slot).await?;
    let snapshot = existing.is_none() || spec.resnapshot || tables.iter().any(|t| t.position.is_none());
    let config = ReplicationStreamConfig::builder(slot.clone(), spec.publication().0)
        .with_protocol_version(1)
        .with_streaming_mode(StreamingMode::Off)
        .with_messages(true)
        .with_feedback_interval(Duration::from_secs(5))
        .with_connection_timeout(Duration::from_secs(20))
        .with_retry_config(RetryConfig {
            max_attempts: 3,
            max_duration: Duration::from_secs(60),
            ..RetryConfig::default()
        })
        .with_slot_options(ReplicationSlotOptions { snapshot: Some("export".into()), ..Default::default() })
        .with_existing_slot_required(!snapshot);
    let conninfo = replication_conninfo(&spec.source);
    let start = if snapshot {
        // A new slot, and every table copied in the snapshot it exports: tables that held
        // a position of an earlier slot are copied again (the stream they had is gone).
        if existing.is_some() {
            drop_slot_on(&mut admin, &slot).await?;
        }
        let mut stream = LogicalReplicationStream::new(&conninfo, config)
            .await
            .map_err(|e| ChannelError::Source(format!("replication connection: {e}")))?;
        stream
            .ensure_replication_slot()
            .await
            .map_err(|e| ChannelError::Source(format!("creating replication slot {slot:?}: {e}")))?;
        let name = stream
            .exported_snapshot_name()
            .map(str::to_owned)
            .ok_or_else(|| ChannelError::Source(format!("replication slot {slot:?} exported no snapshot")))?;
        let point = slot_of(&mut admin, &slot)
            .await?
            .and_then(|s| s.confirmed)
            .ok_or_else(|| ChannelError::Source(format!("replication slot {slot:?} has no starting point")))?;
        let of = tables.len();
        for (i, t) in tables.iter_mut().enumerate() {
            p.update(|s| s.state = State::Snapshotting { done: i, of });
            let split = p.spec.snapshot_split;
            let pull = tongshu_sources::pull_table_in_snapshot(&p.spec.source, &t.qualified(), &name, split)
                .await
                .map_err(|e| ChannelError::Source(format!("copying {}.{}: {e}", t.schema, t.name)))?;
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
        stream
            .start(Some(point as u64))
            .await
            .map_err(|e| ChannelError::Source(format!("starting replication: {e}")))?;
        (stream, point)
    } else {
        let from = tables.iter().filter_map(|t| t.position).min().unwrap_or(0);
        let mut stream = LogicalReplicationStream::new(&conninfo, config)
            .await
            .map_err(|e| ChannelError::Source(format!("replication connection: {e}")))?;
        stream
            .start(Some(from as u64))
            .await
            .map_err(|e| ChannelError::Source(format!("resuming replication at {from}: {e}")))?;
        for t in &tables {
            p.update(|s| {
                if let Some(st) = s.tables.iter_mut().find(|x| x.target == t.target) {
                    st.position = t.position;
                }
            });
        }
        (stream, from)
    };
    let (stream, from) = start;
    p.update(|s| {
        s.state = State::Streaming;
        s.confirmed = Some(from);
    });
    stream_changes(p, stream, tables, admin, stop).await
}

/// Tells the source that everything up to `position` is applied (it may release it).
fn confirm(events: &pg_walstream::EventStream, position: Option<i64>) {
    if let Some(pos) = position {
        events.update_flushed_lsn(pos as u64);
        events.update_applied_lsn(pos as u64);
    }
}

/// The prefix of the pipeline's heartbeat messages in the source's log.
const HEARTBEAT: &str = "tongshu-channel";

async fn stream_changes(
    p: &Pipeline,
    stream: LogicalReplicationStream,
    tables: Vec<SourceTable>,
    mut admin: sqlx::PgConnection,
    stop: CancellationToken,
) -> Result<()> {
    let mut heartbeat = tokio::time::interval(p.spec.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut beating = true;
    let zone =
        tongshu_sources::parse_time_zone(&p.spec.source.time_zone).map_err(|e| ChannelError::Input(e.to_string()))?;
    let mut live: Vec<Live> =
        tables.into_iter().map(|table| Live { table, pending: Changes::default(), applied: 0, batches: 0 }).collect();
    let by_name: HashMap<(String, String), usize> =
        live.iter().enumerate().map(|(i, l)| ((l.table.schema.clone(), l.table.name.clone()), i)).collect();
    let mut events = stream.into_stream(stop.clone());
    // The transaction being read: its commit position, and which tables take it.
    let mut txn_final: i64 = 0;
    // The batch: the end of its last whole transaction, and when its first one arrived.
    let mut batch_end: Option<i64> = None;
    let mut batch_started: Option<Instant> = None;
    let mut last_commit_ms: Option<i64> = None;
    // Commit times (Unix µs) of the batch's transactions, for the lag samples.
    let mut commits: Vec<i64> = Vec::new();
    let mut held = 0usize;
    // Inside a transaction (Begin seen, Commit not yet): how much each table held at its
    // Begin, so that a stop in the middle applies only whole transactions.
    let mut open: Option<Vec<(usize, bool)>> = None;
    loop {
        let wait = match batch_started {
            Some(t) if open.is_none() => p.spec.batch_wait.saturating_sub(t.elapsed()),
            _ => Duration::from_secs(3600),
        };
        let next = tokio::select! {
            _ = stop.cancelled() => None,
            _ = heartbeat.tick(), if beating => {
                // A non-transactional message: its position is past every transaction
                // committed before it, so once it arrives with nothing held, the
                // source may release everything before it.
                let sent = sqlx::query("SELECT pg_logical_emit_message(false, $1, '')")
                    .bind(HEARTBEAT)
                    .execute(&mut admin)
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(pipeline = %p.spec.name, error = %e, "heartbeats into the source's log are not possible; the slot advances with the carried tables' changes only");
                    beating = false;
                }
                continue;
            }
            n = tokio::time::timeout(wait, events.next()) => Some(n),
        };
        let event = match next {
            None => break,
            Some(Err(_elapsed)) => {
                flush(p, &mut live, batch_end, last_commit_ms).await?;
                confirm(&events, batch_end);
                p.sample_lags(&mut commits);
                (batch_end, batch_started, held) = (None, None, 0);
                continue;
            }
            Some(Ok(None)) => break,
            Some(Ok(Some(Err(pg_walstream::ReplicationError::Cancelled(_))))) => break,
            Some(Ok(Some(Err(e)))) => return Err(ChannelError::Source(format!("replication stream: {e}"))),
            Some(Ok(Some(Ok(e)))) => e,
        };
        let takes = |l: &Live| l.table.position.is_none_or(|p| txn_final >= p);
        match event.event_type {
            EventType::Begin { final_lsn, .. } => {
                txn_final = final_lsn.0 as i64;
                open = Some(live.iter().map(|l| (l.pending.rows.len(), l.pending.truncated)).collect());
            }
            EventType::Commit { end_lsn, commit_timestamp, .. } => {
                open = None;
                batch_end = Some(end_lsn.0 as i64);
                last_commit_ms = Some(commit_timestamp.timestamp_millis());
                commits.push(commit_timestamp.timestamp_micros());
                batch_started.get_or_insert_with(Instant::now);
                if held >= p.spec.batch_changes || batch_started.is_some_and(|t| t.elapsed() >= p.spec.batch_wait) {
                    flush(p, &mut live, batch_end, last_commit_ms).await?;
                    confirm(&events, batch_end);
                    p.sample_lags(&mut commits);
                    (batch_end, batch_started, held) = (None, None, 0);
                }
            }
            EventType::Message { prefix, message_lsn, .. } if &*prefix == HEARTBEAT && open.is_none() => {
                flush(p, &mut live, batch_end, last_commit_ms).await?;
                let at = batch_end.unwrap_or(0).max(message_lsn.0 as i64);
                confirm(&events, Some(at));
                p.sample_lags(&mut commits);
                p.update(|s| s.confirmed = Some(at));
                (batch_end, batch_started, held) = (None, None, 0);
            }
            EventType::Relation { namespace, relation_name, columns, .. } => {
                let Some(&i) = by_name.get(&(namespace.to_string(), relation_name.to_string())) else { continue };
                let now: Vec<(String, String, ColumnType)> = columns
                    .iter()
                    .map(|c| {
                        let (n, t) = type_of_oid(c.type_id, c.type_modifier);
                        (c.name.to_string(), n, t)
                    })
                    .collect();
                evolve(p, &mut live, i, &now).await?;
            }
            EventType::Insert { schema, table, data, .. } => {
                let Some(&i) = by_name.get(&(schema.to_string(), table.to_string())) else { continue };
                if !takes(&live[i]) {
                    continue;
                }
                let cells = live[i].cells(&data, None, &zone)?;
                live[i].push(ChangeKind::Upsert, cells);
                held += 1;
            }
            EventType::Update { schema, table, old_data, new_data, .. } => {
                let Some(&i) = by_name.get(&(schema.to_string(), table.to_string())) else { continue };
                if !takes(&live[i]) {
                    continue;
                }
                let l = &mut live[i];
                let cells = l.cells(&new_data, old_data.as_ref(), &zone)?;
                if let Some(old) = &old_data {
                    // A changed key: the row under the old key goes.
                    let before = l.keys_from(old, &zone);
                    if before.iter().all(Option::is_some) && before != l.key_of(&cells) {
                        l.push_delete(before);
                        held += 1;
                    }
                }
                l.push(ChangeKind::Upsert, cells);
                held += 1;
            }
            EventType::Delete { schema, table, old_data, .. } => {
                let Some(&i) = by_name.get(&(schema.to_string(), table.to_string())) else { continue };
                if !takes(&live[i]) {
                    continue;
                }
                let l = &mut live[i];
                let key = l.keys_from(&old_data, &zone);
                l.push_delete(key);
                held += 1;
            }
            EventType::Truncate { tables, .. } => {
                for t in tables {
                    let (schema, name) = t.split_once('.').unwrap_or(("public", &t));
                    let (schema, name) = (schema.trim_matches('"'), name.trim_matches('"'));
                    let Some(&i) = by_name.get(&(schema.to_owned(), name.to_owned())) else { continue };
                    if !takes(&live[i]) {
                        continue;
                    }
                    live[i].pending.rows.clear();
                    live[i].pending.truncated = true;
                    held += 1;
                }
            }
            _ => {}
        }
        if live.iter().any(|l| l.pending.rows.len() >= HELD_CHANGES) {
            // A long transaction: apply what it has so far, without a position.
            flush(p, &mut live, None, None).await?;
        }
    }
    // Stopping: apply and confirm the whole transactions received.
    if let Some(marks) = open {
        for (l, (rows, truncated)) in live.iter_mut().zip(marks) {
            l.pending.rows.truncate(rows);
            l.pending.truncated = truncated;
        }
    }
    flush(p, &mut live, batch_end, last_commit_ms).await?;
    confirm(&events, batch_end);
    let _ = events.shutdown().await;
    Ok(())
}

impl Live {
    fn cells(&self, data: &RowData, old: Option<&RowData>, zone: &str) -> Result<Vec<Option<String>>> {
        self.table
            .columns
            .iter()
            .map(|c| {
                let v = match data.get(&c.name) {
                    Some(v) => Some(v),
                    // Unchanged TOAST values are not sent; the old row has them under
                    // REPLICA IDENTITY FULL.
                    None => old.and_then(|o| o.get(&c.name)),
                };
                match v {
                    None => Err(ChannelError::Paused {
                        table: self.table.target.clone(),
                        column: c.name.clone(),
                        change: "came without its value (an unchanged large value): set REPLICA IDENTITY FULL on the source table".into(),
                    }),
                    Some(ColumnValue::Null) => Ok(None),
                    Some(v) => Ok(Some(normalize(&c.type_name, v.as_str().unwrap_or_default(), zone))),
                }
            })
            .collect()
    }

    /// The key cells of `old` (a deleted row, or the old key of an updated one), in the
    /// table's column order with the other cells empty.
    fn keys_from(&self, old: &RowData, zone: &str) -> Vec<Option<String>> {
        self.table
            .keys
            .iter()
            .map(|k| {
                let ty =
                    self.table.columns.iter().find(|c| &c.name == k).map(|c| c.type_name.as_str()).unwrap_or("TEXT");
                match old.get(k) {
                    Some(ColumnValue::Null) | None => None,
                    Some(v) => Some(normalize(ty, v.as_str().unwrap_or_default(), zone)),
                }
            })
            .collect()
    }
}
