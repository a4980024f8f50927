//! The channel against a real MariaDB with the row-based binlog (`scripts/test` turns it
//! on, with `binlog_row_metadata = FULL`): a consistent copy at a recorded binlog
//! position, then inserts, updates, deletes, truncate, a large transaction, an added and a
//! dropped column, GBK text; a clean stop and resume; bad input.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection as _, Executor, Row};
use tongshu_channel::{ChannelError, Pipeline, PipelineSpec, State, TableSpec};
use tongshu_lake::Library;
use tongshu_sources::Connection;
use tongshu_sources::testing::env_url;

use super::{lake_rows, start, streaming};

/// Tables of one test in the test database (`{tag}_…`), and a pipeline name of its own.
struct Source {
    url: String,
    tag: String,
    name: String,
}

impl Source {
    async fn new(tag: &str) -> Option<Source> {
        let url = env_url("TONGSHU_TEST_MYSQL_URL")?;
        let tag = format!("my{tag}");
        let name = format!("{tag}_{}", std::process::id());
        let s = Source { url, tag, name };
        // What an earlier run of this test left.
        let mut c = s.conn().await;
        let old: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ?",
        )
        .bind(format!("{}\\_%", s.tag))
        .fetch_all(&mut c)
        .await
        .unwrap();
        for t in old {
            c.execute(sqlx::AssertSqlSafe(format!("DROP TABLE `{t}`"))).await.unwrap();
        }
        Some(s)
    }

    async fn conn(&self) -> sqlx::MySqlConnection {
        sqlx::MySqlConnection::connect(&self.url).await.unwrap()
    }

    /// The test's name for table `t`.
    fn t(&self, t: &str) -> String {
        format!("{}_{t}", self.tag)
    }

    /// Runs `sql` with `{t}` standing for the test's prefix of table names.
    async fn exec(&self, sql: &str) {
        // Instants the test writes are UTC, whatever the server's zone.
        let sql = format!("SET time_zone = '+00:00'; {}", sql.replace("{t}", &format!("{}_", self.tag)));
        let mut c = self.conn().await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())).execute(&mut c).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The end of the source's binlog now, as the pipeline counts positions.
    async fn binlog_now(&self) -> i64 {
        let mut c = self.conn().await;
        let r = sqlx::query("SHOW MASTER STATUS").fetch_one(&mut c).await.unwrap();
        let file: String = r.get(0);
        let pos: u64 = r.get(1);
        tongshu_channel::binlog_position(&file, pos).unwrap()
    }

    /// `cols` of table `t` as text, ordered by the first column.
    async fn rows(&self, t: &str, cols: &str) -> Vec<Vec<Option<String>>> {
        let mut c = self.conn().await;
        let n = cols.split(',').count();
        let texts = cols.split(',').map(|c| format!("CAST({} AS CHAR)", c.trim())).collect::<Vec<_>>().join(", ");
        let first = cols.split(',').next().unwrap().trim();
        let sql = format!("SELECT {texts} FROM {} ORDER BY {first}", self.t(t));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut c).await.unwrap();
        rows.iter().map(|r| (0..n).map(|i| r.get::<Option<String>, _>(i)).collect()).collect()
    }

    fn connection(&self) -> Connection {
        let mut c = Connection::from_url(&self.url).unwrap();
        c.time_zone = "+08:00".into();
        c
    }

    fn spec(&self, tables: &[(&str, &str)]) -> PipelineSpec {
        let tables =
            tables.iter().map(|(s, t)| TableSpec { source: self.t(s), target: (*t).into(), keys: vec![] }).collect();
        let mut spec = PipelineSpec::new(self.name.clone(), self.connection(), tables);
        spec.batch_wait = Duration::from_millis(200);
        spec.compact_every = 2;
        // Tables of 16 × 8 KiB or more (by the server's statistics) are copied by several
        // sessions, in snapshots at one binlog position.
        spec.snapshot_split = tongshu_sources::Split { parts: 3, min_pages: 8 };
        spec
    }
}

/// Waits until the pipeline has read the binlog up to `at` (or fails).
async fn read_up_to(p: &Pipeline, at: i64) {
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
    panic!("the pipeline did not read up to {at}: {:?}", p.status());
}

const PEOPLE: &str = "CREATE TABLE {t}people (id INT PRIMARY KEY, name VARCHAR(1000) NOT NULL, amount DECIMAL(12,2), \
                      born DATE, seen DATETIME(3), stamp TIMESTAMP NULL, kind ENUM('个人','企业','other'), \
                      tags SET('a','b','c'), score DOUBLE, big BIGINT UNSIGNED) DEFAULT CHARSET = utf8mb4";
const COLS: &str = "id, name, amount, born, kind, tags, big";

/// Asserts that the library's rows are the source's, naming the first that differs. Empty
/// text is null in the library (as in pulls and file ingests).
fn same(lake: Vec<Vec<Option<String>>>, source: Vec<Vec<Option<String>>>) {
    let source: Vec<Vec<Option<String>>> =
        source.into_iter().map(|r| r.into_iter().map(|c| c.filter(|v| !v.is_empty())).collect()).collect();
    assert_eq!(lake.len(), source.len(), "rows in the library and in the source");
    if let Some((l, s)) = lake.iter().zip(&source).find(|(l, s)| l != s) {
        panic!("library row {l:?} differs from source row {s:?}");
    }
}

/// Column `score` (a DOUBLE) of both, as numbers.
async fn scores(lake: &Library, src: &Source) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let num = |rows: Vec<Vec<Option<String>>>| -> Vec<Option<f64>> {
        rows.into_iter().map(|r| r[1].as_deref().map(|v| v.parse().unwrap())).collect()
    };
    (num(lake_rows(lake, "my_people", "id, score").await), num(src.rows("people", "id, score").await))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mariadb_table_is_copied_then_followed_change_by_change() {
    let Some(src) = Source::new("follow").await else { return };
    src.exec(PEOPLE).await;
    src.exec("CREATE TABLE {t}notes (k VARCHAR(20) PRIMARY KEY, body TEXT) DEFAULT CHARSET = gbk").await;
    src.exec(
        "INSERT INTO {t}people SELECT seq, CONCAT('张', seq), seq * 1.5, DATE_ADD('1990-01-01', INTERVAL seq DAY), \
         '2026-11-01 10:00:00.250', '2026-11-01 02:00:00', IF(seq % 2 = 0, '个人', '企业'), 'a,c', seq / 3, 18446744073709551 \
         FROM seq_1_to_3000",
    )
    .await;
    src.exec("ANALYZE TABLE {t}people").await;
    src.exec("INSERT INTO {t}notes VALUES ('a', '临沂市兰山区'), ('b', 'second')").await;
    let dir = tempfile::tempdir().unwrap();
    let lake = Library::open(dir.path().to_str().unwrap(), Default::default()).unwrap();
    let p = Arc::new(Pipeline::new(src.spec(&[("people", "my_people"), ("notes", "my_notes")]), lake.clone()));
    let (stop, run) = start(&p);
    streaming(&p).await;
    assert_eq!(p.status().tables[0].snapshot_rows, 3000);
    assert_eq!(p.status().tables[0].snapshot_sessions, 3, "people is copied by three sessions at one position");
    assert_eq!(p.status().tables[1].snapshot_sessions, 1, "notes is small (and its key no integer)");
    same(lake_rows(&lake, "my_people", COLS).await, src.rows("people", COLS).await);
    same(lake_rows(&lake, "my_notes", "k, body").await, src.rows("notes", "k, body").await);

    // Inserts, updates (one of a key), deletes, nulls, a foreign name, a long value, GBK text.
    src.exec("INSERT INTO {t}people VALUES (6001, '山口盈文', 12.34, '1985-03-04', '2026-11-01 10:00:00.250', '2026-11-01 02:00:00', 'other', 'b', 0.5, 1)")
        .await;
    src.exec("UPDATE {t}people SET name = CONCAT('Анна-Мария ', REPEAT('长', 300)), amount = 0.01 WHERE id BETWEEN 10 AND 20")
        .await;
    src.exec("UPDATE {t}people SET id = 7000 WHERE id = 30").await;
    src.exec("DELETE FROM {t}people WHERE id % 7 = 0").await;
    src.exec("UPDATE {t}people SET amount = NULL, kind = NULL, tags = '' WHERE id = 40").await;
    src.exec("INSERT INTO {t}notes VALUES ('c', '罗庄区 傅庄街道')").await;
    // A large transaction.
    src.exec(
        "BEGIN; INSERT INTO {t}people (id, name, amount) SELECT seq, CONCAT('n', seq), seq FROM seq_10001_to_40000; \
         UPDATE {t}people SET name = 'big' WHERE id BETWEEN 20000 AND 20100; COMMIT",
    )
    .await;
    src.exec("TRUNCATE TABLE {t}notes").await;
    src.exec("INSERT INTO {t}notes VALUES ('d', 'after the truncate')").await;
    let at = src.binlog_now().await;
    read_up_to(&p, at).await;
    same(lake_rows(&lake, "my_people", COLS).await, src.rows("people", COLS).await);
    let (l, s) = scores(&lake, &src).await;
    assert_eq!(l, s);
    same(lake_rows(&lake, "my_notes", "k, body").await, src.rows("notes", "k, body").await);
    // Instants are the same instants: the snapshot's and the stream's.
    let stamps = |rows: Vec<Vec<Option<String>>>| rows.into_iter().filter(|r| r[1].is_some()).count();
    assert_eq!(stamps(lake_rows(&lake, "my_people", "id, stamp").await), stamps(src.rows("people", "id, stamp").await));
    // The same DATETIME (in the source's zone, +08:00) and TIMESTAMP (an instant; the test
    // session's zone is the server's, UTC) through the snapshot (row 1) and the stream
    // (row 6001).
    let seen = lake_rows(&lake, "my_people", "id, seen, stamp").await;
    for id in ["1", "6001"] {
        let row = seen.iter().find(|r| r[0].as_deref() == Some(id)).unwrap();
        assert_eq!(row[1].as_deref(), Some("2026-11-01T02:00:00.250Z"), "DATETIME of row {id}");
        assert_eq!(row[2].as_deref(), Some("2026-11-01T02:00:00Z"), "TIMESTAMP of row {id}");
    }
    stop.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(p.status().state, State::Stopped);

    // Changes while stopped are applied once on resume; nothing is applied twice.
    src.exec("INSERT INTO {t}people (id, name) VALUES (8000, 'while stopped')").await;
    src.exec("DELETE FROM {t}people WHERE id = 6001").await;
    let again = Arc::new(Pipeline::new(src.spec(&[("people", "my_people"), ("notes", "my_notes")]), lake.clone()));
    let (stop, run) = start(&again);
    let at = src.binlog_now().await;
    read_up_to(&again, at).await;
    assert_eq!(again.status().tables[0].snapshot_rows, 0, "a resume takes no new snapshot");
    same(lake_rows(&lake, "my_people", COLS).await, src.rows("people", COLS).await);

    // How much binlog is still to read is shown as a slot's WAL is.
    // (Other tests write to the same server meanwhile: between the binlog's end before and
    // after the measurement.)
    let confirmed = again.status().confirmed.unwrap();
    let before = src.binlog_now().await;
    let behind = tongshu_channel::log_behind(&src.connection(), Some(confirmed)).await.unwrap().unwrap();
    let after = src.binlog_now().await;
    if before >> 32 == confirmed >> 32 && after >> 32 == confirmed >> 32 {
        let b = behind.retained_bytes.unwrap();
        assert!(before - confirmed <= b && b <= after - confirmed, "{before} {b} {after} {confirmed}");
    }
    stop.cancel();
    run.await.unwrap().unwrap();

    // An operator's resnapshot copies every table again (a new library version), then
    // streams on from the new copies' positions.
    let mut spec = src.spec(&[("people", "my_people"), ("notes", "my_notes")]);
    spec.resnapshot = true;
    let before = lake.info("my_people").await.unwrap().version;
    let fresh = Arc::new(Pipeline::new(spec, lake.clone()));
    let (stop, run) = start(&fresh);
    streaming(&fresh).await;
    let copied = fresh.status().tables[0].snapshot_rows as usize;
    assert_eq!(copied, src.rows("people", "id").await.len());
    assert!(lake.info("my_people").await.unwrap().version > before);
    src.exec("UPDATE {t}people SET name = 'after the resnapshot' WHERE id = 1").await;
    let at = src.binlog_now().await;
    read_up_to(&fresh, at).await;
    same(lake_rows(&lake, "my_people", COLS).await, src.rows("people", COLS).await);
    stop.cancel();
    run.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mariadb_added_column_evolves_the_table_and_a_dropped_one_pauses_the_pipeline() {
    let Some(src) = Source::new("schema").await else { return };
    src.exec(PEOPLE).await;
    src.exec("INSERT INTO {t}people (id, name, amount) SELECT seq, CONCAT('p', seq), seq FROM seq_1_to_100").await;
    let dir = tempfile::tempdir().unwrap();
    let lake = Library::open(dir.path().to_str().unwrap(), Default::default()).unwrap();
    let p = Arc::new(Pipeline::new(src.spec(&[("people", "mys_people")]), lake.clone()));
    let (_stop, run) = start(&p);
    streaming(&p).await;
    src.exec("ALTER TABLE {t}people ADD COLUMN district VARCHAR(40)").await;
    src.exec("UPDATE {t}people SET district = '兰山区' WHERE id <= 10").await;
    src.exec("INSERT INTO {t}people (id, name, district) VALUES (101, 'new', '罗庄区')").await;
    let at = src.binlog_now().await;
    read_up_to(&p, at).await;
    assert_eq!(
        lake_rows(&lake, "mys_people", "id, name, district").await,
        src.rows("people", "id, name, district").await
    );

    src.exec("ALTER TABLE {t}people DROP COLUMN amount").await;
    src.exec("UPDATE {t}people SET name = 'after the drop' WHERE id = 1").await;
    let err = tokio::time::timeout(Duration::from_secs(30), run).await.unwrap().unwrap().unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("mys_people") && msg.contains("\"amount\"") && msg.contains("dropped"), "{msg}");
    assert!(matches!(p.status().state, State::Paused(_)), "{:?}", p.status());
    assert_eq!(lake_rows(&lake, "mys_people", "id, name").await[0], vec![Some("1".into()), Some("p1".into())]);
    // The table holds the position before the change: a resume that accepts it goes on
    // from there and applies the update.
    let mut accept = src.spec(&[("people", "mys_people")]);
    accept.accept_schema = true;
    let again = Arc::new(Pipeline::new(accept, lake.clone()));
    let (stop, run) = start(&again);
    let at = src.binlog_now().await;
    read_up_to(&again, at).await;
    assert_eq!(
        lake_rows(&lake, "mys_people", "id, name").await[0],
        vec![Some("1".into()), Some("after the drop".into())]
    );
    stop.cancel();
    run.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_mariadb_sources_are_refused_with_what_is_wrong_and_nothing_half_made() {
    let Some(src) = Source::new("bad").await else { return };
    src.exec(PEOPLE).await;
    src.exec("CREATE TABLE {t}loose (a INT, b TEXT)").await;
    src.exec("CREATE TABLE {t}bits (id INT PRIMARY KEY, flags BIT(8))").await;
    let dir = tempfile::tempdir().unwrap();
    let lake = Library::open(dir.path().to_str().unwrap(), Default::default()).unwrap();
    let run = |spec: PipelineSpec| {
        let lake = lake.clone();
        async move {
            let err: ChannelError =
                Pipeline::new(spec, lake).run(tongshu_channel::CancellationToken::new()).await.unwrap_err();
            err.to_string()
        }
    };
    let mut wrong = src.spec(&[("people", "x_people")]);
    wrong.source.password = "not the password".into();
    let msg = run(wrong).await;
    assert!(msg.contains("cannot connect to MySQL/MariaDB") && msg.contains("Access denied"), "{msg}");

    let mut away = src.spec(&[("people", "x_people")]);
    away.source.port = 1;
    assert!(run(away).await.contains("cannot connect to MySQL/MariaDB at 127.0.0.1:1"));

    let msg = run(src.spec(&[("nosuch", "x_nosuch")])).await;
    assert!(msg.contains("nosuch does not exist"), "{msg}");
    // `channel add` probes the same way before it keeps a pipeline.
    let probed = src.spec(&[("people", "x_people"), ("nosuch", "x_nosuch")]).probe().await.unwrap_err().to_string();
    assert!(probed.contains("nosuch does not exist"), "{probed}");
    src.spec(&[("people", "x_people")]).probe().await.unwrap();
    let msg = run(src.spec(&[("loose", "x_loose")])).await;
    assert!(msg.contains("loose has no primary key"), "{msg}");
    let msg = run(src.spec(&[("bits", "x_bits")])).await;
    assert!(msg.contains("\"flags\"") && msg.contains("BIT"), "{msg}");

    // A role without the replication privileges (`scripts/test` makes it: SELECT only).
    let mut plain = src.spec(&[("people", "x_people")]);
    plain.source.username = "tongshu_plain".into();
    let msg = run(plain).await;
    assert!(msg.contains("REPLICATION SLAVE privilege"), "{msg}");

    // Nothing was made.
    assert!(lake.list().await.unwrap().is_empty());
}
