//! The `tongshu` binary as a user runs it: help, wrong input, demo, accounts, serving.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};

#[path = "cli/channel.rs"]
mod channel;
#[path = "cli/nodes.rs"]
mod nodes;

fn tongshu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tongshu"))
        .args(args)
        .env_remove("TONGSHU_DATABASE_URL")
        .env_remove("TONGSHU_CONFIG")
        .env("TONGSHU_LOG", "warn")
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn every_subcommand_explains_its_flags() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["serve", "--help"], &["--addr", "--data-dir", "--config", "--database-url", "--demo"]),
        (&["demo", "--help"], &["--data-dir"]),
        (&["migrate", "--help"], &["--database-url"]),
        (&["user", "add", "--help"], &["--username", "--role", "--org", "--password"]),
        (&["user", "passwd", "--help"], &["--username"]),
        (&["systems", "import", "--help"], &["--data-dir", "--as", "--json", "系统名称"]),
        (&["projects", "report", "--help"], &["--output", "--json"]),
    ];
    for (args, flags) in cases {
        let o = tongshu(args);
        assert!(o.status.success(), "{args:?}");
        let (out, _) = text(&o);
        for f in *flags {
            assert!(out.contains(f), "{args:?} does not explain {f}:\n{out}");
        }
    }
    let (out, _) = text(&tongshu(&["config"]));
    assert!(out.contains("addr = \"127.0.0.1:8080\""));
    let (out, _) = text(&tongshu(&["openapi"]));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(doc["paths"]["/api/v1/catalog"].is_object());
}

#[test]
fn wrong_input_is_named_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = tongshu(&["serve", "--data-dir", d, "--addr", "nonsense"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("\"nonsense\" is not HOST:PORT"), "{}", text(&o).1);
    let o = tongshu(&["migrate", "--database-url", "mysql://x/y"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("unsupported database url"), "{}", text(&o).1);
    let o = tongshu(&["migrate", "--config", "/no/such/file.toml"]);
    assert!(text(&o).1.contains("/no/such/file.toml"));
    let o = tongshu(&["migrate", "--database-url", "postgres://u:hunter2@127.0.0.1:1/db"]);
    assert!(!o.status.success());
    assert!(!text(&o).1.contains("hunter2"), "passwords never reach the output");
    let o = tongshu(&["frobnicate"]);
    assert!(!o.status.success());
}

#[test]
fn demo_is_idempotent_and_accounts_are_managed_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (out, err) = text(&tongshu(&["demo", "--data-dir", d]));
    assert!(out.contains("demo city loaded"), "{out}{err}");
    assert!(out.contains("admin") && out.contains("Admin@2026"), "credentials are printed");
    // Seeding is quiet: the summary and the accounts, not a line per catalog change.
    assert!(!err.contains("catalog entry changed") && err.lines().count() < 10, "{err}");
    let (out, _) = text(&tongshu(&["demo", "--data-dir", d]));
    assert!(out.contains("demo city already loaded"), "{out}");
    // `tongshu table list | head`: a reader that goes away ends the listing quietly.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tongshu"))
        .args(["table", "list", "--data-dir", d])
        .env("TONGSHU_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && !err.contains("panicked"), "{:?} {err}", o.status);

    let o = tongshu(&[
        "user",
        "add",
        "--data-dir",
        d,
        "--username",
        "li.na",
        "--role",
        "king",
        "--org",
        "gaj",
        "--password",
        "Secret2026",
    ]);
    assert!(text(&o).1.contains("--role \"king\""), "{}", text(&o).1);
    let o = tongshu(&[
        "user",
        "add",
        "--data-dir",
        d,
        "--username",
        "li.na",
        "--role",
        "consumer",
        "--org",
        "nope",
        "--password",
        "Secret2026",
    ]);
    assert!(text(&o).1.contains("--org \"nope\""), "{}", text(&o).1);
    let o = tongshu(&[
        "user",
        "add",
        "--data-dir",
        d,
        "--username",
        "li.na",
        "--role",
        "consumer",
        "--org",
        "gaj",
        "--password",
        "short",
    ]);
    assert!(!o.status.success() && text(&o).1.contains("password must be"), "{}", text(&o).1);
    let o = tongshu(&[
        "user",
        "add",
        "--data-dir",
        d,
        "--username",
        "li.na",
        "--role",
        "consumer",
        "--org",
        "gaj",
        "--password",
        "Secret2026",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = tongshu(&[
        "user",
        "add",
        "--data-dir",
        d,
        "--username",
        "li.na",
        "--role",
        "consumer",
        "--org",
        "gaj",
        "--password",
        "Secret2026",
    ]);
    assert!(text(&o).1.contains("already exists"));

    // The new password comes from standard input.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tongshu"))
        .args(["user", "passwd", "--data-dir", d, "--username", "li.na"])
        .env("TONGSHU_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"NewSecret2027\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o).1);
    let o = tongshu(&["user", "passwd", "--data-dir", d, "--username", "nobody", "--password", "Whatever2026"]);
    assert!(text(&o).1.contains("not found"), "{}", text(&o).1);
}

#[test]
fn serve_answers_on_the_address_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tongshu"))
        .args(["serve", "--data-dir", dir.path().to_str().unwrap(), "--addr", "127.0.0.1:0"])
        .env("TONGSHU_LOG", "warn")
        .env_remove("TONGSHU_DATABASE_URL")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    let addr = line.trim_start_matches("listening on http://").trim_end_matches('/').to_owned();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.ends_with("ready"));
    assert!(dir.path().join("meta.db").exists(), "the embedded store lives in the data directory");
}

#[test]
fn ingest_table_and_sql_keep_their_command_line_contract() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert!(tongshu(&["demo", "--data-dir", d]).status.success());
    let csv = dir.path().join("企业.csv");
    std::fs::write(&csv, "统一社会信用代码,企业名称,注册资本\n91371300MA3C000018,临沂商城物流有限公司,500.5\n91371302MA3D000027,兰山区农机合作社,80\n").unwrap();
    let csv = csv.to_str().unwrap();
    let o = tongshu(&["ingest", "--data-dir", d, "--table", "scjg_qiye", "--file", csv, "--create", "--org", "scjgj"]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(text(&o).0.contains("committed version 1 of table scjg_qiye: 2 rows written"), "{}", text(&o).0);

    let (out, _) = text(&tongshu(&["table", "info", "scjg_qiye", "--data-dir", d, "--json"]));
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((info["version"].as_u64(), info["rows"].as_u64()), (Some(1), Some(2)));
    assert!(info["uri"].as_str().unwrap().starts_with("file://"));
    let (out, _) = text(&tongshu(&["table", "list", "--data-dir", d]));
    let line = out.lines().find(|l| l.starts_with("scjg_qiye")).unwrap_or_default();
    let today = time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap()).date();
    assert!(line.contains(&today.to_string()), "the last update is listed: {out}");
    // The history in words: who, from what, what changed (no raw metrics, no nulls).
    let (out, _) = text(&tongshu(&["table", "history", "scjg_qiye", "--data-dir", d]));
    assert!(out.contains("2 rows added") && !out.contains("null") && !out.contains("num_added"), "{out}");

    // A bad row: non-zero exit, the place named on stderr, nothing committed.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "统一社会信用代码,企业名称,注册资本\n91371300MA3C000034,坏数据公司,五百万\n").unwrap();
    let o = tongshu(&["ingest", "--data-dir", d, "--table", "scjg_qiye", "--file", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("row 2, column \"注册资本\", value \"五百万\""), "{}", text(&o).1);
    let o = tongshu(&[
        "ingest",
        "--data-dir",
        d,
        "--table",
        "scjg_qiye",
        "--file",
        bad.to_str().unwrap(),
        "--on-bad-rows",
        "quarantine",
    ]);
    // Quarantining every row leaves nothing to write: refused, and no empty version.
    assert!(!o.status.success(), "{}", text(&o).0);
    assert!(text(&o).1.contains("nothing was written"), "{}", text(&o).1);
    let (out, _) = text(&tongshu(&["table", "info", "scjg_qiye", "--data-dir", d, "--json"]));
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["version"].as_u64(), Some(1), "no version was committed");

    let (out, _) = text(&tongshu(&[
        "sql",
        "--data-dir",
        d,
        "--format",
        "csv",
        "SELECT \"企业名称\" FROM scjg_qiye ORDER BY \"注册资本\"",
    ]));
    assert_eq!(out, "企业名称\n兰山区农机合作社\n临沂商城物流有限公司\n");
    let (out, _) = text(&tongshu(&["sql", "--data-dir", d, "--format", "json", "SELECT COUNT(*) AS n FROM scjg_qiye"]));
    assert_eq!(out.trim(), "[{\"n\":2}]");
    let (out, _) = text(&tongshu(&[
        "sql",
        "--data-dir",
        d,
        "--as-of",
        "scjg_qiye=0",
        "--format",
        "csv",
        "SELECT COUNT(*) AS n FROM scjg_qiye",
    ]));
    assert_eq!(out, "n\n0\n", "version 0 is the empty table");

    let out_path = dir.path().join("qiye.csv");
    let o =
        tongshu(&["export", "--data-dir", d, "--table", "scjg_qiye", "--bom", "--output", out_path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    let exported = std::fs::read(&out_path).unwrap();
    assert!(exported.starts_with(b"\xEF\xBB\xBF"), "Excel-friendly BOM");
    assert_eq!(String::from_utf8_lossy(&exported[3..]).lines().count(), 3);
    let (out, _) = text(&tongshu(&[
        "export",
        "--data-dir",
        d,
        "--query",
        "SELECT COUNT(*) AS n FROM scjg_qiye",
        "--format",
        "ndjson",
    ]));
    assert_eq!(out.trim(), "{\"n\":2}");
    let o = tongshu(&["export", "--data-dir", d, "--table", "scjg_qiye", "--format", "parquet"]);
    assert!(text(&o).1.contains("--output"));

    for (args, expect) in [
        (vec!["sql", "--data-dir", d, "DELETE FROM scjg_qiye"], "not supported"),
        (vec!["ingest", "--data-dir", d, "--table", "scjg_qiye", "--file", csv, "--mode", "merge"], "--mode \"merge\""),
        (vec!["ingest", "--data-dir", d, "--table", "scjg_qiye", "--file", csv, "--mode", "upsert"], "key"),
        (
            vec!["ingest", "--data-dir", d, "--table", "scjg_qiye", "--file", csv, "--encoding", "latin1"],
            "--encoding \"latin1\"",
        ),
        (vec!["ingest", "--data-dir", d, "--table", "Bad Name", "--file", csv], "bad table name"),
        (vec!["ingest", "--data-dir", d, "--table", "nope", "--file", csv], "does not exist"),
        (vec!["ingest", "--data-dir", d, "--table", "scjg_qiye", "--file", "/no/file.csv"], "/no/file.csv"),
    ] {
        let o = tongshu(&args);
        assert!(!o.status.success(), "{args:?}");
        assert!(text(&o).1.contains(expect), "{args:?}: {}", text(&o).1);
    }

    // Upserts and deletes: no library warnings, and a delete does not note the columns it
    // does not need.
    let o = tongshu(&[
        "ingest",
        "--data-dir",
        d,
        "--table",
        "scjg_qiye",
        "--file",
        csv,
        "--mode",
        "upsert",
        "--key",
        "统一社会信用代码",
    ]);
    assert!(o.status.success() && !text(&o).1.contains("WARN"), "{}", text(&o).1);
    let keys = dir.path().join("keys.csv");
    std::fs::write(&keys, "统一社会信用代码\n91371302MA3D000027\n").unwrap();
    let keys = keys.to_str().unwrap();
    let o = tongshu(&[
        "ingest",
        "--data-dir",
        d,
        "--table",
        "scjg_qiye",
        "--file",
        keys,
        "--mode",
        "delete",
        "--key",
        "统一社会信用代码",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success() && !err.contains("WARN") && !out.contains("not in the file"), "{out}{err}");
    assert!(out.contains("1 deleted"), "{out}");
}

#[test]
fn a_postgres_table_is_pulled_incrementally_from_the_command_line() {
    let Some(url) = tongshu_sources::testing::env_url("TONGSHU_TEST_POSTGRES_URL") else { return };
    let psql = |sql: &str| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(tongshu_sources::testing::exec(&url, sql));
    };
    let t = format!("cli_births_{}", std::process::id());
    psql(&format!(
        "DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id BIGINT PRIMARY KEY, name TEXT); INSERT INTO {t} VALUES (1, '甲'), (2, '乙')"
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert!(tongshu(&["demo", "--data-dir", d, "--rows", "50"]).status.success());
    let o = tongshu(&["source", "add", "--data-dir", d, "--name", "wjw", "--url", &url, "--org", "wjw"]);
    assert!(o.status.success(), "{}", text(&o).1);
    let password = url::Url::parse(&url).unwrap().password().unwrap_or_default().to_owned();
    let (out, _) = text(&tongshu(&["source", "list", "--data-dir", d]));
    assert!(out.contains("wjw") && !out.contains(&format!(":{password}@")), "{out}");
    let query = format!("SELECT id, name FROM {t}");
    let o = tongshu(&[
        "pull",
        "add",
        "--data-dir",
        d,
        "--name",
        "births",
        "--source",
        "wjw",
        "--table",
        "wjw_births",
        "--query",
        &query,
        "--incremental",
        "id",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = tongshu(&["pull", "run", "births", "--data-dir", d]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(text(&o).0.contains("high-water mark: 2"), "{}", text(&o).0);
    psql(&format!("INSERT INTO {t} VALUES (3, '丙')"));
    let o = tongshu(&["pull", "run", "births", "--data-dir", d, "--json"]);
    let report: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(report["rows_read"], 1, "only the new row");
    let (out, _) = text(&tongshu(&["table", "info", "wjw_births", "--data-dir", d, "--json"]));
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((info["version"].as_u64(), info["rows"].as_u64()), (Some(2), Some(3)));
    // The list shows when each pull last ran (Beijing time) and how it went.
    let (out, _) = text(&tongshu(&["pull", "list", "--data-dir", d]));
    let line = out.lines().find(|l| l.starts_with("births")).unwrap_or_default();
    let today = time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap()).date();
    assert!(line.contains(&today.to_string()) && !line.contains("never"), "{out}");
    let o = tongshu(&["pull", "run", "nope", "--data-dir", d]);
    assert!(!o.status.success() && text(&o).1.contains("nope"));
    psql(&format!("DROP TABLE {t}"));
}

#[test]
fn a_library_on_s3_is_configured_in_the_config_file() {
    let endpoint = match std::env::var("TONGSHU_TEST_S3_ENDPOINT") {
        Ok(u) if !u.is_empty() => u,
        _ if std::env::var_os("CI").is_some() => panic!("TONGSHU_TEST_S3_ENDPOINT must be set under CI"),
        _ => return,
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let config = dir.path().join("tongshu.toml");
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    std::fs::write(
        &config,
        format!(
            "library = \"s3://tongshu-test/cli-{}-{nanos}\"\n[library_options]\nAWS_ENDPOINT_URL = \"{endpoint}\"\n\
             AWS_ACCESS_KEY_ID = \"tongshu\"\nAWS_SECRET_ACCESS_KEY = \"very-secret\"\nAWS_REGION = \"us-east-1\"\n\
             AWS_ALLOW_HTTP = \"true\"\nAWS_S3_ALLOW_UNSAFE_RENAME = \"true\"\n",
            std::process::id()
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    assert!(tongshu(&["demo", "--config", c, "--data-dir", d, "--rows", "20"]).status.success());
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "编号,名称\n1,甲\n2,乙\n").unwrap();
    let o = tongshu(&[
        "ingest",
        "--config",
        c,
        "--data-dir",
        d,
        "--table",
        "s3_t",
        "--file",
        csv.to_str().unwrap(),
        "--create",
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    let (out, _) = text(&tongshu(&["table", "info", "s3_t", "--config", c, "--data-dir", d, "--json"]));
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(info["uri"].as_str().unwrap().starts_with("s3://tongshu-test/cli-"), "{info}");
    assert_eq!(info["rows"], 2);
    let (out, _) =
        text(&tongshu(&["sql", "--config", c, "--data-dir", d, "--format", "csv", "SELECT COUNT(*) AS n FROM s3_t"]));
    assert_eq!(out.trim(), "n\n2");
}

#[test]
fn audit_verify_exits_zero_on_an_intact_log_and_names_the_first_broken_record() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert!(tongshu(&["migrate", "--data-dir", d]).status.success());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = format!("sqlite://{}", dir.path().join("meta.db").display());
    let store = rt.block_on(tongshu_store::MetaStore::connect(&url)).unwrap();
    for i in 1..=3 {
        let f = tongshu_core::evidence::EvidenceFields {
            at: format!("2026-11-29T08:00:0{i}Z"),
            kind: "call".into(),
            subject: "table:t".into(),
            status: 200,
            ..Default::default()
        };
        rt.block_on(store.append_evidence(&f)).unwrap();
    }
    let o = tongshu(&["audit", "verify", "--data-dir", d]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("intact: 3 records"), "{}", text(&o).0);
    rt.block_on(tongshu_store::testing::execute(&store, "UPDATE evidence SET status = 500 WHERE seq = 2")).unwrap();
    rt.block_on(store.close());
    let o = tongshu(&["audit", "verify", "--data-dir", d]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("evidence record 2"), "{}", text(&o).1);
    let o = tongshu(&["audit", "verify", "--data-dir", dir.path().join("nowhere").to_str().unwrap()]);
    assert!(!o.status.success() && text(&o).1.contains("no metadata store"), "{}", text(&o).1);
}

/// Logical centralization from the command line: a PostgreSQL table registered as an
/// external table is read in place by `tongshu sql`; wrong input is named, nothing kept.
#[test]
fn an_external_table_is_queried_in_place_from_the_command_line() {
    let Some(pg) = tongshu_sources::testing::env_url("TONGSHU_TEST_POSTGRES_URL") else { return };
    let table = format!("cli_ext_{}", std::process::id());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(tongshu_sources::testing::exec(
        &pg,
        &format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id int PRIMARY KEY, name text); \
             INSERT INTO {table} SELECT g, '户' || g FROM generate_series(1, 40) g"
        ),
    ));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert!(tongshu(&["demo", "--data-dir", d, "--rows", "20"]).status.success());
    let o = tongshu(&["source", "add", "--data-dir", d, "--name", "ext_pg", "--url", &pg, "--org", "gaj"]);
    assert!(o.status.success(), "{}", text(&o).1);

    let o = tongshu(&[
        "external",
        "add",
        "--data-dir",
        d,
        "--name",
        "hu",
        "--source",
        "ext_pg",
        "--table",
        "public.nosuch",
    ]);
    assert!(!o.status.success() && text(&o).1.contains("nosuch"), "{}", text(&o).1);
    let o = tongshu(&["external", "add", "--data-dir", d, "--name", "hu", "--source", "no_src", "--table", "t"]);
    assert!(!o.status.success() && text(&o).1.contains("no_src"), "{}", text(&o).1);
    let (out, _) = text(&tongshu(&["external", "list", "--data-dir", d]));
    assert_eq!(out.lines().count(), 1, "only the header: {out}");

    let source_table = format!("public.{table}");
    let o =
        tongshu(&["external", "add", "--data-dir", d, "--name", "hu", "--source", "ext_pg", "--table", &source_table]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = tongshu(&[
        "sql",
        "--data-dir",
        d,
        "--format",
        "csv",
        "SELECT COUNT(*) AS n, MAX(name) AS m FROM hu WHERE id > 30",
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success() && out.contains("10,户40"), "{out}{err}");
    let o = tongshu(&["external", "remove", "--data-dir", d, "--name", "hu"]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = tongshu(&["sql", "--data-dir", d, "SELECT * FROM hu"]);
    assert!(!o.status.success() && text(&o).1.contains("hu"), "{}", text(&o).1);
    rt.block_on(tongshu_sources::testing::exec(&pg, &format!("DROP TABLE {table}")));
}

#[test]
fn the_system_inventory_is_imported_from_a_spreadsheet_and_checked_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert!(tongshu(&["demo", "--data-dir", d, "--rows", "20"]).status.success());
    // The bureau's list as people keep it: full-width digits, N/A, costs in 万元, a
    // department that does not exist, a blank line.
    let xlsx = dir.path().join("系统清单.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let rows: [[&str; 6]; 4] = [
        ["系统名称", "系统类型", "主管部门", "年运维费用（万元）", "访问地址", "等保级别"],
        ["婚姻登记管理系统", "业务系统", "临沂市民政局", "２３.５", "hy.mzj.linyi.gov.cn", "三级"],
        ["外星人登记系统", "业务系统", "市外星局", "1", "", ""],
        ["平安临沂", "微信公众号", "gaj", "N/A", "", "N/A"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    wb.save(&xlsx).unwrap();
    let o = tongshu(&["systems", "import", "--data-dir", d, xlsx.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("3 rows, 2 systems added, 1 rows refused"), "{out}");
    assert!(out.contains("row 3, column 主管部门 = \"市外星局\": 没有这个部门"), "{out}");
    // A second import of the same file adds nothing and says why.
    let (out, _) = text(&tongshu(&["systems", "import", "--data-dir", d, xlsx.to_str().unwrap()]));
    assert!(out.contains("0 systems added, 3 rows refused") && out.contains("已在该部门的系统清单中"), "{out}");
    let o = tongshu(&["systems", "list", "--data-dir", d, "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let marriage = list.as_array().unwrap().iter().find(|s| s["name"] == "婚姻登记管理系统").unwrap();
    assert_eq!((marriage["cost_per_year"].as_i64(), marriage["security_level"].as_i64()), (Some(235_000), Some(3)));
    assert_eq!(marriage["urls"], serde_json::json!(["http://hy.mzj.linyi.gov.cn/"]));
    // The check judges by what is known (no probes were asked for): no users recorded and
    // no project is a semi-zombie's sign.
    let o = tongshu(&["systems", "check", "--data-dir", d]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("semi_zombie  婚姻登记管理系统 (ticket"), "{out}");
    // Wrong input is named.
    let o = tongshu(&["systems", "import", "--data-dir", d, "/nonexistent/清单.xlsx"]);
    assert!(!o.status.success() && text(&o).1.contains("no such file"), "{}", text(&o).1);
    let o = tongshu(&["projects", "report", "--data-dir", d, "99", "--output", "x.xlsx"]);
    assert!(!o.status.success() && text(&o).1.contains("evaluation round 99"), "{}", text(&o).1);
    let o = tongshu(&["systems", "check", "--data-dir", d, "--as", "officer.gaj"]);
    assert!(!o.status.success() && text(&o).1.contains("only the bureau"), "{}", text(&o).1);
}
