//! Issue 14 §5: two real `tongshu serve` processes on one PostgreSQL and one library behave
//! as one platform: a scheduled pull fires once across both, its job runs once, a job of a
//! node killed mid-run is finished by the other, and an interface quota holds across both.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use tongshu_store::{JobRecord, MetaStore};

/// One `tongshu serve` process; killed when dropped.
struct Node {
    child: Child,
    base: String,
    log: std::path::PathBuf,
    _out: BufReader<ChildStdout>,
}

impl Node {
    fn start(dir: &std::path::Path, url: &str, name: &str) -> Node {
        let log = dir.join(format!("node-{name}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_tongshu"))
            .args(["serve", "--data-dir", dir.to_str().unwrap(), "--database-url", url, "--addr", "127.0.0.1:0"])
            .env("TONGSHU_LOG", "info")
            .env("TONGSHU_JOB_LEASE_SECS", "2")
            .env("TONGSHU_SCHEDULE_TICK_SECS", "1")
            .env("TONGSHU_INTERFACE_CALLS_PER_MINUTE", "3")
            .env_remove("TONGSHU_DATABASE_URL")
            .env_remove("TONGSHU_CONFIG")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let addr = line.trim().trim_start_matches("listening on http://").trim_end_matches('/').to_owned();
        assert!(addr.contains(':'), "node {name} did not start: {line:?}\n{}", std::fs::read_to_string(&log).unwrap());
        Node { child, base: format!("http://{addr}"), log, _out: out }
    }

    /// Stops the process at once (SIGKILL): no shutdown, no lease given back.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(args: &[&str]) -> String {
    let o = super::tongshu(args);
    let (out, err) = super::text(&o);
    assert!(o.status.success(), "tongshu {args:?} failed: {err}");
    out
}

async fn jobs_of(store: &MetaStore, table: &str) -> Vec<JobRecord> {
    store.list_jobs(None, 200).await.unwrap().into_iter().filter(|j| j.table == table).collect()
}

/// Polls `f` every 200 ms until it gives a value, for at most `secs` seconds.
async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn rows_of(dir: &str, url: &str, table: &str) -> u64 {
    let out = run(&["table", "info", table, "--data-dir", dir, "--database-url", url, "--json"]);
    serde_json::from_str::<serde_json::Value>(&out).unwrap()["rows"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_share_jobs_schedules_and_quotas() {
    let Some(source_url) = tongshu_sources::testing::env_url("TONGSHU_TEST_POSTGRES_URL") else { return };
    let url = tongshu_store::testing::postgres_url().await.expect("a PostgreSQL test database");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    run(&["demo", "--data-dir", d, "--database-url", &url, "--rows", "50"]);
    // A department table to pull from; the slow pull's query sleeps 6 s, so that a node can be
    // stopped while the pull runs.
    let t = format!("nodes_src_{}", std::process::id());
    tongshu_sources::testing::exec(
        &source_url,
        &format!(
            "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id BIGINT PRIMARY KEY, name TEXT); INSERT INTO {t} VALUES (1, '甲'), (2, '乙'), (3, '丙')"
        ),
    )
    .await;
    run(&[
        "source",
        "add",
        "--data-dir",
        d,
        "--database-url",
        &url,
        "--name",
        "src",
        "--url",
        &source_url,
        "--org",
        "wjw",
    ]);
    let store = MetaStore::connect(&url).await.unwrap();
    let pull = |name: &str, table: &str, query: String| {
        run(&[
            "pull",
            "add",
            "--data-dir",
            d,
            "--database-url",
            &url,
            "--name",
            name,
            "--source",
            "src",
            "--table",
            table,
            "--query",
            &query,
            "--every",
            "1",
        ]);
    };

    // A killed node's job is finished by the other, once.
    let mut a = Node::start(dir.path(), &url, "a");
    pull("slow", "nodes_slow", format!("SELECT s.id, s.name FROM {t} s, (SELECT pg_sleep(6)) AS nap"));
    let running = wait_for(20, "the scheduled pull to run on node a", || async {
        jobs_of(&store, "nodes_slow").await.into_iter().find(|j| j.status == "running")
    })
    .await;
    assert_eq!(running.attempts, 1);
    let b = Node::start(dir.path(), &url, "b");
    a.kill();
    let finished = wait_for(60, "node b to finish node a's job", || async {
        jobs_of(&store, "nodes_slow")
            .await
            .into_iter()
            .find(|j| j.id == running.id && j.status != "running" && j.status != "queued")
    })
    .await;
    assert_eq!(finished.status, "succeeded", "{:?}\nnode b:\n{}", finished.error, b.log());
    assert_eq!(finished.attempts, 2, "taken up once more, by node b");
    assert_eq!(jobs_of(&store, "nodes_slow").await.len(), 1, "no second job was started for the same due time");
    assert_eq!(rows_of(d, &url, "nodes_slow"), 3, "the rows are in the table once");

    // A schedule fires once across two live nodes (node a restarted after its crash), and its
    // job runs once.
    let a = Node::start(dir.path(), &url, "a2");
    pull("fast", "nodes_fast", format!("SELECT id, name FROM {t}"));
    wait_for(20, "the fast pull to finish", || async {
        jobs_of(&store, "nodes_fast").await.into_iter().find(|j| j.status == "succeeded")
    })
    .await;
    // Several more ticks on each node: nothing fires again before the pull is due again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let jobs = jobs_of(&store, "nodes_fast").await;
    assert_eq!(jobs.len(), 1, "one job for one due time, across both nodes: {jobs:?}");
    assert_eq!(jobs[0].attempts, 1);
    assert_eq!(rows_of(d, &url, "nodes_fast"), 3);

    // An interface quota (3 calls a minute) holds across both nodes.
    let http = reqwest::Client::new();
    let signed_in = http
        .post(format!("{}/api/v1/session", a.base))
        .json(&serde_json::json!({"username": "consumer.ybj", "password": "Consumer@2026"}))
        .send()
        .await
        .unwrap();
    assert!(signed_in.status().is_success(), "{}", signed_in.status());
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let csrf = signed_in.json::<serde_json::Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();
    let created: serde_json::Value = http
        .post(format!("{}/api/v1/exchange/apps", b.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"name": "两节点核验"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (key, secret) = (created["app"]["app_key"].as_str().unwrap(), created["secret"].as_str().unwrap());
    // Taxpayer registrations are shared unconditionally: the request is granted at once.
    let entry_id = store.get_table("swj_nashuiren").await.unwrap().unwrap().entry_id.unwrap();
    let asked = http
        .post(format!("{}/api/v1/exchange/requests", a.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"entry_id": entry_id, "purpose": "参保单位纳税状态核验", "legal_basis": "《社会保险法》"}))
        .send()
        .await
        .unwrap();
    assert!(asked.status().is_success(), "{}", asked.text().await.unwrap());
    if time::OffsetDateTime::now_utc().second() >= 50 {
        tokio::time::sleep(Duration::from_secs(11)).await; // the calls fall in one minute
    }
    let path = "/api/v1/exchange/tables/swj_nashuiren/rows";
    let mut statuses = Vec::new();
    for (i, node) in [&a, &b, &a, &b].into_iter().enumerate() {
        use tongshu_exchange::signing;
        let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        let nonce = format!("two-nodes-{i}");
        let sig = signing::sign(secret, &signing::string_to_sign("GET", path, "limit=1", b"", &ts, &nonce));
        let r = http
            .get(format!("{}{path}?limit=1", node.base))
            .header(signing::APP_HEADER, key)
            .header(signing::TIMESTAMP_HEADER, &ts)
            .header(signing::NONCE_HEADER, &nonce)
            .header(signing::SIGNATURE_HEADER, sig)
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429], "three a minute for the app, counted once for both nodes");
    tongshu_sources::testing::exec(&source_url, &format!("DROP TABLE {t}")).await;
}

/// A pipeline under two `tongshu serve` nodes: exactly one runs it; when that node is
/// killed, the other takes it up after the lease and carries on from the table's position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_run_a_pipeline_once_and_the_survivor_takes_it_over() {
    let Some(admin) = tongshu_sources::testing::env_url("TONGSHU_TEST_POSTGRES_URL") else { return };
    let source = tongshu_sources::testing::fresh_postgres_database(&admin, "tongshu_ch_nodes", "tongshu_nodes").await;
    tongshu_sources::testing::exec(
        &source,
        "CREATE TABLE reg (id bigint PRIMARY KEY, name text); INSERT INTO reg SELECT g, '企业' || g FROM generate_series(1, 500) g",
    )
    .await;
    let url = tongshu_store::testing::postgres_url().await.expect("a PostgreSQL test database");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    run(&["demo", "--data-dir", d, "--database-url", &url, "--rows", "50"]);
    let name = format!("nodes{}", std::process::id());
    run(&[
        "source",
        "add",
        "--data-dir",
        d,
        "--database-url",
        &url,
        "--name",
        "regsrc",
        "--url",
        &source,
        "--org",
        "wjw",
    ]);
    let table = format!("--table=public.reg={name}_reg");
    run(&["channel", "add", "--data-dir", d, "--database-url", &url, "--name", &name, "--source", "regsrc", &table]);
    let store = MetaStore::connect(&url).await.unwrap();
    let mut a = Node::start(dir.path(), &url, "a");
    let mut b = Node::start(dir.path(), &url, "b");
    let streaming = |store: MetaStore, name: String| async move {
        let p = store.get_pipeline(&name).await.ok()?;
        (p.state == "streaming" && p.node.is_some()).then_some(p)
    };
    let p = wait_for(60, "the pipeline streams", || streaming(store.clone(), name.clone())).await;
    let holder = p.node.clone().unwrap();
    let lines = |n: &Node| n.log().matches("running pipeline").count();
    assert_eq!(lines(&a) + lines(&b), 1, "one node runs the pipeline:\n{}\n{}", a.log(), b.log());
    assert_eq!(rows_of(d, &url, &format!("{name}_reg")), 500);
    // Both nodes' Prometheus metrics show the pipeline as the store holds it.
    for n in [&a, &b] {
        let m = reqwest::get(format!("{}/metrics", n.base)).await.unwrap().text().await.unwrap();
        for want in [
            format!("tongshu_channel_state{{pipeline=\"{name}\",state=\"streaming\"}} 1"),
            format!("tongshu_channel_running{{pipeline=\"{name}\"}} 1"),
            format!("tongshu_channel_paused{{pipeline=\"{name}\"}} 0"),
            format!("tongshu_channel_snapshot_rows{{pipeline=\"{name}\",table=\"{name}_reg\"}} 500"),
        ] {
            assert!(m.contains(&want), "{want} not in\n{m}");
        }
    }
    // The draft catalog entry of the new table says how often it changes: 实时.
    let t = store.get_table(&format!("{name}_reg")).await.unwrap().expect("the table is recorded");
    let entry = store.get_entry(t.entry_id.unwrap()).await.unwrap();
    assert_eq!(entry.body.update_cycle.as_str(), "realtime");

    // Kill the holder; the other node takes over and applies what is written meanwhile.
    let (dead, alive) = if a.log().contains("running pipeline") { (&mut a, &b) } else { (&mut b, &a) };
    dead.kill();
    tongshu_sources::testing::exec(&source, "INSERT INTO reg VALUES (501, '新企业'); DELETE FROM reg WHERE id <= 10")
        .await;
    let took = wait_for(60, "the survivor takes the pipeline", || {
        let (store, name, holder) = (store.clone(), name.clone(), holder.clone());
        async move {
            let p = store.get_pipeline(&name).await.ok()?;
            (p.node.as_ref().is_some_and(|n| *n != holder) && p.state == "streaming").then_some(p)
        }
    })
    .await;
    assert!(alive.log().contains("running pipeline"), "{}", alive.log());
    wait_for(60, "the changes reach the library", || {
        let (d, url, t) = (d.to_owned(), url.clone(), format!("{name}_reg"));
        async move { (rows_of(&d, &url, &t) == 491).then_some(()) }
    })
    .await;
    // The survivor's own status (the claim alone may still carry the dead node's).
    let now = store.get_pipeline(&name).await.unwrap();
    assert!(
        now.node == took.node && now.table_status[0].snapshot_rows == 0,
        "the survivor resumed, it did not copy again: {now:?}"
    );
    let changes = format!("tongshu_channel_changes_total{{pipeline=\"{name}\",table=\"{name}_reg\"}} ");
    wait_for(30, "the survivor's changes are in the metrics", || {
        let (url, changes, name) = (format!("{}/metrics", alive.base), changes.clone(), name.clone());
        async move {
            let m = reqwest::get(url).await.ok()?.text().await.ok()?;
            let n: u64 = m.lines().find_map(|l| l.strip_prefix(&changes))?.trim().parse().ok()?;
            // The lag is known once a transaction has been applied.
            let lag = m.contains(&format!("tongshu_channel_lag_seconds{{pipeline=\"{name}\"}} "));
            (n >= 11 && lag).then_some(())
        }
    })
    .await;
    drop(a);
    drop(b);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The killed nodes' leases run out within seconds (later on a loaded machine).
    for i in 0.. {
        let o = super::tongshu(&["channel", "remove", &name, "--data-dir", d, "--database-url", &url]);
        if o.status.success() {
            break;
        }
        assert!(i < 20 && super::text(&o).1.contains("is running on"), "{}", super::text(&o).1);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
