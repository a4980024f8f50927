//! Issue 12: an attacker's tests. A consumer learns nothing of a masked item beyond its mask
//! (filters, sorts, ranges, repeated columns, lookups, verification), a delisting takes
//! effect at once on every node, sign-in limits cost the attacker and not the owner, and
//! redirects, hosts, sign-out, table paths, limits and old versions hold.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tongshu_core::masking::{Mask, MaskKey};

use crate::exchange::{PEOPLE, provider_table};
use crate::support::{Session, TestApp, client, spawn_app};

const ITEMS: [&str; 4] = ["姓名", "公民身份号码", "户籍地址", "出生日期"];

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The clear value of `item` for the resident with `id`.
fn clear(id: &str, item: &str) -> String {
    let (name, id, addr) = PEOPLE.iter().find(|p| p.1 == id).copied().unwrap();
    match item {
        "姓名" => name.to_owned(),
        "公民身份号码" => id.to_owned(),
        "户籍地址" => addr.to_owned(),
        "出生日期" => format!("{}-{}-{}", &id[6..10], &id[10..12], &id[12..14]),
        _ => unreachable!("{item}"),
    }
}

/// A grant of `ITEMS` on the provider's residents to the insurance bureau, rows of 兰山区
/// only, with `clear_items` in clear and `verify_items` for verification.
async fn granted(app: &TestApp, clear_items: &[&str], verify_items: Option<&[&str]>) -> (String, Session, i64) {
    let (entry_id, table, _) = provider_table(app).await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let (status, req) = consumer
        .post(
            app,
            "/api/v1/exchange/requests",
            json!({"entry_id": entry_id, "purpose": "核验参保人员身份", "legal_basis": "《社会保险法》第八十一条",
                   "items": ITEMS}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{req}");
    let mut decision = json!({"approve": true, "answer": "同意", "clear_items": clear_items,
        "row_filter": [{"column": "户籍地址", "op": "contains", "value": "兰山区"}]});
    if let Some(v) = verify_items {
        decision["verify_items"] = json!(v);
    }
    let rid = req["id"].as_i64().unwrap();
    let (status, answered) = officer.post(app, &format!("/api/v1/exchange/requests/{rid}/decision"), decision).await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    (table, consumer, answered["grant_id"].as_i64().unwrap())
}

/// GET with a query of (key, value) pairs, encoded.
async fn get(s: &Session, app: &TestApp, path: &str, pairs: &[(&str, &str)]) -> (StatusCode, Value) {
    let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
    s.get(app, &format!("{path}?{}", q.join("&"))).await
}

#[tokio::test]
async fn masked_items_cannot_be_filtered_sorted_ranged_or_looked_up() {
    let app = spawn_app().await;
    let (table, consumer, _) = granted(&app, &[], Some(&["姓名", "公民身份号码"])).await;
    let rows = format!("/api/v1/exchange/tables/{table}/rows");
    let (status, page) = consumer.get(&app, &rows).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page["rows"][0]["公民身份号码"].as_str().unwrap().contains("********"), "{page}");
    // The attacks of the report, and their cousins: each one refused, none answered.
    let attacks: &[&[(&str, &str)]] = &[
        &[("公民身份号码__gte", "371302"), ("total", "exact")],
        &[("公民身份号码__lt", "3713021990")],
        &[("姓名__gte", "于")],
        &[("姓名__contains", "四")],
        &[("公民身份号码__in", "371302198502021234,x")],
        &[("公民身份号码", "371302198502021234")],
        &[("公民身份号码__ne", "371302198502021234")],
        &[("姓名__isnull", "false")],
        &[("sort", "公民身份号码")],
        &[("sort", "-姓名")],
        &[("sort", "姓名"), ("offset", "1"), ("limit", "1")],
        &[("q", "李四")],
    ];
    for attack in attacks {
        let (status, body) = get(&consumer, &app, &rows, attack).await;
        assert!(
            matches!(status, StatusCode::FORBIDDEN | StatusCode::UNPROCESSABLE_ENTITY),
            "{attack:?}: {status} {body}"
        );
        assert!(body.get("rows").is_none(), "{attack:?} answered rows: {body}");
        let with_csv: Vec<(&str, &str)> = attack.iter().copied().chain([("format", "csv")]).collect();
        let (status, _) = get(&consumer, &app, &rows, &with_csv).await;
        assert!(status.is_client_error(), "{attack:?} as CSV: {status}");
    }
    // Lookup by a masked item is a filter too.
    let lookup = format!("/api/v1/exchange/tables/{table}/lookup");
    let (status, body) = get(&consumer, &app, &lookup, &[("公民身份号码", "371302198502021234")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn repeated_columns_are_refused_everywhere_and_masking_goes_by_name() {
    let app = spawn_app().await;
    let (table, consumer, _) = granted(&app, &[], Some(&["姓名", "公民身份号码"])).await;
    let rows = format!("/api/v1/exchange/tables/{table}/rows");
    for select in ["姓名,姓名", "姓名,公民身份号码,姓名", "公民身份号码,公民身份号码"] {
        for format in ["json", "csv"] {
            let (status, body) = get(&consumer, &app, &rows, &[("select", select), ("format", format)]).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{select} {format}: {body}");
        }
    }
    // A custom interface cannot repeat a column either.
    let admin = app.sign_in("admin", "Admin@2026").await;
    let entry_id = app.store.get_table(&table).await.unwrap().unwrap().entry_id.unwrap();
    for sql in [
        format!("SELECT \"姓名\", \"姓名\" FROM {table}"),
        format!("SELECT \"姓名\", \"公民身份号码\" AS \"姓名\" FROM {table}"),
    ] {
        let (status, body) = admin
            .post(&app, "/api/v1/exchange/views", json!({"name": "twice", "entry_id": entry_id, "sql": sql}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{sql}: {body}");
    }
    // The open row API and CKAN's datastore_search refuse them too (no 500).
    let (_, open) = crate::ckan::with_table(&app, "open", "企业", crate::ckan::FIRMS, "sec_firms").await;
    let r = client().get(app.url(&format!("/api/v1/open/tables/{open}/rows?select={0},{0}", enc("单位名称")))).send();
    assert_eq!(r.await.unwrap().status(), StatusCode::BAD_REQUEST);
    let url = format!("/api/3/action/datastore_search?resource_id={open}&fields={0},{0}", enc("单位名称"));
    let r = client().get(app.url(&url)).send().await.unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert!(status.is_client_error() && body["success"] == false, "{status} {body}");
}

#[test]
fn masks_apply_to_every_column_of_a_name() {
    use std::sync::Arc;

    use tongshu_lake::arrow::array::{ArrayRef, StringArray};
    use tongshu_lake::arrow::datatypes::{DataType, Field, Schema};
    use tongshu_lake::arrow::record_batch::RecordBatch;
    let schema = Schema::new(vec![Field::new("姓名", DataType::Utf8, true), Field::new("姓名", DataType::Utf8, true)]);
    let col: ArrayRef = Arc::new(StringArray::from(vec!["何杰"]));
    let batch = RecordBatch::try_new(Arc::new(schema), vec![col.clone(), col]).unwrap();
    let masks = tongshu_core::masking::Masks {
        items: vec![("姓名".into(), Mask::Keep { first: 1, last: 0 })],
        key: MaskKey::for_grant(b"k", 1),
    };
    let out = tongshu_lake::mask_batches(vec![batch], &masks).unwrap();
    for i in 0..2 {
        let c = out[0].column(i).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(c.value(0), "何*", "copy {i}");
    }
}

/// Generates query strings against a grant (any mix of chosen, repeated and unknown
/// columns, filters and sorts of every kind on clear and masked items, limits, formats) and
/// checks every answer: a refusal, or rows whose every masked cell is the mask of that
/// row's clear value, and only rows of the grant's scope.
#[tokio::test]
async fn no_generated_query_learns_more_of_a_masked_item_than_its_mask() {
    let app = spawn_app().await;
    let (table, consumer, grant_id) = granted(&app, &["公民身份号码"], Some(&["公民身份号码", "姓名"])).await;
    let rows = format!("/api/v1/exchange/tables/{table}/rows");
    let _ = grant_id;
    // Which items the grant masks (the entry's grading decides for addresses and dates):
    // those whose plain page differs from the clear value.
    let (_, all) = consumer.get(&app, &format!("{rows}?limit=100")).await;
    let masked: Vec<&str> = ["姓名", "户籍地址", "出生日期"]
        .into_iter()
        .filter(|item| {
            all["rows"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r[*item].as_str() != Some(clear(r["公民身份号码"].as_str().unwrap(), item).as_str()))
        })
        .collect();
    assert!(masked.contains(&"姓名"), "names are masked at every grading");
    let ops = ["", "__in", "__ne", "__gt", "__gte", "__lt", "__lte", "__contains", "__isnull"];
    let values = ["371302198502021234", "李", "3713", "2000-01-01", "true", "兰山区", "", "N/A", "１２３"];
    let columns = ["姓名", "公民身份号码", "户籍地址", "出生日期", "联系电话", "性别"];
    let mut rng = StdRng::seed_from_u64(12);
    let (mut answered, mut refused) = (0, 0);
    for case in 0..240 {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if rng.random_bool(0.6) {
            let n = rng.random_range(1..=4);
            let pick: Vec<&str> = (0..n).map(|_| columns[rng.random_range(0..columns.len())]).collect();
            pairs.push(("select".into(), pick.join(",")));
        }
        for _ in 0..rng.random_range(0..3) {
            let c = columns[rng.random_range(0..columns.len())];
            let op = ops[rng.random_range(0..ops.len())];
            pairs.push((format!("{c}{op}"), values[rng.random_range(0..values.len())].into()));
        }
        if rng.random_bool(0.3) {
            let c = columns[rng.random_range(0..columns.len())];
            pairs.push(("sort".into(), if rng.random_bool(0.5) { format!("-{c}") } else { c.into() }));
        }
        if rng.random_bool(0.3) {
            pairs.push(("limit".into(), rng.random_range(1..5).to_string()));
        }
        let query: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (status, body) = get(&consumer, &app, &rows, &query).await;
        if status != StatusCode::OK {
            assert!(status.is_client_error(), "case {case} {query:?}: {status} {body}");
            assert!(body.get("rows").is_none(), "case {case}: a refusal carries no rows");
            refused += 1;
            continue;
        }
        answered += 1;
        for row in body["rows"].as_array().unwrap() {
            let obj = row.as_object().unwrap();
            // Without the clear key the row cannot be told apart; every masked cell must then
            // be the mask of some resident in scope.
            let key = obj.get("公民身份号码").and_then(Value::as_str);
            for (item, cell) in obj {
                if !masked.contains(&item.as_str()) {
                    continue;
                }
                let candidates: Vec<&str> = match key {
                    Some(id) => vec![id],
                    None => PEOPLE.iter().filter(|p| p.2.contains("兰山区")).map(|p| p.1).collect(),
                };
                let ok = candidates.iter().any(|id| {
                    let v = clear(id, item);
                    let expect = match item.as_str() {
                        "姓名" => Mask::Keep { first: 1, last: 0 }.apply(&v, &MaskKey::for_grant(b"", 0)),
                        "户籍地址" => Mask::Keep { first: 6, last: 0 }.apply(&v, &MaskKey::for_grant(b"", 0)),
                        _ => Mask::Year.apply(&v, &MaskKey::for_grant(b"", 0)),
                    };
                    cell.as_str() == expect.as_deref()
                });
                assert!(ok, "case {case} {query:?}: {item} = {cell} is not the mask of a resident in scope");
            }
            if let Some(id) = key {
                assert!(clear(id, "户籍地址").contains("兰山区"), "case {case}: a row outside the grant's scope");
            }
        }
    }
    assert!(
        answered > 20 && refused > 20,
        "the generator exercised both sides: {answered} answered, {refused} refused"
    );
}

#[tokio::test]
async fn verification_needs_the_whole_set_and_its_misses_are_limited_and_flagged() {
    let app = spawn_app().await;
    let (table, consumer, _) = granted(&app, &[], Some(&["公民身份号码", "姓名"])).await;
    let verify = format!("/api/v1/exchange/tables/{table}/verify");
    let ask = |values: BTreeMap<&str, &str>| json!({ "values": values });
    // The ID number alone is no longer an oracle.
    let (status, body) =
        consumer.post(&app, &verify, ask(BTreeMap::from([("公民身份号码", "371302198502021234")]))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("姓名"), "names what is missing: {body}");
    let (status, m) = consumer
        .post(&app, &verify, ask(BTreeMap::from([("公民身份号码", "371302198502021234"), ("姓名", "李四")])))
        .await;
    assert_eq!((status, m), (StatusCode::OK, json!({"match": true})));
    // Guessing: twenty misses a day, then 429 until midnight, right answer or not.
    for i in 0..20 {
        let id = format!("3713021985020212{i:02}");
        let (status, m) =
            consumer.post(&app, &verify, ask(BTreeMap::from([("公民身份号码", id.as_str()), ("姓名", "李四")]))).await;
        assert_eq!((status, &m), (StatusCode::OK, &json!({"match": false})), "miss {i}");
    }
    let (status, body) = consumer
        .post(&app, &verify, ask(BTreeMap::from([("公民身份号码", "371302198502021234"), ("姓名", "李四")])))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    // The provider sees the burst on its usage figures and page.
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let (_, metering) = officer.get(&app, "/api/v1/exchange/metering").await;
    let flags = metering["verify_flags"].as_array().unwrap();
    assert!(
        flags.iter().any(|f| f["subject"] == format!("table:{table}") && f["misses"] == 20 && f["at_limit"] == true),
        "{metering}"
    );
    let html = officer.client.get(app.url("/sharing/usage")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("核验未命中告警") && html.contains("已达上限"), "the usage page flags it");
    // Another department sees no flag of a table it does not own.
    let other = app.sign_in("officer.mzj", "Officer@2026").await;
    let (_, theirs) = other.get(&app, "/api/v1/exchange/metering").await;
    assert!(theirs["verify_flags"].as_array().unwrap().is_empty(), "{theirs}");
}

#[tokio::test]
async fn a_delisting_takes_effect_at_once_on_every_node() {
    let app = spawn_app().await;
    let (dataset, table) = crate::ckan::with_table(&app, "open", "企业", crate::ckan::FIRMS, "sec_delist").await;
    let node2 = app.second_node().await;
    let on = |addr: std::net::SocketAddr, path: &str| format!("http://{addr}{path}");
    let paths = [
        format!("/api/v1/open/tables/{table}/rows"),
        format!("/api/v1/open/tables/{table}/download?format=csv"),
        format!("/api/3/action/datastore_search?resource_id={table}"),
        format!("/api/3/action/package_show?id={dataset}"),
        format!("/datasets/{dataset}"),
    ];
    let entry_id = app.store.get_table(&table).await.unwrap().unwrap().entry_id.unwrap();
    let admin = app.sign_in("admin", "Admin@2026").await;
    // Both nodes serve it (and so hold it in their caches).
    for addr in [app.addr, node2] {
        for p in &paths {
            let r = client().get(on(addr, p)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{p} before delisting");
        }
    }
    // Delisted through node 1, in the same second as the reads: gone on both at once.
    let (status, body) =
        admin.post(&app, &format!("/api/v1/catalog/{entry_id}/delist"), json!({"comment": "数据有误"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for addr in [node2, app.addr] {
        for p in &paths {
            let r = client().get(on(addr, p)).send().await.unwrap();
            assert!(r.status().is_client_error(), "{p} on {addr} after delisting: {}", r.status());
        }
    }
    // Listed and delisted within one second, read on node 2 in between: the report's case.
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    for round in 0..3 {
        let mut e = crate::support::entry(&format!("开放测试资源{round}"));
        e["open_type"] = json!("open");
        let (status, created) = officer.post(&app, "/api/v1/catalog", json!({"entry": e})).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let id = created["id"].as_i64().unwrap();
        let (status, _) = officer.post(&app, &format!("/api/v1/catalog/{id}/submit"), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, listed) = admin.post(&app, &format!("/api/v1/catalog/{id}/approve"), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let name = tongshu_portal::dataset_name("gaj", listed["code"].as_str().unwrap());
        let show = on(node2, &format!("/api/3/action/package_show?id={name}"));
        assert_eq!(client().get(&show).send().await.unwrap().status(), StatusCode::OK, "round {round}: listed");
        let (status, _) = admin.post(&app, &format!("/api/v1/catalog/{id}/delist"), json!({"comment": "误发布"})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(client().get(&show).send().await.unwrap().status(), StatusCode::NOT_FOUND, "round {round}: at once");
    }
}

#[tokio::test]
async fn usernames_match_without_case_and_lookalikes_are_refused() {
    let app = spawn_app().await;
    for (name, status) in
        [("Admin", StatusCode::CONFLICT), ("adm1n", StatusCode::CONFLICT), ("ADMIN", StatusCode::CONFLICT)]
    {
        let r = client()
            .post(app.url("/api/v1/register"))
            .json(&json!({"username": name, "password": "Secret@2026x", "display_name": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{name}");
    }
    // The owner signs in with any case, and full-width input.
    for name in ["ADMIN", "Admin", "ａｄｍｉｎ"] {
        let r = client()
            .post(app.url("/api/v1/session"))
            .json(&json!({"username": name, "password": "Admin@2026"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{name}");
    }
}

#[tokio::test]
async fn sign_in_limits_cost_the_attacker_not_the_owner_on_every_node() {
    let app = spawn_app().await;
    let (attacker, owner): (std::net::IpAddr, std::net::IpAddr) =
        ("10.9.9.9".parse().unwrap(), "10.1.1.1".parse().unwrap());
    // Two nodes: two services on one store.
    let node1 = tongshu_accounts::Accounts::new(app.store.clone());
    let node2 = tongshu_accounts::Accounts::new(app.store.clone());
    for i in 0..5 {
        let node = if i % 2 == 0 { &node1 } else { &node2 };
        let e = node.sign_in("officer.mzj", "wrong-password-1", attacker).await.err().unwrap();
        assert!(matches!(e, tongshu_accounts::AccountError::BadCredentials), "{e}");
    }
    // The attacker's address is locked out of the account on both nodes, right password or not.
    for node in [&node1, &node2] {
        let e = node.sign_in("OFFICER.MZJ", "Officer@2026", attacker).await.err().unwrap();
        assert!(matches!(e, tongshu_accounts::AccountError::Throttled(_)), "{e}");
    }
    // The owner, elsewhere, is not.
    node2.sign_in("officer.mzj", "Officer@2026", owner).await.unwrap();
    // A spread-out attack on one name from many addresses hits the slower per-name limit,
    // which spares the address the owner signed in from.
    for i in 0..100 {
        let ip: std::net::IpAddr = format!("10.8.{}.{}", i / 200, i % 200 + 1).parse().unwrap();
        let _ = node1.sign_in("officer.mzj", "wrong-password-1", ip).await;
    }
    let stranger: std::net::IpAddr = "10.7.7.7".parse().unwrap();
    let e = node1.sign_in("officer.mzj", "Officer@2026", stranger).await.err().unwrap();
    assert!(matches!(e, tongshu_accounts::AccountError::Throttled(_)), "{e}");
    node1.sign_in("officer.mzj", "Officer@2026", owner).await.unwrap();
}

#[tokio::test]
async fn redirects_hosts_sign_out_paths_and_limits_hold() {
    let app = spawn_app().await;
    let c = client();
    // Only same-site paths are followed.
    for next in [
        "%2F%09%2Fevil.example",
        "%2F%0A%2Fevil.example",
        "%2F%5Cevil.example",
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example",
        "%2F%0D%0ASet-Cookie%3Ax",
    ] {
        let r = c.get(app.url(&format!("/lang?to=en&next={next}"))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(r.headers()["location"], "/", "{next}");
        let r = c.get(app.url(&format!("/login?next={next}"))).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{next}");
        let html = r.text().await.unwrap();
        assert!(!html.contains("evil.example"), "{next}");
    }
    let r = c.get(app.url("/lang?to=en")).header("referer", format!("http://{}/\t/evil.example", app.addr)).send();
    assert_eq!(r.await.unwrap().headers()["location"], "/");
    let r = c.get(app.url("/lang?to=en&next=/datasets%3Fq%3D1")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/datasets?q=1", "a real path still works");
    // The Host header is never written into links.
    let evil = "x</loc><evil>y</evil><loc>";
    for path in ["/sitemap.xml", "/robots.txt", "/api/3/action/status_show", "/catalog.ttl"] {
        let r = c.get(app.url(path)).header("host", evil).send().await.unwrap();
        let text = r.text().await.unwrap();
        assert!(!text.contains("<evil>") && !text.contains("evil"), "{path}: {text}");
        assert!(text.contains("http://127.0.0.1:8080"), "{path} links to the configured public address");
    }
    // Signing out with the session cookie needs the CSRF token.
    let s = app.sign_in("citizen", "Citizen@2026").await;
    let r = s.client.delete(app.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (status, _) = s.send(&app, reqwest::Method::DELETE, "/api/v1/session", None).await;
    assert!(status.is_success(), "{status}");
    // Server paths of tables are for their owners only.
    let (_, table) = crate::ckan::with_table(&app, "open", "企业", crate::ckan::FIRMS, "sec_paths").await;
    let entry_id = app.store.get_table(&table).await.unwrap().unwrap().entry_id.unwrap();
    let text =
        c.get(app.url(&format!("/api/v1/catalog/{entry_id}/tables"))).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(&table) && !text.contains("file://") && !text.contains("\"uri\""), "{text}");
    // A method a known path does not have: 405 with Allow, not 500.
    for (method, path, allow) in [
        (reqwest::Method::TRACE, "/api/v1/catalog", "GET, HEAD, POST"),
        (reqwest::Method::PATCH, "/api/v1/session", "DELETE, POST"),
    ] {
        let r = c.request(method.clone(), app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(r.headers()["allow"], allow, "{method} {path}");
    }
    // Bounds: the evidence limit, a huge offset.
    let auditor = app.sign_in("auditor", "Auditor@2026").await;
    let (status, _) = auditor.get(&app, "/api/v1/exchange/evidence?limit=1000000000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let url = format!("/api/v1/open/tables/{table}/rows?sort={}&offset=18446744073709551615", enc("单位名称"));
    assert_eq!(c.get(app.url(&url)).send().await.unwrap().status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn earlier_versions_of_open_tables_are_unreachable_unless_published() {
    let app = spawn_app().await;
    let (_, table) = crate::ckan::with_table(&app, "open", "企业", crate::ckan::FIRMS, "sec_versions").await;
    let v0 = app.store.get_table(&table).await.unwrap().unwrap().version;
    // A cursor taken on the first version, then the provider replaces the rows.
    let rows = format!("/api/v1/open/tables/{table}/rows?limit=1&total=none");
    let page: Value = client().get(app.url(&rows)).send().await.unwrap().json().await.unwrap();
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let file = app.dir.join("sec_versions.csv");
    let header: Vec<String> =
        app.store.get_table(&table).await.unwrap().unwrap().columns.into_iter().map(|c| c.name).collect();
    let corrected = format!("{}\n{}\n", header.join(","), crate::ckan::FIRMS.lines().nth(1).unwrap());
    std::fs::write(&file, corrected).unwrap();
    let req = tongshu_lake::IngestRequest {
        mode: tongshu_lake::Mode::Overwrite,
        ..tongshu_lake::IngestRequest::new(&table, file, "test")
    };
    app.library.ingest(&crate::ckan::admin(&app).await, req, None).await.unwrap();
    let download = |v: i64| app.url(&format!("/api/v1/open/tables/{table}/download?format=csv&version={v}"));
    let r = client().get(download(v0)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the replaced rows are gone for the public");
    let v1 = app.store.get_table(&table).await.unwrap().unwrap().version;
    assert_eq!(client().get(download(v1)).send().await.unwrap().status(), StatusCode::OK, "the current version");
    // A cursor pinned just before the change still finishes its walk for a while.
    let r = client().get(app.url(&format!("{rows}&cursor={cursor}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a fresh pin");
    // The provider's own officers read history; publishing it opens it to everyone.
    let admin = app.sign_in("admin", "Admin@2026").await;
    let r = admin.client.get(download(v0)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.store.set_public_history(&table, true).await.unwrap();
    assert_eq!(client().get(download(v0)).send().await.unwrap().status(), StatusCode::OK, "published history");
}

#[tokio::test]
async fn a_grant_whose_stored_scope_or_items_do_not_decode_releases_nothing() {
    let app = spawn_app().await;
    let (table, consumer, grant) = granted(&app, &[], Some(&["姓名"])).await;
    let rows = format!("/api/v1/exchange/tables/{table}/rows");
    let (status, page) = consumer.get(&app, &rows).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["rows"].as_array().unwrap().len(), 4, "the grant's scope holds: 兰山区 only");
    // The grant's lists come out as JSON arrays, not as text holding JSON.
    let (_, g) = consumer.get(&app, &format!("/api/v1/exchange/grants/{grant}")).await;
    assert_eq!(g["grant"]["items"], json!(ITEMS), "{g}");
    assert_eq!(g["grant"]["row_filter"][0]["op"], "contains", "{g}");

    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    for (column, text) in [("row_filter", r#"[{"column": "户籍地址""#), ("items", "姓名,公民身份号码"), ("status", "")]
    {
        let sql = format!("UPDATE grants SET {column} = '{text}' WHERE id = {grant}");
        tongshu_store::testing::execute(&app.store, &sql).await.unwrap();
        let verify = json!({"values": {"姓名": "李四"}});
        let answers = [
            consumer.get(&app, &rows).await,
            get(&consumer, &app, &rows, &[("format", "csv")]).await,
            get(&consumer, &app, &format!("/api/v1/exchange/tables/{table}/lookup"), &[("姓名", "李四")]).await,
            consumer.post(&app, &format!("/api/v1/exchange/tables/{table}/verify"), verify).await,
            consumer.get(&app, &format!("/api/v1/exchange/grants/{grant}")).await,
            consumer.get(&app, "/api/v1/exchange/grants").await,
            officer.get(&app, "/api/v1/exchange/grants?role=provider").await,
        ];
        for (i, (status, body)) in answers.iter().enumerate() {
            // A grant that is not readable is not a grant: an error, or (a status that is
            // not "active") no grant at all; never rows.
            let refused = *status == StatusCode::INTERNAL_SERVER_ERROR
                || (column == "status" && *status == StatusCode::FORBIDDEN);
            assert!(refused, "{column} #{i}: {status} {body}");
            for (name, ..) in PEOPLE {
                assert!(!body.to_string().contains(name), "{column} #{i} released {name}: {body}");
            }
        }
        for path in [format!("/sharing/interfaces/{table}"), "/sharing/grants".to_owned()] {
            let r = consumer.client.get(app.url(&path)).send().await.unwrap();
            let (status, html) = (r.status(), r.text().await.unwrap());
            assert!(status.is_server_error() || status == StatusCode::FORBIDDEN, "{column} {path}: {status}");
            assert!(PEOPLE.iter().all(|p| !html.contains(p.0)), "{column} {path} released rows");
        }
    }
}

#[tokio::test]
async fn who_reads_which_evidence_is_one_rule_for_the_api_and_the_usage_page() {
    let app = spawn_app().await;
    let (table, consumer, _) = granted(&app, &[], Some(&["姓名"])).await;
    let (status, _) = consumer.get(&app, &format!("/api/v1/exchange/tables/{table}/rows")).await;
    assert_eq!(status, StatusCode::OK);
    let provider = app.sign_in("officer.gaj", "Officer@2026").await;
    let stranger = app.sign_in("officer.mzj", "Officer@2026").await;
    let hashes = |v: &Value| -> Vec<String> {
        v["records"].as_array().unwrap().iter().map(|r| r["hash"].as_str().unwrap().to_owned()).collect()
    };
    let mut seen = Vec::new();
    for (who, s) in [("consumer", &consumer), ("provider", &provider), ("stranger", &stranger)] {
        let (status, body) = s.get(&app, "/api/v1/exchange/evidence?limit=50").await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        let api = hashes(&body);
        let html = s.client.get(app.url("/sharing/usage")).send().await.unwrap().text().await.unwrap();
        let all = hashes(&app_all_evidence(&app).await);
        for h in &all {
            assert_eq!(html.contains(&h[..12]), api.contains(h), "{who}: the page and the API disagree on {h}");
        }
        seen.push(api);
    }
    let call = |v: &Vec<String>| !v.is_empty();
    assert!(call(&seen[0]) && call(&seen[1]), "consumer and provider each see the call");
    assert!(seen[2].iter().all(|h| !seen[0].contains(h) && !seen[1].contains(h)), "a stranger sees none of theirs");
}

/// Every evidence record, as an administrator reads them.
async fn app_all_evidence(app: &TestApp) -> Value {
    let admin = app.sign_in("admin", "Admin@2026").await;
    admin.get(app, "/api/v1/exchange/evidence?limit=1000").await.1
}
