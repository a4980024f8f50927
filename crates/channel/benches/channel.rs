//! The real-time channel's benchmark (issue 15), against a real PostgreSQL with
//! `wal_level = logical` and a real MariaDB with the row binlog (`scripts/test` sets both
//! up; `TONGSHU_TEST_POSTGRES_URL` and `TONGSHU_TEST_MYSQL_URL` name them):
//!  1. the snapshot of a ROWS-row table (default 10,000,000) from each database against the
//!     file ingest of the same rows (a CSV PostgreSQL writes with COPY), rows/s and their
//!     ratio (target ≥ 0.5). Twice: first with the databases and Tongshu sharing every CPU,
//!     then (with two CPUs or more) with the databases pinned to the first half of them and
//!     Tongshu to the rest (`taskset`), as a department's database runs on its own server:
//!     the file ingest and the snapshots then get the same CPUs;
//!  2. on each database, one writer changing a table as fast as it can for SECONDS
//!     (default 60): single-row transactions, half updates, a third inserts, the rest
//!     deletes; changes/s written and applied, and each transaction's lag from its commit
//!     in the source to its visibility in the library, p50/p99 (target: keeps pace, p99 ≤
//!     2 s; goal ≤ 1 s). MariaDB's binlog stamps commits in whole seconds, so its lags are
//!     measured from the start of the second the transaction committed in (up to a second
//!     more than the true lag).
//!
//! Run: `cargo bench -p tongshu-channel --bench channel -- [ROWS] [SECONDS]`
//! (`BENCH_ONLY=postgres` or `mariadb` measures one database; `BENCH_PARTS=n` sets how many
//! sessions may copy ranges of a table: pages on PostgreSQL, keys on MariaDB).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::{Connection as _, Executor};
use tongshu_channel::{CancellationToken, Pipeline, PipelineSpec, State, TableSpec};
use tongshu_lake::Library;

async fn wait_streaming(p: &Pipeline) {
    loop {
        match p.status().state {
            State::Streaming => return,
            State::Failed(e) | State::Paused(e) => panic!("pipeline stopped: {e}"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Where the databases and Tongshu run while section 1 measures.
#[derive(Clone, Copy, PartialEq)]
enum Cores {
    /// All on every CPU, competing for them.
    Shared,
    /// The databases on the first half of the CPUs, Tongshu (file ingest and snapshot
    /// alike) on the rest: as a department's database runs on its own server.
    Separate,
}

impl Cores {
    /// Pins the database servers' processes (found by name: they run on this machine) and
    /// this one; the CPUs left to Tongshu.
    fn apply(self, cpus: usize) -> usize {
        let half = cpus / 2;
        let (db, own) = match self {
            Cores::Shared => (format!("0-{}", cpus - 1), format!("0-{}", cpus - 1)),
            Cores::Separate => (format!("0-{}", half - 1), format!("{half}-{}", cpus - 1)),
        };
        let pin = |cpus: &str, pid: &str| {
            let ok = std::process::Command::new("taskset")
                .args(["-a", "-cp", cpus, pid])
                .stdout(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "taskset -a -cp {cpus} {pid} failed (util-linux's taskset pins the processes)");
        };
        for name in ["postgres", "mariadbd"] {
            let out = std::process::Command::new("pgrep").args(["-x", name]).output().expect("pgrep");
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                pin(&db, pid);
            }
        }
        pin(&own, &std::process::id().to_string());
        if self == Cores::Shared { cpus } else { cpus - half }
    }

    fn describe(self, cpus: usize) -> String {
        match self {
            Cores::Shared => format!("shared cores: the databases and Tongshu on all {cpus} CPUs"),
            Cores::Separate => format!(
                "separate cores: the databases on CPUs 0-{}, Tongshu on CPUs {}-{} (as a department's database on its own server)",
                cpus / 2 - 1,
                cpus / 2,
                cpus - 1
            ),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Db {
    Postgres,
    Mariadb,
}

impl Db {
    fn label(self) -> &'static str {
        match self {
            Db::Postgres => "PostgreSQL",
            Db::Mariadb => "MariaDB",
        }
    }
}

fn table(s: &str, t: &str) -> TableSpec {
    TableSpec { source: s.into(), target: t.into(), keys: vec![] }
}

/// Runs `spec` until it streams, then stops it; the rows it copied, by how many sessions,
/// and the seconds it took.
async fn snapshot(spec: PipelineSpec, lake: &Library) -> (u64, usize, f64) {
    let p = Arc::new(Pipeline::new(spec, lake.clone()));
    let stop = CancellationToken::new();
    let t = Instant::now();
    let run = {
        let (p, stop) = (p.clone(), stop.clone());
        tokio::spawn(async move { p.run(stop).await })
    };
    wait_streaming(&p).await;
    let secs = t.elapsed().as_secs_f64();
    stop.cancel();
    run.await.unwrap().unwrap();
    let st = &p.status().tables[0];
    (st.snapshot_rows, st.snapshot_sessions, secs)
}

/// The end of the source's log, as a pipeline's confirmed position counts it.
async fn log_end(db: Db, url: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    match db {
        Db::Postgres => {
            sqlx::query_scalar("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::int8").fetch_one(&mut c).await.unwrap()
        }
        Db::Mariadb => {
            let row = sqlx::query("SHOW MASTER STATUS").fetch_one(&mut c).await.unwrap();
            let file: String = sqlx::Row::get(&row, 0);
            let pos: i64 = sqlx::Row::get(&row, 1);
            tongshu_channel::binlog_position(&file, pos as u64).unwrap()
        }
    }
}

/// Section 2 on one database: a writer for `secs` against a pipeline of table `acct`.
async fn one_writer(db: Db, url: &str, source: tongshu_sources::Connection, acct: &str, lake: &Library, secs: u64) {
    println!("== 2. {}: one writer for {secs} s, single-row transactions (updates, inserts, deletes)", db.label());
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    let fill = match db {
        Db::Postgres => format!("INSERT INTO {acct} SELECT g, g, 'n' FROM generate_series(1, 100000) g"),
        Db::Mariadb => format!("INSERT INTO {acct} SELECT seq, seq, 'n' FROM seq_1_to_100000"),
    };
    for sql in [
        format!("DROP TABLE IF EXISTS {acct}"),
        format!("CREATE TABLE {acct} (id bigint PRIMARY KEY, balance bigint, note text)"),
        fill,
    ] {
        c.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    }
    let source_table = if db == Db::Postgres { format!("public.{acct}") } else { acct.to_owned() };
    let mut spec = PipelineSpec::new(
        if db == Db::Postgres { "bench2" } else { "bench2my" },
        source,
        vec![table(&source_table, &format!("cdc_{acct}"))],
    );
    spec.batch_wait = Duration::from_millis(200);
    // Quiet-time confirmations (heartbeats) every half second: the catch-up below waits
    // for the log's end.
    spec.heartbeat = Duration::from_millis(500);
    let slot = spec.slot();
    let p = Arc::new(Pipeline::new(spec, lake.clone()));
    let stop = CancellationToken::new();
    let run = {
        let (p, stop) = (p.clone(), stop.clone());
        tokio::spawn(async move { p.run(stop).await })
    };
    wait_streaming(&p).await;
    let written = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, written, done, acct) = (url.to_owned(), written.clone(), done.clone(), acct.to_owned());
        tokio::spawn(async move {
            let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
            let (mut next, mut x) = (100_001i64, 88_172_645_463_325_252u64);
            while !done.load(Ordering::Relaxed) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let id = 1 + (x % next as u64) as i64;
                let sql = match x % 6 {
                    0..=2 => format!("UPDATE {acct} SET balance = balance + 1, note = 'u' WHERE id = {id}"),
                    3 | 4 => {
                        next += 1;
                        format!("INSERT INTO {acct} VALUES ({next}, 0, 'i')")
                    }
                    _ => format!("DELETE FROM {acct} WHERE id = {id}"),
                };
                // A change of a row that is gone changes nothing and reaches no log.
                if c.execute(sqlx::AssertSqlSafe(sql)).await.unwrap().rows_affected() > 0 {
                    written.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    done.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let wrote = written.load(Ordering::Relaxed);
    let write_secs = t.elapsed().as_secs_f64();
    // Caught up: the pipeline has confirmed the source's log up to its end after the
    // writer stopped (every transaction written is applied and has its lag sample).
    let end = log_end(db, url).await;
    let until = Instant::now() + Duration::from_secs(300);
    while p.status().confirmed.is_none_or(|at| at < end) && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let applied_secs = t.elapsed().as_secs_f64();
    let mut lags = p.lag_samples();
    lags.sort_unstable();
    let pct = |q: f64| lags.get(((lags.len() as f64 - 1.0) * q).round() as usize).map(|&us| us as f64 / 1000.0);
    println!(
        "   written {wrote} changes, {:.0}/s; applied {}, {:.0}/s (until the last was visible, {applied_secs:.1} s)",
        wrote as f64 / write_secs,
        lags.len(),
        lags.len() as f64 / applied_secs
    );
    println!(
        "   lag commit → visible in the library: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (target p99 2000 ms, goal 1000 ms)",
        pct(0.5).unwrap_or(0.0),
        pct(0.99).unwrap_or(0.0),
        pct(1.0).unwrap_or(0.0)
    );
    stop.cancel();
    run.await.unwrap().unwrap();
    if db == Db::Postgres {
        let _ = tongshu_channel::drop_slot(&tongshu_sources::Connection::from_url(url).unwrap(), &slot).await;
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let rows: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let secs: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(60);
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let admin = std::env::var("TONGSHU_TEST_POSTGRES_URL")
        .expect("TONGSHU_TEST_POSTGRES_URL: a PostgreSQL with wal_level = logical (scripts/test sets one up)");
    let my_url = std::env::var("TONGSHU_TEST_MYSQL_URL")
        .expect("TONGSHU_TEST_MYSQL_URL: a MariaDB with the row binlog (scripts/test sets one up)");
    let url = tongshu_sources::testing::fresh_postgres_database(&admin, "tongshu_ch_bench", "tongshu_bench").await;
    let source = tongshu_sources::Connection::from_url(&url).unwrap();
    let my_source = tongshu_sources::Connection::from_url(&my_url).unwrap();
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "/tmp".into())).unwrap();
    let lake = Library::open(dir.path().join("library").to_str().unwrap(), Default::default()).unwrap();

    println!("== 1. snapshot of {rows} rows against the file ingest of the same rows");
    let t = Instant::now();
    c.execute(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE firms (id bigint PRIMARY KEY, name text, capital numeric(14,2), founded date, district text);
         INSERT INTO firms SELECT g, '临沂市某某商贸有限公司' || g, (g % 100000) * 1.25, DATE '2000-01-01' + (g % 9000),
             (ARRAY['兰山区','罗庄区','河东区','沂南县','郯城县'])[1 + g % 5] FROM generate_series(1, {rows}) g"
    )))
    .await
    .unwrap();
    println!("   PostgreSQL table made in {:.1} s", t.elapsed().as_secs_f64());
    let csv = dir.path().join("firms.csv");
    {
        let mut out = c.copy_out_raw("COPY firms TO STDOUT WITH (FORMAT csv, HEADER true)").await.unwrap();
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
        use futures::StreamExt;
        use std::io::Write;
        while let Some(chunk) = out.next().await {
            f.write_all(&chunk.unwrap()).unwrap();
        }
        f.flush().unwrap();
    }
    let my_table = format!("bench_firms_{}", std::process::id());
    if only.is_empty() || only == "mariadb" {
        let t = Instant::now();
        tongshu_sources::testing::exec(
            &my_url,
            &format!(
                "DROP TABLE IF EXISTS {my_table};
                 CREATE TABLE {my_table} (id BIGINT PRIMARY KEY, name TEXT, capital DECIMAL(14,2), founded DATE, district TEXT) DEFAULT CHARSET = utf8mb4;
                 INSERT INTO {my_table} SELECT seq, CONCAT('临沂市某某商贸有限公司', seq), (seq % 100000) * 1.25,
                     DATE '2000-01-01' + INTERVAL (seq % 9000) DAY, ELT(1 + seq % 5, '兰山区','罗庄区','河东区','沂南县','郯城县')
                     FROM seq_1_to_{rows};
                 ANALYZE TABLE {my_table}"
            ),
        )
        .await;
        println!("   MariaDB table made in {:.1} s", t.elapsed().as_secs_f64());
    }
    let parts: usize = std::env::var("BENCH_PARTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    println!("   snapshot sessions: up to {parts} per table (BENCH_PARTS)");
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let layouts: &[Cores] = if cpus >= 2 { &[Cores::Shared, Cores::Separate] } else { &[Cores::Shared] };
    for &cores in layouts {
        let tongshu_cpus = cores.apply(cpus);
        println!("-- {}", cores.describe(cpus));
        let tag = if cores == Cores::Shared { "shared" } else { "separate" };
        let t = Instant::now();
        let req = tongshu_lake::IngestRequest {
            create: true,
            ..tongshu_lake::IngestRequest::new(format!("file_firms_{tag}"), csv.clone(), "bench")
        };
        let report = lake.ingest(req).await.unwrap();
        let ingest_secs = t.elapsed().as_secs_f64();
        let ingest_rate = report.rows_written as f64 / ingest_secs;
        println!(
            "   file ingest ({tongshu_cpus} CPUs): {} rows in {ingest_secs:.1} s, {ingest_rate:.0} rows/s",
            report.rows_written
        );
        if only.is_empty() || only == "postgres" {
            let mut spec = PipelineSpec::new(
                format!("bench{tag}"),
                source.clone(),
                vec![table("public.firms", &format!("cdc_firms_{tag}"))],
            );
            spec.heartbeat = Duration::from_millis(500);
            spec.snapshot_split.parts = parts;
            let slot = spec.slot();
            let (copied, sessions, snap_secs) = snapshot(spec, &lake).await;
            let snap_rate = copied as f64 / snap_secs;
            println!(
                "   PostgreSQL snapshot ({sessions} sessions): {copied} rows in {snap_secs:.1} s, {snap_rate:.0} rows/s"
            );
            println!("   ratio snapshot/file ingest: {:.2}x (target at least 0.5x)", snap_rate / ingest_rate);
            let _ = tongshu_channel::drop_slot(&source, &slot).await;
        }
        if only.is_empty() || only == "mariadb" {
            let mut spec = PipelineSpec::new(
                format!("benchmy{tag}"),
                my_source.clone(),
                vec![table(&my_table, &format!("cdc_my_firms_{tag}"))],
            );
            spec.snapshot_split.parts = parts;
            let (copied, sessions, snap_secs) = snapshot(spec, &lake).await;
            let snap_rate = copied as f64 / snap_secs;
            println!(
                "   MariaDB snapshot ({sessions} sessions): {copied} rows in {snap_secs:.1} s, {snap_rate:.0} rows/s"
            );
            println!("   ratio snapshot/file ingest: {:.2}x (target at least 0.5x)", snap_rate / ingest_rate);
        }
    }
    Cores::Shared.apply(cpus);
    if only.is_empty() || only == "mariadb" {
        tongshu_sources::testing::exec(&my_url, &format!("DROP TABLE {my_table}")).await;
    }
    drop(c);

    if only.is_empty() || only == "postgres" {
        one_writer(Db::Postgres, &url, source, "acct", &lake, secs).await;
    }
    if only.is_empty() || only == "mariadb" {
        let acct = format!("bench_acct_{}", std::process::id());
        one_writer(Db::Mariadb, &my_url, my_source, &acct, &lake, secs).await;
        tongshu_sources::testing::exec(&my_url, &format!("DROP TABLE {acct}")).await;
    }
}
