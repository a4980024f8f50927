//! Sharing between two departments: the medical-insurance bureau asks the public security
//! bureau for residents, the provider approves with narrowing, the consumer's app calls the
//! interface with signed requests and sees only granted items, masked, in the granted rows;
//! revocation ends it; bad signatures, replays and stale timestamps are refused; every call
//! is in the evidence log, whose chain verifies.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tongshu_core::catalog::{EntryStatus, SharingType};
use tongshu_exchange::signing;
use tongshu_store::EntryFilter;

use crate::support::{TestApp, client, spawn_app};

/// Residents: (name, id number, address). Four in 兰山区, two in 罗庄区.
pub const PEOPLE: &[(&str, &str, &str)] = &[
    ("张三丰", "37130219900101123X", "山东省临沂市兰山区解放路1号"),
    ("李四", "371302198502021234", "山东省临沂市兰山区通达路2号"),
    ("王五", "371302197703031235", "山东省临沂市兰山区金雀山路3号"),
    ("赵六", "371302200104041236", "山东省临沂市兰山区沂蒙路4号"),
    ("钱七", "371311199905051237", "山东省临沂市罗庄区罗庄街5号"),
    ("孙八", "371311196806061238", "山东省临沂市罗庄区湖东路6号"),
];

/// A listed, conditionally shared person entry of the public security bureau, with a table.
pub async fn provider_table(app: &TestApp) -> (i64, String, Vec<String>) {
    let gaj = app.org_id("gaj").await;
    let entries =
        app.store.list_entries(&EntryFilter { org_id: Some(gaj), limit: 500, ..Default::default() }).await.unwrap();
    let e = entries
        .entries
        .into_iter()
        .find(|e| {
            e.status == EntryStatus::Listed
                && e.body.sharing.kind == SharingType::Conditional
                && e.body.items.iter().any(|i| i.name == "公民身份号码")
                && app_has_no_table(&e.body.name)
        })
        .expect("a conditionally shared person entry of gaj");
    let items: Vec<String> = e.body.items.iter().map(|i| i.name.clone()).collect();
    let mut csv = items.join(",") + "\n";
    for (name, id, addr) in PEOPLE {
        let row: Vec<String> = items
            .iter()
            .map(|i| match i.as_str() {
                "姓名" => name.to_string(),
                "公民身份号码" => id.to_string(),
                "性别" => "男".into(),
                "出生日期" => format!("{}-{}-{}", &id[6..10], &id[10..12], &id[12..14]),
                "联系电话" => "13812345678".into(),
                "户籍地址" => addr.to_string(),
                "办理日期" => "2024-01-02".into(),
                "更新时间" => "2024-01-02 09:00:00".into(),
                _ => "x".into(),
            })
            .collect();
        csv += &(row.join(",") + "\n");
    }
    let file = app.dir.join("people.csv");
    std::fs::write(&file, csv).unwrap();
    let req =
        tongshu_lake::IngestRequest { create: true, ..tongshu_lake::IngestRequest::new("gaj_people", file, "test") };
    app.library.create_for_entry(&crate::ckan::admin(app).await, req, e.id).await.unwrap();
    (e.id, "gaj_people".into(), items)
}

fn app_has_no_table(name: &str) -> bool {
    // The demo's own people table belongs to 户籍人口基本信息; take another entry.
    name != "户籍人口基本信息"
}

pub struct SignedApp {
    pub key: String,
    pub secret: String,
}

impl SignedApp {
    pub async fn call(
        &self,
        app: &TestApp,
        method: &str,
        path_and_query: &str,
        body: &str,
        ts: i64,
        nonce: &str,
    ) -> (StatusCode, Value) {
        self.call_at(&app.url(""), method, path_and_query, body, ts, nonce).await
    }

    /// [`Self::call`] to the node at `base` (`http://host:port`).
    pub async fn call_at(
        &self,
        base: &str,
        method: &str,
        path_and_query: &str,
        body: &str,
        ts: i64,
        nonce: &str,
    ) -> (StatusCode, Value) {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let text = signing::string_to_sign(method, path, query, body.as_bytes(), &ts.to_string(), nonce);
        let sig = signing::sign(&self.secret, &text);
        let req = client()
            .request(method.parse().unwrap(), format!("{base}{path_and_query}"))
            .header(signing::APP_HEADER, &self.key)
            .header(signing::TIMESTAMP_HEADER, ts.to_string())
            .header(signing::NONCE_HEADER, nonce)
            .header(signing::SIGNATURE_HEADER, sig)
            .header("content-type", "application/json")
            .body(body.to_owned());
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn two_departments_share_through_request_grant_signed_calls_masking_and_revocation() {
    let app = spawn_app().await;
    let (entry_id, table, _items) = provider_table(&app).await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let other_officer = app.sign_in("officer.mzj", "Officer@2026").await;

    // A conditional request: pending, due in ten working days on the seeded calendar.
    let (status, bad) = consumer
        .post(&app, "/api/v1/exchange/requests", json!({"entry_id": entry_id, "purpose": "核验参保人员身份"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("legal_basis"));
    let (status, req) = consumer
        .post(
            &app,
            "/api/v1/exchange/requests",
            json!({"entry_id": entry_id, "purpose": "核验参保人员身份", "legal_basis": "《社会保险法》第八十一条",
                   "items": ["姓名", "公民身份号码", "联系电话", "户籍地址"], "consuming_system": "医保核心系统"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    assert_eq!(req["status"], "pending");
    let today = tongshu_exchange::beijing_today();
    let due = tongshu_core::workdays::china_2026().add_working_days(today, 10);
    assert_eq!(req["due_on"], due.to_string());
    let rid = req["id"].as_i64().unwrap();

    // The consumer's app exists before any grant: its calls are refused.
    let (status, created) = consumer.post(&app, "/api/v1/exchange/apps", json!({"name": "医保核心系统"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let signed = SignedApp {
        key: created["app"]["app_key"].as_str().unwrap().to_owned(),
        secret: created["secret"].as_str().unwrap().to_owned(),
    };
    let rows = format!("/api/v1/exchange/tables/{table}/rows");
    let (status, body) = signed.call(&app, "GET", &rows, "", now(), "n-before").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no grant yet: {body} {table}");

    // Only the provider's officers answer; they narrow items and rows.
    let decision = json!({"approve": true, "answer": "同意，限兰山区", "items": ["姓名", "公民身份号码", "户籍地址"],
        "row_filter": [{"column": "户籍地址", "op": "contains", "value": "兰山区"}],
        "verify_items": ["姓名", "公民身份号码"]});
    let (status, _) =
        other_officer.post(&app, &format!("/api/v1/exchange/requests/{rid}/decision"), decision.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "other departments do not even see the request");
    let (status, bad) = officer
        .post(&app, &format!("/api/v1/exchange/requests/{rid}/decision"), json!({"approve": true, "items": ["性别"]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "cannot widen: {bad}");
    let (status, answered) =
        officer.post(&app, &format!("/api/v1/exchange/requests/{rid}/decision"), decision.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_eq!((&answered["status"], &answered["on_time"]), (&json!("granted"), &json!(true)));
    let (status, _) = officer.post(&app, &format!("/api/v1/exchange/requests/{rid}/decision"), decision).await;
    assert_eq!(status, StatusCode::CONFLICT, "answered once");
    let grant_id = answered["grant_id"].as_i64().unwrap();

    // A signed call: granted items only, masked, rows in scope only.
    let (status, page) = signed.call(&app, "GET", &format!("{rows}?limit=100"), "", now(), "n1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let fields: Vec<&str> = page["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(fields, ["姓名", "公民身份号码", "户籍地址"]);
    let got = page["rows"].as_array().unwrap();
    assert_eq!(got.len(), 4, "the four residents of 兰山区: {page}");
    for r in got {
        let name = r["姓名"].as_str().unwrap();
        let id = r["公民身份号码"].as_str().unwrap();
        assert!(name.ends_with('*') && name.chars().filter(|c| *c != '*').count() == 1, "{name}");
        assert!(id.starts_with("371302") && id.contains("********") && id.len() == 18, "{id}");
        assert!(r["户籍地址"].as_str().unwrap().starts_with("山东省临沂市*"), "{r}");
        assert!(r.get("联系电话").is_none());
    }
    // Not granted: asked for, filtered on, or searched for.
    for (q, what) in [("select=联系电话", "column"), ("性别=男", "filter"), ("sort=联系电话", "sort")] {
        let (path, query) = (rows.clone(), q.split_once('=').map(|(k, v)| format!("{}={}", enc(k), enc(v))).unwrap());
        let (status, body) =
            signed.call(&app, "GET", &format!("{path}?{query}"), "", now(), &format!("n-{what}")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
    }
    let (status, _) = signed.call(&app, "GET", &format!("{rows}?q=%E7%BD%97%E5%BA%84"), "", now(), "n-q").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no free text over other columns");

    // Verification answers match or no match, within the grant's rows.
    let verify = format!("/api/v1/exchange/tables/{table}/verify");
    let ask = |name: &str, id: &str| json!({"values": {"姓名": name, "公民身份号码": id}}).to_string();
    let (status, m) = signed.call(&app, "POST", &verify, &ask("李四", "371302198502021234"), now(), "v1").await;
    assert_eq!((status, &m), (StatusCode::OK, &json!({"match": true})));
    let (_, m) = signed.call(&app, "POST", &verify, &ask("李四", "371302197703031235"), now(), "v2").await;
    assert_eq!(m, json!({"match": false}), "name and number of different people");
    let (_, m) = signed.call(&app, "POST", &verify, &ask("钱七", "371311199905051237"), now(), "v3").await;
    assert_eq!(m, json!({"match": false}), "outside the granted rows");

    // Bad signatures, replays, stale timestamps, unknown keys.
    let (status, body) = signed.call(&app, "GET", &rows, "", now(), "n1").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "replay: {body}");
    assert!(body["message"].as_str().unwrap().contains("replay"));
    let (status, body) = signed.call(&app, "GET", &rows, "", now() - 3600, "n-stale").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["message"].as_str().unwrap().contains("stale"), "{body}");
    let forged = SignedApp { key: signed.key.clone(), secret: "not-the-secret".into() };
    let (status, body) = forged.call(&app, "GET", &rows, "", now(), "n-forged").await;
    assert_eq!((status, body["message"].as_str().unwrap()), (StatusCode::UNAUTHORIZED, "bad signature"));
    let (status, _) = client().get(app.url(&rows)).send().await.map(|r| (r.status(), ())).unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "anonymous");

    // Revoked: refused from the next call on; the history shows both steps.
    let (status, _) = officer
        .post(&app, &format!("/api/v1/exchange/grants/{grant_id}/revoke"), json!({"reason": "用途已完成"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = signed.call(&app, "GET", &rows, "", now(), "n-after").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, g) = consumer.get(&app, &format!("/api/v1/exchange/grants/{grant_id}")).await;
    let actions: Vec<&str> = g["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["granted", "revoked"]);

    // Every call is evidence; the provider sees who used its table; the chain verifies.
    let auditor = app.sign_in("auditor", "Auditor@2026").await;
    let (_, ev) = auditor.get(&app, &format!("/api/v1/exchange/evidence?subject=table:{table}&limit=1000")).await;
    let statuses: Vec<i64> = ev["records"].as_array().unwrap().iter().map(|r| r["status"].as_i64().unwrap()).collect();
    assert!(statuses.contains(&200) && statuses.contains(&401) && statuses.contains(&403), "{statuses:?}");
    let ok = ev["records"].as_array().unwrap().iter().find(|r| r["status"] == 200 && r["rows_out"] == 4).unwrap();
    assert!(ok["bytes_out"].as_i64().unwrap() > 0 && ok["app_id"].is_i64());
    let (_, mine) = officer.get(&app, "/api/v1/exchange/evidence").await;
    assert!(mine["records"].as_array().unwrap().iter().any(|r| r["subject"] == format!("table:{table}")));
    let verified = tongshu_exchange::audit_verify(&app.store, &[]).await.unwrap().unwrap();
    assert!(verified.records as usize >= statuses.len() + 3, "requests and grant decisions too");
}

#[tokio::test]
async fn unconditional_entries_are_granted_at_once_and_not_shared_ones_refused_with_their_basis() {
    let app = spawn_app().await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    let ybj = app.org_id("ybj").await;
    let all = app.store.list_entries(&EntryFilter { limit: 1000, ..Default::default() }).await.unwrap().entries;
    let listed = |kind: SharingType| {
        all.iter().find(|e| e.status == EntryStatus::Listed && e.body.sharing.kind == kind && e.org_id != ybj).unwrap()
    };
    let free = listed(SharingType::Unconditional);
    let (status, r) =
        consumer.post(&app, "/api/v1/exchange/requests", json!({"entry_id": free.id, "purpose": "业务协同"})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!((&r["status"], &r["on_time"]), (&json!("granted"), &json!(true)));
    let closed = listed(SharingType::NotShared);
    let (status, r) =
        consumer.post(&app, "/api/v1/exchange/requests", json!({"entry_id": closed.id, "purpose": "业务协同"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let basis = closed.body.sharing.legal_basis.clone().unwrap();
    assert!(r["message"].as_str().unwrap().contains(&basis), "{r}");
    let (_, list) = consumer.get(&app, "/api/v1/exchange/requests").await;
    assert_eq!(list["requests"].as_array().unwrap().len(), 1, "the refused one was never filed");
    let (status, _) =
        client().get(app.url("/api/v1/exchange/requests")).send().await.map(|r| (r.status(), ())).unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
