//! Sealed secrets, query checks, and pulls from a real PostgreSQL and a real MariaDB
//! (started by `scripts/test`; their URLs come from `TONGSHU_TEST_POSTGRES_URL` and
//! `TONGSHU_TEST_MYSQL_URL`).

use proptest::prelude::*;
use tongshu_lake::ColumnType;
use tongshu_lake::source::Rows;
use tongshu_sources::testing::{env_url, exec};
use tongshu_sources::{
    Connection, Incremental, SealError, SecretKey, Split, check_query, pull, pull_table_consistent,
    pull_table_in_snapshot,
};

proptest! {
    #[test]
    fn sealed_values_open_to_themselves(plain in ".{0,200}") {
        let key = SecretKey::generate();
        let sealed = key.seal(&plain);
        prop_assert!(!sealed.contains(&plain) || plain.is_empty() || plain.len() < 4);
        prop_assert_eq!(key.open(&sealed).unwrap(), plain);
    }

    #[test]
    fn any_changed_byte_is_detected(plain in "[a-z]{1,40}", at in 0usize..1000, bit in 0u8..8) {
        use base64::Engine;
        let key = SecretKey::generate();
        let sealed = key.seal(&plain);
        let mut bytes = base64::engine::general_purpose::STANDARD.decode(&sealed["sm4gcm:".len()..]).unwrap();
        let i = at % bytes.len();
        bytes[i] ^= 1 << bit;
        let changed = format!("sm4gcm:{}", base64::engine::general_purpose::STANDARD.encode(bytes));
        prop_assert_eq!(key.open(&changed), Err(SealError::WrongKeyOrTampered));
    }
}

#[test]
fn sealing_twice_differs_and_another_key_cannot_open() {
    let key = SecretKey::from_hex("0123456789abcdeffedcba9876543210").unwrap();
    let (a, b) = (key.seal("口令"), key.seal("口令"));
    assert_ne!(a, b, "a fresh nonce each time");
    assert_eq!(key.open(&a).unwrap(), "口令");
    assert_eq!(SecretKey::generate().open(&a), Err(SealError::WrongKeyOrTampered));
    assert!(matches!(key.open("plain"), Err(SealError::Malformed(_))));
    assert_eq!(SecretKey::from_hex("abc").unwrap_err(), SealError::BadKey(3));
    assert!(!format!("{key:?}").contains("0123"), "keys never print");
}

#[test]
fn only_single_select_statements_are_pulled() {
    assert_eq!(check_query("  select * from t; ").unwrap(), "select * from t");
    assert!(check_query("WITH a AS (SELECT 1) SELECT * FROM a").is_ok());
    for bad in ["DELETE FROM t", "SELECT 1; DROP TABLE t", "", "update t set a = 1"] {
        assert!(check_query(bad).is_err(), "{bad:?} must be refused");
    }
}

#[test]
fn time_zones_are_offsets() {
    for ok in ["+08:00", "-05:30", "+00:00", "+14:00"] {
        assert_eq!(tongshu_sources::parse_time_zone(ok).unwrap(), ok);
    }
    for bad in ["", "8", "+8:00", "+15:00", "+08:60", "UTC", "+08:00'; DROP TABLE t; --"] {
        assert!(tongshu_sources::parse_time_zone(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn urls_parse_and_passwords_are_hidden() {
    let c = Connection::from_url("mysql://u%40x:p%2Fw@db.example:3307/hr").unwrap();
    assert_eq!((c.username.as_str(), c.password.as_str(), c.port, c.database.as_str()), ("u@x", "p/w", 3307, "hr"));
    assert!(!format!("{c:?}").contains("p/w"));
    assert!(Connection::from_url("oracle://h/db").is_err());
    assert_eq!(tongshu_sources::redact("postgres://a:secret@h/db"), "postgres://a:***@h/db");
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), SecretKey::generate().to_hex().get(..8).unwrap_or("0"))
}

/// Drains a pull on a blocking thread, as the ingest does.
async fn drain(p: tongshu_sources::Pull) -> (Vec<String>, Vec<Vec<String>>, Option<String>) {
    let hw = p.high_water.clone();
    let mut rows = p.rows;
    let (header, all) = tokio::task::spawn_blocking(move || {
        let header = rows.header().to_vec();
        let mut all = Vec::new();
        let mut cells = Vec::new();
        while let Some(r) = rows.next_row(&mut cells) {
            r.unwrap();
            all.push(cells.clone());
        }
        assert_eq!(rows.failure(), None);
        (header, all)
    })
    .await
    .unwrap();
    let hw = hw.lock().unwrap().clone();
    (header, all, hw)
}

async fn types_and_increments(url: &str, ddl_types: [&str; 6]) {
    let t = unique("people");
    let [id, name, amount, born, seen, flag] = ddl_types;
    exec(url, &format!("CREATE TABLE {t} (id {id} PRIMARY KEY, name {name}, amount {amount}, born {born}, seen {seen}, flag {flag})")).await;
    exec(
        url,
        &format!(
            "INSERT INTO {t} VALUES (1, '张三', 12.50, '1990-03-07', '2024-01-02 03:04:05', TRUE), \
             (2, NULL, NULL, NULL, NULL, NULL), (10, 'O''Brien', 3, '2000-12-31', '2024-06-30 23:59:59', FALSE)"
        ),
    )
    .await;
    let conn = Connection::from_url(url).unwrap();
    let q = format!("SELECT id, name, amount, born, seen, flag FROM {t}");
    let p = pull(&conn, &q, Some(Incremental { column: "id".into(), after: None })).await.unwrap();
    let types: Vec<ColumnType> = p.columns.iter().map(|c| c.ty).collect();
    assert_eq!(
        types,
        [
            ColumnType::Integer,
            ColumnType::Text,
            ColumnType::Decimal { precision: 10, scale: 2 },
            ColumnType::Date,
            ColumnType::DateTime,
            ColumnType::Boolean
        ]
        .to_vec(),
        "{url}"
    );
    let (header, mut rows, hw) = drain(p).await;
    assert_eq!(header, ["id", "name", "amount", "born", "seen", "flag"]);
    rows.sort_by_key(|r| r[0].parse::<i64>().unwrap());
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][1], "张三");
    assert_eq!(rows[0][2], "12.50", "a DECIMAL keeps its scale: {:?}", rows[0]);
    assert_eq!(rows[0][3], "1990-03-07");
    assert!(rows[0][4].starts_with("2024-01-02"), "{:?}", rows[0]);
    assert!(rows[1][1..].iter().all(String::is_empty), "NULLs are empty cells: {:?}", rows[1]);
    assert_eq!(rows[2][1], "O'Brien");
    assert!(["false", "0"].contains(&rows[2][5].as_str()), "{:?}", rows[2]);
    assert_eq!(hw.as_deref(), Some("10"), "the high-water mark is the largest id, compared as a number");

    // The next pull takes only what came after the mark.
    exec(url, &format!("INSERT INTO {t} (id, name) VALUES (9, '九'), (11, '十一')")).await;
    let p = pull(&conn, &q, Some(Incremental { column: "id".into(), after: hw })).await.unwrap();
    let (_, rows, hw) = drain(p).await;
    assert_eq!(rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(), ["11"], "id 9 is below the mark");
    assert_eq!(hw.as_deref(), Some("11"));

    // Times without a zone are the source's wall clock (Beijing unless it says otherwise):
    // the value carries the zone, the mark stays in the source's terms.
    let times = format!("SELECT id, seen FROM {t} WHERE id = 1");
    let p = pull(&conn, &times, Some(Incremental { column: "seen".into(), after: None })).await.unwrap();
    let (_, rows, hw) = drain(p).await;
    assert_eq!(rows[0][1], "2024-01-02T03:04:05+08:00", "{url}");
    assert_eq!(hw.as_deref(), Some("2024-01-02 03:04:05"), "the mark as the source writes it");
    let utc = Connection { time_zone: "+00:00".into(), ..conn.clone() };
    let (_, rows, _) = drain(pull(&utc, &times, None).await.unwrap()).await;
    assert_eq!(rows[0][1], "2024-01-02T03:04:05+00:00");
    let odd = Connection { time_zone: "Beijing".into(), ..conn.clone() };
    let err = pull(&odd, &times, None).await.err().unwrap().to_string();
    assert!(err.contains("Beijing") && err.contains("+08:00"), "{err}");

    // Money stays exact: a DECIMAL(14,2) keeps its digits and scale, an expression without
    // a declared precision is a wide decimal, and a decimal column can be the mark.
    let m = unique("money");
    exec(url, &format!("CREATE TABLE {m} (id BIGINT PRIMARY KEY, amount DECIMAL(14,2))")).await;
    exec(url, &format!("INSERT INTO {m} VALUES (1, 123456789012.34), (2, 0.10), (3, -7.05)")).await;
    let mq = format!("SELECT id, amount, amount * 2 AS twice FROM {m}");
    let p = pull(&conn, &mq, Some(Incremental { column: "amount".into(), after: None })).await.unwrap();
    let types: Vec<ColumnType> = p.columns.iter().map(|c| c.ty).collect();
    assert_eq!(types[1], ColumnType::Decimal { precision: 14, scale: 2 }, "{url}");
    assert_eq!(types[2], tongshu_sources::UNKNOWN_DECIMAL, "{url}");
    let (_, mut rows, hw) = drain(p).await;
    rows.sort_by_key(|r| r[0].parse::<i64>().unwrap());
    assert_eq!(rows.iter().map(|r| r[1].as_str()).collect::<Vec<_>>(), ["123456789012.34", "0.10", "-7.05"]);
    assert_eq!(rows[0][2], "246913578024.68");
    assert_eq!(hw.as_deref(), Some("123456789012.34"), "compared exactly, not as text");
    let p = pull(&conn, &mq, Some(Incremental { column: "amount".into(), after: Some("0.10".into()) })).await.unwrap();
    let (_, rows, _) = drain(p).await;
    assert_eq!(rows.iter().map(|r| r[1].as_str()).collect::<Vec<_>>(), ["123456789012.34"]);
    exec(url, &format!("DROP TABLE {m}")).await;

    // Errors name what is wrong.
    let err = pull(&conn, &format!("SELECT nope FROM {t}"), None).await.err().unwrap().to_string();
    assert!(err.contains("nope"), "{err}");
    let err = pull(&conn, &q, Some(Incremental { column: "missing".into(), after: None })).await.err().unwrap();
    assert!(err.to_string().contains("missing"), "{err}");
    let mut wrong = conn.clone();
    wrong.password = "wrong".into();
    let err = tongshu_sources::check(&wrong).await.unwrap_err().to_string();
    assert!(err.contains("cannot connect") && !err.contains("wrong"), "{err}");
    exec(url, &format!("DROP TABLE {t}")).await;
}

#[tokio::test]
async fn postgres_pull_keeps_types_text_and_marks() {
    let Some(url) = env_url("TONGSHU_TEST_POSTGRES_URL") else { return };
    types_and_increments(&url, ["BIGINT", "TEXT", "NUMERIC(10,2)", "DATE", "TIMESTAMP", "BOOLEAN"]).await;
}

#[tokio::test]
async fn mariadb_pull_keeps_types_text_and_marks() {
    let Some(url) = env_url("TONGSHU_TEST_MYSQL_URL") else { return };
    types_and_increments(&url, ["BIGINT", "VARCHAR(50)", "DECIMAL(10,2)", "DATE", "DATETIME", "BOOLEAN"]).await;
}

/// A large table copied by several sessions in one exported snapshot: every row of the
/// snapshot exactly once (no row twice at a range's edge, none missing), and nothing
/// committed after it, however the table changes while the copy runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_is_copied_by_several_sessions_in_one_exported_snapshot() {
    use sqlx::{Connection as _, Executor as _};
    let Some(url) = env_url("TONGSHU_TEST_POSTGRES_URL") else { return };
    let t = unique("split");
    exec(
        &url,
        &format!(
            "CREATE TABLE {t} (id int PRIMARY KEY, name text, note text);
             INSERT INTO {t} SELECT g, '临沂企业' || g, CASE WHEN g % 3 = 0 THEN E'a\\tb\\\\c' WHEN g % 3 = 1 THEN NULL ELSE 'x' END
                 FROM generate_series(1, 20000) g;
             DELETE FROM {t} WHERE id % 7 = 0"
        ),
    )
    .await;
    // The snapshot is exported by a transaction that stays open while the copy runs.
    let mut holder = sqlx::PgConnection::connect(&url).await.unwrap();
    holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()").fetch_one(&mut holder).await.unwrap();
    exec(
        &url,
        &format!(
            "INSERT INTO {t} SELECT g, 'later', NULL FROM generate_series(30001, 31000) g;
             UPDATE {t} SET name = 'changed' WHERE id < 100; DELETE FROM {t} WHERE id BETWEEN 100 AND 199"
        ),
    )
    .await;
    let conn = Connection::from_url(&url).unwrap();
    let split = Split { parts: 3, min_pages: 8 };
    let p = pull_table_in_snapshot(&conn, &format!("public.{t}"), &snapshot, split).await.unwrap();
    assert_eq!(p.sessions, 3, "the table is large enough for three ranges");
    let (_, mut rows, _) = drain(p).await;
    rows.sort_by_key(|r| r[0].parse::<i64>().unwrap());
    let want: Vec<Vec<String>> = (1..=20000)
        .filter(|g| g % 7 != 0)
        .map(|g| {
            let note = match g % 3 {
                0 => "a\tb\\c",
                1 => "",
                _ => "x",
            };
            vec![g.to_string(), format!("临沂企业{g}"), note.to_owned()]
        })
        .collect();
    assert_eq!(rows.len(), want.len());
    assert!(rows == want, "the rows differ from the snapshot's");
    // Whole, as one session: the same rows.
    let p = pull_table_in_snapshot(&conn, &format!("public.{t}"), &snapshot, Split { parts: 1, min_pages: 8 }).await;
    let p = p.unwrap();
    assert_eq!(p.sessions, 1);
    let (_, mut whole, _) = drain(p).await;
    whole.sort_by_key(|r| r[0].parse::<i64>().unwrap());
    assert!(whole == want);
    holder.execute("COMMIT").await.unwrap();
    exec(&url, &format!("DROP TABLE {t}")).await;
}

/// A large MariaDB table copied by several sessions, each in a consistent snapshot, all at
/// one binlog position: every row of the database at that position once, whatever commits
/// while the copy starts or runs. Rows `k` and `k + 10000` (in different sessions' key
/// ranges) are always changed together, so a copy mixing two moments would show them apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mariadb_table_is_copied_by_several_sessions_at_one_binlog_position() {
    use sqlx::{Connection as _, Executor as _};
    let Some(url) = env_url("TONGSHU_TEST_MYSQL_URL") else { return };
    let t = unique("split");
    exec(
        &url,
        &format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, pair INT NOT NULL, v INT NOT NULL, name VARCHAR(100), KEY (pair));
             INSERT INTO {t} SELECT seq, 1 + (seq - 1) % 10000, 0, CONCAT('临沂企业', seq) FROM seq_1_to_20000;
             ANALYZE TABLE {t}"
        ),
    )
    .await;
    let conn = Connection::from_url(&url).unwrap();
    let split = Split { parts: 3, min_pages: 8 };
    let table = format!("`{}`.`{t}`", conn.database);
    let position = |u: String| async move {
        let mut c = sqlx::MySqlConnection::connect(&u).await.unwrap();
        let (file, pos, ..): (String, u64, String, String) =
            sqlx::query_as("SHOW MASTER STATUS").fetch_one(&mut c).await.unwrap();
        (file, pos)
    };
    // Quiet: three sessions, at the log's end, and what commits after is not copied.
    let before = position(url.clone()).await;
    let p = pull_table_consistent(&conn, &table, Some("id"), split).await.unwrap();
    assert_eq!(p.sessions, 3, "the table is large enough for three key ranges");
    assert_eq!(p.binlog.as_ref(), Some(&before), "the copy stands at the end of the log");
    exec(&url, &format!("UPDATE {t} SET v = 7 WHERE pair < 100; DELETE FROM {t} WHERE id > 19990")).await;
    let (header, mut rows, _) = drain(p).await;
    assert_eq!(header, ["id", "pair", "v", "name"]);
    rows.sort_by_key(|r| r[0].parse::<i64>().unwrap());
    let want: Vec<Vec<String>> = (1..=20000)
        .map(|g: i64| vec![g.to_string(), (1 + (g - 1) % 10000).to_string(), "0".into(), format!("临沂企业{g}")])
        .collect();
    assert!(rows == want, "the rows differ from the table's at the copy's position");
    // Busy: writers change pairs while copies start and run.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4u64)
        .map(|w| {
            let (url, t, stop) = (url.clone(), t.clone(), stop.clone());
            tokio::spawn(async move {
                let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
                let mut n = w * 1_000_003;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let sql = format!("UPDATE {t} SET v = v + 1 WHERE pair = {}", 1 + (n * 7919) % 10000);
                    c.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut split_copies = 0;
    for _ in 0..10 {
        let p = pull_table_consistent(&conn, &table, Some("id"), split).await.unwrap();
        let sessions = p.sessions;
        assert!(sessions == 3 || sessions == 1, "{sessions} sessions");
        split_copies += usize::from(sessions == 3);
        let (_, rows, _) = drain(p).await;
        assert_eq!(rows.len(), 19990);
        let mut v = std::collections::HashMap::new();
        for r in &rows {
            v.entry(r[1].clone()).or_insert_with(Vec::new).push(r[2].clone());
        }
        let apart = v.iter().filter(|(_, vs)| vs.windows(2).any(|w| w[0] != w[1])).count();
        assert_eq!(apart, 0, "{apart} pairs changed together were copied at different moments ({sessions} sessions)");
    }
    eprintln!("{split_copies} of 10 copies under writers were split");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    // A key that is no integer: one session.
    let p = pull_table_consistent(&conn, &table, Some("name"), split).await.unwrap();
    assert_eq!(p.sessions, 1);
    assert_eq!(drain(p).await.1.len(), 19990);
    exec(&url, &format!("DROP TABLE {t}")).await;
}

/// A MariaDB result that fails part-way (a row's subquery gives two values): the rows
/// before it come in whole chunks, then the rows end and the failure names the row after
/// which it came, so that the ingest refuses the lot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mariadb_result_that_fails_midway_ends_the_chunks_with_its_reason() {
    let Some(url) = env_url("TONGSHU_TEST_MYSQL_URL") else { return };
    let t = unique("midway");
    exec(&url, &format!("CREATE TABLE {t} (id INT PRIMARY KEY); INSERT INTO {t} SELECT seq FROM seq_1_to_30000")).await;
    let conn = Connection::from_url(&url).unwrap();
    let q =
        format!("SELECT id, (SELECT b.id FROM {t} b WHERE b.id IN (a.id, a.id + 1) AND a.id = 20000) AS x FROM {t} a");
    let mut p = pull(&conn, &q, None).await.unwrap();
    let (rows, failure) = tokio::task::spawn_blocking(move || {
        assert!(p.rows.chunks(), "a plain pull hands its rows over in chunks");
        let mut n = 0;
        while let Some(c) = p.rows.next_chunk() {
            n += c.len();
        }
        (n, p.rows.failure())
    })
    .await
    .unwrap();
    assert!(rows < 20000, "{rows} rows came before the failure");
    let failure = failure.expect("the failure is kept");
    assert!(failure.contains(&format!("failed after row {}", rows + 1)), "{failure}");
    assert!(failure.contains("more than 1 row"), "{failure}");
    exec(&url, &format!("DROP TABLE {t}")).await;
}
