//! The user stories of the foundation issue over the JSON API, on SQLite and PostgreSQL.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, client, entry, spawn_app, spawn_on};

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::spawn_on(super::Backend::Sqlite).await.unwrap()).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $case() {
                let Some(app) = super::spawn_on(super::Backend::Postgres).await else { return };
                super::$case(app).await;
            })*
        }
    };
}

on_both_backends!(officer_drafts_fixes_and_submits_then_admin_reviews_and_delists, anyone_browses_listed_entries);

async fn officer_drafts_fixes_and_submits_then_admin_reviews_and_delists(app: TestApp) {
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let anon = client();

    // A conditional share without its condition: the error names the field, nothing is saved.
    let mut bad = entry("重点人员信息");
    bad["sharing_condition"] = Value::Null;
    bad["items"][1]["length"] = json!(0);
    let (status, body) = officer.post(&app, "/api/v1/catalog", json!({"entry": bad})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "invalid_fields");
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["items[1].length", "sharing_condition"]);
    let (_, mine) = officer.get(&app, "/api/v1/workbench?q=重点人员").await;
    assert_eq!(mine["total"], 0, "a refused entry is not half-saved");

    // Fixed: saved as a draft with a generated resource code.
    let (status, draft) = officer.post(&app, "/api/v1/catalog", json!({"entry": entry("重点人员信息")})).await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["org_name"], "临沂市公安局");
    let code = draft["code"].as_str().unwrap();
    assert!(code.starts_with("3 02 009/"), "{code}");
    let id = draft["id"].as_i64().unwrap();
    let r = anon.get(app.url(&format!("/api/v1/catalog/{id}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "drafts are not public");

    let (status, e) = officer.post(&app, &format!("/api/v1/catalog/{id}/submit"), json!({})).await;
    assert_eq!((status, e["status"].as_str()), (StatusCode::OK, Some("submitted")));
    let (_, queue) = admin.get(&app, "/api/v1/review-queue?limit=100").await;
    assert!(queue["items"].as_array().unwrap().iter().any(|e| e["id"] == id), "the submitted entry is in the queue");

    // Returned with a comment; a return without one is refused.
    let (status, _) = admin.post(&app, &format!("/api/v1/catalog/{id}/return"), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, e) = admin.post(&app, &format!("/api/v1/catalog/{id}/return"), json!({"comment": "请补充摘要"})).await;
    assert_eq!(
        (status, e["status"].as_str(), e["review_comment"].as_str()),
        (StatusCode::OK, Some("returned"), Some("请补充摘要"))
    );

    // The officer edits and resubmits; the admin approves and the entry is listed.
    let mut fixed = entry("重点人员信息");
    fixed["summary"] = json!("全市重点人员管控信息，按月更新，用于跨部门协同与风险研判。");
    let (status, e) = officer.send(&app, reqwest::Method::PUT, &format!("/api/v1/catalog/{id}"), Some(fixed)).await;
    assert_eq!((status, e["status"].as_str()), (StatusCode::OK, Some("draft")), "{e}");
    officer.post(&app, &format!("/api/v1/catalog/{id}/submit"), json!({})).await;
    let (status, e) = admin.post(&app, &format!("/api/v1/catalog/{id}/approve"), json!({})).await;
    assert_eq!((status, e["status"].as_str()), (StatusCode::OK, Some("listed")), "{e}");
    assert!(e["publish_date"].is_string());
    let (status, again) = admin.post(&app, &format!("/api/v1/catalog/{id}/approve"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "approving twice is a conflict: {again}");
    let public: Value = anon.get(app.url(&format!("/api/v1/catalog/{id}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(public["code"], code);

    // History: who did what, in order, with the edited field named.
    let (status, history) = admin.get(&app, &format!("/api/v1/catalog/{id}/history")).await;
    assert_eq!(status, StatusCode::OK);
    let steps: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["action"].as_str().unwrap(), h["username"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("create", "officer.gaj"),
            ("submit", "officer.gaj"),
            ("return", "admin"),
            ("edit", "officer.gaj"),
            ("submit", "officer.gaj"),
            ("approve", "admin")
        ]
    );
    assert!(history[3]["changes"].as_array().unwrap().iter().any(|c| c["field"] == "summary"));

    // Later delisted: gone from public view, the reason kept.
    let (status, e) =
        admin.post(&app, &format!("/api/v1/catalog/{id}/delist"), json!({"comment": "数据停止更新"})).await;
    assert_eq!((status, e["status"].as_str()), (StatusCode::OK, Some("delisted")));
    let r = anon.get(app.url(&format!("/api/v1/catalog/{id}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Another department's officer can neither see the entry's history nor edit it.
    let other = app.sign_in("officer.mzj", "Officer@2026").await;
    let (status, _) = other.get(&app, &format!("/api/v1/catalog/{id}/history")).await;
    assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN, "{status}");
    let (status, _) = other.send(&app, reqwest::Method::PUT, &format!("/api/v1/catalog/{id}"), Some(entry("x"))).await;
    assert!(status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN, "{status}");
}

async fn anyone_browses_listed_entries(app: TestApp) {
    let anon = client();
    let get = |path: String| {
        let anon = anon.clone();
        let url = app.url(&path);
        async move {
            let r = anon.get(url).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            r.json::<Value>().await.unwrap()
        }
    };
    let all = get("/api/v1/catalog?limit=100".into()).await;
    let total = all["total"].as_i64().unwrap();
    assert!(total >= 100, "the demo city lists plenty of public entries: {total}");
    for e in all["items"].as_array().unwrap() {
        assert_eq!(e["status"], "listed");
        assert_ne!(e["open"]["type"], "not_open", "the public never sees not-open entries");
    }

    let by_district = get("/api/v1/catalog?district=371302&limit=100".into()).await;
    assert!(by_district["total"].as_i64().unwrap() > 0);
    assert!(by_district["items"].as_array().unwrap().iter().all(|e| e["district_code"] == "371302"));

    let gaj = app.org_id("gaj").await;
    let by_org = get(format!("/api/v1/catalog?org={gaj}&limit=100")).await;
    assert!(by_org["items"].as_array().unwrap().iter().all(|e| e["org_id"] == gaj));

    let base = get("/api/v1/catalog?class=1&limit=100".into()).await;
    assert!(base["items"].as_array().unwrap().iter().all(|e| e["classification"]["class"] == "1"));

    // Facet counts add up to the listing's total.
    let facets = get("/api/v1/catalog/facets".into()).await;
    for facet in ["organizations", "districts", "classes"] {
        let sum: i64 = facets[facet].as_array().unwrap().iter().map(|f| f["count"].as_i64().unwrap()).sum();
        assert_eq!(sum, total, "{facet}");
    }
    let lanshan = facets["districts"].as_array().unwrap().iter().find(|d| d["key"] == "371302").unwrap();
    assert_eq!(lanshan["label"], "兰山区");
    assert_eq!(lanshan["count"], by_district["total"]);

    // Government accounts see the whole listed (sharing) catalog.
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    let (_, gov) = consumer.get(&app, "/api/v1/catalog").await;
    assert!(gov["total"].as_i64().unwrap() > total);
}

#[tokio::test]
async fn demo_seed_is_idempotent_and_deterministic() {
    let app = spawn_app().await;
    let before =
        app.store.list_entries(&tongshu_store::EntryFilter { limit: 1, ..Default::default() }).await.unwrap().total;
    let report = tongshu_demo::seed(&app.store).await.unwrap();
    assert!(!report.seeded);
    let after =
        app.store.list_entries(&tongshu_store::EntryFilter { limit: 1, ..Default::default() }).await.unwrap().total;
    assert_eq!(before, after);
    assert!(before >= 300);
    let orgs = app.store.list_orgs().await.unwrap();
    let departments = orgs
        .iter()
        .filter(|o| o.kind == tongshu_core::org::OrgKind::Department && o.parent_id == Some(orgs[0].id))
        .count();
    assert!(departments >= 41, "{departments} city departments");
    assert_eq!(orgs.iter().filter(|o| o.kind == tongshu_core::org::OrgKind::District).count(), 12);
    // Same city on a second, fresh store.
    let other = spawn_app().await;
    let codes = |app: &TestApp| {
        let store = app.store.clone();
        async move {
            let page =
                store.list_entries(&tongshu_store::EntryFilter { limit: 1000, ..Default::default() }).await.unwrap();
            let mut v: Vec<(String, String, String)> = page
                .entries
                .into_iter()
                .map(|e| (e.code.to_string(), e.body.name, e.status.as_str().to_owned()))
                .collect();
            v.sort();
            v
        }
    };
    assert_eq!(codes(&app).await, codes(&other).await);
}

#[tokio::test]
async fn health_readiness_metrics_and_openapi() {
    let app = spawn_app().await;
    let c = client();
    let r = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("x-request-id"), "every answer carries a request id");
    assert_eq!(c.get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);
    c.get(app.url("/api/v1/catalog")).send().await.unwrap();
    let metrics = c.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("tongshu_http_requests_total{method=\"GET\",route=\"/api/v1/catalog\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("tongshu_http_request_duration_seconds_bucket"));

    let doc: Value = c.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    // Every JSON API route of the policy table is documented.
    for rule in tongshu_web::routes::policy() {
        if rule.path.starts_with("/api/v1/") && rule.path != "/api/v1/openapi.json" {
            let method = rule.method.as_str().to_lowercase();
            assert!(
                doc["paths"][rule.path][&method].is_object(),
                "{} {} is not in the OpenAPI document",
                rule.method,
                rule.path
            );
        }
    }
}

#[tokio::test]
async fn an_entry_shows_its_library_tables_and_whether_they_are_overdue() {
    let app = spawn_app().await;
    let officer = app.store.user_credentials("officer.gaj").await.unwrap().unwrap().0.principal();
    let file = app.dir.join("流动人口.csv");
    std::fs::write(
        &file,
        "公民身份号码,姓名,居住地址\n371302199001011234,张三,兰山区\n371311198502022345,李四,罗庄区\n",
    )
    .unwrap();
    let req = tongshu_lake::IngestRequest {
        table: "gaj_liudong".into(),
        file,
        source: Default::default(),
        mode: tongshu_lake::Mode::Append,
        keys: vec![],
        on_bad_rows: tongshu_lake::BadRowPolicy::Reject,
        create: true,
        max_lengths: Default::default(),
        user: "officer.gaj".into(),
        progress: Default::default(),
        rows: None,
        job: None,
        position: None,
    };
    let (_, record) = app.library.ingest(&officer, req, None).await.unwrap();
    let entry_id = record.entry_id.unwrap();

    let s = app.sign_in("officer.gaj", "Officer@2026").await;
    let (status, tables) = s.get(&app, &format!("/api/v1/catalog/{entry_id}/tables")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((tables[0]["name"].as_str(), tables[0]["rows"].as_i64()), (Some("gaj_liudong"), Some(2)));
    assert_eq!(tables[0]["freshness"], "fresh");
    assert_eq!(tables[0]["columns"][1]["name"], "姓名");

    // A monthly table last fed 40 days ago is overdue, on the API and on the page.
    let mut old = app.store.get_table("gaj_liudong").await.unwrap().unwrap();
    old.updated_at -= time::Duration::days(40);
    app.store.put_table(&old).await.unwrap();
    let (_, tables) = s.get(&app, &format!("/api/v1/catalog/{entry_id}/tables")).await;
    assert_eq!((tables[0]["freshness"].as_str(), tables[0]["days_since_update"].as_i64()), (Some("overdue"), Some(40)));
    let page = s.client.get(app.url(&format!("/catalog/{entry_id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("资源库表") && page.contains("gaj_liudong") && page.contains("已逾期（40 天未更新）"));

    // Not visible to the public: the draft entry and its tables are not found.
    let r = client().get(app.url(&format!("/api/v1/catalog/{entry_id}/tables"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
