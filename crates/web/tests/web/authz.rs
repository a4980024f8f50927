//! The role × route matrix: every route of the policy table, called by every role. A caller
//! the policy refuses gets 401 (or the sign-in page) when anonymous and 403 when signed in;
//! a caller it allows never does.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tongshu_core::policy::{Role, allows};

use crate::support::{client, entry, spawn_app};

#[tokio::test]
async fn every_route_is_enforced_for_every_role() {
    let app = spawn_app().await;
    // An entry of the officer's own organization, so object-level checks pass for those allowed.
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let (_, e) = officer.post(&app, "/api/v1/catalog", json!({"entry": entry("矩阵测试资源")})).await;
    let id = e["id"].as_i64().unwrap().to_string();

    let accounts: [(Option<Role>, &str, &str); 6] = [
        (None, "", ""),
        (Some(Role::PlatformAdmin), "admin", "Admin@2026"),
        (Some(Role::DataOfficer), "officer.gaj", "Officer@2026"),
        (Some(Role::Consumer), "consumer.ybj", "Consumer@2026"),
        (Some(Role::Auditor), "auditor", "Auditor@2026"),
        (Some(Role::Public), "citizen", "Citizen@2026"),
    ];
    let c = client();
    let mut checked = 0;
    for (role, user, password) in accounts {
        // API tokens, so that routes which end sessions do not end the matrix's own.
        let token = match role {
            None => None,
            Some(_) => {
                let s = app.sign_in(user, password).await;
                let (_, t) = s.post(&app, "/api/v1/tokens", json!({"name": "matrix"})).await;
                Some(t["token"].as_str().unwrap().to_owned())
            }
        };
        for rule in tongshu_web::routes::policy() {
            let path = rule
                .path
                .replace("{id}", if rule.path.contains("tokens") { "999999" } else { &id })
                .replace("{file}", "style.css");
            let method = Method::from_bytes(rule.method.as_str().as_bytes()).unwrap();
            let mut req = c.request(method.clone(), app.url(&path));
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            if method != Method::GET {
                req = req.json(&json!({}));
            }
            let status = req.send().await.unwrap().status();
            let allowed = allows(role, rule.action);
            let who = format!("{role:?} {} {}", rule.method, rule.path);
            if allowed {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{who}: allowed but got {status}"
                );
                assert!(!status.is_server_error(), "{who}: {status}");
            } else if role.is_none() {
                let to_login =
                    status == StatusCode::SEE_OTHER && rule.method == Method::GET && !path.starts_with("/api/");
                assert!(status == StatusCode::UNAUTHORIZED || to_login, "{who}: refused anonymous caller got {status}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 6 * 40, "{checked} checks");
}

/// Every path of the table, asked with a method it does not have, answers 405 with the
/// methods it has in `Allow` (never 500), for anonymous and signed-in callers alike.
#[tokio::test]
async fn methods_a_path_does_not_have_answer_405_with_allow() {
    let app = spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let (_, t) = admin.post(&app, "/api/v1/tokens", json!({"name": "methods"})).await;
    let token = t["token"].as_str().unwrap().to_owned();
    let policy = tongshu_web::routes::policy();
    let mut paths: Vec<&str> = policy.iter().map(|r| r.path).collect();
    paths.dedup();
    let c = client();
    let mut checked = 0;
    for path in paths {
        let has: Vec<&str> = policy.iter().filter(|r| r.path == path).map(|r| r.method.as_str()).collect();
        let url = app.url(&path.replace("{id}", "1").replace("{file}", "style.css"));
        for method in [Method::PATCH, Method::TRACE, Method::PUT, Method::DELETE] {
            if has.contains(&method.as_str()) {
                continue;
            }
            for bearer in [None, Some(&token)] {
                let mut req = c.request(method.clone(), &url);
                if let Some(t) = bearer {
                    req = req.bearer_auth(t);
                }
                let r = req.send().await.unwrap();
                assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                let allow = r.headers()["allow"].to_str().unwrap().to_owned();
                for m in &has {
                    assert!(allow.contains(m), "{method} {path}: Allow {allow:?} lacks {m}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "{checked} checks");
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_for_writes() {
    let app = spawn_app().await;
    let s = app.sign_in("officer.gaj", "Officer@2026").await;
    // Without the header: refused, nothing created.
    let r = s.client.post(app.url("/api/v1/catalog")).json(&json!({"entry": entry("无令牌")})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s
        .client
        .post(app.url("/api/v1/catalog"))
        .header("x-csrf-token", "wrong")
        .json(&json!({"entry": entry("错令牌")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, mine) = s.get(&app, "/api/v1/workbench?q=令牌").await;
    assert_eq!(mine["total"], 0);
    // A form post without the hidden field is refused too.
    let r = s.client.post(app.url("/workbench/new")).form(&[("name", "x")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // With it, the write goes through.
    let (status, _) = s.post(&app, "/api/v1/catalog", json!({"entry": entry("有令牌")})).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn sign_in_is_throttled_and_tokens_are_shown_once_and_revocable() {
    let app = spawn_app().await;
    let c = client();
    let attempt = |password: &'static str| {
        let c = c.clone();
        let url = app.url("/api/v1/session");
        async move { c.post(url).json(&json!({"username": "auditor", "password": password})).send().await.unwrap() }
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong-password1").await.status(), StatusCode::UNAUTHORIZED);
    }
    let r = attempt("Auditor@2026").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "locked even with the right password");
    assert!(r.headers().get("retry-after").is_some());

    let s = app.sign_in("officer.mzj", "Officer@2026").await;
    let cookie_header = {
        let c = client();
        let r = c
            .post(app.url("/api/v1/session"))
            .json(&json!({"username": "officer.mzj", "password": "Officer@2026"}))
            .send()
            .await
            .unwrap();
        r.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned()
    };
    assert!(cookie_header.contains("HttpOnly") && cookie_header.contains("SameSite=Lax"), "{cookie_header}");

    let (status, created) = s.post(&app, "/api/v1/tokens", json!({"name": "etl"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = created["token"].as_str().unwrap().to_owned();
    let (_, list) = s.get(&app, "/api/v1/tokens").await;
    assert!(!list.to_string().contains(&token), "the token is never shown again");
    let me = client().get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<serde_json::Value>().await.unwrap()["username"], "officer.mzj");
    let tid = created["info"]["id"].as_i64().unwrap();
    let (status, _) = s.send(&app, Method::DELETE, &format!("/api/v1/tokens/{tid}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let me = client().get(app.url("/api/v1/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    let bad = client().get(app.url("/api/v1/me")).header("authorization", "Basic abc").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    // Signing out ends the session.
    let (status, _) = s.send(&app, Method::DELETE, "/api/v1/session", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s.get(&app, "/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
