//! The exchange around the data: deadlines on the calendar administrators keep, the three
//! lists, objections tracked to the fixing version, metering, and a walk over every way to
//! rows proving that a grant's items and rows are all a consumer ever gets.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::exchange::{SignedApp, now, provider_table};
use crate::support::{Session, TestApp, client, spawn_app};

/// Files a request for `entry_id` as consumer.ybj and has officer.gaj approve `decision`.
pub async fn granted(app: &TestApp, consumer: &Session, entry_id: i64, decision: Value) -> Value {
    let (status, r) = consumer
        .post(
            app,
            "/api/v1/exchange/requests",
            json!({"entry_id": entry_id, "purpose": "核验身份", "legal_basis": "《社会保险法》"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let (status, r) = officer.post(app, &format!("/api/v1/exchange/requests/{}/decision", r["id"]), decision).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    r
}

#[tokio::test]
async fn deadlines_follow_the_calendar_administrators_keep() {
    let app = spawn_app().await;
    let (entry_id, _, _) = provider_table(&app).await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    let (_, cal) = consumer.get(&app, "/api/v1/exchange/calendar").await;
    assert_eq!(cal["deadline_days"], 10);
    assert!(cal["days"].as_array().unwrap().iter().any(|d| d["day"] == "2026-10-10" && d["kind"] == "workday"));
    // Declare the next two working days holidays: the deadline moves two working days on.
    let today = tongshu_exchange::beijing_today();
    let mut cal2 = tongshu_core::workdays::china_2026();
    let before = cal2.add_working_days(today, 10);
    let (d1, d2) = (cal2.add_working_days(today, 1), cal2.add_working_days(today, 2));
    for d in [d1, d2] {
        let (status, _) = admin
            .send(
                &app,
                reqwest::Method::PUT,
                "/api/v1/exchange/calendar",
                Some(json!({"day": d.to_string(), "kind": "holiday", "name": "测试"})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    cal2 = tongshu_core::workdays::Calendar::new(
        tongshu_core::workdays::CHINA_2026
            .iter()
            .map(|(d, k, _)| (tongshu_core::workdays::parse_day(d).unwrap(), *k))
            .chain([d1, d2].map(|d| (d, tongshu_core::workdays::DayKind::Holiday))),
    );
    let after = cal2.add_working_days(today, 10);
    assert!(after > before);
    let (_, r) = consumer
        .post(
            &app,
            "/api/v1/exchange/requests",
            json!({"entry_id": entry_id, "purpose": "核验身份", "legal_basis": "法"}),
        )
        .await;
    assert_eq!(r["due_on"], after.to_string());
    // Only administrators keep the calendar; bad days are named.
    let (status, _) = consumer
        .send(
            &app,
            reqwest::Method::PUT,
            "/api/v1/exchange/calendar",
            Some(json!({"day": "2026-12-01", "kind": "holiday"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, e) = admin
        .send(
            &app,
            reqwest::Method::PUT,
            "/api/v1/exchange/calendar",
            Some(json!({"day": "2026-13-01", "kind": "holiday"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // Overdue requests show on the supervision page once their day has passed.
    let (_, sup) = admin.get(&app, "/api/v1/exchange/supervision").await;
    assert!(sup["overdue"].as_array().unwrap().is_empty(), "nothing is overdue yet");
}

#[tokio::test]
async fn demands_are_assigned_answered_and_become_requests_and_the_negative_list_refuses() {
    let app = spawn_app().await;
    let (entry_id, _, _) = provider_table(&app).await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let (status, d) = consumer
        .post(
            &app,
            "/api/v1/exchange/demands",
            json!({"title": "参保人员户籍核验", "description": "需要核验参保人员的户籍信息"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let id = d["id"].as_i64().unwrap();
    let (status, _) =
        officer.post(&app, &format!("/api/v1/exchange/demands/{id}/answer"), json!({"answer": "有"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "not assigned yet");
    let gaj = app.org_id("gaj").await;
    let (status, _) =
        consumer.post(&app, &format!("/api/v1/exchange/demands/{id}/assign"), json!({"org_id": gaj})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the platform assigns");
    let (status, d) = admin.post(&app, &format!("/api/v1/exchange/demands/{id}/assign"), json!({"org_id": gaj})).await;
    assert_eq!((status, &d["status"]), (StatusCode::OK, &json!("assigned")));
    let (status, d) = officer
        .post(
            &app,
            &format!("/api/v1/exchange/demands/{id}/answer"),
            json!({"entry_id": entry_id, "answer": "可通过本目录申请"}),
        )
        .await;
    assert_eq!((status, &d["status"]), (StatusCode::OK, &json!("matched")), "{d}");
    let (status, r) = consumer
        .post(
            &app,
            &format!("/api/v1/exchange/demands/{id}/request"),
            json!({"purpose": "核验", "legal_basis": "《社会保险法》"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!((r["entry_id"].as_i64(), &r["status"]), (Some(entry_id), &json!("pending")));
    let (_, list) = consumer.get(&app, "/api/v1/exchange/demands").await;
    assert_eq!(list["demands"][0]["request_id"], r["id"]);

    // Responsibility list: due, then done once the entry is listed with a table.
    let (status, duty) = admin
        .post(
            &app,
            "/api/v1/exchange/responsibilities",
            json!({"org_id": gaj, "title": "户籍人口信息", "description": "按月提供", "due_on": "2099-12-31"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{duty}");
    let (_, duties) = officer.get(&app, "/api/v1/exchange/responsibilities").await;
    assert_eq!(duties["responsibilities"][0]["progress"], "pending");
    let (status, _) = officer
        .post(&app, &format!("/api/v1/exchange/responsibilities/{}/fulfil", duty["id"]), json!({"entry_id": entry_id}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, duties) = officer.get(&app, "/api/v1/exchange/responsibilities").await;
    assert_eq!(duties["responsibilities"][0]["progress"], "done");

    // Negative list: requests refused with the basis, and the sharing catalog says so.
    let (status, _) = admin
        .post(&app, "/api/v1/exchange/negative", json!({"entry_id": entry_id, "legal_basis": "涉及国家秘密"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, e) = consumer
        .post(&app, "/api/v1/exchange/requests", json!({"entry_id": entry_id, "purpose": "核验", "legal_basis": "法"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(e["message"].as_str().unwrap().contains("涉及国家秘密"), "{e}");
    let (_, cat) = consumer.get(&app, "/api/v1/exchange/catalog").await;
    let it = cat["entries"].as_array().unwrap().iter().find(|x| x["id"] == entry_id).unwrap();
    assert_eq!((&it["requestable"], &it["legal_basis"]), (&json!(false), &json!("涉及国家秘密")));
    assert_eq!(it["mine"], "pending");
}

#[tokio::test]
async fn objections_are_answered_with_the_fixing_version_and_count_against_quality() {
    let app = spawn_app().await;
    let (entry_id, table, _) = provider_table(&app).await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let body = json!({"table": table, "record": "公民身份号码=371302198502021234", "item": "户籍地址", "expected": "兰山区通达路20号", "evidence": "户籍登记簿"});
    let (status, _) = consumer.post(&app, "/api/v1/exchange/objections", body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "objections need access to the data");
    granted(&app, &consumer, entry_id, json!({"approve": true})).await;
    let (status, o) = consumer.post(&app, "/api/v1/exchange/objections", body).await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    let due = tongshu_core::workdays::china_2026().add_working_days(tongshu_exchange::beijing_today(), 5);
    assert_eq!(o["due_on"], due.to_string());
    let (_, mine) = officer.get(&app, "/api/v1/exchange/objections").await;
    assert_eq!(mine["objections"].as_array().unwrap().len(), 1, "the provider sees it");
    let oid = o["id"].as_i64().unwrap();
    let (status, e) = officer
        .post(
            &app,
            &format!("/api/v1/exchange/objections/{oid}/answer"),
            json!({"fixed_version": 99, "answer": "已更正"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no such version: {e}");
    let (status, o) = officer
        .post(
            &app,
            &format!("/api/v1/exchange/objections/{oid}/answer"),
            json!({"fixed_version": 0, "answer": "已更正"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!((&o["status"], &o["fixed_version"], &o["on_time"]), (&json!("corrected"), &json!(0), &json!(1)));
    let (status, _) =
        officer.post(&app, &format!("/api/v1/exchange/objections/{oid}/answer"), json!({"answer": "重复"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn no_caller_ever_gets_an_item_or_row_outside_its_grant() {
    let app = spawn_app().await;
    let (entry_id, table, _) = provider_table(&app).await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    granted(
        &app,
        &consumer,
        entry_id,
        json!({"approve": true, "items": ["姓名", "户籍地址"], "row_filter": [{"column": "户籍地址", "op": "contains", "value": "罗庄区"}], "clear_items": ["姓名", "户籍地址"]}),
    )
    .await;
    let (_, created) = consumer.post(&app, "/api/v1/exchange/apps", json!({"name": "核验"})).await;
    let signed = SignedApp {
        key: created["app"]["app_key"].as_str().unwrap().into(),
        secret: created["secret"].as_str().unwrap().into(),
    };
    let secret_items = ["公民身份号码", "371302", "联系电话", "13812345678", "兰山区"];
    let leaks = |text: &str| secret_items.iter().find(|s| text.contains(*s)).map(|s| s.to_string());
    // Every path that can return rows, as the consumer's user and as its signed app.
    let paths = [
        format!("/api/v1/exchange/tables/{table}/rows"),
        format!("/api/v1/exchange/tables/{table}/rows?select=%E5%A7%93%E5%90%8D"),
        format!("/api/v1/exchange/tables/{table}/rows?format=csv"),
        format!(
            "/api/v1/exchange/tables/{table}/rows?%E6%88%B7%E7%B1%8D%E5%9C%B0%E5%9D%80__contains=%E5%85%B0%E5%B1%B1"
        ),
        format!("/api/v1/open/tables/{table}/rows"),
        format!("/api/v1/open/tables/{table}/download?format=csv"),
        format!("/api/v1/library/tables/{table}/export?format=csv"),
        format!("/api/3/action/datastore_search?resource_id={table}"),
        "/api/v1/library/tables".to_string(),
    ];
    let mut seen_rows = 0;
    for (i, path) in paths.iter().enumerate() {
        let r = consumer.client.get(app.url(path)).send().await.unwrap();
        let (status, text) = (r.status(), r.text().await.unwrap());
        assert!(!status.is_server_error(), "{path}: {status}");
        assert_eq!(leaks(&text), None, "{path} as the user leaks: {text}");
        let (status, body) = signed.call(&app, "GET", path, "", now(), &format!("walk-{i}")).await;
        assert!(!status.is_server_error(), "{path}: {status}");
        assert_eq!(leaks(&body.to_string()), None, "{path} as the app leaks: {body}");
        if status == StatusCode::OK && path.contains("/exchange/") && !path.contains("format=csv") {
            seen_rows += body["rows"].as_array().map_or(0, |r| r.len());
        }
    }
    assert!(seen_rows >= 2, "the granted rows do come through: {seen_rows}");
    // SQL and pages are not open to consumers at all.
    let r = consumer.post(&app, "/api/v1/library/sql", json!({"sql": format!("SELECT * FROM {table}")})).await;
    assert_eq!(r.0, StatusCode::FORBIDDEN);
    let html =
        consumer.client.get(app.url(&format!("/catalog/{entry_id}"))).send().await.unwrap().text().await.unwrap();
    // (Item names and district codes are metadata; the page must show no values.)
    for value in ["37130219900101123X", "371302198502021234", "13812345678", "解放路"] {
        assert!(!html.contains(value), "the catalog page shows no rows: {value}");
    }
    // Verification on an item outside the grant is refused, not answered.
    let verify = format!("/api/v1/exchange/tables/{table}/verify");
    let (status, _) = signed
        .call(
            &app,
            "POST",
            &verify,
            &json!({"values": {"公民身份号码": "371302198502021234"}}).to_string(),
            now(),
            "walk-v",
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Malformed filters and bodies are 4xx, and in the evidence log.
    let (status, _) = signed.call(&app, "GET", &format!("{}?limit=0", paths[0]), "", now(), "walk-bad").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = signed.call(&app, "POST", &verify, "not json", now(), "walk-bad2").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, metering) = consumer.get(&app, "/api/v1/exchange/metering").await;
    let ops = metering["operations"].as_array().unwrap();
    assert!(ops.is_empty(), "consumers see only their own tables' operations: {ops:?}");
    let usage = metering["usage"].as_array().unwrap();
    assert!(usage.iter().any(|u| u["errors"].as_i64().unwrap() >= 2), "their own calls, errors counted: {usage:?}");
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let (_, m) = officer.get(&app, "/api/v1/exchange/metering").await;
    let op =
        m["operations"].as_array().unwrap().iter().find(|o| o["subject"] == format!("table:{table}")).unwrap().clone();
    assert!(op["calls"].as_i64().unwrap() >= 8 && op["error_rate"].as_f64().unwrap() > 0.0, "{op}");
    let _ = client();
}

#[tokio::test]
async fn lookups_views_interface_documents_renewals_expiry_and_the_evidence_export() {
    let app = spawn_app().await;
    let (entry_id, table, _) = provider_table(&app).await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let r = granted(
        &app,
        &consumer,
        entry_id,
        json!({"approve": true, "items": ["姓名", "公民身份号码", "户籍地址"],
        "row_filter": [{"column": "户籍地址", "op": "contains", "value": "兰山区"}], "clear_items": ["户籍地址"]}),
    )
    .await;
    let grant_id = r["grant_id"].as_i64().unwrap();

    // Lookup by one key item the consumer sees in clear, the others masked; a masked key
    // (an oracle), two keys or none are refused.
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let lookup = |k: &str, v: &str| format!("/api/v1/exchange/tables/{table}/lookup?{}={}", enc(k), enc(v));
    let (status, found) = consumer.get(&app, &lookup("户籍地址", "山东省临沂市兰山区通达路2号")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let rows = found["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["户籍地址"], "山东省临沂市兰山区通达路2号", "shown in clear as granted");
    assert_eq!(rows[0]["姓名"], "李*");
    assert_eq!(rows[0]["公民身份号码"], "371302********1234");
    let (status, _) = consumer.get(&app, &lookup("公民身份号码", "371302198502021234")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a masked key");
    let (status, _) = consumer.get(&app, &format!("/api/v1/exchange/tables/{table}/lookup")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, none) = consumer.get(&app, &lookup("户籍地址", "山东省临沂市罗庄区罗庄街5号")).await;
    assert_eq!(none["rows"], json!([]), "outside the granted rows");

    // Administrators keep the masking rules (new ones are tried after the presets).
    let rule = json!({"name": "户籍地址全隐", "patterns": "户籍", "mask": "redact", "min_grading": "general"});
    let (status, _) = consumer.post(&app, "/api/v1/exchange/mask-rules", rule.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, e) = admin
        .post(
            &app,
            "/api/v1/exchange/mask-rules",
            json!({"name": "x", "patterns": "a", "mask": "keep:x", "min_grading": "general"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["fields"][0]["field"], "mask");
    let (status, _) = admin
        .post(
            &app,
            "/api/v1/exchange/mask-rules",
            json!({"name": "性别", "patterns": "性别", "mask": "null", "min_grading": "general"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, rules) = consumer.get(&app, "/api/v1/exchange/mask-rules").await;
    assert_eq!(rules["rules"].as_array().unwrap().last().unwrap()["mask"], "null");

    // The interface's own OpenAPI document lists the granted items and their masks.
    let (status, doc) = consumer.get(&app, &format!("/api/v1/exchange/tables/{table}/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    let props = &doc["components"]["schemas"]["Row"]["properties"];
    assert_eq!(props.as_object().unwrap().len(), 3);
    assert_eq!(props["公民身份号码"]["description"], "mask: keep:6:4");
    assert!(doc["paths"][format!("/api/v1/exchange/tables/{table}/verify")]["post"].is_object());

    // A custom interface: a view whose columns are the entry's items.
    let sql = format!("SELECT \"姓名\", \"户籍地址\", \"性别\" FROM {table} WHERE \"性别\" = '男'");
    let (status, e) =
        consumer.post(&app, "/api/v1/exchange/views", json!({"name": "men", "entry_id": entry_id, "sql": sql})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{e}");
    let (status, e) = admin
        .post(
            &app,
            "/api/v1/exchange/views",
            json!({"name": "bad", "entry_id": entry_id, "sql": format!("SELECT 1 AS x FROM {table}")}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("\"x\""), "{e}");
    let (status, e) = admin
        .post(
            &app,
            "/api/v1/exchange/views",
            json!({"name": "drop", "entry_id": entry_id, "sql": format!("DROP TABLE {table}")}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (status, v) =
        admin.post(&app, "/api/v1/exchange/views", json!({"name": "men", "entry_id": entry_id, "sql": sql})).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, page) = consumer.get(&app, "/api/v1/exchange/views/men/rows").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "all demo residents are 男, four live in 兰山区: {page}");
    assert!(rows.iter().all(|r| r.get("性别").is_none() && r["姓名"].as_str().unwrap().ends_with('*')));
    // Its page: the definition, the description and a console calling the view.
    let html = consumer.client.get(app.url("/sharing/views/men")).send().await.unwrap().text().await.unwrap();
    let html = html.replace("&#x2f;", "/");
    assert!(html.contains("视图定义") && html.contains("data-base=\"/api/v1/exchange/views/men\""), "{html}");
    assert!(html.contains("/api/v1/exchange/views/men/rows"), "the OpenAPI description");
    let (_, cat) = consumer.get(&app, "/api/v1/exchange/catalog").await;
    let it = cat["entries"].as_array().unwrap().iter().find(|x| x["id"] == entry_id).unwrap();
    assert_eq!(it["views"], json!(["men"]));

    // Renewed, then expired: an expired grant is refused (and logged).
    let (status, g) = officer
        .post(&app, &format!("/api/v1/exchange/grants/{grant_id}/renew"), json!({"valid_to": "2099-12-31"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{g}");
    assert!(
        g["valid_to"].as_str().unwrap().starts_with("2100-01-01")
            || g["valid_to"].as_str().unwrap().starts_with("2099-12-31")
    );
    let (status, _) = officer
        .post(&app, &format!("/api/v1/exchange/grants/{grant_id}/renew"), json!({"valid_to": "2020-01-01"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "renewals end in the future");
    tongshu_store::testing::execute(
        &app.store,
        &format!("UPDATE grants SET valid_to = '2020-01-01T00:00:00Z' WHERE id = {grant_id}"),
    )
    .await
    .unwrap();
    let (status, e) = consumer.get(&app, &format!("/api/v1/exchange/tables/{table}/rows")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "expired: {e}");
    let (_, g) = consumer.get(&app, &format!("/api/v1/exchange/grants/{grant_id}")).await;
    let actions: Vec<&str> = g["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["granted", "renewed"]);

    // Inspectors export the whole log with its chain; others may not.
    let (status, _) = consumer.get(&app, "/api/v1/exchange/evidence/export").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let auditor = app.sign_in("auditor", "Auditor@2026").await;
    let r = auditor.client.get(app.url("/api/v1/exchange/evidence/export")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let lines: Vec<Value> = r.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 8);
    assert!(lines.windows(2).all(|w| w[1]["prev_hash"] == w[0]["hash"]), "the chain is in the export");
    assert!(
        lines.iter().any(|l| l["status"] == 403 && l["subject"] == format!("table:{table}")),
        "the refusal is logged"
    );
    let r = auditor.client.get(app.url("/api/v1/exchange/evidence/export?format=csv")).send().await.unwrap();
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with("seq,at,kind,"));
    assert_eq!(csv.lines().count(), lines.len() + 1);
}

#[tokio::test]
async fn quotas_answer_429_and_due_requests_are_reminded_then_escalated() {
    let app = spawn_app().await;
    let (entry_id, table, _) = provider_table(&app).await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    granted(&app, &consumer, entry_id, json!({"approve": true})).await;
    let (_, created) = consumer.post(&app, "/api/v1/exchange/apps", json!({"name": "限额测试"})).await;
    let signed = SignedApp {
        key: created["app"]["app_key"].as_str().unwrap().into(),
        secret: created["secret"].as_str().unwrap().into(),
    };
    let app_id = created["app"]["id"].as_i64().unwrap();
    let (status, _) = consumer
        .send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/v1/exchange/apps/{app_id}/quota"),
            Some(json!({"per_minute": 2, "per_day": 100})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "administrators set quotas");
    let (status, _) = admin
        .send(
            &app,
            reqwest::Method::PUT,
            &format!("/api/v1/exchange/apps/{app_id}/quota"),
            Some(json!({"per_minute": 2, "per_day": 100})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let rows = format!("/api/v1/exchange/tables/{table}/rows?limit=1");
    // Two calls fit in the minute (unless the minute turns between them); the third may not.
    let mut statuses = Vec::new();
    for i in 0..3 {
        statuses.push(signed.call(&app, "GET", &rows, "", now(), &format!("q{i}")).await.0);
    }
    if statuses[..2] == [StatusCode::OK, StatusCode::OK] && time::OffsetDateTime::now_utc().second() > 1 {
        assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
        let r = client()
            .get(app.url(&rows))
            .header(tongshu_exchange::signing::APP_HEADER, &signed.key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "an unsigned call is refused before the quota");
    }

    // A pending request: reminded before its day, escalated after it, once each.
    let (_, r) = consumer
        .post(
            &app,
            "/api/v1/exchange/requests",
            json!({"entry_id": entry_id, "purpose": "再次申请", "legal_basis": "法"}),
        )
        .await;
    let rid = r["id"].as_i64().unwrap();
    let lake = tongshu_lake::Library::open(app.dir.join("library").to_str().unwrap(), Default::default()).unwrap();
    let ex = tongshu_exchange::Exchange::new(
        app.store.clone(),
        tongshu_library::LibraryService::new(lake, app.store.clone()),
        tongshu_sources::SecretKey::generate(),
        Default::default(),
    );
    let due = tongshu_core::workdays::parse_day(r["due_on"].as_str().unwrap()).unwrap();
    let cal = tongshu_core::workdays::china_2026();
    let mut two_before = due;
    while cal.working_days_between(two_before, due) < 2 {
        two_before -= time::Duration::days(1);
    }
    let early = ex.supervise(two_before - time::Duration::days(7)).await.unwrap();
    assert!(early.reminded.is_empty() && early.escalated.is_empty(), "{early:?}");
    assert_eq!(ex.supervise(two_before).await.unwrap().reminded, [rid]);
    assert!(ex.supervise(two_before).await.unwrap().reminded.is_empty(), "once");
    let late = due + time::Duration::days(1);
    assert_eq!(ex.supervise(late).await.unwrap().escalated, [rid]);
    tongshu_store::testing::execute(
        &app.store,
        &format!("UPDATE share_requests SET due_on = '2020-01-02' WHERE id = {rid}"),
    )
    .await
    .unwrap();
    let (_, sup) = admin.get(&app, "/api/v1/exchange/supervision").await;
    let overdue = sup["overdue"].as_array().unwrap();
    assert_eq!(overdue.len(), 1);
    assert!(overdue[0]["escalated_at"].is_string() && overdue[0]["reminded_at"].is_string());
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let (_, r) = officer
        .post(
            &app,
            &format!("/api/v1/exchange/requests/{rid}/decision"),
            json!({"approve": false, "answer": "用途不明确"}),
        )
        .await;
    assert_eq!((&r["status"], &r["on_time"]), (&json!("refused"), &json!(false)), "answered late");
}
