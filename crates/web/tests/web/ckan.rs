//! The open data portal's CKAN Action API, as CKAN's own clients use it: over HTTP with
//! reqwest, and with the `ckanapi` Python client.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tongshu_core::policy::Principal;

use crate::support::{TestApp, client, spawn_app};

pub const FIRMS: &str = "统一社会信用代码,单位名称,法定代表人,住所,成立日期,X编号,办理日期,状态,更新时间\n\
91371302MA3C4D5E6F,临沂兰山商贸有限公司,王伟,兰山区通达路1号,2010-01-02,A1,2020-01-01,存续,2024-01-01 09:00:00\n\
91371311MA3C4D5E7G,临沂罗庄建材有限公司,李娜,罗庄区沂蒙路2号,2012-03-04,A2,2021-02-02,注销,2024-01-02 09:00:00\n\
91371312MA3C4D5E8H,临沂河东物流有限公司,张强,河东区解放路3号,2015-05-06,A3,2022-03-03,存续,2024-01-03 09:00:00\n";

async fn call(app: &TestApp, action: &str, query: &str) -> (StatusCode, Value) {
    let r = client().get(app.url(&format!("/api/3/action/{action}?{query}"))).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, action: &str, body: Value) -> (StatusCode, Value) {
    let r = client().post(app.url(&format!("/api/3/action/{action}"))).json(&body).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn admin(app: &TestApp) -> Principal {
    let users = app.store.list_users().await.unwrap();
    users.into_iter().find(|u| u.username == "admin").unwrap().principal()
}

/// Gives the first listed entry matching `open_type` and `name_part` a table of `csv`;
/// returns (dataset name, table name).
pub async fn with_table(app: &TestApp, open_type: &str, name_part: &str, csv: &str, table: &str) -> (String, String) {
    let (status, found) = call(app, "package_search", &format!("q={name_part}&fq=open_type:{open_type}&rows=50")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let ds = found["result"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["num_resources"] == 0)
        .unwrap_or_else(|| panic!("a {open_type} dataset about {name_part} without a table"))
        .clone();
    let file = app.dir.join(format!("{table}.csv"));
    let core = ds["title"].as_str().unwrap().trim_end_matches("信息").to_owned();
    std::fs::write(&file, csv.replace("X编号", &format!("{core}编号"))).unwrap();
    let req = tongshu_lake::IngestRequest { create: true, ..tongshu_lake::IngestRequest::new(table, file, "test") };
    let id: i64 = ds["id"].as_str().unwrap().parse().unwrap();
    app.library.create_for_entry(&admin(app).await, req, id).await.unwrap();
    // The portal notices changes within a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    (ds["name"].as_str().unwrap().to_owned(), table.to_owned())
}

#[tokio::test]
async fn ckan_clients_search_show_and_read_rows_of_public_datasets() {
    let app = spawn_app().await;
    let (status, s) = call(&app, "status_show", "").await;
    assert_eq!((status, &s["success"]), (StatusCode::OK, &json!(true)));
    assert!(s["help"].as_str().unwrap().contains("/api/3/action/help_show"));
    assert!(s["result"]["ckan_version"].as_str().unwrap().starts_with("2."));

    let (_, all) = call(&app, "package_search", "rows=0&facet.field=[\"organization\",\"groups\",\"open_type\"]").await;
    let r = &all["result"];
    assert!(r["count"].as_u64().unwrap() >= 100, "the demo city publishes at least 100 datasets: {}", r["count"]);
    let (_, orgs) = call(&app, "organization_list", "").await;
    assert!(orgs["result"].as_array().unwrap().len() >= 41, "from at least 41 organizations");
    let opens: Vec<&str> = r["search_facets"]["open_type"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(opens.iter().all(|o| *o == "open" || *o == "conditional"), "never not-open data: {opens:?}");

    // Chinese search with a facet filter; names are ASCII slugs, titles Chinese.
    let (_, found) = call(&app, "package_search", "q=登记&fq=organization:scjgj&rows=5").await;
    let results = found["result"]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for d in results {
        assert_eq!(d["organization"]["name"], "scjgj");
        let name = d["name"].as_str().unwrap();
        assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'), "{name}");
        assert!(!d["title"].as_str().unwrap().is_ascii());
    }

    // A table behind an open dataset: a datastore resource any client can read.
    let (name, table) = with_table(&app, "open", "企业", FIRMS, "ckan_firms").await;
    let (status, shown) = call(&app, "package_show", &format!("id={name}")).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    let res = &shown["result"]["resources"][0];
    assert_eq!((res["id"].as_str(), res["datastore_active"].as_bool()), (Some(table.as_str()), Some(true)));
    let (status, rs) = call(&app, "resource_show", &format!("id={table}")).await;
    assert_eq!((status, rs["result"]["package_id"].clone()), (StatusCode::OK, shown["result"]["id"].clone()));

    let (status, page) = post(
        &app,
        "datastore_search",
        json!({"resource_id": table, "filters": {"状态": "存续"}, "fields": ["单位名称", "状态"], "sort": "单位名称 desc", "limit": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let p = &page["result"];
    assert_eq!(p["total"], 2);
    assert_eq!(p["fields"], json!([{"id": "单位名称", "type": "text"}, {"id": "状态", "type": "text"}]));
    assert_eq!(p["records"], json!([{"单位名称": "临沂河东物流有限公司", "状态": "存续"}]));
    let next = p["_links"]["next"].as_str().unwrap();
    assert!(next.contains("offset=1"), "{next}");
    // Following `next` keeps the filters, fields and sort (a CKAN client just follows it).
    let r: Value = client().get(app.url(next)).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["result"]["records"], json!([{"单位名称": "临沂兰山商贸有限公司", "状态": "存续"}]), "{next}");
    assert_eq!(r["result"]["total"], 2);
    let (_, page) =
        call(&app, "datastore_search", &format!("resource_id={table}&q=罗庄&records_format=lists&fields=法定代表人"))
            .await;
    assert_eq!(page["result"]["records"], json!([["李娜"]]));
    let (_, page) =
        call(&app, "datastore_search", &format!("resource_id={table}&fields=状态&distinct=true&sort=状态")).await;
    assert_eq!(page["result"]["total"], 2);
    let (_, page) =
        call(&app, "datastore_search", &format!("resource_id={table}&records_format=csv&limit=1&fields=法定代表人"))
            .await;
    assert_eq!(page["result"]["records"], "王伟\n");
    let (_, page) = call(&app, "datastore_search", &format!("resource_id={table}&include_total=false&limit=0")).await;
    assert!(page["result"].get("total").is_none());

    // Public download of the same rows.
    let r = client().get(app.url(&format!("/api/v1/open/tables/{table}/download?format=csv"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap().lines().count(), 4);

    // The client blocks; the server must keep running on the test's runtime meanwhile.
    let site = format!("http://{}", app.addr);
    tokio::task::spawn_blocking(move || ckanapi_reads_it_unchanged(&site, &name, &table)).await.unwrap();
}

/// The `ckanapi` Python client against the running server (installed by `scripts/test`).
fn ckanapi_reads_it_unchanged(site: &str, name: &str, table: &str) {
    let probe = std::process::Command::new("python3").args(["-c", "import ckanapi"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(std::env::var_os("CI").is_none(), "CI must have ckanapi (scripts/test installs it)");
        eprintln!("skipping the ckanapi part: python3 -c 'import ckanapi' failed");
        return;
    }
    let script = r#"
import sys, ckanapi
site, name, table = sys.argv[1:4]
ckan = ckanapi.RemoteCKAN(site, user_agent="tongshu-test")
assert ckan.action.status_show()["ckan_version"].startswith("2.")
found = ckan.action.package_search(q="企业", rows=3, facet_field=["organization"])
assert found["count"] > 0 and len(found["results"]) <= 3, found["count"]
pkg = ckan.action.package_show(id=name)
assert pkg["resources"][0]["id"] == table
rows = ckan.action.datastore_search(resource_id=table, filters={"状态": "注销"})
assert rows["total"] == 1 and rows["records"][0]["法定代表人"] == "李娜", rows
assert len(ckan.action.organization_list()) >= 41
assert ckan.action.group_list() and ckan.action.tag_list()
try:
    ckan.action.package_show(id="no-such-dataset")
    raise SystemExit("expected NotFound")
except ckanapi.NotFound:
    pass
try:
    ckan.action.datastore_search(resource_id=table, filters={"nope": 1})
    raise SystemExit("expected ValidationError")
except ckanapi.ValidationError:
    pass
# The same calls over GET, as harvesters make them.
get = ckanapi.RemoteCKAN(site, get_only=True)
assert get.action.package_list()
print("ok")
"#;
    let out = std::process::Command::new("python3").args(["-c", script, site, name, table]).output().unwrap();
    assert!(
        out.status.success(),
        "ckanapi: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn non_public_data_never_appears_and_bad_input_gets_a_clear_4xx() {
    let app = spawn_app().await;
    // Entries that are not open, or not listed, are never datasets.
    let hidden = app
        .store
        .list_entries(&tongshu_store::EntryFilter {
            open_type: Some("not_open".into()),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .entries;
    assert!(!hidden.is_empty());
    let (_, names) = call(&app, "package_list", "").await;
    let (_, all) = call(&app, "package_search", "rows=1000").await;
    let ids: Vec<&str> =
        all["result"]["results"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap()).collect();
    for e in &hidden {
        assert!(!ids.contains(&e.id.to_string().as_str()), "{} is not open", e.body.name);
        let (status, _) = call(&app, "package_show", &format!("id={}", e.id)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    assert_eq!(names["result"].as_array().unwrap().len(), ids.len());

    // Rows of conditionally open data need an approved application.
    let (_, table) = with_table(&app, "conditional", "企业", FIRMS, "ckan_cond").await;
    let (status, e) = call(&app, "datastore_search", &format!("resource_id={table}")).await;
    assert_eq!((status, e["error"]["__type"].as_str()), (StatusCode::FORBIDDEN, Some("Authorization Error")));
    let r = client().get(app.url(&format!("/api/v1/open/tables/{table}/download"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Delisting takes a dataset off the portal within seconds.
    let first = &all["result"]["results"][0];
    let id: i64 = first["id"].as_str().unwrap().parse().unwrap();
    tongshu_catalog::Catalog::new(app.store.clone()).delist(&admin(&app).await, id, "测试下架").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = call(&app, "package_show", &format!("id={id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "delisted");

    for (action, query, expected) in [
        ("no_such_action", "", StatusCode::BAD_REQUEST),
        ("package_show", "", StatusCode::CONFLICT),
        ("package_show", "id=nope", StatusCode::NOT_FOUND),
        ("package_search", "rows=-1", StatusCode::CONFLICT),
        ("package_search", "rows=abc", StatusCode::CONFLICT),
        ("package_search", "fq=owner:1%20OR%201=1", StatusCode::CONFLICT),
        ("package_search", "sort=name;drop%20table", StatusCode::CONFLICT),
        ("package_search", "facet.field=[1,2]", StatusCode::CONFLICT),
        ("package_search", "fq=tags:%22unclosed", StatusCode::CONFLICT),
        ("resource_show", "id=nope", StatusCode::NOT_FOUND),
        ("datastore_search", "resource_id=nope", StatusCode::NOT_FOUND),
        ("datastore_search", "resource_id=ckan_cond&filters=%7Bbroken", StatusCode::CONFLICT),
        ("organization_show", "id=nope", StatusCode::NOT_FOUND),
    ] {
        let (status, body) = call(&app, action, query).await;
        assert_eq!(status, expected, "{action}?{query}: {body}");
        assert_eq!(body["success"], false, "{action}?{query}");
        assert!(body["error"]["__type"].is_string(), "{action}?{query}: {body}");
    }
    // Huge limits are capped, not refused.
    let (status, big) = call(&app, "package_search", "rows=100000000").await;
    assert_eq!(status, StatusCode::OK);
    assert!(big["result"]["results"].as_array().unwrap().len() <= 1000);
    // A JSON body that is not an object.
    let (status, _) = post(&app, "package_search", json!([1, 2])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn portal_pages_search_with_facets_and_show_a_dataset_with_preview_and_downloads() {
    let app = spawn_app().await;
    let (name, table) = with_table(&app, "open", "企业", FIRMS, "page_firms").await;
    let page = |path: String| {
        let url = app.url(&path);
        async move {
            let r = client().get(url).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (status, html) = page("/datasets?q=企业".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<mark>企业</mark>"), "matches are highlighted");
    assert!(html.contains(&format!("/datasets/{name}")), "the dataset with a table is found");
    // A facet link narrows the results and is marked as chosen.
    let (_, html) = page("/datasets?q=企业&open=open".into()).await;
    assert!(html.contains("aria-current=\"true\""));
    assert!(!html.contains("有条件开放 ·"), "only open datasets are listed");
    // The dataset page: metadata, the item list, a preview of rows, downloads, API calls.
    let (status, html) = page(format!("/datasets/{name}")).await;
    assert_eq!(status, StatusCode::OK);
    for expected in
        ["临沂兰山商贸有限公司", "统一社会信用代码", "datastore_search?resource_id=page_firms", "download?format=xlsx"]
    {
        assert!(html.contains(expected), "{expected} on the dataset page");
    }
    assert!(html.contains(&table));
    // A conditionally open dataset shows no rows; a not-open entry has no page at all.
    let (_, cond) = call(&app, "package_search", "fq=open_type:conditional&rows=1").await;
    let cond_name = cond["result"]["results"][0]["name"].as_str().unwrap().to_owned();
    let (status, html) = page(format!("/datasets/{cond_name}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<table class=\"preview\">"));
    let hidden = app
        .store
        .list_entries(&tongshu_store::EntryFilter {
            open_type: Some("not_open".into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .entries;
    let (status, _) = page(format!("/datasets/{}", hidden[0].id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn public_apis_are_rate_limited_per_address_with_retry_after() {
    let app = crate::support::spawn_limited(5).await;
    for i in 0..5 {
        let (status, _) = call(&app, "status_show", "").await;
        assert_eq!(status, StatusCode::OK, "request {i} is within the limit");
    }
    let r = client().get(app.url("/api/3/action/package_list")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&wait), "one request comes back every 12 s: {wait}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (&body["success"], &body["error"]["__type"]),
        (&json!(false), &json!("Rate Limit Error")),
        "CKAN's envelope"
    );
    let r = client().get(app.url("/catalog.ttl")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "downloads and DCAT share the limit");
    // Pages and the rest of the API are not limited by it.
    let r = client().get(app.url("/datasets")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
