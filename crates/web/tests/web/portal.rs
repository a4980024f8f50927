//! The portal's interaction layer over HTTP: registration, developer keys with their own
//! rate limits and usage, data requests, feedback, comments, applications for
//! conditionally open data, the showcase, moderation and answers.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::ckan::{FIRMS, with_table};
use crate::support::{Session, TestApp, client, spawn_app, spawn_keyed};

pub async fn register(app: &TestApp, username: &str) -> Session {
    let r = client()
        .post(app.url("/api/v1/register"))
        .json(&json!({"username": username, "display_name": "张三", "password": "Zhang3pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["role"], "public");
    app.sign_in(username, "Zhang3pass").await
}

/// The officer of the organization publishing `dataset` (`<org slug>-<code digits>`).
async fn provider(app: &TestApp, dataset: &str) -> Session {
    let slug = dataset.rsplit_once('-').unwrap().0;
    app.sign_in(&format!("officer.{slug}"), tongshu_demo::OFFICER_PASSWORD).await
}

#[tokio::test]
async fn a_developer_registers_gets_a_key_and_calls_the_api_within_its_limit() {
    let app = spawn_keyed(1000, 3).await;
    let (_, table) = with_table(&app, "open", "企业", FIRMS, "firms_open").await;
    let dev = register(&app, "dev.zhang").await;

    // Registering twice, a weak password or a bad name are refused with the field named.
    for (body, status, field) in [
        (json!({"username": "dev.zhang", "password": "Zhang3pass"}), StatusCode::CONFLICT, None),
        (json!({"username": "dev.li", "password": "short"}), StatusCode::UNPROCESSABLE_ENTITY, Some("password")),
        (json!({"username": "李", "password": "Zhang3pass"}), StatusCode::UNPROCESSABLE_ENTITY, Some("username")),
    ] {
        let r = client().post(app.url("/api/v1/register")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), status, "{body}");
        if let Some(f) = field {
            let e: Value = r.json().await.unwrap();
            assert_eq!(e["fields"][0]["field"], f, "{e}");
        }
    }

    let (status, created) =
        dev.post(&app, "/api/v1/tokens", json!({"name": "企业地图", "description": "在地图上显示企业"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let key = created["token"].as_str().unwrap().to_owned();
    let id = created["info"]["id"].as_i64().unwrap();
    assert_eq!(created["info"]["description"], "在地图上显示企业");

    // The key works as a bearer token, CKAN's bare Authorization header and X-API-Key.
    let rows = format!("/api/v1/open/tables/{table}/rows?limit=1");
    let calls = [
        client().get(app.url(&rows)).bearer_auth(&key),
        client().get(app.url(&rows)).header("authorization", &key),
        client().get(app.url(&rows)).header("x-api-key", &key),
    ];
    for c in calls {
        assert_eq!(c.send().await.unwrap().status(), StatusCode::OK);
    }
    // The fourth call in the minute is over the key's limit of 3; others are not affected.
    let r = client().get(app.url(&rows)).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(client().get(app.url(&rows)).send().await.unwrap().status(), StatusCode::OK, "anonymous: per address");
    let r = client().get(app.url(&rows)).bearer_auth("tsk_not-a-key").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // An administrator can give the key a rate of its own, at once.
    let admin = app.sign_in("admin", "Admin@2026").await;
    let (status, t) =
        admin.send(&app, Method::PUT, &format!("/api/v1/tokens/{id}/rate"), Some(json!({"rate_per_minute": 0}))).await;
    assert_eq!((status, t["rate_per_minute"].as_i64()), (StatusCode::OK, Some(0)), "{t}");
    assert_eq!(
        client().get(app.url(&rows)).bearer_auth(&key).send().await.unwrap().status(),
        StatusCode::OK,
        "0: unlimited"
    );
    let body = Some(json!({"rate_per_minute": -1}));
    assert_eq!(
        admin.send(&app, Method::PUT, &format!("/api/v1/tokens/{id}/rate"), body).await.0,
        StatusCode::BAD_REQUEST
    );
    let body = Some(json!({"rate_per_minute": 5}));
    assert_eq!(dev.send(&app, Method::PUT, &format!("/api/v1/tokens/{id}/rate"), body).await.0, StatusCode::FORBIDDEN);

    // The key's usage page counts its calls today.
    let (status, usage) = dev.get(&app, &format!("/api/v1/tokens/{id}/usage")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(usage.as_array().unwrap().last().unwrap()["calls"], 4, "{usage}");
    let other = register(&app, "dev.wang").await;
    assert_eq!(other.get(&app, &format!("/api/v1/tokens/{id}/usage")).await.0, StatusCode::NOT_FOUND);
    let page = dev.client.get(app.url("/developer")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("企业地图") && page.contains("在地图上显示企业"), "the developer centre lists the app");
}

#[tokio::test]
async fn data_requests_are_moderated_then_answered_in_public() {
    let app = spawn_app().await;
    let citizen = register(&app, "citizen.li").await;
    let (status, post) = citizen
        .post(&app, "/api/v1/portal/posts", json!({"kind": "request", "org": "scjgj", "title": "开放个体工商户名录", "body": "用于创业选址分析，希望按月更新。"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let id = post["id"].as_i64().unwrap();
    let public = || async {
        let r = client().get(app.url("/api/v1/portal/posts?kind=request")).send().await.unwrap();
        r.json::<Value>().await.unwrap()
    };
    assert_eq!(public().await, json!([]), "not public before moderation");

    let officer = app.sign_in("officer.scjgj", tongshu_demo::OFFICER_PASSWORD).await;
    let answer = json!({"decision": "answer", "answer": "已列入开放计划"});
    let (status, _) = officer.post(&app, &format!("/api/v1/portal/posts/{id}/decision"), answer.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "moderation comes first");
    let (status, _) =
        officer.post(&app, &format!("/api/v1/portal/posts/{id}/decision"), json!({"decision": "publish"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only administrators moderate");

    let admin = app.sign_in("admin", "Admin@2026").await;
    let (_, inbox) = admin.get(&app, "/api/v1/portal/inbox").await;
    assert!(inbox["waiting"].as_array().unwrap().iter().any(|p| p["id"] == id));
    let (status, _) =
        admin.post(&app, &format!("/api/v1/portal/posts/{id}/decision"), json!({"decision": "publish"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(public().await[0]["status"], "published");

    let (_, inbox) = officer.get(&app, "/api/v1/portal/inbox").await;
    assert!(
        inbox["waiting"].as_array().unwrap().iter().any(|p| p["id"] == id),
        "addressed to the officer's department"
    );
    let other = app.sign_in("officer.gaj", tongshu_demo::OFFICER_PASSWORD).await;
    let (status, _) = other.post(&app, &format!("/api/v1/portal/posts/{id}/decision"), answer.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another department may not answer");
    let (status, _) = officer.post(&app, &format!("/api/v1/portal/posts/{id}/decision"), answer).await;
    assert_eq!(status, StatusCode::OK);
    let listed = public().await;
    assert_eq!(
        (listed[0]["status"].as_str(), listed[0]["answer"].as_str()),
        (Some("answered"), Some("已列入开放计划"))
    );
    let html = client().get(app.url("/requests")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("开放个体工商户名录") && html.contains("已列入开放计划"), "{html}");

    // Bad posts name what is wrong.
    for (body, what) in [
        (json!({"kind": "wish", "title": "x", "body": "yy"}), "kind"),
        (json!({"kind": "request", "title": "", "body": "yy"}), "title"),
        (json!({"kind": "comment", "dataset": "no-such", "body": "yy"}), "no-such"),
        (json!({"kind": "request", "org": "nowhere", "title": "标题", "body": "yy"}), "nowhere"),
        (json!({"kind": "showcase", "title": "地图", "body": "yy", "link": "javascript:alert(1)"}), "link"),
    ] {
        let (status, e) = citizen.post(&app, "/api/v1/portal/posts", body.clone()).await;
        assert!(status.is_client_error(), "{body} → {status}");
        assert!(e["message"].as_str().unwrap().contains(what), "{body} → {e}");
    }
    let r = client()
        .post(app.url("/api/v1/portal/posts"))
        .json(&json!({"kind": "request", "title": "t", "body": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "posting needs an account");
}

#[tokio::test]
async fn conditionally_open_rows_need_an_approved_application() {
    let app = spawn_app().await;
    let (dataset, table) = with_table(&app, "conditional", "企业", FIRMS, "firms_cond").await;
    let applicant = register(&app, "bank.analyst").await;
    let rows = format!("/api/v1/open/tables/{table}/rows");
    assert_eq!(applicant.get(&app, &rows).await.0, StatusCode::FORBIDDEN);

    let (status, post) = applicant
        .post(&app, "/api/v1/portal/posts", json!({"kind": "application", "dataset": dataset, "title": "某银行临沂分行", "body": "用于小微企业贷款贷前核验"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let id = post["id"].as_i64().unwrap();
    let officer = provider(&app, &dataset).await;
    let (_, inbox) = officer.get(&app, "/api/v1/portal/inbox").await;
    assert!(inbox["waiting"].as_array().unwrap().iter().any(|p| p["id"] == id), "{inbox}");
    let (status, decided) = officer
        .post(&app, &format!("/api/v1/portal/posts/{id}/decision"), json!({"decision": "approve", "days": 30}))
        .await;
    assert_eq!((status, decided["status"].as_str()), (StatusCode::OK, Some("approved")));

    let (status, page) = applicant.get(&app, &rows).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 3);
    let r = applicant
        .client
        .get(app.url(&format!("/api/v1/open/tables/{table}/download?format=csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, _) = officer
        .post(&app, &format!("/api/v1/portal/posts/{id}/decision"), json!({"decision": "refuse", "answer": "改主意"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a decided application stays decided");

    // Nobody else gained access; applying for open data is pointless and refused.
    let other = register(&app, "other.user").await;
    assert_eq!(other.get(&app, &rows).await.0, StatusCode::FORBIDDEN);
    assert_eq!(client().get(app.url(&rows)).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let (open_ds, _) = with_table(&app, "open", "企业", FIRMS, "firms_open2").await;
    let (status, _) = other
        .post(
            &app,
            "/api/v1/portal/posts",
            json!({"kind": "application", "dataset": open_ds, "title": "申请", "body": "用途"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn feedback_reaches_the_provider_and_comments_show_after_moderation() {
    let app = spawn_app().await;
    let (dataset, _) = with_table(&app, "open", "企业", FIRMS, "firms_fb").await;
    let user = register(&app, "reader.one").await;
    let (status, fb) = user
        .post(&app, "/api/v1/portal/posts", json!({"kind": "feedback", "dataset": dataset, "title": "法定代表人有误", "body": "第二条记录的法定代表人应为李娜娜"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let officer = provider(&app, &dataset).await;
    let (status, _) = officer
        .post(
            &app,
            &format!("/api/v1/portal/posts/{}/decision", fb["id"]),
            json!({"decision": "answer", "answer": "已核实更正"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, mine) = user.get(&app, "/api/v1/portal/inbox").await;
    assert_eq!(mine["mine"][0]["answer"], "已核实更正");
    let r = client().get(app.url("/api/v1/portal/posts?kind=feedback")).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!([]), "feedback is between the poster and the provider");

    let comment = |rating: i64| json!({"kind": "comment", "dataset": dataset, "body": "数据很全", "rating": rating});
    assert_eq!(user.post(&app, "/api/v1/portal/posts", comment(6)).await.0, StatusCode::BAD_REQUEST);
    let (_, c) = user.post(&app, "/api/v1/portal/posts", comment(4)).await;
    let page =
        || async { client().get(app.url(&format!("/datasets/{dataset}"))).send().await.unwrap().text().await.unwrap() };
    assert!(!page().await.contains("数据很全"));
    let admin = app.sign_in("admin", "Admin@2026").await;
    admin
        .send(
            &app,
            Method::POST,
            &format!("/api/v1/portal/posts/{}/decision", c["id"]),
            Some(json!({"decision": "publish"})),
        )
        .await;
    let html = page().await;
    assert!(html.contains("数据很全") && html.contains("用户评分 4.0 / 5（1 人）"), "rating shown");
    assert!(html.contains("质量评分"), "the quality score is shown");

    // A showcase entry is reviewed before it is shown; a refused one says why to its author.
    let entry = |title: &str| json!({"kind": "showcase", "title": title, "body": "基于企业数据的选址地图", "link": "https://example.org/map"});
    let (_, a) = user.post(&app, "/api/v1/portal/posts", entry("选址地图")).await;
    let (_, b) = user.post(&app, "/api/v1/portal/posts", entry("广告页")).await;
    let showcase = || async { client().get(app.url("/showcase")).send().await.unwrap().text().await.unwrap() };
    assert!(!showcase().await.contains("选址地图"));
    for (id, d) in [
        (&a["id"], json!({"decision": "publish"})),
        (&b["id"], json!({"decision": "refuse", "answer": "与开放数据无关"})),
    ] {
        let path = format!("/api/v1/portal/posts/{id}/decision");
        assert_eq!(admin.send(&app, Method::POST, &path, Some(d)).await.0, StatusCode::OK);
    }
    let html = showcase().await;
    assert!(html.contains("选址地图") && !html.contains("广告页"));
    let (_, mine) = user.get(&app, "/api/v1/portal/inbox").await;
    let refused = mine["mine"].as_array().unwrap().iter().find(|p| p["id"] == b["id"]).unwrap().clone();
    assert_eq!((refused["status"].as_str(), refused["answer"].as_str()), (Some("refused"), Some("与开放数据无关")));
}
