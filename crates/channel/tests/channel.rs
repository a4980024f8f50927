//! The real-time channel against a real PostgreSQL with `wal_level = logical`
//! (`scripts/test` sets it up): snapshot, then streaming inserts, updates, deletes,
//! truncates and a large transaction; a clean stop and resume; added and dropped columns;
//! bad input. The MariaDB source is tested in `channel/mysql.rs`.

use std::sync::Arc;
use std::time::Duration;

#[path = "channel/mysql.rs"]
mod mysql;

use sqlx::{Connection as _, Executor};
use tongshu_channel::{ChannelError, Pipeline, PipelineSpec, State, TableSpec};
use tongshu_lake::Library;
use tongshu_sources::Connection;
use tongshu_sources::testing::env_url;

/// A database of its own for one test, and a pipeline name no other test uses.
struct Source {
    admin_url: String,
    url: String,
    db: String,
    name: String,
}

impl Source {
    async fn new(tag: &str) -> Option<Source> {
        let admin_url = env_url("TONGSHU_TEST_POSTGRES_URL")?;
        let name = format!("{tag}_{}", std::process::id());
        let family = format!("tongshu_ch_{tag}");
        let url =
            tongshu_sources::testing::fresh_postgres_database(&admin_url, &family, &format!("tongshu_{tag}_")).await;
        let db = format!("{family}_{}", std::process::id());
        Some(Source { admin_url, url, db, name })
    }

    async fn exec(&self, sql: &str) {
        let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
        c.execute(sqlx::AssertSqlSafe(sql.to_owned())).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn wal_now(&self) -> i64 {
        let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
        sqlx::query_scalar("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8").fetch_one(&mut c).await.unwrap()
    }

    /// `SELECT` `cols` of `table` as text, ordered by the first column.
    async fn rows(&self, table: &str, cols: &str) -> Vec<Vec<Option<String>>> {
        let mut c = sqlx::PgConnection::connect(&self.url).await.unwrap();
        let n = cols.split(',').count();
        let texts = cols.split(',').map(|c| format!("{}::text", c.trim())).collect::<Vec<_>>().join(", ");
        let first = cols.split(',').next().unwrap().trim();
        let sql = format!("SELECT {texts} FROM {table} ORDER BY {table}.{first}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut c).await.unwrap();
        rows.iter().map(|r| (0..n).map(|i| sqlx::Row::get::<Option<String>, _>(r, i)).collect()).collect()
    }

    fn connection(&self) -> Connection {
        Connection::from_url(&self.url).unwrap()
    }

    fn spec(&self, tables: &[(&str, &str)]) -> PipelineSpec {
        let tables =
            tables.iter().map(|(s, t)| TableSpec { source: (*s).into(), target: (*t).into(), keys: vec![] }).collect();
        let mut spec = PipelineSpec::new(self.name.clone(), self.connection(), tables);
        spec.batch_wait = Duration::from_millis(200);
        spec.heartbeat = Duration::from_millis(300);
        spec.compact_every = 2;
        // Tables of 16 pages or more are copied by several sessions in the one snapshot.
        spec.snapshot_split = tongshu_sources::Split { parts: 3, min_pages: 8 };
        spec
    }

    async fn cleanup(&self) {
        let mut c = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        let _ =
            sqlx::query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1")
                .bind(format!("tongshu_{}", self.name))
                .execute(&mut c)
                .await;
        let _ = c.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.db))).await;
    }
}

/// `cols` of library table `table` as text, ordered by the first column.
async fn lake_rows(lake: &Library, table: &str, cols: &str) -> Vec<Vec<Option<String>>> {
    use tongshu_lake::arrow::array::Array;
    use tongshu_lake::arrow::util::display::{ArrayFormatter, FormatOptions};
    let first = cols.split(',').next().unwrap().trim();
    let sql = format!("SELECT {cols} FROM {table} ORDER BY {first}");
    let limits = tongshu_lake::QueryLimits { max_rows: 10_000_000, timeout: Duration::from_secs(60) };
    let result = lake.sql(&sql, &[], limits).await.unwrap();
    let mut out = Vec::new();
    for b in &result.batches {
        let fmts: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default()).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            out.push(
                b.columns().iter().zip(&fmts).map(|(c, f)| c.is_valid(r).then(|| f.value(r).to_string())).collect(),
            );
        }
    }
    out
}

/// Runs `p` in the background; the handle gives its result.
fn start(p: &Arc<Pipeline>) -> (tongshu_channel::CancellationToken, tokio::task::JoinHandle<Result<(), ChannelError>>) {
    let stop = tongshu_channel::CancellationToken::new();
    let (p2, s2) = (p.clone(), stop.clone());
    (stop, tokio::spawn(async move { p2.run(s2).await }))
}

/// Waits until the pipeline has confirmed the source's position `at` (or fails).
async fn caught_up(p: &Pipeline, at: i64) {
    for _ in 0..300 {
        let s = p.status();
        if let State::Failed(e) | State::Paused(e) = &s.state {
            panic!("pipeline stopped: {e}");
        }
        if s.state == State::Streaming && s.confirmed.is_some_and(|c| c >= at) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the pipeline did not catch up with {at}: {:?}", p.status());
}

async fn streaming(p: &Pipeline) {
    for _ in 0..300 {
        match p.status().state {
            State::Streaming => return,
            State::Failed(e) | State::Paused(e) => panic!("pipeline stopped: {e}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the pipeline did not start streaming: {:?}", p.status());
}

const PEOPLE: &str = "CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, amount numeric(12,2), born date, \
                      seen timestamptz, active boolean)";
const COLS: &str = "id, name, amount, born, active";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_table_is_copied_then_followed_change_by_change() {
    let Some(src) = Source::new("follow").await else { return };
    src.exec(PEOPLE).await;
    src.exec("CREATE TABLE notes (k text PRIMARY KEY, body text)").await;
    src.exec(
        "INSERT INTO people SELECT g, '张' || g, g * 1.5, DATE '1990-01-01' + g, now(), g % 2 = 0 FROM generate_series(1, 5000) g",
    )
    .await;
    src.exec("INSERT INTO notes VALUES ('a', '第一条'), ('b', 'second')").await;
    let dir = tempfile::tempdir().unwrap();
    let lake = Library::open(dir.path().to_str().unwrap(), Default::default()).unwrap();
    let p = Arc::new(Pipeline::new(src.spec(&[("people", "ch_people"), ("public.notes", "ch_notes")]), lake.clone()));
    let (stop, run) = start(&p);
    streaming(&p).await;
    assert_eq!(p.status().tables[0].snapshot_rows, 5000);
    assert_eq!(p.status().tables[0].snapshot_sessions, 3, "people is copied by three sessions in the snapshot");
    assert_eq!(lake_rows(&lake, "ch_people", COLS).await, src.rows("people", COLS).await);

    // Inserts, updates (one of a key), deletes, a foreign name, a long address.
    src.exec("INSERT INTO people VALUES (6001, '山口盈文', 12.34, '1985-03-04', now(), true)").await;
    src.exec("UPDATE people SET name = 'Анна-Мария ' || repeat('长', 300), amount = 0.01 WHERE id BETWEEN 10 AND 20")
        .await;
    src.exec("UPDATE people SET id = 7000 WHERE id = 30").await;
    src.exec("DELETE FROM people WHERE id % 7 = 0").await;
    src.exec("UPDATE people SET amount = NULL, active = NULL WHERE id = 40").await;
    // A large transaction.
    src.exec(
        "BEGIN; INSERT INTO people SELECT g, 'n' || g, g, NULL, NULL, false FROM generate_series(10001, 60000) g; \
         UPDATE people SET name = 'big' WHERE id BETWEEN 20000 AND 20100; COMMIT",
    )
    .await;
    src.exec("TRUNCATE notes").await;
    src.exec("INSERT INTO notes VALUES ('c', 'after the truncate')").await;
    let at = src.wal_now().await;
    caught_up(&p, at).await;
    assert_eq!(lake_rows(&lake, "ch_people", COLS).await, src.rows("people", COLS).await);
    assert_eq!(lake_rows(&lake, "ch_notes", "k, body").await, src.rows("notes", "k, body").await);

    // Many small commits are compacted as the stream goes (every 2 batches here), and the
    // compaction keeps the position.
    // Many small batches of new rows add a file each; they are compacted as the stream
    // goes (every 2 batches here), and the compaction keeps the position.
    for i in 0..6 {
        src.exec(&format!("INSERT INTO people VALUES ({}, 'one by one', 1, NULL, NULL, true)", 90_000 + i)).await;
        let at = src.wal_now().await;
        caught_up(&p, at).await;
    }
    let info = lake.info("ch_people").await.unwrap();
    let history = lake.history("ch_people").await.unwrap();
    assert!(
        info.files <= 3 && history.iter().any(|v| v.operation == "OPTIMIZE"),
        "{} files; {:?}",
        info.files,
        history.iter().map(|v| &v.operation).collect::<Vec<_>>()
    );
    assert_eq!(lake_rows(&lake, "ch_people", COLS).await, src.rows("people", COLS).await);

    // The positions are in the tables themselves.
    let position = lake.source_position("ch_people", &p_app(&src)).await.unwrap().unwrap();
    assert!(position >= p.status().tables[0].position.unwrap());
    stop.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(p.status().state, State::Stopped);

    // Changes while stopped are applied once on resume; nothing is applied twice.
    src.exec("INSERT INTO people VALUES (8000, 'while stopped', 1, NULL, NULL, true)").await;
    src.exec("DELETE FROM people WHERE id = 6001").await;
    let again =
        Arc::new(Pipeline::new(src.spec(&[("people", "ch_people"), ("public.notes", "ch_notes")]), lake.clone()));
    let (stop, run) = start(&again);
    let at = src.wal_now().await;
    caught_up(&again, at).await;
    assert_eq!(again.status().tables[0].snapshot_rows, 0, "a resume takes no new snapshot");
    assert_eq!(lake_rows(&lake, "ch_people", COLS).await, src.rows("people", COLS).await);
    stop.cancel();
    run.await.unwrap().unwrap();
    src.cleanup().await;
}

fn p_app(src: &Source) -> String {
    format!("tongshu-channel:{}", src.name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_column_evolves_the_table_and_a_dropped_one_pauses_the_pipeline() {
    let Some(src) = Source::new("schema").await else { return };
    src.exec(PEOPLE).await;
    src.exec("INSERT INTO people SELECT g, 'p' || g, g, NULL, NULL, true FROM generate_series(1, 100) g").await;
    let dir = tempfile::tempdir().unwrap();
    let lake = Library::open(dir.path().to_str().unwrap(), Default::default()).unwrap();
    let p = Arc::new(Pipeline::new(src.spec(&[("people", "sc_people")]), lake.clone()));
    let (_stop, run) = start(&p);
    streaming(&p).await;
    src.exec("ALTER TABLE people ADD COLUMN district text").await;
    src.exec("UPDATE people SET district = '兰山区' WHERE id <= 10").await;
    src.exec("INSERT INTO people VALUES (101, 'new', 1, NULL, NULL, false, '罗庄区')").await;
    let at = src.wal_now().await;
    caught_up(&p, at).await;
    assert_eq!(
        lake_rows(&lake, "sc_people", "id, name, district").await,
        src.rows("people", "id, name, district").await
    );

    src.exec("ALTER TABLE people DROP COLUMN amount").await;
    src.exec("UPDATE people SET name = 'after the drop' WHERE id = 1").await;
    let after = src.wal_now().await;
    let err = tokio::time::timeout(Duration::from_secs(30), run).await.unwrap().unwrap().unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("sc_people") && msg.contains("\"amount\"") && msg.contains("dropped"), "{msg}");
    assert!(matches!(p.status().state, State::Paused(_)), "{:?}", p.status());
    // Nothing of the change was applied, and nothing after it was confirmed to the source.
    assert_eq!(lake_rows(&lake, "sc_people", "id, name").await[0], vec![Some("1".into()), Some("p1".into())]);
    let slot = tongshu_channel::slot_info(&src.connection(), &format!("tongshu_{}", src.name)).await.unwrap().unwrap();
    assert!(slot.confirmed.unwrap() < after && p.status().confirmed.unwrap() < after, "{slot:?} {after}");
    src.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sources_are_refused_with_what_is_wrong_and_nothing_half_made() {
    let Some(src) = Source::new("bad").await else { return };
    src.exec(PEOPLE).await;
    src.exec("CREATE TABLE loose (a int, b text)").await;
    let dir = tempfile::tempdir().unwrap();
    let lake = Library::open(dir.path().to_str().unwrap(), Default::default()).unwrap();
    let run = |spec: PipelineSpec| {
        let lake = lake.clone();
        async move {
            Pipeline::new(spec, lake).run(tongshu_channel::CancellationToken::new()).await.unwrap_err().to_string()
        }
    };

    let mut wrong = src.spec(&[("people", "x_people")]);
    wrong.source.password = "not the password".into();
    let msg = run(wrong).await;
    assert!(msg.contains("cannot connect") && msg.contains("password"), "{msg}");

    let mut away = src.spec(&[("people", "x_people")]);
    away.source.port = 1;
    assert!(run(away).await.contains("cannot connect to PostgreSQL at 127.0.0.1:1"));

    let msg = run(src.spec(&[("nosuch", "x_nosuch")])).await;
    assert!(msg.contains("public.nosuch does not exist"), "{msg}");
    let probed = src.spec(&[("nosuch", "x_nosuch")]).probe().await.unwrap_err().to_string();
    assert!(probed.contains("public.nosuch does not exist"), "{probed}");

    let msg = run(src.spec(&[("loose", "x_loose")])).await;
    assert!(msg.contains("public.loose has no primary key"), "{msg}");

    // A publication the operator names must exist and publish every table; it is never
    // changed by the pipeline.
    src.exec("CREATE TABLE other (id int PRIMARY KEY); CREATE PUBLICATION dba_pub FOR TABLE people").await;
    let mut named = src.spec(&[("people", "x_people"), ("other", "x_other")]);
    named.publication = Some("dba_pub".into());
    let msg = named.probe().await.unwrap_err().to_string();
    assert!(msg.contains("publication \"dba_pub\" does not publish public.other"), "{msg}");
    assert!(run(named).await.contains("does not publish public.other"));
    let mut missing = src.spec(&[("people", "x_people")]);
    missing.publication = Some("no_pub".into());
    assert!(missing.probe().await.unwrap_err().to_string().contains("publication \"no_pub\" does not exist"));
    let mut bad = src.spec(&[("people", "x_people")]);
    bad.slot_name = Some("Slot; DROP".into());
    assert!(bad.probe().await.unwrap_err().to_string().contains("--slot \"Slot; DROP\""));

    // Nothing was made: no library table, no slot on the source.
    assert!(lake.list().await.unwrap().is_empty());
    assert!(tongshu_channel::slot_info(&src.connection(), &format!("tongshu_{}", src.name)).await.unwrap().is_none());

    // A slot another consumer holds.
    let p = Arc::new(Pipeline::new(src.spec(&[("people", "x_people")]), lake.clone()));
    let (stop, first) = start(&p);
    streaming(&p).await;
    let msg = run(src.spec(&[("people", "x_people")])).await;
    assert!(msg.contains("in use by another consumer"), "{msg}");
    let probed = src.spec(&[("people", "x_people")]).probe().await.unwrap_err().to_string();
    assert!(probed.contains("in use by another consumer"), "{probed}");
    stop.cancel();
    first.await.unwrap().unwrap();
    let slot = tongshu_channel::slot_info(&src.connection(), &format!("tongshu_{}", src.name)).await.unwrap().unwrap();
    assert!(!slot.active && slot.retained_bytes.is_some());
    assert!(tongshu_channel::drop_slot(&src.connection(), &format!("tongshu_{}", src.name)).await.unwrap());
    src.cleanup().await;
}
