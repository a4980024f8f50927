//! Issue 13 §6: the OpenAPI document says what the server does.

use serde_json::Value;

use crate::support::{client, spawn_app};

#[tokio::test]
async fn every_path_parameter_of_the_openapi_document_is_in_its_path() {
    let app = spawn_app().await;
    let doc: Value = client().get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut wrong = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                if p["in"] == "path" && !path.contains(&format!("{{{name}}}")) {
                    wrong.push(format!("{method} {path}: {name}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "query parameters declared in the path: {wrong:?}");
    // Created records answer 201, as the document says.
    let create = &doc["paths"]["/api/v1/exchange/requests"]["post"]["responses"];
    assert!(create.get("201").is_some() && create.get("200").is_none(), "{create}");
    let list = doc["paths"]["/api/v1/exchange/requests"]["get"]["parameters"].to_string();
    assert!(list.contains("\"role\""), "the provider's view is documented: {list}");
}

#[tokio::test]
async fn the_catalog_takes_organization_slugs_as_the_cli_and_ckan_do() {
    let app = spawn_app().await;
    let gaj = app.org_id("gaj").await;
    let get = |q: String| {
        let url = app.url(&format!("/api/v1/catalog?{q}&limit=100"));
        async move { client().get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let by_slug = get("org=gaj".into()).await;
    let by_id = get(format!("org={gaj}")).await;
    assert!(by_slug["total"].as_i64().unwrap() > 0, "{by_slug}");
    assert_eq!(by_slug["total"], by_id["total"]);
    let ids = |v: &Value| v["items"].as_array().unwrap().iter().map(|e| e["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&by_slug), ids(&by_id));
    assert_eq!(get("org=no-such-org".into()).await["total"], 0);
}
