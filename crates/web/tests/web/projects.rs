//! IT projects and information systems through the API (issue 16): the whole lifecycle
//! with its gates refusing (no data-sharing registration, missing documents, unscored
//! experts, similar systems without a reason, promised data never shared), roles, the
//! AHP check, evaluation and the round's report, the portfolio; the system inventory's
//! import of a messy GBK spreadsheet; zombie rules on loopback probes and entered facts;
//! tickets.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, Session, TestApp, spawn_on};

async fn upload(s: &Session, app: &TestApp, path: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let r = s
        .client
        .post(app.url(path))
        .header("x-csrf-token", &s.csrf)
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn fields(v: &Value) -> Vec<String> {
    v["fields"]
        .as_array()
        .map(|a| a.iter().map(|f| f["field"].as_str().unwrap_or("").to_owned()).collect())
        .unwrap_or_default()
}

async fn user(admin: &Session, app: &TestApp, name: &str, role: &str, org: &str) -> Session {
    let org_id = app.org_id(org).await;
    let (st, body) = admin
        .post(
            app,
            "/api/v1/users",
            json!({"username": name, "display_name": name, "password": "Expert@2026x", "role": role, "org_id": org_id}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
    app.sign_in(name, "Expert@2026x").await
}

/// A review sheet with every item at `v`.
fn sheet(v: f64) -> Value {
    json!({"necessity": v, "feasibility": v, "data_sharing": v, "reuse": v, "investment": v, "security": v})
}

async fn step(s: &Session, app: &TestApp, id: i64, t: &str, comment: &str) -> (StatusCode, Value) {
    s.post(app, &format!("/api/v1/projects/{id}/steps"), json!({"transition": t, "comment": comment})).await
}

async fn doc(s: &Session, app: &TestApp, id: i64, kind: &str) {
    let (st, body) = upload(
        s,
        app,
        &format!("/api/v1/projects/{id}/documents?kind={kind}&name={kind}.pdf"),
        format!("%PDF {kind} {id}").into_bytes(),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{body}");
}

/// A listed entry of the public security bureau with a library table with rows, granted
/// to the medical-insurance bureau: data actually shared.
async fn shared_entry_of(app: &TestApp, org: &str) -> i64 {
    assert_eq!(org, "gaj");
    let (entry_id, _, _) = crate::exchange::provider_table(app).await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    crate::sharing::granted(app, &consumer, entry_id, json!({"approve": true})).await;
    entry_id
}

/// A listed entry of `org`.
async fn listed_entry_of(app: &TestApp, org: &str) -> i64 {
    use tongshu_core::catalog::EntryStatus;
    let org_id = app.org_id(org).await;
    let filter = tongshu_store::EntryFilter { org_id: Some(org_id), limit: 500, ..Default::default() };
    let entries = app.store.list_entries(&filter).await.unwrap();
    entries.entries.into_iter().find(|e| e.status == EntryStatus::Listed).expect("a listed entry").id
}

#[tokio::test]
async fn a_project_goes_from_proposal_to_evaluation_through_its_gates_on_sqlite() {
    lifecycle(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_project_goes_from_proposal_to_evaluation_through_its_gates_on_postgres() {
    lifecycle(Backend::Postgres).await;
}

async fn lifecycle(backend: Backend) {
    let Some(app) = spawn_on(backend).await else { return };
    let admin = app.sign_in("admin", "Admin@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let other = app.sign_in("officer.mzj", "Officer@2026").await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    let auditor = app.sign_in("auditor", "Auditor@2026").await;
    let experts = [
        user(&admin, &app, "expert.wang", "expert", "dsjj").await,
        user(&admin, &app, "expert.li", "expert", "dsjj").await,
        user(&admin, &app, "expert.zhao", "expert", "dsjj").await,
    ];
    let evaluator = user(&admin, &app, "evaluator.third", "evaluator", "dsjj").await;

    // A proposal names every missing field; the public side of the platform has no say.
    let (st, body) = officer
        .post(&app, "/api/v1/projects", json!({"name": " ", "purpose": "", "budget": 0, "funding_source": ""}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    for f in ["name", "purpose", "budget", "funding_source"] {
        assert!(fields(&body).contains(&f.to_owned()), "{f}: {body}");
    }
    let (st, _) = consumer.get(&app, "/api/v1/projects").await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let proposal = json!({"name": "公安大数据治安防控平台", "year": 2026, "purpose": "汇聚人口、车辆与视频数据，支撑治安防控与研判",
        "budget": 8_600_000, "funding_source": "市级财政资金", "builds": ["治安防控研判系统"], "reuses": [999_999]});
    let (st, body) = officer.post(&app, "/api/v1/projects", proposal.clone()).await;
    assert_eq!((st, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["reuses[0]".to_owned()]), "{body}");
    let mut proposal = proposal;
    proposal["reuses"] = json!([]);
    let (st, p) = officer.post(&app, "/api/v1/projects", proposal.clone()).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let id = p["id"].as_i64().unwrap();
    assert_eq!(p["stage"], "proposal");
    assert!(p["code"].as_str().unwrap().starts_with("XM-2026-"));

    // Another department neither sees nor moves it.
    assert_eq!(other.get(&app, &format!("/api/v1/projects/{id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(step(&other, &app, id, "submit", "").await.0, StatusCode::NOT_FOUND);

    // Submitting needs the proposal document.
    let (st, body) = step(&officer, &app, id, "submit", "").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&body), ["documents.proposal"]);
    doc(&officer, &app, id, "proposal").await;
    let (st, body) = step(&officer, &app, id, "submit", "").await;
    assert_eq!((st, body["stage"].as_str()), (StatusCode::OK, Some("review")), "{body}");
    // The bureau's steps are not the department's.
    assert_eq!(step(&officer, &app, id, "close_review", "").await.0, StatusCode::FORBIDDEN);

    // Review: three experts; the review closes only when all scored, with the opinion.
    for e in ["expert.wang", "expert.li", "expert.zhao"] {
        let (st, b) = admin.post(&app, &format!("/api/v1/projects/{id}/experts"), json!({"username": e})).await;
        assert_eq!(st, StatusCode::OK, "{b}");
    }
    let (st, b) = admin.post(&app, &format!("/api/v1/projects/{id}/experts"), json!({"username": "officer.mzj"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    for (e, s) in experts.iter().take(2).zip([80.0, 85.0]) {
        let (st, b) =
            e.post(&app, &format!("/api/v1/projects/{id}/score"), json!({"sheet": sheet(s), "comment": "可行"})).await;
        assert_eq!(st, StatusCode::OK, "{b}");
    }
    let (st, body) = step(&admin, &app, id, "close_review", "").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        fields(&body).contains(&"experts".to_owned()) && fields(&body).contains(&"documents.review_opinion".to_owned()),
        "{body}"
    );
    let mut bad = sheet(90.0);
    bad["security"] = json!(120);
    bad.as_object_mut().unwrap().remove("reuse");
    let (st, b) = experts[2].post(&app, &format!("/api/v1/projects/{id}/score"), json!({"sheet": bad})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(fields(&b), ["sheet.reuse", "sheet.security"], "{b}");
    let mut mixed = sheet(90.0);
    mixed["investment"] = json!(60);
    // 0.9 × 90 + 0.1 × 60 = 87
    experts[2].post(&app, &format!("/api/v1/projects/{id}/score"), json!({"sheet": mixed})).await;
    // An expert sees the project assigned, and no other.
    assert_eq!(experts[0].get(&app, &format!("/api/v1/projects/{id}")).await.0, StatusCode::OK);
    doc(&admin, &app, id, "review_opinion").await;
    let (st, body) = step(&admin, &app, id, "close_review", "").await;
    assert_eq!((st, body["stage"].as_str()), (StatusCode::OK, Some("approval")), "{body}");
    let (_, detail) = admin.get(&app, &format!("/api/v1/projects/{id}")).await;
    // (80 + 85 + 87) / 3
    assert_eq!(detail["review_score"].as_f64(), Some(84.0));
    assert_eq!(detail["reviews"][2]["score"].as_f64(), Some(87.0));

    // Approval: the data-sharing review and 集约利旧 are gates.
    let (st, sys) = admin
        .post(
            &app,
            "/api/v1/systems",
            json!({"name": "治安防控视频研判系统", "kind": "业务系统", "org_id": app.org_id("gaj").await,
            "function": "治安防控 视频数据汇聚与研判", "users": "治安支队"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{sys}");
    let (_, similar) = officer.get(&app, &format!("/api/v1/projects/{id}/similar")).await;
    assert_eq!(similar[0]["system"]["name"], "治安防控视频研判系统", "{similar}");
    let (st, body) = step(&admin, &app, id, "approve", "").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let f = fields(&body);
    for want in ["data_sharing.produces", "data_sharing.consumes", "reuse_reason", "documents.approval"] {
        assert!(f.contains(&want.to_owned()), "{want}: {body}");
    }
    let produced = shared_entry_of(&app, "gaj").await;
    let consumed = listed_entry_of(&app, "mzj").await;
    let (st, b) = officer
        .post(&app, &format!("/api/v1/projects/{id}/data"), json!({"produces": [consumed], "consumes": []}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        fields(&b).contains(&"produces[0]".to_owned()) && fields(&b).contains(&"consumes_reason".to_owned()),
        "{b}"
    );
    let (st, b) = officer
        .post(&app, &format!("/api/v1/projects/{id}/data"), json!({"produces": [produced], "consumes": [consumed]}))
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, _) = officer.post(&app, &format!("/api/v1/projects/{id}/reuse"), json!({"reason": "x"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    admin
        .post(
            &app,
            &format!("/api/v1/projects/{id}/reuse"),
            json!({"reason": "现有系统仅覆盖视频，不含人口与车辆数据"}),
        )
        .await;
    doc(&admin, &app, id, "approval").await;
    let (st, body) = step(&admin, &app, id, "approve", "同意立项").await;
    assert_eq!((st, body["stage"].as_str()), (StatusCode::OK, Some("construction")), "{body}");

    // Construction: milestones, a re-baseline with its reason kept, payments, variances.
    let (st, m1) = officer
        .post(
            &app,
            &format!("/api/v1/projects/{id}/milestones"),
            json!({"name": "平台部署", "planned_on": "2026-03-31", "planned_cost": 3_000_000}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{m1}");
    let (_, m2) = officer
        .post(
            &app,
            &format!("/api/v1/projects/{id}/milestones"),
            json!({"name": "数据汇聚", "planned_on": "2026-06-30", "planned_cost": 5_000_000}),
        )
        .await;
    let (m1, m2) = (m1["id"].as_i64().unwrap(), m2["id"].as_i64().unwrap());
    let (st, b) = officer
        .post(
            &app,
            &format!("/api/v1/milestones/{m1}/report"),
            json!({"actual_on": "2026-04-20", "actual_cost": 3_600_000}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = admin
        .post(
            &app,
            &format!("/api/v1/milestones/{m2}/rebaseline"),
            json!({"planned_on": "2026-08-31", "planned_cost": 5_000_000, "reason": ""}),
        )
        .await;
    assert_eq!((st, fields(&b)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["reason".to_owned()]));
    admin
        .post(
            &app,
            &format!("/api/v1/milestones/{m2}/rebaseline"),
            json!({"planned_on": "2026-08-31", "planned_cost": 5_000_000, "reason": "视频专网延期交付"}),
        )
        .await;
    let (st, body) = step(&officer, &app, id, "complete", "").await;
    assert_eq!((st, fields(&body)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["milestones".to_owned()]), "{body}");
    officer
        .post(
            &app,
            &format!("/api/v1/milestones/{m2}/report"),
            json!({"actual_on": "2026-09-10", "actual_cost": 5_100_000}),
        )
        .await;
    officer
        .post(
            &app,
            &format!("/api/v1/projects/{id}/payments"),
            json!({"amount": 6_000_000, "paid_on": "2026-09-20", "note": "进度款"}),
        )
        .await;
    let (_, detail) = admin.get(&app, &format!("/api/v1/projects/{id}")).await;
    assert_eq!(detail["spent"], 6_000_000);
    assert_eq!(detail["baselines"][0]["reason"], "视频专网延期交付");
    assert_eq!(detail["baselines"][0]["planned_on"], "2026-06-30");
    // Cost +8.75 % (8.7 M against 8 M) → 4; 20 days behind (the first milestone) → 4.
    assert_eq!(detail["rating"]["rating"], 4, "{}", detail["rating"]);
    let (st, body) = step(&officer, &app, id, "complete", "").await;
    assert_eq!((st, body["stage"].as_str()), (StatusCode::OK, Some("acceptance")), "{body}");

    // Acceptance: the checklist and the acceptance report; the promised data is shared.
    let (st, body) = step(&admin, &app, id, "accept", "").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let f = fields(&body);
    for want in [
        "checklist.technical",
        "checklist.financial",
        "checklist.archive",
        "checklist.effectiveness",
        "documents.acceptance",
    ] {
        assert!(f.contains(&want.to_owned()), "{want}: {body}");
    }
    let (st, b) =
        admin.post(&app, &format!("/api/v1/projects/{id}/checklist"), json!({"items": {"nosuch": true}})).await;
    assert_eq!((st, fields(&b)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["items.nosuch".to_owned()]));
    admin
        .post(
            &app,
            &format!("/api/v1/projects/{id}/checklist"),
            json!({"items": {"technical": true, "financial": true, "archive": true, "effectiveness": true}}),
        )
        .await;
    doc(&admin, &app, id, "acceptance").await;
    let (st, body) = step(&admin, &app, id, "accept", "").await;
    assert_eq!((st, body["stage"].as_str()), (StatusCode::OK, Some("operation")), "{body}");
    assert!(body["accepted_at"].is_string());

    // Post-evaluation: an inconsistent AHP matrix is refused; a consistent one weighs.
    let bad = json!({"name": "2026年度后评价", "year": 2026, "matrix": [[1, 9, 1.0/9.0, 1], [1.0/9.0, 1, 9, 1], [9, 1.0/9.0, 1, 1], [1, 1, 1, 1]]});
    let (st, b) = admin.post(&app, "/api/v1/evaluation/rounds", bad).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(b["message"].as_str().unwrap().contains("一致性比率"), "{b}");
    let good = json!({"name": "2026年度后评价", "year": 2026, "matrix": [[1, 2, 1, 2], [0.5, 1, 0.5, 1], [1, 2, 1, 2], [0.5, 1, 0.5, 1]]});
    let (st, round) = admin.post(&app, "/api/v1/evaluation/rounds", good).await;
    assert_eq!(st, StatusCode::CREATED, "{round}");
    let rid = round["id"].as_i64().unwrap();
    assert!(round["consistency_ratio"].as_f64().unwrap() < 0.01);
    let (_, prefill) = officer.get(&app, &format!("/api/v1/projects/{id}/prefill")).await;
    assert_eq!(prefill["scores"]["construction.data_sharing"], 100.0, "{prefill}");
    let mut scores: serde_json::Map<String, Value> = [
        "construction.management",
        "construction.data_sharing",
        "construction.resources",
        "construction.security",
        "operation.availability",
        "operation.reliability",
        "operation.response",
        "effect.function_use",
        "effect.satisfaction",
        "effect.activity",
        "benefit.economic",
        "benefit.social",
    ]
    .iter()
    .map(|k| ((*k).to_owned(), json!(90)))
    .collect();
    let partial: serde_json::Map<String, Value> = scores.iter().take(3).map(|(k, v)| (k.clone(), v.clone())).collect();
    let (st, b) = officer
        .post(
            &app,
            &format!("/api/v1/evaluation/rounds/{rid}/evaluations"),
            json!({"project_id": id, "kind": "self", "scores": partial}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(fields(&b).contains(&"scores.effect.activity".to_owned()), "{b}");
    let (st, b) = officer
        .post(
            &app,
            &format!("/api/v1/evaluation/rounds/{rid}/evaluations"),
            json!({"project_id": id, "kind": "self", "scores": scores.clone()}),
        )
        .await;
    assert_eq!((st, b["grade"].as_str()), (StatusCode::OK, Some("优秀")), "{b}");
    let (st, _) = officer
        .post(
            &app,
            &format!("/api/v1/evaluation/rounds/{rid}/evaluations"),
            json!({"project_id": id, "kind": "third_party", "scores": scores.clone()}),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    scores.insert("effect.satisfaction".into(), json!(50));
    scores.insert("effect.activity".into(), json!(50));
    let (st, third) = evaluator
        .post(
            &app,
            &format!("/api/v1/evaluation/rounds/{rid}/evaluations"),
            json!({"project_id": id, "kind": "third_party", "scores": scores}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{third}");
    // Weights (1/3, 1/6, 1/3, 1/6); the effect dimension 0.4 × 90 + 0.3 × 50 + 0.3 × 50 = 66:
    // 90 × 2/3 + 66 / 3 = 82 (良好).
    let (_, report) = evaluator.get(&app, &format!("/api/v1/evaluation/rounds/{rid}/report")).await;
    let row = &report["rows"][0];
    assert!((row["total"].as_f64().unwrap() - 82.0).abs() < 1e-6, "{report}");
    assert_eq!(row["grade"], "良好");
    assert_eq!(row["totals"]["self"], 90.0);
    assert_eq!(report["evaluated"], 1);
    // The project's own report as a workbook.
    let r = officer.client.get(app.url(&format!("/api/v1/projects/{id}/report.xlsx"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"));
    assert_eq!(other.get(&app, &format!("/api/v1/projects/{id}/report.xlsx")).await.0, StatusCode::NOT_FOUND);
    // The same report as a workbook.
    let r =
        evaluator.client.get(app.url(&format!("/api/v1/evaluation/rounds/{rid}/report.xlsx"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    let book = r.bytes().await.unwrap();
    assert!(book.starts_with(b"PK") && book.len() > 4000, "{} bytes", book.len());
    // Another department's report of the round holds none of this department's projects.
    let (st, theirs) = other.get(&app, &format!("/api/v1/evaluation/rounds/{rid}/report")).await;
    assert_eq!((st, theirs["evaluated"].as_i64()), (StatusCode::OK, Some(0)), "{theirs}");
    assert_eq!(officer.get(&app, &format!("/api/v1/evaluation/rounds/{rid}/report")).await.1["evaluated"], 1);

    // The portfolio, ratings and their override with history; auditors read, change nothing.
    let (st, b) = admin.post(&app, &format!("/api/v1/projects/{id}/risk"), json!({"rating": 9, "comment": ""})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(fields(&b).contains(&"rating".to_owned()) && fields(&b).contains(&"comment".to_owned()));
    admin
        .post(&app, &format!("/api/v1/projects/{id}/risk"), json!({"rating": 2, "comment": "用户活跃度低，需整改"}))
        .await;
    let (_, portfolio) = auditor.get(&app, "/api/v1/portfolio").await;
    let row = portfolio["projects"].as_array().unwrap().iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!((row["rating"].as_i64(), row["overridden"].as_bool()), (Some(2), Some(true)), "{row}");
    assert_eq!(row["spent"], 6_000_000);
    assert_eq!(portfolio["totals"]["projects_evaluated"], 1);
    assert_eq!(portfolio["totals"]["reviewed"], 1);
    assert_eq!(step(&auditor, &app, id, "start_evaluation", "").await.0, StatusCode::FORBIDDEN);
    let (_, detail) = auditor.get(&app, &format!("/api/v1/projects/{id}")).await;
    let risks = detail["risks"].as_array().unwrap();
    assert!(risks.len() >= 2 && risks.last().unwrap()["overridden"] == 1, "{risks:?}");
    let actions: Vec<&str> =
        detail["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in [
        "create",
        "submit",
        "score",
        "close_review",
        "register_data",
        "approve",
        "rebaseline",
        "complete",
        "accept",
        "evaluation",
        "risk",
    ] {
        assert!(actions.contains(&a), "{a}: {actions:?}");
    }
    // A document comes back as attached, checked against its hash.
    let doc_id = detail["documents"][0]["id"].as_i64().unwrap();
    let r = officer.client.get(app.url(&format!("/api/v1/project-documents/{doc_id}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), format!("%PDF proposal {id}").as_bytes());
    assert_eq!(other.get(&app, &format!("/api/v1/project-documents/{doc_id}")).await.0, StatusCode::NOT_FOUND);
    // Another node serves it too: documents live in the library's storage, not in a node.
    let node2 = app.second_node().await;
    let r = officer.client.get(format!("http://{node2}/api/v1/project-documents/{doc_id}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), format!("%PDF proposal {id}").as_bytes());
}

#[tokio::test]
async fn acceptance_refuses_a_project_whose_promised_data_was_never_shared() {
    let app = crate::support::spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    // A new entry of the department, never listed, never fed, never granted.
    let (st, entry) =
        officer.post(&app, "/api/v1/catalog", json!({"entry": crate::support::entry("重点场所巡查记录")})).await;
    assert_eq!(st, StatusCode::CREATED, "{entry}");
    let (_, p) = officer
        .post(&app, "/api/v1/projects", json!({"name": "巡查记录系统", "purpose": "记录重点场所巡查", "budget": 500_000, "funding_source": "部门预算"}))
        .await;
    let id = p["id"].as_i64().unwrap();
    doc(&officer, &app, id, "proposal").await;
    assert_eq!(step(&officer, &app, id, "submit", "").await.0, StatusCode::OK);
    let expert = user(&admin, &app, "expert.sun", "expert", "dsjj").await;
    admin.post(&app, &format!("/api/v1/projects/{id}/experts"), json!({"username": "expert.sun"})).await;
    expert.post(&app, &format!("/api/v1/projects/{id}/score"), json!({"sheet": sheet(75.0)})).await;
    doc(&admin, &app, id, "review_opinion").await;
    assert_eq!(step(&admin, &app, id, "close_review", "").await.0, StatusCode::OK);
    let e = entry["id"].as_i64().unwrap();
    officer
        .post(
            &app,
            &format!("/api/v1/projects/{id}/data"),
            json!({"produces": [e], "consumes": [], "consumes_reason": "不使用其他部门数据"}),
        )
        .await;
    doc(&admin, &app, id, "approval").await;
    let (st, b) = step(&admin, &app, id, "approve", "").await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (_, m) = officer
        .post(
            &app,
            &format!("/api/v1/projects/{id}/milestones"),
            json!({"name": "上线", "planned_on": "2026-05-01", "planned_cost": 500_000}),
        )
        .await;
    officer
        .post(
            &app,
            &format!("/api/v1/milestones/{}/report", m["id"]),
            json!({"actual_on": "2026-05-01", "actual_cost": 480_000}),
        )
        .await;
    assert_eq!(step(&officer, &app, id, "complete", "").await.0, StatusCode::OK);
    admin
        .post(
            &app,
            &format!("/api/v1/projects/{id}/checklist"),
            json!({"items": {"technical": true, "financial": true, "archive": true, "effectiveness": true}}),
        )
        .await;
    doc(&admin, &app, id, "acceptance").await;
    let (st, body) = step(&admin, &app, id, "accept", "").await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(fields(&body), ["checklist.effectiveness"]);
    assert!(body["message"].as_str().unwrap().contains("重点场所巡查记录"), "{body}");
    // Returned to construction with a reason, the project stays where the gate left it.
    let (st, b) = step(&admin, &app, id, "return", "").await;
    assert_eq!((st, fields(&b)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["comment".to_owned()]));
    let (st, b) = step(&admin, &app, id, "return", "数据未实际共享，退回整改").await;
    assert_eq!((st, b["stage"].as_str()), (StatusCode::OK, Some("construction")));
}

/// A loopback web server: `/ok` answers a page that changes when asked, `/down` 500.
async fn loopback() -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let version = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1));
    let v = version.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let v = v.load(std::sync::atomic::Ordering::Relaxed);
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]);
                let (status, body) = if req.starts_with("GET /ok") {
                    ("200 OK", format!("<h1>首页 第{v}版</h1>"))
                } else {
                    ("500 Internal Server Error", "down".into())
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\ncontent-type: text/html; charset=utf-8\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (addr, version)
}

#[tokio::test]
async fn zombie_rules_judge_probes_and_entered_facts_and_tickets_close_by_their_checklists() {
    let app = crate::support::spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let other = app.sign_in("officer.mzj", "Officer@2026").await;
    let (addr, _version) = loopback().await;
    let gaj = app.org_id("gaj").await;
    let add = |body: Value| {
        let admin = &admin;
        let app = &app;
        async move {
            let (st, b) = admin.post(app, "/api/v1/systems", body).await;
            assert_eq!(st, StatusCode::CREATED, "{b}");
            b["id"].as_i64().unwrap()
        }
    };
    let live = add(json!({"name": "公安门户网站", "kind": "网站", "org_id": gaj, "urls": [format!("http://{addr}/ok")], "users": "公众"})).await;
    let down = add(json!({"name": "旧版警务公开网", "kind": "website", "org_id": gaj, "urls": [format!("http://{addr}/down")], "users": "公众"})).await;
    let today = time::OffsetDateTime::now_utc().date();
    let silent_since = (today - time::Duration::days(20)).to_string();
    let wechat = add(json!({"name": "平安临沂公众号", "kind": "微信公众号", "org_id": gaj, "last_post_on": silent_since, "users": "公众"})).await;
    let detached = add(json!({"name": "档案扫描工具", "kind": "其他", "org_id": gaj})).await;

    // Bad input names its field.
    let (st, b) = admin
        .post(&app, "/api/v1/systems", json!({"name": "x", "kind": "飞船", "urls": ["ftp://x"], "security_level": 7}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["kind", "urls", "security_level"] {
        assert!(fields(&b).contains(&f.to_owned()), "{f}: {b}");
    }
    assert_eq!(officer.post(&app, "/api/v1/systems/check", json!({})).await.0, StatusCode::FORBIDDEN);

    let (st, probes) = admin.post(&app, "/api/v1/systems/probe", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{probes}");
    let by_url =
        |u: &str| probes.as_array().unwrap().iter().find(|p| p["url"].as_str().unwrap().ends_with(u)).unwrap().clone();
    assert_eq!((by_url("/ok")["ok"].as_bool(), by_url("/ok")["status"].as_i64()), (Some(true), Some(200)));
    assert_eq!((by_url("/down")["ok"].as_bool(), by_url("/down")["status"].as_i64()), (Some(false), Some(500)));

    let (st, checked) = admin.post(&app, "/api/v1/systems/check", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{checked}");
    let verdict = |id: i64| checked.as_array().unwrap().iter().find(|c| c["system_id"] == id).unwrap().clone();
    assert_eq!(verdict(live)["verdict"]["severity"], "healthy", "{}", verdict(live));
    assert_eq!(verdict(down)["verdict"]["severity"], "zombie");
    assert_eq!(verdict(down)["verdict"]["findings"][0]["rule"], "unreachable");
    assert_eq!(verdict(wechat)["verdict"]["severity"], "zombie");
    assert!(verdict(wechat)["verdict"]["findings"][0]["evidence"].as_str().unwrap().contains("20 天未发布"));
    assert_eq!(verdict(detached)["verdict"]["severity"], "semi_zombie");
    assert!(verdict(live)["ticket"].is_null());
    let ticket_of = |id: i64| verdict(id)["ticket"].as_i64().unwrap();
    // A second check opens no second ticket.
    let (_, again) = admin.post(&app, "/api/v1/systems/check", json!({})).await;
    assert!(again.as_array().unwrap().iter().all(|c| c["new_ticket"] == false), "{again}");
    let (_, tickets) = officer.get(&app, "/api/v1/tickets").await;
    assert_eq!(tickets.as_array().unwrap().len(), 3);
    assert_eq!(other.get(&app, "/api/v1/tickets").await.1, json!([]));
    let (_, sys) = officer.get(&app, &format!("/api/v1/systems/{wechat}")).await;
    assert_eq!(sys["status"], "rectifying");

    // Fixed only when a fresh check finds nothing: the account posts again.
    let (st, b) =
        officer.post(&app, &format!("/api/v1/tickets/{}/close", ticket_of(wechat)), json!({"outcome": "fixed"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(b["message"].as_str().unwrap().contains("复查仍未通过"), "{b}");
    let (st, _) =
        other.post(&app, &format!("/api/v1/systems/{wechat}/facts"), json!({"last_post_on": today.to_string()})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    officer.post(&app, &format!("/api/v1/systems/{wechat}/facts"), json!({"last_post_on": today.to_string()})).await;
    let (st, b) = officer
        .post(
            &app,
            &format!("/api/v1/tickets/{}/close", ticket_of(wechat)),
            json!({"outcome": "fixed", "note": "恢复更新"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // Closed once.
    let (st, _) =
        officer.post(&app, &format!("/api/v1/tickets/{}/close", ticket_of(wechat)), json!({"outcome": "fixed"})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    // Merged into a system in use; stopped after the (empty) decommission checklist.
    let (st, b) = officer
        .post(&app, &format!("/api/v1/tickets/{}/close", ticket_of(detached)), json!({"outcome": "merged"}))
        .await;
    assert_eq!((st, fields(&b)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["merged_into".to_owned()]));
    let (st, _) = officer
        .post(
            &app,
            &format!("/api/v1/tickets/{}/close", ticket_of(detached)),
            json!({"outcome": "merged", "merged_into": live}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = admin
        .post(
            &app,
            &format!("/api/v1/tickets/{}/close", ticket_of(down)),
            json!({"outcome": "stopped", "note": "关停"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, portfolio) = admin.get(&app, "/api/v1/portfolio").await;
    assert_eq!(portfolio["totals"]["systems_stopped"], 2, "{}", portfolio["totals"]);
    assert_eq!(portfolio["totals"]["rectified"], 3);
    assert_eq!(portfolio["totals"]["systems"], 4);

    // The daily check runs once a day across nodes: the first node to claim the day does it.
    let node = |_: &str| {
        tongshu_projects::ProjectsService::new(app.store.clone(), app.library.lake().clone(), Default::default())
    };
    let (a, b) = (node("a"), node("b"));
    let (ra, rb) = tokio::join!(a.run_due("node-a", None), b.run_due("node-b", None));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.len() + rb.len(), 2, "{ra:?} {rb:?}");
    assert!(ra.contains(&"check") || rb.contains(&"check"));
    assert!(a.run_due("node-a", None).await.unwrap().is_empty(), "nothing twice a day");
}

#[tokio::test]
async fn a_system_linked_to_shared_data_cannot_stop_until_its_decommission_checklist_holds() {
    let app = crate::support::spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let entry = shared_entry_of(&app, "gaj").await;
    let (_, sys) = admin
        .post(
            &app,
            "/api/v1/systems",
            json!({"name": "人口信息管理系统", "kind": "business", "org_id": app.org_id("gaj").await,
            "entries": [entry], "users": "户政"}),
        )
        .await;
    let id = sys["id"].as_i64().unwrap();
    admin.post(&app, &format!("/api/v1/systems/{id}/facts"), json!({"oldest_unanswered_on": "2026-01-02"})).await;
    let (_, checked) = admin.post(&app, "/api/v1/systems/check", json!({})).await;
    let c = checked.as_array().unwrap().iter().find(|c| c["system_id"] == id).unwrap().clone();
    assert_eq!(c["verdict"]["severity"], "zombie", "{c}");
    let (st, b) =
        admin.post(&app, &format!("/api/v1/tickets/{}/close", c["ticket"]), json!({"outcome": "stopped"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let f = fields(&b);
    assert!(
        f.contains(&"decommission.entries_delisted".to_owned())
            && f.contains(&"decommission.grants_revoked".to_owned()),
        "{b}"
    );
    assert!(!f.contains(&"decommission.data_archived".to_owned()), "the data is in the library: {b}");
    let (_, s) = admin.get(&app, &format!("/api/v1/systems/{id}")).await;
    assert_eq!(s["status"], "rectifying");
}

#[tokio::test]
async fn the_bureaus_messy_gbk_spreadsheet_is_imported_and_each_bad_row_reported() {
    let app = crate::support::spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    admin
        .post(
            &app,
            "/api/v1/systems",
            json!({"name": "临沂市公安局门户网站", "kind": "网站", "org_id": app.org_id("gaj").await}),
        )
        .await;
    let csv = "序号,系统名称,系统类型,主管部门,承建单位,年运维费用（万元）,访问地址,等保级别,状态,主要功能,备注\n\
               1,市民政局婚姻登记系统,业务系统,临沂市民政局,浪潮软件,１２.５,http://hy.mzj.linyi.gov.cn,等保三级,在用,婚姻登记,\n\
               2,平安民政公众号,公众号,mzj,N/A,N/A,,N/A,使用中,信息发布,\n\
               3,殡葬管理系统,飞船,临沂市民政局,,3,,二级,在用,,类型写错\n\
               4,养老服务平台,公共服务,市外星局,,,,,在用,,部门不存在\n\
               5,,网站,临沂市民政局,,,,,,,缺名称\n\
               6,救助管理系统,业务系统,临沂市民政局,,,ftp://jz.local,,,,地址错\n\
               7,市民政局婚姻登记系统,业务系统,临沂市民政局,,,,,,,重复\n\
               8,临沂市公安局门户网站,网站,临沂市公安局,,,,,,,已在清单\n\
               9,社会组织管理系统,,临沂市民政局,,3.5万,shzz.mzj.linyi.gov.cn；https://shzz2.linyi.gov.cn,,整改中,社团登记,\n";
    let (gbk, _, bad) = encoding_rs::GBK.encode(csv);
    assert!(!bad);
    let (st, _) = upload(&officer, &app, "/api/v1/systems/import?name=systems.csv", gbk.to_vec()).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, report) =
        upload(&admin, &app, "/api/v1/systems/import?name=%E7%B3%BB%E7%BB%9F%E6%B8%85%E5%8D%95.csv", gbk.to_vec())
            .await;
    assert_eq!(st, StatusCode::OK, "{report}");
    let added: Vec<&str> = report["added"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(added, ["市民政局婚姻登记系统", "平安民政公众号", "社会组织管理系统"], "{report}");
    let first = &report["added"][0];
    assert_eq!((first["cost_per_year"].as_i64(), first["security_level"].as_i64()), (Some(125_000), Some(3)));
    assert_eq!(report["added"][1]["kind"], "wechat");
    assert_eq!(report["added"][1]["vendor"], "");
    let third = &report["added"][2];
    assert_eq!(
        (third["kind"].as_str(), third["status"].as_str(), third["cost_per_year"].as_i64()),
        (Some("business"), Some("rectifying"), Some(35_000))
    );
    assert_eq!(third["urls"], json!(["http://shzz.mzj.linyi.gov.cn/", "https://shzz2.linyi.gov.cn/"]));
    let refused: Vec<(i64, String)> = report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["row"].as_i64().unwrap(), r["column"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert_eq!(
        refused,
        [
            (4, "系统类型".to_owned()),
            (5, "主管部门".to_owned()),
            (6, "系统名称".to_owned()),
            (7, "访问地址".to_owned()),
            (8, "系统名称".to_owned()),
            (9, "系统名称".to_owned())
        ],
        "{report}"
    );
    assert_eq!(report["refused"][0]["value"], "飞船");
    assert_eq!(report["ignored_columns"], json!(["序号", "备注"]));
    // A file without the columns it needs is refused whole.
    let (st, b) = upload(&admin, &app, "/api/v1/systems/import?name=x.csv", "a,b\n1,2\n".as_bytes().to_vec()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(b["message"].as_str().unwrap().contains("系统名称"));
    let (_, all) = admin.get(&app, "/api/v1/systems").await;
    assert_eq!(all.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_system_whose_data_the_platform_no_longer_sees_used_is_a_zombie_until_it_is_called() {
    let app = crate::support::spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let (entry, table, _) = crate::exchange::provider_table(&app).await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    crate::sharing::granted(&app, &consumer, entry, json!({"approve": true})).await;
    let (_, sys) = admin
        .post(
            &app,
            "/api/v1/systems",
            json!({"name": "常住人口管理系统", "kind": "business", "org_id": app.org_id("gaj").await,
            "entries": [entry], "users": "户政窗口"}),
        )
        .await;
    let id = sys["id"].as_i64().unwrap();
    let verdict =
        |checked: &Value| checked.as_array().unwrap().iter().find(|c| c["system_id"] == id).unwrap()["verdict"].clone();
    // Fed and listed today: alive.
    let (_, checked) = admin.post(&app, "/api/v1/systems/check", json!({})).await;
    assert_eq!(verdict(&checked)["severity"], "healthy", "{checked}");
    // Its table last fed and its entry last updated long ago, no call since: a zombie by
    // the platform's own records.
    for sql in [
        format!("UPDATE library_tables SET updated_at = '2025-01-01T00:00:00Z' WHERE entry_id = {entry}"),
        format!("UPDATE catalog_entries SET updated_at = '2025-01-01T00:00:00Z' WHERE id = {entry}"),
    ] {
        tongshu_store::testing::execute(&app.store, &sql).await.unwrap();
    }
    let (_, checked) = admin.post(&app, "/api/v1/systems/check", json!({})).await;
    let v = verdict(&checked);
    assert_eq!((v["severity"].as_str(), v["findings"][0]["rule"].as_str()), (Some("zombie"), Some("inactive")), "{v}");
    assert!(v["findings"][0]["evidence"].as_str().unwrap().contains("天无任何使用记录"), "{v}");
    // A consumer calls the data interface: the platform sees the system used again.
    let (st, rows) = consumer.get(&app, &format!("/api/v1/exchange/tables/{table}/rows?limit=1")).await;
    assert_eq!(st, StatusCode::OK, "{rows}");
    let (_, checked) = admin.post(&app, "/api/v1/systems/check", json!({})).await;
    assert_eq!(verdict(&checked)["severity"], "healthy", "{checked}");
}
