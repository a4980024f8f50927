//! IT projects through the API (issue 16): the whole lifecycle with its gates refusing
//! (no data-sharing registration, missing documents, unscored experts, similar systems
//! without a reason, promised data never shared), roles, the AHP check, evaluation and the
//! round's report, the portfolio. The system inventory is in `systems.rs`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, Session, TestApp, spawn_on};

pub(crate) async fn upload(s: &Session, app: &TestApp, path: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
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

pub(crate) fn fields(v: &Value) -> Vec<String> {
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
pub(crate) async fn shared_entry_of(app: &TestApp, org: &str) -> i64 {
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
    assert_eq!(similar[0]["name"], "治安防控视频研判系统", "{similar}");
    // What the department may not read of the inventory stays out of the answer.
    for hidden in ["urls", "vendor", "cost_per_year", "users", "entries", "apps"] {
        assert!(similar[0].get(hidden).is_none(), "{hidden}: {similar}");
    }
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
