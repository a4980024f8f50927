//! The real-time channel from the command line, and its exactly-once promise under crashes:
//! a writer changes the source (PostgreSQL, and MariaDB) without pause while `tongshu
//! channel run` is killed with SIGKILL at random moments, 20 times, and restarted; at the
//! end the library table equals the source table row for row.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::{Connection as _, Executor};

use super::{text, tongshu};

/// A small deterministic generator (the test prints its seed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// Every row of `table` in the source, by id.
async fn source_rows(url: &str, table: &str) -> Vec<(i64, Option<i64>, Option<String>)> {
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    let sql = format!("SELECT id, balance, note FROM {table} ORDER BY id");
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut c).await.unwrap()
}

/// Runs SQL against the source (PostgreSQL or MariaDB).
async fn source_exec(url: &str, sql: &str) {
    tongshu_sources::testing::exec(url, sql).await;
}

/// The source database of a crash test.
#[derive(Clone, Copy, PartialEq)]
enum Db {
    Postgres,
    Mariadb,
}

/// Every row of the library table, by id.
async fn library_rows(root: &str, table: &str) -> Vec<(i64, Option<i64>, Option<String>)> {
    use tongshu_lake::arrow::array::{Array, AsArray};
    use tongshu_lake::arrow::datatypes::Int64Type;
    let lake = tongshu_lake::Library::open(root, Default::default()).unwrap();
    let limits = tongshu_lake::QueryLimits { max_rows: 10_000_000, timeout: Duration::from_secs(60) };
    let r = lake.sql(&format!("SELECT id, balance, note FROM {table} ORDER BY id"), &[], limits).await.unwrap();
    let mut out = Vec::new();
    for b in &r.batches {
        let (id, bal) = (b.column(0).as_primitive::<Int64Type>(), b.column(1).as_primitive::<Int64Type>());
        let note =
            tongshu_lake::arrow::compute::cast(b.column(2), &tongshu_lake::arrow::datatypes::DataType::Utf8).unwrap();
        let note = note.as_string::<i32>();
        for i in 0..b.num_rows() {
            out.push((
                id.value(i),
                bal.is_valid(i).then(|| bal.value(i)),
                note.is_valid(i).then(|| note.value(i).to_owned()),
            ));
        }
    }
    out
}

#[test]
fn a_pipeline_killed_twenty_times_under_a_busy_writer_ends_equal_to_its_source() {
    crash_test(Db::Postgres);
}

#[test]
fn a_mariadb_pipeline_killed_twenty_times_under_a_busy_writer_ends_equal_to_its_source() {
    crash_test(Db::Mariadb);
}

fn crash_test(kind: Db) {
    let var = if kind == Db::Postgres { "TONGSHU_TEST_POSTGRES_URL" } else { "TONGSHU_TEST_MYSQL_URL" };
    let Some(admin) = tongshu_sources::testing::env_url(var) else { return };
    let pid = std::process::id();
    let db = format!("tongshu_ch_crash_{pid}");
    let name = format!("crash{pid}{}", if kind == Db::Mariadb { "my" } else { "" });
    // PostgreSQL: a database of its own; MariaDB: a table of its own in the test database.
    let (url, acct) = match kind {
        Db::Postgres => (
            block(tongshu_sources::testing::fresh_postgres_database(&admin, "tongshu_ch_crash", "tongshu_crash")),
            "acct".to_owned(),
        ),
        Db::Mariadb => (admin.clone(), format!("crash_acct_{pid}")),
    };
    let init = match kind {
        Db::Postgres => format!(
            "CREATE TABLE {acct} (id bigint PRIMARY KEY, balance bigint, note text);
             INSERT INTO {acct} SELECT g, g * 10, '初始 ' || g FROM generate_series(1, 3000) g"
        ),
        Db::Mariadb => format!(
            "DROP TABLE IF EXISTS {acct}; CREATE TABLE {acct} (id BIGINT PRIMARY KEY, balance BIGINT, note TEXT) DEFAULT CHARSET = utf8mb4;
             INSERT INTO {acct} SELECT seq, seq * 10, CONCAT('初始 ', seq) FROM seq_1_to_3000"
        ),
    };
    block(source_exec(&url, &init));

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert!(tongshu(&["demo", "--data-dir", d, "--rows", "50"]).status.success());
    let o = tongshu(&["source", "add", "--data-dir", d, "--name", "crash_src", "--url", &url, "--org", "wjw"]);
    assert!(o.status.success(), "{}", text(&o).1);
    let table_arg = match kind {
        Db::Postgres => format!("public.{acct}=crash_acct"),
        Db::Mariadb => format!("{acct}=crash_acct"),
    };
    let o = tongshu(&[
        "channel",
        "add",
        "--data-dir",
        d,
        "--name",
        &name,
        "--source",
        "crash_src",
        "--table",
        &table_arg,
        "--batch-ms",
        "100",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let source_name = table_arg.trim_end_matches("=crash_acct").to_owned();
    assert!(text(&o).0.contains(&format!("{source_name} → library table crash_acct")), "{}", text(&o).0);

    // The writer: small transactions of inserts, updates and deletes, as fast as it can.
    let seed = u64::from(pid) ^ 0x9e37_79b9;
    eprintln!("seed {seed}");
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (url, stop, written, acct) = (url.clone(), stop.clone(), written.clone(), acct.clone());
        std::thread::spawn(move || {
            block(async move {
                sqlx::any::install_default_drivers();
                let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
                let repeat = |n: u64| match kind {
                    Db::Postgres => format!("'upd ' || repeat('长', {n})"),
                    Db::Mariadb => format!("CONCAT('upd ', REPEAT('长', {n}))"),
                };
                let mut r = Lcg(seed);
                let mut next_id = 3001i64;
                while !stop.load(Ordering::Relaxed) {
                    let mut tx = c.begin().await.unwrap();
                    for _ in 0..1 + r.next(4) {
                        let id = 1 + r.next(next_id as u64) as i64;
                        let sql = match r.next(10) {
                            0..=3 => {
                                next_id += 1;
                                format!("INSERT INTO {acct} VALUES ({next_id}, {}, 'new {}')", r.next(1000), r.next(99))
                            }
                            4..=7 => format!(
                                "UPDATE {acct} SET balance = balance + {}, note = {} WHERE id = {id}",
                                r.next(100),
                                repeat(r.next(40))
                            ),
                            8 => format!("UPDATE {acct} SET note = NULL WHERE id = {id}"),
                            _ => format!("DELETE FROM {acct} WHERE id = {id}"),
                        };
                        tx.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
                        written.fetch_add(1, Ordering::Relaxed);
                    }
                    tx.commit().await.unwrap();
                }
            })
        })
    };

    let log = dir.path().join("runner.log");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_tongshu"))
            .args(["channel", "run", &name, "--data-dir", d])
            .env_remove("TONGSHU_DATABASE_URL")
            .env_remove("TONGSHU_CONFIG")
            .env("TONGSHU_LOG", "warn")
            // A killed runner's lease runs out soon, so the next one takes over quickly.
            .env("TONGSHU_JOB_LEASE_SECS", "2")
            // Any WAL the slot keeps is "too much": the warning shows in the status.
            .env("TONGSHU_CHANNEL_WAL_WARN_MB", "0")
            .stdout(Stdio::null())
            // A file, not a pipe: a runner that logs much never blocks on a full pipe.
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap()
    };
    let mut r = Lcg(seed ^ 1);
    for round in 0..20 {
        let mut child = run();
        // Kill at random moments: while copying, while applying, while idle.
        std::thread::sleep(Duration::from_millis(200 + r.next(1800)));
        if let Some(status) = child.try_wait().unwrap() {
            let err = std::fs::read_to_string(&log).unwrap_or_default();
            // The previous runner's lease may not have run out yet: that is the only
            // acceptable early exit.
            assert!(err.contains("is running on"), "round {round}: the runner exited ({status}): {err}");
            std::thread::sleep(Duration::from_millis(2500));
            continue;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Its lease (2 s here) runs out before the next runner asks for it.
        std::thread::sleep(Duration::from_millis(2200));
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    eprintln!("{} changes written", written.load(Ordering::Relaxed));

    // A last runner catches up with everything written; then both sides are compared.
    std::thread::sleep(Duration::from_millis(2500));
    let mut last = run();
    let expected = block(source_rows(&url, &acct));
    let root = format!("{d}/library");
    // It may be far behind on a loaded machine: wait while it makes progress (a lost or
    // doubled change would never end equal; a stalled runner fails the test).
    let mut progressed = Instant::now();
    let mut previous: Vec<(i64, Option<i64>, Option<String>)> = vec![];
    loop {
        if let Some(status) = last.try_wait().unwrap() {
            // Only a lease not yet run out may stop it; then it is started again.
            let err = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(err.contains("is running on"), "the last runner exited ({status}): {err}");
            std::thread::sleep(Duration::from_millis(1000));
            last = run();
        }
        let got = if std::path::Path::new(&format!("{root}/crash_acct/_delta_log")).is_dir() {
            block(library_rows(&root, "crash_acct"))
        } else {
            vec![]
        };
        if got == expected {
            break;
        }
        if got != previous {
            progressed = Instant::now();
            previous = got.clone();
        }
        if progressed.elapsed() > Duration::from_secs(60) {
            let _ = last.kill();
            let missing = expected.iter().filter(|r| !got.contains(r)).take(5).collect::<Vec<_>>();
            let extra = got.iter().filter(|r| !expected.contains(r)).take(5).collect::<Vec<_>>();
            panic!(
                "the library table differs from the source and has not changed for a minute: {} vs {} rows; \
                 missing {missing:?}; extra {extra:?}",
                got.len(),
                expected.len()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // No duplicate key either (the comparison above is of sorted rows, so equal lengths
    // and equal rows mean none).
    let o = tongshu(&["channel", "list", "--data-dir", d]);
    assert!(text(&o).0.contains(&name), "{}", text(&o).0);
    let o = tongshu(&["channel", "show", &name, "--data-dir", d]);
    assert!(text(&o).0.contains(&format!("{source_name} → crash_acct")), "{}", text(&o).0);
    if kind == Db::Postgres {
        let o = tongshu(&["channel", "list", "--data-dir", d]);
        assert!(text(&o).0.contains("of WAL on the source (warning above 0 MiB)"), "{}", text(&o).0);
        let o = tongshu(&["channel", "show", &name, "--data-dir", d]);
        assert!(text(&o).0.contains("of WAL on the source"), "{}", text(&o).0);
    } else {
        assert!(text(&o).0.contains("still to read on the source"), "{}", text(&o).0);
    }
    let _ = last.kill();
    let _ = last.wait();
    std::thread::sleep(Duration::from_millis(2500));
    // The killed runner's lease runs out within seconds (later on a loaded machine).
    let mut removed = tongshu(&["channel", "remove", &name, "--data-dir", d]);
    for _ in 0..20 {
        if removed.status.success() || !text(&removed).1.contains("is running on") {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        removed = tongshu(&["channel", "remove", &name, "--data-dir", d]);
    }
    assert!(removed.status.success(), "{}", text(&removed).1);
    match kind {
        Db::Postgres => block(async {
            let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
            let _ = c.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))).await;
        }),
        Db::Mariadb => block(source_exec(&url, &format!("DROP TABLE {acct}"))),
    }
}

/// A pipeline over every table of a schema, reading the publication and slot the source's
/// administrators made, added stopped and started by an operator; each wrong step is
/// refused naming what is wrong, with nothing kept.
#[test]
fn a_schema_is_carried_through_the_dbas_publication_and_slot_once_started() {
    let Some(admin) = tongshu_sources::testing::env_url("TONGSHU_TEST_POSTGRES_URL") else { return };
    let pid = std::process::id();
    let slot = format!("dba_slot_{pid}");
    let url = block(tongshu_sources::testing::fresh_postgres_database(&admin, "tongshu_ch_named", "dba_slot_"));
    block(source_exec(
        &url,
        "CREATE SCHEMA hr;
         CREATE TABLE hr.people (id bigint PRIMARY KEY, name text);
         CREATE TABLE hr.deps (id bigint PRIMARY KEY, title text);
         CREATE TABLE hr.logs (msg text);
         INSERT INTO hr.people VALUES (1, '王芳'), (2, 'Анна Иванова');
         INSERT INTO hr.deps VALUES (10, '人事处');
         CREATE PUBLICATION dba_pub FOR TABLE hr.people",
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert!(tongshu(&["demo", "--data-dir", d, "--rows", "50"]).status.success());
    let o = tongshu(&["source", "add", "--data-dir", d, "--name", "hr_src", "--url", &url, "--org", "rsj"]);
    assert!(o.status.success(), "{}", text(&o).1);
    let add = |extra: &[&str]| {
        let mut args =
            vec!["channel", "add", "--data-dir", d, "--name", "hrp", "--source", "hr_src", "--table", "hr.*"];
        args.extend_from_slice(extra);
        tongshu(&args)
    };
    let listed = || text(&tongshu(&["channel", "list", "--data-dir", d, "--json"])).0;

    // A table of the schema without a key, then the publication that lacks tables.
    let o = add(&[]);
    assert!(!o.status.success() && text(&o).1.contains("hr.logs has no primary key"), "{}", text(&o).1);
    let o = add(&["--key", "logs:msg", "--publication", "dba_pub", "--slot", &slot, "--stopped"]);
    assert!(!o.status.success(), "{}", text(&o).0);
    assert!(text(&o).1.contains("publication \"dba_pub\" does not publish hr.deps, hr.logs"), "{}", text(&o).1);
    let o = add(&["--key", "logs:msg", "--publication", "no_pub"]);
    assert!(text(&o).1.contains("publication \"no_pub\" does not exist"), "{}", text(&o).1);
    let o = add(&["--key", "logs:msg", "--slot", "Bad-Slot"]);
    assert!(text(&o).1.contains("--slot \"Bad-Slot\""), "{}", text(&o).1);
    assert_eq!(listed().trim(), "[]", "nothing is kept of refused pipelines");

    // The administrators publish the rest: the pipeline is added, held.
    block(source_exec(&url, "ALTER PUBLICATION dba_pub ADD TABLE hr.deps, hr.logs"));
    let o = add(&["--key", "logs:msg", "--publication", "dba_pub", "--slot", &slot, "--stopped"]);
    assert!(o.status.success(), "{}", text(&o).1);
    for t in
        ["hr.people → library table hrp_people", "hr.deps → library table hrp_deps", "hr.logs → library table hrp_logs"]
    {
        assert!(text(&o).0.contains(t), "{}", text(&o).0);
    }
    assert!(listed().contains("added stopped"), "{}", listed());
    let o = tongshu(&["channel", "run", "hrp", "--data-dir", d]);
    assert!(!o.status.success() && text(&o).1.contains("is paused"), "{}", text(&o).1);

    // Started, it runs; the source keeps the DBA's publication as it was and gets no other.
    let o = tongshu(&["channel", "start", "hrp", "--data-dir", d]);
    assert!(o.status.success(), "{}", text(&o).1);
    let mut runner = Command::new(env!("CARGO_BIN_EXE_tongshu"))
        .args(["channel", "run", "hrp", "--data-dir", d])
        .env_remove("TONGSHU_DATABASE_URL")
        .env_remove("TONGSHU_CONFIG")
        .env("TONGSHU_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let o = tongshu(&["channel", "start", "hrp", "--data-dir", d]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut started_twice = text(&o).1;
    while !started_twice.contains("already running") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        started_twice = text(&tongshu(&["channel", "start", "hrp", "--data-dir", d])).1;
    }
    assert!(started_twice.contains("already running"), "{started_twice}");
    block(source_exec(
        &url,
        "INSERT INTO hr.deps VALUES (11, '办公室'); UPDATE hr.people SET name = '王芳芳' WHERE id = 1",
    ));
    let query = |sql: &str| text(&tongshu(&["sql", "--data-dir", d, "--format", "csv", sql])).0;
    let mut seen = String::new();
    while Instant::now() < deadline {
        seen = query("SELECT title FROM hrp_deps ORDER BY id") + &query("SELECT name FROM hrp_people WHERE id = 1");
        if seen.contains("人事处\n办公室\n") && seen.contains("王芳芳") {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(seen.contains("人事处\n办公室\n") && seen.contains("王芳芳"), "{seen}");
    let show = text(&tongshu(&["channel", "show", "hrp", "--data-dir", d])).0;
    assert!(show.contains(&format!("slot {slot}: in use")), "{show}");
    block(async {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let pubs: Vec<String> =
            sqlx::query_scalar("SELECT pubname::text FROM pg_publication").fetch_all(&mut c).await.unwrap();
        assert_eq!(pubs, ["dba_pub"]);
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'dba_pub'")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(n, 3);
    });

    // Stopped and removed: the slot goes (the source keeps no WAL for it), the publication stays.
    send_signal(&runner, "TERM");
    assert!(runner.wait().unwrap().success());
    let o = tongshu(&["channel", "remove", "hrp", "--data-dir", d]);
    assert!(o.status.success(), "{}", text(&o).1);
    block(async {
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let slots: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1")
            .bind(&slot)
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(slots, 0);
        let pubs: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_publication").fetch_one(&mut c).await.unwrap();
        assert_eq!(pubs, 1);
    });
}

/// Sends a signal to a child process through `kill` (the workspace forbids unsafe code).
fn send_signal(child: &std::process::Child, signal: &str) {
    let ok = Command::new("kill").args([format!("-{signal}"), child.id().to_string()]).status().unwrap().success();
    assert!(ok, "kill -{signal} {}", child.id());
}
