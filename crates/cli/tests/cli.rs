//! The `tongshu` binary as a user runs it: help, wrong input, demo, accounts, serving.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};

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
    let (out, _) = text(&tongshu(&["demo", "--data-dir", d]));
    assert!(out.contains("demo city already loaded"), "{out}");

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
