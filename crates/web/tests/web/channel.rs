//! The real-time channel's pipelines over HTTP and in pages, as every node reads them from
//! the store (the runner here is simulated by its reports; the channel crate's own tests
//! run real pipelines): the owning department and the platform see and hold them, other
//! departments do not; a real-time table shows its lag, and its freshness follows it.

use reqwest::StatusCode;
use serde_json::json;
use tongshu_store::{ChannelSample, ChannelTable, ChannelTableStatus, PipelineReport};

use crate::support::{client, spawn_app};

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn a_pipeline_is_shown_and_held_by_its_department_and_by_no_other() {
    let app = spawn_app().await;
    let gaj = app.org_id("gaj").await;
    let source = app
        .store
        .add_source("gaj_hukou", gaj, "postgres", "10.0.0.5", 5432, "hukou", "cdc", "sealed", "officer.gaj", "+08:00")
        .await
        .unwrap();
    let tables = vec![ChannelTable { source: "public.people".into(), target: "gaj_rt_people".into(), keys: vec![] }];
    app.store.add_pipeline("hukou", source.id, &tables, 500, 20_000, "officer.gaj").await.unwrap();
    assert!(app.store.lease_pipeline("hukou", "node-a", now(), now() + 60).await.unwrap());
    let report = |lag_ms: i64| PipelineReport {
        state: "streaming".into(),
        message: String::new(),
        tables: vec![ChannelTableStatus {
            target: "gaj_rt_people".into(),
            position: Some(123_456),
            snapshot_rows: 5000,
            snapshot_sessions: 2,
            changes: 42,
        }],
        confirmed: Some(123_456),
        lag_ms: Some(lag_ms),
        log_bytes: Some(3 << 20),
    };
    assert!(app.store.report_pipeline("hukou", "node-a", &report(1500)).await.unwrap());
    for (i, changes) in [0, 100, 250].into_iter().enumerate() {
        let s = ChannelSample {
            at: now() - 30 + 10 * i as i64,
            lag_ms: Some(1000 + 200 * i as i64),
            changes,
            log_bytes: None,
        };
        app.store.add_channel_sample("hukou", &s).await.unwrap();
    }

    // The owning department sees it, with lag, log bytes and its table.
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let (status, list) = officer.get(&app, "/api/v1/channel/pipelines").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let p = &list[0];
    assert_eq!(
        (p["name"].as_str(), p["state"].as_str(), p["lag_ms"].as_i64()),
        (Some("hukou"), Some("streaming"), Some(1500))
    );
    assert_eq!(
        (p["log_bytes"].as_i64(), p["running"].as_bool(), p["node"].as_str()),
        (Some(3 << 20), Some(true), Some("node-a"))
    );
    assert_eq!(
        p["tables"][0],
        json!({"source": "public.people", "target": "gaj_rt_people", "keys": [], "position": 123456, "position_text": "0/1E240", "snapshot_rows": 5000, "snapshot_sessions": 2, "changes": 42})
    );
    let (status, detail) = officer.get(&app, "/api/v1/channel/pipelines/hukou").await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["samples"].as_array().unwrap().len(), 3);

    // Another department neither sees nor holds it; nor does an anonymous caller.
    let other = app.sign_in("officer.mzj", "Officer@2026").await;
    let (status, list) = other.get(&app, "/api/v1/channel/pipelines").await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));
    let (status, _) = other.get(&app, "/api/v1/channel/pipelines/hukou").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = other.post(&app, "/api/v1/channel/pipelines/hukou/pause", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(app.store.get_pipeline("hukou").await.unwrap().paused.is_none(), "a refused pause holds nothing");
    let anon = client().get(format!("http://{}/api/v1/channel/pipelines", app.addr)).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = officer.get(&app, "/api/v1/channel/pipelines/nosuch").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Pause, then resume accepting a schema change; the store holds it for every node.
    let (status, paused) = officer.post(&app, "/api/v1/channel/pipelines/hukou/pause", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert_eq!(paused["paused"], json!("paused by officer.gaj"));
    let (status, err) = officer.post(&app, "/api/v1/channel/pipelines/hukou/resume", json!({"accept": "yes"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, resumed) = officer.post(&app, "/api/v1/channel/pipelines/hukou/resume", json!({"accept": true})).await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    let stored = app.store.get_pipeline("hukou").await.unwrap();
    assert!(stored.paused.is_none() && stored.accept_schema);

    // The pages: the list, and the detail with its charts.
    let page = officer.client.get(app.url("/channel")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("hukou") && page.contains("实时同步中") && page.contains("1.5 秒"), "{page}");
    let page = officer.client.get(app.url("/channel/hukou")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("gaj_rt_people") && page.matches("<polyline").count() == 2, "{page}");
    let page = other.client.get(app.url("/channel/hukou")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);

    // The OpenAPI document has them.
    let doc: serde_json::Value =
        client().get(format!("http://{}/api/v1/openapi.json", app.addr)).send().await.unwrap().json().await.unwrap();
    for path in ["/api/v1/channel/pipelines", "/api/v1/channel/pipelines/{name}/resume"] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}

#[tokio::test]
async fn a_real_time_table_shows_its_lag_and_is_fresh_only_while_its_feed_keeps_up() {
    let app = spawn_app().await;
    let gaj = app.org_id("gaj").await;
    let (user, _) = app.store.user_credentials("officer.gaj").await.unwrap().unwrap();
    let who = user.principal();
    let file = app.dir.join("rt.csv");
    std::fs::write(&file, "编号,姓名\n1,张三\n2,Анна\n").unwrap();
    let req = tongshu_lake::IngestRequest { create: true, ..tongshu_lake::IngestRequest::new("gaj_rt", file, "test") };
    app.library.lake().ingest(req).await.unwrap();
    // As the channel records a table it made: a draft entry, update cycle 实时.
    let record = app.library.adopt(&who, "gaj_rt", gaj).await.unwrap();
    let entry = record.entry_id.unwrap();
    let source = app
        .store
        .add_source("gaj_rt_src", gaj, "mysql", "10.0.0.6", 3306, "rt", "cdc", "sealed", "officer.gaj", "+08:00")
        .await
        .unwrap();
    let tables = vec![ChannelTable { source: "rt.people".into(), target: "gaj_rt".into(), keys: vec![] }];
    app.store.add_pipeline("rt", source.id, &tables, 500, 20_000, "officer.gaj").await.unwrap();
    assert!(app.store.lease_pipeline("rt", "node-a", now(), now() + 60).await.unwrap());
    let report = |state: &str, lag_ms: i64| PipelineReport {
        state: state.into(),
        message: String::new(),
        tables: vec![],
        confirmed: Some(1),
        lag_ms: Some(lag_ms),
        log_bytes: None,
    };
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let path = format!("/api/v1/catalog/{entry}/tables");

    app.store.report_pipeline("rt", "node-a", &report("streaming", 1200)).await.unwrap();
    let t = officer.get(&app, &path).await.1[0].clone();
    assert_eq!(
        (t["freshness"].as_str(), t["lag_seconds"].as_i64(), t["live"].as_bool()),
        (Some("fresh"), Some(2), Some(true)),
        "{t}"
    );
    let page = officer.client.get(app.url(&format!("/catalog/{entry}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("实时同步，延迟 2 秒"), "{page}");

    // Ten minutes behind: no longer fresh, though it was fed a moment ago.
    app.store.report_pipeline("rt", "node-a", &report("streaming", 600_000)).await.unwrap();
    let t = officer.get(&app, &path).await.1[0].clone();
    assert_eq!((t["freshness"].as_str(), t["lag_seconds"].as_i64()), (Some("behind"), Some(600)), "{t}");
    let page = officer.client.get(app.url(&format!("/catalog/{entry}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("实时同步落后 600 秒"), "{page}");

    // Stopped: behind, whatever its last lag.
    app.store.report_pipeline("rt", "node-a", &report("failed", 100)).await.unwrap();
    let t = officer.get(&app, &path).await.1[0].clone();
    assert_eq!((t["freshness"].as_str(), t["live"].as_bool()), (Some("behind"), Some(false)), "{t}");
}
