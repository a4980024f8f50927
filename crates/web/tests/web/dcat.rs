//! DCAT-AP 3 output, validated with pyshacl against the official DCAT-AP 3.0.0 shapes.

use reqwest::StatusCode;

use crate::support::{TestApp, client, spawn_app};

async fn fetch(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let r = client().get(app.url(path)).send().await.unwrap();
    let status = r.status();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

/// Runs pyshacl on `data` (Turtle or JSON-LD); returns its report when the data does not
/// conform, `None` when it does.
fn shacl(data: &str, format: &str) -> Option<String> {
    let shapes = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/dcat-ap-3.0.0-SHACL.ttl");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("data.{format}"));
    std::fs::write(&file, data).unwrap();
    let script = r#"
import sys, pyshacl, rdflib
data = rdflib.Graph().parse(sys.argv[1], format=sys.argv[2])
shapes = rdflib.Graph().parse(sys.argv[3], format="turtle")
conforms, _, text = pyshacl.validate(data, shacl_graph=shapes, inference="none")
print(len(data))
print("CONFORMS" if conforms else text[:6000])
"#;
    let parse_as = if format == "ttl" { "turtle" } else { "json-ld" };
    let out = std::process::Command::new("python3")
        .args(["-c", script, file.to_str().unwrap(), parse_as, shapes])
        .output()
        .unwrap();
    assert!(out.status.success(), "pyshacl failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let triples: usize = text.lines().next().unwrap().parse().unwrap();
    assert!(triples > 10, "the data parsed into {triples} triples");
    (!text.contains("CONFORMS")).then_some(text)
}

#[tokio::test]
async fn the_catalogue_in_dcat_ap_conforms_to_the_official_shapes() {
    let probe = std::process::Command::new("python3").args(["-c", "import pyshacl"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(std::env::var_os("CI").is_none(), "CI must have pyshacl (scripts/test installs it)");
        eprintln!("skipping: python3 -c 'import pyshacl' failed");
        return;
    }
    let app = spawn_app().await;
    // With a library table, so that the catalogue has distributions (access and download
    // URLs) too, as the demo's has.
    crate::ckan::with_table(&app, "open", "企业", crate::ckan::FIRMS, "dcat_firms").await;
    let (status, ct, ttl) = fetch(&app, "/catalog.ttl").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/turtle"), "{ct}");
    assert!(ttl.contains("dcat:Catalog") && ttl.contains("dcat:Dataset"));
    assert!(ttl.contains("dcat:Distribution") && ttl.contains("dcat:downloadURL"), "distributions are validated too");
    let (_, ct, jsonld) = fetch(&app, "/catalog.jsonld").await;
    assert!(ct.starts_with("application/ld+json"), "{ct}");
    let (_, found) = crate::support::Session { client: client(), csrf: String::new() }
        .get(&app, "/api/3/action/package_search?rows=1&fq=open_type:conditional")
        .await;
    let name = found["result"]["results"][0]["name"].as_str().unwrap().to_owned();
    let (status, _, one) = fetch(&app, &format!("/datasets/{name}/dcat.ttl")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(one.contains("access-right/RESTRICTED"), "conditional data is marked restricted");
    let (status, _, _) = fetch(&app, "/datasets/no-such-dataset/dcat.ttl").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (ttl_report, jsonld_report, one_report) =
        tokio::task::spawn_blocking(move || (shacl(&ttl, "ttl"), shacl(&jsonld, "jsonld"), shacl(&one, "ttl")))
            .await
            .unwrap();
    assert_eq!(ttl_report, None, "catalog.ttl");
    assert_eq!(jsonld_report, None, "catalog.jsonld");
    assert_eq!(one_report, None, "one dataset");
}

#[tokio::test]
async fn robots_and_sitemap_point_crawlers_at_the_public_datasets() {
    let app = spawn_app().await;
    let (status, ct, robots) = fetch(&app, "/robots.txt").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/plain"));
    assert!(robots.contains("Disallow: /api/") && robots.contains("/sitemap.xml"));
    let (status, ct, xml) = fetch(&app, "/sitemap.xml").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("application/xml"));
    let (_, names) =
        crate::support::Session { client: client(), csrf: String::new() }.get(&app, "/api/3/action/package_list").await;
    let names = names["result"].as_array().unwrap();
    assert_eq!(xml.matches("<url>").count(), names.len() + 3, "every public dataset, the home and two lists");
    assert!(xml.contains(&format!("/datasets/{}</loc><lastmod>", names[0].as_str().unwrap())));
}

#[tokio::test]
async fn the_iris_of_the_dcat_description_are_organization_topic_and_district_pages() {
    let app = spawn_app().await;
    for (path, heading, facet) in [
        ("/organizations/gaj", "临沂市公安局", "临沂市公安局"),
        ("/topics/gonggong-anquan", "公共安全", "公共安全"),
        ("/districts/371302", "兰山区", "兰山区"),
    ] {
        let r = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains(&format!("<h1>{heading}</h1>")), "{path}: a page headed by its name");
        assert!(
            html.contains("开放数据集") && html.contains("aria-current=\"true\""),
            "{path}: figures, narrowed to {facet}"
        );
        let total: usize = html.split("id=\"total\">").nth(1).unwrap().split('<').next().unwrap().parse().unwrap();
        assert!(total > 0, "{path}");
    }
    for path in ["/organizations/nowhere", "/topics/nothing", "/districts/999999"] {
        assert_eq!(client().get(app.url(path)).send().await.unwrap().status(), 404, "{path}");
    }
    let r = client().get(app.url("/topics")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/datasets");
}
