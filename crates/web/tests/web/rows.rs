//! The native row API: filters, sorting, keyset paging in stored order, totals, CSV, and
//! clear 4xx answers to bad input.

use reqwest::StatusCode;
use serde_json::Value;

use crate::ckan::with_table;
use crate::support::{TestApp, client, spawn_app};

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let r = client().get(app.url(path)).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn people(n: usize) -> String {
    let mut csv = String::from("统一社会信用代码,单位名称,法定代表人,住所,成立日期,X编号,办理日期,状态,更新时间\n");
    for i in 0..n {
        let state = if i % 3 == 0 { "注销" } else { "存续" };
        csv += &format!(
            "9137130{i:011},临沂第{i}商贸有限公司,王{i},兰山区{i}号,2010-01-02,{i},2020-01-{:02},{state},2024-01-01 09:00:00\n",
            1 + i % 28
        );
    }
    csv
}

#[tokio::test]
async fn pages_in_stored_order_cover_every_row_once_with_a_pinned_version() {
    let app = spawn_app().await;
    let (_, table) = with_table(&app, "open", "企业", &people(250), "rows_api").await;
    // The number column is named after the dataset (`…编号`).
    let (_, first) = get(&app, &format!("/api/v1/open/tables/{table}/rows?limit=1")).await;
    let id = first["fields"][5]["name"].as_str().unwrap().to_owned();
    let people = |n: usize| people(n).replace("X编号", &id);
    // A second file, so that paging crosses files.
    let more = app.dir.join("more.csv");
    let extra: String = people(280).lines().skip(251).map(|l| format!("{l}\n")).collect();
    std::fs::write(&more, format!("{}\n{extra}", people(0).trim_end())).unwrap();
    let req = tongshu_lake::IngestRequest::new(&table, more, "test");
    let admin = app.store.list_users().await.unwrap().into_iter().find(|u| u.username == "admin").unwrap().principal();
    app.library.ingest(&admin, req, None).await.unwrap();

    let mut seen = Vec::new();
    let mut path = format!("/api/v1/open/tables/{table}/rows?limit=40&select=单位名称");
    let mut pages = 0;
    loop {
        let (status, page) = get(&app, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total"], 280);
        seen.extend(page["rows"].as_array().unwrap().iter().map(|r| r["单位名称"].as_str().unwrap().to_owned()));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/open/tables/{table}/rows?limit=40&select=单位名称&cursor={c}"),
            None => break,
        }
        if pages == 2 {
            // A change in between does not move later pages: the cursor pins the version.
            let again = app.dir.join("again.csv");
            std::fs::write(&again, people(3)).unwrap();
            app.library.ingest(&admin, tongshu_lake::IngestRequest::new(&table, again, "test"), None).await.unwrap();
        }
    }
    assert_eq!(seen.len(), 280, "every row of the pinned version");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 280, "no row twice");
    assert!(pages >= 7);

    // Filters: equality, ranges, in, contains, isnull; totals count what matches.
    let (_, p) = get(&app, &format!("/api/v1/open/tables/{table}/rows?状态=注销&total=exact&limit=1")).await;
    assert_eq!(p["total"], 94 + 1, "{p}");
    let (_, p) =
        get(&app, &format!("/api/v1/open/tables/{table}/rows?办理日期__gte=2020-01-05&办理日期__lt=2020-01-07")).await;
    assert_eq!(p["total"], 20, "days 5 and 6 of 28: {p}");
    let (_, p) = get(&app, &format!("/api/v1/open/tables/{table}/rows?{id}__in=1,2,999&sort=-{id}&select={id}")).await;
    assert_eq!(p["rows"], serde_json::json!([{&id: "2"}, {&id: "2"}, {&id: "1"}, {&id: "1"}]), "{p}");
    let (_, p) = get(&app, &format!("/api/v1/open/tables/{table}/rows?单位名称__contains=第12商贸&total=exact")).await;
    assert_eq!(p["total"], 1);
    let (_, p) = get(&app, &format!("/api/v1/open/tables/{table}/rows?住所__isnull=true")).await;
    assert_eq!(p["total"], 0);

    // Sorted pages use offset.
    let (_, p) = get(&app, &format!("/api/v1/open/tables/{table}/rows?sort=-{id}&limit=2&select={id}")).await;
    assert_eq!((p["rows"][0][id.as_str()].as_str(), p["next_offset"].as_u64()), (Some("99"), Some(2)), "as text");

    // CSV, with the cursor and total in headers.
    let r = client()
        .get(app.url(&format!("/api/v1/open/tables/{table}/rows?format=csv&limit=2&select={id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("x-next-cursor") && r.headers()["x-total-count"] == "283");
    assert_eq!(r.text().await.unwrap().lines().count(), 3);

    // Bad input: clear 4xx naming the problem, never a 500.
    let bad: Vec<(String, &str)> = vec![
        ("no_column=1".into(), "no_column"),
        ("办理日期__gt=abc".into(), "办理日期"),
        ("单位名称__isnull=maybe".into(), "isnull"),
        ("办理日期__contains=1".into(), "contains"),
        ("limit=100000".into(), "limit"),
        ("cursor=abc".into(), "cursor"),
        ("cursor=999-0-0".into(), "version"),
        ("sort=x%22;DROP".into(), "x\\\";DROP"),
        ("format=xml".into(), "format"),
    ];
    for (q, what) in bad {
        let status = StatusCode::BAD_REQUEST;
        let (s, e) = get(&app, &format!("/api/v1/open/tables/{table}/rows?{q}")).await;
        assert_eq!(s, status, "{q}: {e}");
        let msg = e["message"].as_str().unwrap_or_default().to_owned() + &e.to_string();
        assert!(msg.contains(what), "{q}: {e}");
    }
    assert_eq!(get(&app, "/api/v1/open/tables/no_such_table/rows").await.0, StatusCode::NOT_FOUND);
}
