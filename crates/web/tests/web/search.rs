//! Search finds what people type: the relevance set over the demo city (synonyms,
//! abbreviations, pinyin), and the synonym dictionary administrators keep.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{client, spawn_app, spawn_on};

/// The relevance set: (kind, query, title of the dataset it must find in the top five).
pub fn relevance_set() -> Vec<(&'static str, &'static str, &'static str)> {
    include_str!("../data/relevance.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            let mut next = || f.next().unwrap_or_else(|| panic!("relevance.tsv: line {l:?} has fewer than 3 fields"));
            (next(), next(), next())
        })
        .collect()
}

/// The titles of the first `rows` datasets CKAN's search answers for `q`.
async fn titles(base: &str, q: &str, rows: usize) -> Vec<String> {
    let url = format!(
        "{base}/api/3/action/package_search?rows={rows}&q={}",
        form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    );
    let r = client().get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{q}");
    let body: Value = r.json().await.unwrap();
    body["result"]["results"].as_array().unwrap().iter().map(|d| d["title"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn the_relevance_set_finds_each_dataset_in_the_top_five() {
    let app = spawn_app().await;
    let base = format!("http://{}", app.addr);
    let set = relevance_set();
    assert!(set.len() >= 50, "the set has {} queries", set.len());

    // Every target is a public dataset of the demo (else the set tests nothing).
    let mut absent = Vec::new();
    for (_, _, title) in &set {
        if !titles(&base, title, 20).await.iter().any(|t| t == title) {
            absent.push(*title);
        }
    }
    assert!(absent.is_empty(), "not public demo datasets: {absent:?}");

    let mut misses = Vec::new();
    for (kind, q, title) in &set {
        let top = titles(&base, q, 5).await;
        if !top.iter().any(|t| t == title) {
            misses.push(format!("{kind} {q:?}: wanted {title:?}, got {top:?}"));
        }
    }
    let recall = 1.0 - misses.len() as f64 / set.len() as f64;
    println!("recall@5 = {recall:.3} over {} queries", set.len());
    for m in &misses {
        println!("  miss: {m}");
    }
    assert!(recall >= 0.95, "recall@5 {recall:.3} < 0.95:\n{}", misses.join("\n"));

    // Without the dictionary and pinyin the same set does much worse: the expansions are
    // what finds these (the set is not made of words the titles hold).
    let plain: Vec<_> = set.iter().filter(|(k, _, _)| *k == "word").collect();
    assert!(plain.len() < set.len() / 4, "most queries need synonyms or pinyin");
}

#[tokio::test]
async fn administrators_keep_synonyms_that_apply_at_once_on_every_node() {
    let Some(app) = spawn_on(crate::support::Backend::Sqlite).await else { return };
    let node2 = format!("http://{}", app.second_node().await);
    let base = format!("http://{}", app.addr);
    assert!(titles(&base, "房本", 5).await.is_empty(), "nobody says 房本 in the catalog");
    // Node 2 has searched before the rule exists (its index is built).
    assert!(titles(&node2, "房本", 5).await.is_empty());

    // Only administrators: anonymous 401, an officer 403.
    let r = client().get(app.url("/api/v1/admin/synonyms")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let officer = app.sign_in("officer.gaj", tongshu_demo::OFFICER_PASSWORD).await;
    let (status, _) = officer.post(&app, "/api/v1/admin/synonyms", json!({"line": "房本 => 不动产"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let admin = app.sign_in("admin", "Admin@2026").await;
    let (status, seeded) = admin.get(&app, "/api/v1/admin/synonyms").await;
    assert_eq!(status, StatusCode::OK);
    let seeded = seeded.as_array().unwrap().clone();
    assert!(seeded.len() >= 50, "the dictionary is seeded");
    assert!(seeded.iter().any(|s| s["line"] == "社保, 社会保险, 社会保障" && s["created_by"].is_null()));

    // Bad rules are refused with the field named.
    for (body, field) in [
        (json!({"terms": ["房本"]}), "terms"),
        (json!({"terms": ["房本", "长".repeat(31)]}), "terms[1]"),
        (json!({"line": "房本 => 房本"}), "targets"),
    ] {
        let (status, e) = admin.post(&app, "/api/v1/admin/synonyms", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(e["fields"][0]["field"], field, "{e}");
    }
    let (status, _) = admin.post(&app, "/api/v1/admin/synonyms", json!({"line": "a, b", "terms": ["c", "d"]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, rule) =
        admin.post(&app, "/api/v1/admin/synonyms", json!({"terms": ["房本", "房产本"], "targets": ["不动产"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");
    assert_eq!(rule["line"], "房本, 房产本 => 不动产");
    // At once, on this node and the other.
    for b in [&base, &node2] {
        let found = titles(b, "房本", 5).await;
        assert!(found.iter().any(|t| t == "不动产登记信息"), "{b}: {found:?}");
    }
    // One way: 不动产 does not find what says 房本 (nothing does), and finds as before.
    assert!(titles(&base, "不动产", 5).await.iter().all(|t| t.contains("不动产")));

    let id = rule["id"].as_i64().unwrap();
    let (status, _) = admin.send(&app, Method::DELETE, &format!("/api/v1/admin/synonyms/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = admin.send(&app, Method::DELETE, &format!("/api/v1/admin/synonyms/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for b in [&base, &node2] {
        assert!(titles(b, "房本", 5).await.is_empty(), "{b}: removed everywhere");
    }

    // Removing a seed rule is not undone by a restart (the seed is added once).
    let shebao = seeded.iter().find(|s| s["line"] == "社保, 社会保险, 社会保障").unwrap()["id"].as_i64().unwrap();
    let (status, _) = admin.send(&app, Method::DELETE, &format!("/api/v1/admin/synonyms/{shebao}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.store.migrate().await.unwrap();
    let (_, after) = admin.get(&app, "/api/v1/admin/synonyms").await;
    assert_eq!(after.as_array().unwrap().len(), seeded.len() - 1);
}

#[tokio::test]
async fn the_dictionary_page_adds_and_removes_rules() {
    let app = spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let page = admin.client.get(app.url("/admin/synonyms")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("搜索词典") && html.contains("离婚, 结婚 =&gt; 婚姻登记"), "{html}");

    let form = |line: &str| vec![("_csrf".to_owned(), admin.csrf.clone()), ("line".to_owned(), line.to_owned())];
    let r = admin.client.post(app.url("/admin/synonyms")).form(&form("房本")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("at least two terms") && html.contains("value=\"房本\""), "the line is kept: {html}");

    let r = admin.client.post(app.url("/admin/synonyms")).form(&form("房本，房产本 => 不动产")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html =
        admin.client.get(app.url("/admin/synonyms?done=synonym_added")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("房本, 房产本 =&gt; 不动产") && html.contains("搜索立即生效"), "{html}");

    // An officer does not see the page.
    let officer = app.sign_in("officer.gaj", tongshu_demo::OFFICER_PASSWORD).await;
    let r = officer.client.get(app.url("/admin/synonyms")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
