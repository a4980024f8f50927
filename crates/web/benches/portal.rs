//! Open portal benchmarks (issue 4), side by side with datasette in one run:
//!  1. the native row API and CKAN's `datastore_search` on a ROWS-row public table, 16
//!     concurrent clients, a mix of filtered pages and deep pages: requests/s and p99,
//!     against datasette serving the same rows from SQLite with indexes on the filtered
//!     columns (its `_next` keyset pages for the deep ones);
//!  2. the first page with an exact total on the table (CKAN 2.12 takes 1.76 s on 13M rows);
//!  3. search over a catalog of 10,000 listed entries (the demo's and synthetic ones):
//!     p50/p99 over HTTP.
//!
//! Run: `cargo bench -p tongshu-web --bench portal -- [ROWS] [SECONDS]` (defaults
//! 10,000,000 rows, 20 s per load). Needs `python3 -m pip install datasette`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tongshu_accounts::Accounts;
use tongshu_web::{AppState, WebSettings};

const CLIENTS: usize = 16;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs `CLIENTS` clients for `secs`, each calling `next(i)` URLs in turn. Returns
/// requests/s, p50 and p99; panics on any non-200 answer.
async fn load(name: &str, secs: u64, urls: Arc<dyn Fn(usize) -> String + Send + Sync>) -> (f64, Duration, Duration) {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CLIENTS).build().unwrap();
    let until = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, urls) = (client.clone(), urls.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut i = c;
            while Instant::now() < until {
                let url = urls(i);
                let t = Instant::now();
                let r = client.get(&url).send().await.unwrap();
                let status = r.status();
                let _ = r.bytes().await.unwrap();
                assert!(status.is_success(), "{url}: {status}");
                times.push(t.elapsed());
                i += CLIENTS;
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let rps = all.len() as f64 / secs as f64;
    let (p50, p99) = (percentile(&all, 0.5), percentile(&all, 0.99));
    println!("   {name:<44} {rps:>9.0} req/s   p50 {:>7.1} ms   p99 {:>7.1} ms", ms(p50), ms(p99));
    (rps, p50, p99)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A CSV of `rows` firms with the columns of the demo's firm entries.
fn firms_csv(path: &std::path::Path, id_col: &str, rows: usize) {
    use std::io::Write;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    writeln!(w, "统一社会信用代码,单位名称,法定代表人,住所,成立日期,{id_col},办理日期,状态,更新时间").unwrap();
    let states = ["存续", "在业", "注销", "吊销", "迁出"];
    let districts = [
        "兰山区",
        "罗庄区",
        "河东区",
        "沂南县",
        "郯城县",
        "沂水县",
        "兰陵县",
        "费县",
        "平邑县",
        "莒南县",
        "蒙阴县",
        "临沭县",
    ];
    for i in 0..rows {
        let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        writeln!(
            w,
            "91371300{:010},临沂{}第{i}商贸有限公司,王{},{}{}号,20{:02}-{:02}-{:02},{i},2020-{:02}-{:02},{},2024-01-01 09:00:00",
            h % 10_000_000_000,
            districts[(h >> 8) as usize % 12],
            h % 1000,
            districts[(h >> 16) as usize % 12],
            h % 500,
            (h >> 20) % 24,
            1 + (h >> 24) % 12,
            1 + (h >> 28) % 28,
            1 + (h >> 32) % 12,
            1 + (h >> 36) % 28,
            states[(h >> 40) as usize % 5],
        )
        .unwrap();
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let rows: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let secs: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "/tmp".into())).unwrap();
    let store = tongshu_store::testing::sqlite_store(dir.path()).await.unwrap();
    tongshu_demo::seed(&store).await.unwrap();
    let t = Instant::now();
    let listed = store.list_entries(&Default::default()).await.unwrap().total as usize;
    let more = tongshu_demo::seed_more_entries(&store, 10_000usize.saturating_sub(listed)).await.unwrap();
    println!("== {more} more catalog entries listed in {:.1} s", t.elapsed().as_secs_f64());
    let lake = tongshu_lake::Library::open(dir.path().join("library").to_str().unwrap(), Default::default()).unwrap();
    let library = tongshu_library::LibraryService::new(lake, store.clone());
    let settings = WebSettings {
        public_rate_per_minute: 0,
        key_rate_per_minute: 0,
        upload_dir: dir.path().join("up"),
        ..WebSettings::default()
    };
    let state = AppState::new(store.clone(), Accounts::new(store.clone()), library.clone(), settings);
    let portal = state.portal.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(tongshu_web::serve(listener, state, std::future::pending()));
    portal.refresh().await.unwrap();

    // An open firm dataset without a table gets the big one.
    let ds = portal
        .datasets()
        .into_iter()
        .find(|d| d.tables.is_empty() && d.rows_public() && d.entry.body.items.iter().any(|i| i.name == "单位名称"))
        .expect("an open firm dataset");
    let id_col = ds.entry.body.items.iter().find(|i| i.name.ends_with("编号")).unwrap().name.clone();
    let csv = dir.path().join("firms.csv");
    println!("== {rows} rows of firms for {:?} ({})", ds.entry.body.name, ds.name);
    firms_csv(&csv, &id_col, rows);
    let admin = store.list_users().await.unwrap().into_iter().find(|u| u.username == "admin").unwrap().principal();
    let t = Instant::now();
    let req = tongshu_lake::IngestRequest {
        create: true,
        ..tongshu_lake::IngestRequest::new("bench_firms", csv.clone(), "bench")
    };
    library.create_for_entry(&admin, req, ds.entry.id).await.unwrap();
    println!("   ingested in {:.1} s", t.elapsed().as_secs_f64());
    portal.refresh().await.unwrap();
    let files = library.lake().info("bench_firms").await.unwrap().files as usize;
    let version = library.lake().info("bench_firms").await.unwrap().version;

    // datasette over SQLite with the same rows, indexes on the filtered columns.
    let db = dir.path().join("firms.db");
    let t = Instant::now();
    let import = std::process::Command::new("python3")
        .args([
            "-c",
            r#"
import csv, sqlite3, sys
con = sqlite3.connect(sys.argv[2])
con.execute("PRAGMA journal_mode=OFF"); con.execute("PRAGMA synchronous=OFF")
r = csv.reader(open(sys.argv[1], encoding="utf-8"))
head = next(r)
con.execute("CREATE TABLE firms (" + ", ".join('"%s"' % h for h in head) + ")")
con.executemany("INSERT INTO firms VALUES (" + ",".join("?" * len(head)) + ")", r)
con.execute('CREATE INDEX firms_state ON firms ("状态")')
con.execute('CREATE INDEX firms_date ON firms ("办理日期")')
con.commit()
"#,
        ])
        .arg(&csv)
        .arg(&db)
        .status()
        .unwrap();
    assert!(import.success(), "sqlite import");
    println!("   SQLite database built for datasette in {:.1} s", t.elapsed().as_secs_f64());
    let port = 18_000 + (std::process::id() % 1000) as u16;
    let mut datasette = std::process::Command::new("python3")
        .args(["-m", "datasette", "serve", "--immutable"])
        .arg(&db)
        .args([
            "--port",
            &port.to_string(),
            "--setting",
            "max_returned_rows",
            "1000",
            "--setting",
            "sql_time_limit_ms",
            "60000",
            "--setting",
            "num_sql_threads",
            "4",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("datasette (python3 -m pip install datasette)");
    let ds_site = format!("http://127.0.0.1:{port}");
    for _ in 0..300 {
        if reqwest::get(format!("{ds_site}/-/versions.json")).await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let states = ["存续", "在业", "注销", "吊销", "迁出"];
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let (st, dt) = (enc("状态"), enc("办理日期"));
    println!("== 1. filtered and deep pages, {CLIENTS} clients, {secs} s each");
    // Filtered: one state and one month, 100 rows. Deep: 100 rows from a position far in.
    let native = {
        let (site, st, dt) = (site.clone(), st.clone(), dt.clone());
        Arc::new(move |i: usize| {
            if i.is_multiple_of(2) {
                let m = 1 + i / 2 % 12;
                format!(
                    "{site}/api/v1/open/tables/bench_firms/rows?{st}={}&{dt}__gte=2020-{m:02}-01&{dt}__lt=2020-{m:02}-28&limit=100&total=none",
                    enc(states[i / 2 % 5])
                )
            } else {
                let file = (i / 2) % files;
                format!(
                    "{site}/api/v1/open/tables/bench_firms/rows?limit=100&total=none&cursor={version}-{file}-{}",
                    (i * 7919) % 100_000
                )
            }
        }) as Arc<dyn Fn(usize) -> String + Send + Sync>
    };
    let ckan = {
        let site = site.clone();
        Arc::new(move |i: usize| {
            let filters = enc(&format!("{{\"状态\": \"{}\"}}", states[i % 5]));
            if i.is_multiple_of(2) {
                format!(
                    "{site}/api/3/action/datastore_search?resource_id=bench_firms&filters={filters}&limit=100&include_total=false"
                )
            } else {
                format!(
                    "{site}/api/3/action/datastore_search?resource_id=bench_firms&limit=100&include_total=false&offset={}",
                    (i * 7919) % (rows / 2)
                )
            }
        }) as Arc<dyn Fn(usize) -> String + Send + Sync>
    };
    let dsette = {
        let (ds_site, st, dt) = (ds_site.clone(), st.clone(), dt.clone());
        Arc::new(move |i: usize| {
            if i.is_multiple_of(2) {
                let m = 1 + i / 2 % 12;
                format!(
                    "{ds_site}/firms/firms.json?{st}={}&{dt}__gte=2020-{m:02}-01&{dt}__lt=2020-{m:02}-28&_size=100&_nocount=1",
                    enc(states[i / 2 % 5])
                )
            } else {
                format!("{ds_site}/firms/firms.json?_size=100&_nocount=1&_next={}", (i * 7919) % rows)
            }
        }) as Arc<dyn Fn(usize) -> String + Send + Sync>
    };
    let (ours, _, ours_p99) = load("Tongshu native row API (filtered + cursor)", secs, native).await;
    let (ck, _, ck_p99) = load("Tongshu CKAN datastore_search (+ offset)", secs, ckan).await;
    let (theirs, _, theirs_p99) = load("datasette over indexed SQLite (+ _next)", secs, dsette).await;
    println!(
        "   ratio native/datasette: {:.2}x req/s (p99 {:.1} vs {:.1} ms)",
        ours / theirs,
        ms(ours_p99),
        ms(theirs_p99)
    );
    println!(
        "   ratio datastore_search/datasette: {:.2}x req/s (p99 {:.1} vs {:.1} ms)",
        ck / theirs,
        ms(ck_p99),
        ms(theirs_p99)
    );

    println!("== 2. first page with an exact total ({rows} rows; CKAN 2.12: 1.76 s on 13M)");
    let client = reqwest::Client::new();
    for (name, url) in [
        ("native, no filter", format!("{site}/api/v1/open/tables/bench_firms/rows?limit=100&total=exact")),
        (
            "datastore_search, no filter",
            format!("{site}/api/3/action/datastore_search?resource_id=bench_firms&limit=100"),
        ),
        (
            "native, filtered by 状态",
            format!("{site}/api/v1/open/tables/bench_firms/rows?{st}={}&limit=100&total=exact", enc("注销")),
        ),
    ] {
        let mut times = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let r = client.get(&url).send().await.unwrap();
            assert!(r.status().is_success());
            let _ = r.bytes().await.unwrap();
            times.push(t.elapsed());
        }
        times.sort();
        println!("   {name:<32} median {:>8.1} ms", ms(times[2]));
    }

    let entries = store.list_entries(&Default::default()).await.unwrap().total;
    println!("== 3. search over {entries} catalog entries ({} public datasets), 1 client", portal.datasets().len());
    let words = ["企业", "人口", "公交", "学校", "医疗", "社保", "环境", "旅游", "qiye", "电力"];
    let mut times = Vec::new();
    for i in 0..500 {
        let url = format!("{site}/api/3/action/package_search?q={}&rows=20", enc(words[i % words.len()]));
        let t = Instant::now();
        let r = client.get(&url).send().await.unwrap();
        assert!(r.status().is_success());
        let _ = r.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!("   package_search p50 {:.1} ms, p99 {:.1} ms", ms(percentile(&times, 0.5)), ms(percentile(&times, 0.99)));
    let _ = datasette.kill();
    let _ = datasette.wait();
}
