//! Bad input gets a clear 4xx naming the field, and nothing is half-saved.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{entry, spawn_app};

#[tokio::test]
async fn bad_requests_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let s = app.sign_in("officer.gaj", "Officer@2026").await;
    let count = |s: &crate::support::Session| {
        let s = s.client.clone();
        let url = app.url("/api/v1/workbench?limit=1");
        async move { s.get(url).send().await.unwrap().json::<Value>().await.unwrap()["total"].as_i64().unwrap() }
    };
    let before = count(&s).await;

    // Wrong content type.
    let r = s
        .client
        .post(app.url("/api/v1/catalog"))
        .header("x-csrf-token", &s.csrf)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "unsupported_media_type");

    // Oversized body.
    let huge = json!({"entry": {"summary": "x".repeat(3 * 1024 * 1024)}});
    let (status, body) = s.post(&app, "/api/v1/catalog", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    // A mistyped field deep inside: its path is named.
    let mut typed = entry("类型错误");
    typed["items"][2]["length"] = json!("十八");
    let (status, body) = s.post(&app, "/api/v1/catalog", json!({"entry": typed})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["fields"][0]["field"], "entry.items[2].length", "{body}");

    // An unknown field is named, not ignored.
    let mut unknown = entry("未知字段");
    unknown["colour"] = json!("red");
    let (status, body) = s.post(&app, "/api/v1/catalog", json!({"entry": unknown})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("colour"), "{body}");

    // Malformed JSON.
    let r = s
        .client
        .post(app.url("/api/v1/catalog"))
        .header("x-csrf-token", &s.csrf)
        .header("content-type", "application/json")
        .body("{\"entry\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Bad codes and vocabularies, each named.
    let mut codes = entry("代码错误");
    codes["class"] = json!("7");
    codes["related_codes"] = json!(["3 01 001-000001"]);
    codes["format"] = json!("papyrus");
    codes["sharing_type"] = json!("not_shared");
    let (status, body) = s.post(&app, "/api/v1/catalog", json!({"entry": codes})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    for f in ["class", "format", "sharing_legal_basis", "open_type", "related_codes[0]"] {
        assert!(fields.contains(&f), "{f} not in {fields:?}");
    }
    let (status, body) =
        s.post(&app, "/api/v1/catalog", json!({"entry": entry("代码不符"), "code": "1 01 001/000001"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["fields"][0]["field"], "code");

    // Duplicates are conflicts: the same name, or an explicit code already taken.
    let (status, first) =
        s.post(&app, "/api/v1/catalog", json!({"entry": entry("重复测试"), "code": "3 02 009/000777"})).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, body) = s.post(&app, "/api/v1/catalog", json!({"entry": entry("重复测试")})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    let (status, body) =
        s.post(&app, "/api/v1/catalog", json!({"entry": entry("另一个"), "code": "3 02 009/000777"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"].as_str().unwrap().contains("3 02 009/000777"));

    // Unknown and malformed ids, out-of-range paging, unknown query parameters.
    let (status, body) = s.get(&app, "/api/v1/catalog/987654").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, body) = s.get(&app, "/api/v1/catalog/abc").await;
    assert_eq!((status, body["fields"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("id")));
    let (status, body) = s.get(&app, "/api/v1/catalog?limit=100000").await;
    assert_eq!((status, body["fields"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("limit")));
    let (status, body) = s.get(&app, "/api/v1/catalog?offset=abc").await;
    assert_eq!((status, body["fields"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("offset")));
    // `org` takes an id or a slug (as the CLI and CKAN do): an unknown slug matches nothing.
    let (status, body) = s.get(&app, "/api/v1/catalog?org=abc").await;
    assert_eq!((status, body["total"].as_i64()), (StatusCode::OK, Some(0)));
    let (status, _) = s.get(&app, "/api/v1/catalog?sort=name").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = s.get(&app, "/api/v1/nothing-here").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (status, body) =
        s.post(&app, "/api/v1/users", json!({"username": "x", "password": "y", "role": "king", "org_id": 1})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "officers do not manage users: {body}");

    // Only the one good entry was stored.
    assert_eq!(count(&s).await, before + 1);
}

#[tokio::test]
async fn admins_create_users_with_checked_input() {
    let app = spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let org = app.org_id("swj").await;
    let (status, body) = admin
        .post(
            &app,
            "/api/v1/users",
            json!({"username": "tax.user", "password": "short", "role": "consumer", "org_id": org}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "password");
    let (status, body) = admin
        .post(
            &app,
            "/api/v1/users",
            json!({"username": "tax.user", "password": "Secret2026", "role": "king", "org_id": org}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["fields"][0]["field"], "role");
    let (status, body) = admin
        .post(
            &app,
            "/api/v1/users",
            json!({"username": "tax.user", "password": "Secret2026", "role": "consumer", "org_id": 99999}),
        )
        .await;
    assert_eq!((status, body["fields"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("org_id")));
    let (status, body) = admin
        .post(
            &app,
            "/api/v1/users",
            json!({"username": "tax.user", "password": "Secret2026", "role": "consumer", "org_id": org}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = admin
        .post(
            &app,
            "/api/v1/users",
            json!({"username": "tax.user", "password": "Secret2026", "role": "consumer", "org_id": org}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    app.sign_in("tax.user", "Secret2026").await;
}
