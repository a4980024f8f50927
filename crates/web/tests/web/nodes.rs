//! Issue 14 §5: two nodes (two servers on one store and one library) behave as one: an
//! interface quota and an API key's rate are counted once across both, and a key revoked on
//! one node is refused by the other at once.

use reqwest::StatusCode;
use serde_json::json;

use crate::exchange::{SignedApp, now, provider_table};
use crate::support::{client, spawn_keyed};

/// Waits, when the minute is about to turn, so that a test's calls fall in one minute.
async fn within_one_minute() {
    if time::OffsetDateTime::now_utc().second() >= 50 {
        tokio::time::sleep(std::time::Duration::from_secs(11)).await;
    }
}

#[tokio::test]
async fn an_interface_quota_holds_across_two_nodes() {
    let app = spawn_keyed(1000, 1000).await;
    let node2 = format!("http://{}", app.second_node().await);
    let (entry_id, table, _) = provider_table(&app).await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    crate::sharing::granted(&app, &consumer, entry_id, json!({"approve": true})).await;
    let (_, created) = consumer.post(&app, "/api/v1/exchange/apps", json!({"name": "两节点"})).await;
    let signed = SignedApp {
        key: created["app"]["app_key"].as_str().unwrap().into(),
        secret: created["secret"].as_str().unwrap().into(),
    };
    let app_id = created["app"]["id"].as_i64().unwrap();
    let quota = json!({"per_minute": 3, "per_day": 100});
    let (status, _) =
        admin.send(&app, reqwest::Method::PUT, &format!("/api/v1/exchange/apps/{app_id}/quota"), Some(quota)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let rows = format!("/api/v1/exchange/tables/{table}/rows?limit=1");
    within_one_minute().await;
    let node1 = app.url("");
    let mut statuses = Vec::new();
    for (i, base) in [&node1, &node2, &node1, &node2].into_iter().enumerate() {
        statuses.push(signed.call_at(base, "GET", &rows, "", now(), &format!("n{i}")).await.0);
    }
    let ok = StatusCode::OK;
    assert_eq!(statuses, [ok, ok, ok, StatusCode::TOO_MANY_REQUESTS], "three a minute, counted once for both nodes");
}

#[tokio::test]
async fn an_api_keys_rate_and_revocation_hold_across_two_nodes() {
    let app = spawn_keyed(1000, 2).await;
    let node2 = format!("http://{}", app.second_node().await);
    let (_, table) = crate::ckan::with_table(&app, "open", "企业", crate::ckan::FIRMS, "firms_nodes").await;
    let dev = crate::portal::register(&app, "dev.nodes").await;
    let (status, created) = dev.post(&app, "/api/v1/tokens", json!({"name": "两节点"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let key = created["token"].as_str().unwrap().to_owned();
    let id = created["info"]["id"].as_i64().unwrap();
    let rows = format!("/api/v1/open/tables/{table}/rows?limit=1");
    within_one_minute().await;
    let on = |base: &str| client().get(format!("{base}{rows}")).bearer_auth(&key).send();
    assert_eq!(on(&app.url("")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(on(&node2).await.unwrap().status(), StatusCode::OK);
    assert_eq!(on(&app.url("")).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS, "two a minute for both nodes");

    // Revoked on the first node, refused by the second at once (no node keeps a copy).
    let (status, _) = dev.send(&app, reqwest::Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await;
    assert!(status.is_success(), "{status}");
    let r = client().get(format!("{node2}{rows}")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn what_one_node_changes_of_a_grant_the_other_applies_at_the_next_call() {
    grant_changes_reach_the_other_node(false).await;
}

/// An app without quotas is admitted without a trip to the store, at the counters the node
/// last read, and its answer is released only if they still stand when its record commits:
/// the other node's changes still apply at the very next call.
#[tokio::test]
async fn an_app_without_quotas_sees_the_other_nodes_changes_at_the_next_call_too() {
    grant_changes_reach_the_other_node(true).await;
}

async fn grant_changes_reach_the_other_node(no_quota: bool) {
    let app = spawn_keyed(1000, 1000).await;
    let node2 = format!("http://{}", app.second_node().await);
    let (entry_id, table, _) = provider_table(&app).await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let answered = crate::sharing::granted(&app, &consumer, entry_id, json!({"approve": true})).await;
    let grant_id = answered["grant_id"].as_i64().unwrap();
    let (_, created) = consumer.post(&app, "/api/v1/exchange/apps", json!({"name": "缓存"})).await;
    let signed = SignedApp {
        key: created["app"]["app_key"].as_str().unwrap().into(),
        secret: created["secret"].as_str().unwrap().into(),
    };
    if no_quota {
        let app_id = created["app"]["id"].as_i64().unwrap();
        let (status, _) = admin
            .send(
                &app,
                reqwest::Method::PUT,
                &format!("/api/v1/exchange/apps/{app_id}/quota"),
                Some(json!({"per_minute": 0, "per_day": 0})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let rows = format!("/api/v1/exchange/tables/{table}/rows?limit=1");
    let mut n = 0;
    let mut call = async |base: &str| {
        n += 1;
        signed.call_at(base, "GET", &rows, "", now(), &format!("c{n}")).await.0
    };
    // Node 2 has worked out this caller's access (twice, so it keeps it).
    assert_eq!(call(&node2).await, StatusCode::OK);
    assert_eq!(call(&node2).await, StatusCode::OK);
    let r = consumer.client.get(format!("{node2}{rows}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "the consumer's own session on node 2");

    // On the negative list through node 1: node 2 refuses the next call, and serves again
    // once the entry is taken off the list.
    let (status, added) = admin
        .post(&app, "/api/v1/exchange/negative", json!({"entry_id": entry_id, "legal_basis": "涉及国家秘密"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(call(&node2).await, StatusCode::FORBIDDEN);
    let (_, list) = admin.get(&app, "/api/v1/exchange/negative").await;
    assert_eq!(list["entries"][0]["entry_id"], entry_id, "{list}");
    let id = entry_id;
    let (status, _) = admin.send(&app, reqwest::Method::DELETE, &format!("/api/v1/exchange/negative/{id}"), None).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(call(&node2).await, StatusCode::OK);

    // Revoked through node 1: node 2 refuses the next signed call and the next user call.
    let (status, _) = officer
        .post(&app, &format!("/api/v1/exchange/grants/{grant_id}/revoke"), json!({"reason": "用途已完成"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(call(&node2).await, StatusCode::FORBIDDEN);
    // (Cookies do not depend on the port: the session holds on node 2 too.)
    let r = consumer.client.get(format!("{node2}{rows}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
