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

/// The schema `s` with `$ref`s into the document's components resolved, and `Option<T>`
/// (`oneOf: [null, T]`) read as `T`.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    if let Some(r) = s["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    if let Some(alts) = s["oneOf"].as_array()
        && let Some(t) = alts.iter().find(|a| a["type"] != "null")
    {
        return resolve(doc, t);
    }
    s
}

/// A value of schema `s`: with `all`, every property; else only the required ones.
fn sample(doc: &Value, s: &Value, all: bool, depth: usize) -> Value {
    let s = resolve(doc, s);
    // A value the schema itself gives: its example, or its first allowed value.
    if let Some(v) = s.get("example").or_else(|| s["examples"].get(0)).or_else(|| s["enum"].get(0)) {
        return v.clone();
    }
    let ty = match &s["type"] {
        Value::Array(types) => types.iter().find(|t| *t != "null").cloned().unwrap_or(Value::Null),
        t => t.clone(),
    };
    match ty.as_str() {
        Some("string") => Value::from("x"),
        Some("integer") => Value::from(1),
        Some("number") => Value::from(1.5),
        Some("boolean") => Value::from(true),
        Some("array") if depth < 3 => Value::Array(vec![sample(doc, &s["items"], all, depth + 1)]),
        Some("array") => Value::Array(vec![]),
        _ => {
            let mut o = serde_json::Map::new();
            let required: Vec<&str> =
                s["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            for (name, p) in s["properties"].as_object().into_iter().flatten() {
                if (all || required.contains(&name.as_str())) && depth < 3 {
                    o.insert(name.clone(), sample(doc, p, all, depth + 1));
                }
            }
            if o.is_empty()
                && let Some(extra) = s.get("additionalProperties").filter(|a| a.is_object())
            {
                o.insert("k".into(), sample(doc, extra, all, depth + 1));
            }
            Value::Object(o)
        }
    }
}

/// What a generated-request fuzzer checks: for every operation with a JSON body, bodies
/// built from the document's schema (required fields only, and every field) are read by the
/// server (no "malformed JSON" answer), fields the schema does not allow are refused, and
/// every answer's status is one the document lists.
#[tokio::test]
async fn every_json_body_the_document_describes_is_what_the_server_reads() {
    let app = spawn_app().await;
    let doc: Value = client().get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    let admin = app.sign_in("admin", "Admin@2026").await;
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let Some(schema) = op["requestBody"]["content"].get("application/json").map(|c| &c["schema"]) else {
                continue;
            };
            // Signed calls of data interfaces authenticate in the handler (their own suite).
            if path.starts_with("/api/v1/exchange/tables/") || path.starts_with("/api/v1/exchange/views/") {
                continue;
            }
            let resolved = resolve(&doc, schema);
            if resolved["type"] == "object" || resolved.get("properties").is_some() {
                assert!(
                    resolved.get("properties").is_some() || resolved.get("additionalProperties").is_some(),
                    "{method} {path}: the body is a bare object: {resolved}"
                );
            }
            let url = path.replace("{id}", "999999").replace("{name}", "no_such_table");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut bodies = vec![("required fields", sample(&doc, schema, false, 0), true)];
            bodies.push(("every field", sample(&doc, schema, true, 0), true));
            if resolved["additionalProperties"] == false {
                let mut extra = sample(&doc, schema, false, 0);
                extra["undeclared_field"] = Value::from(1);
                bodies.push(("an undeclared field", extra, false));
            }
            for (what, body, readable) in bodies {
                let (status, answer) = admin.send(&app, method.clone(), &url, Some(body.clone())).await;
                checked += 1;
                let malformed = status == reqwest::StatusCode::BAD_REQUEST
                    && answer["message"].as_str().is_some_and(|m| m.starts_with("malformed JSON"));
                if readable && malformed {
                    wrong.push(format!("{method} {path} with {what} {body}: not read: {answer}"));
                }
                if !readable && !malformed {
                    wrong.push(format!("{method} {path} with {what}: accepted ({status}) {answer}"));
                }
                if op["responses"].get(status.as_str()).is_none() {
                    wrong.push(format!("{method} {path} with {what}: answered {status}, not documented: {answer}"));
                }
            }
        }
    }
    assert!(checked >= 40, "only {checked} requests");
    assert!(wrong.is_empty(), "{} mismatches:\n{}", wrong.len(), wrong.join("\n"));
}
