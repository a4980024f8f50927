//! Issue 14 §6: the city is configuration. A platform configured as Jinan (济南市, 370100)
//! shows Jinan in its pages, CKAN's `status_show`, DCAT and the district filters, and
//! nothing of Linyi.

use reqwest::StatusCode;
use serde_json::Value;
use tongshu_accounts::Accounts;
use tongshu_core::city::{City, District};
use tongshu_core::org::{OrgKind, Organization};
use tongshu_core::policy::Role;
use tongshu_web::{AppState, WebSettings};

use crate::support::client;

fn jinan() -> City {
    let mut c = City::named("370100", "济南市", "Jinan");
    for (code, name) in [("370102", "历下区"), ("370103", "市中区"), ("370104", "槐荫区"), ("370112", "历城区")]
    {
        c.districts.push(District { code: code.into(), name: name.into() });
    }
    c.validate().unwrap()
}

/// A platform of `city` without the demo: the bureau, a district department with one
/// listed open entry, and an administrator.
async fn platform_of(city: City) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = tongshu_store::testing::sqlite_store(dir.path()).await.unwrap();
    let org = |kind, name: &str, slug: &str, district: &str| Organization {
        id: 0,
        parent_id: None,
        kind,
        name: name.into(),
        slug: slug.into(),
        district_code: district.into(),
        credit_code: None,
    };
    let bureau = store.insert_org(&org(OrgKind::Department, &city.bureau, "dsjj", &city.code)).await.unwrap();
    let dept = store.insert_org(&org(OrgKind::Department, "历下区交通运输局", "lx-jtj", "370102")).await.unwrap();
    let accounts = Accounts::new(store.clone());
    let admin = accounts.add_user("admin", "管理员", "Admin@2026x", Role::PlatformAdmin, bureau.id).await.unwrap();
    let admin = store.get_user(admin.id).await.unwrap().principal();
    let catalog = tongshu_catalog::Catalog::new(store.clone());
    let input = tongshu_core::catalog::EntryInput {
        class: "3".into(),
        item: "02".into(),
        category: "001".into(),
        sub_category: None,
        name: "历下区公交站点".into(),
        summary: "历下区公交站点名称、位置与线路。".into(),
        format: "database".into(),
        format_detail: None,
        items: vec![tongshu_core::catalog::ItemInput {
            name: "站点名称".into(),
            data_type: "text".into(),
            length: Some(50),
            description: String::new(),
            element_code: None,
        }],
        sharing_type: "unconditional".into(),
        sharing_condition: None,
        sharing_legal_basis: None,
        sharing_methods: vec!["interface".into()],
        open_type: "open".into(),
        open_condition: None,
        update_cycle: "monthly".into(),
        grading: "general".into(),
        publish_date: None,
        related_codes: vec![],
        keywords: vec!["公交".into()],
    };
    let entry = catalog.create(&admin, Some(dept.id), &input, None).await.unwrap();
    catalog.submit(&admin, entry.id).await.unwrap();
    catalog.approve(&admin, entry.id, None).await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    let settings = WebSettings {
        upload_dir: dir.path().join("uploads"),
        public_url: site.clone(),
        city,
        ..WebSettings::default()
    };
    let lake = tongshu_lake::Library::open(dir.path().join("library").to_str().unwrap(), Default::default()).unwrap();
    let library = tongshu_library::LibraryService::new(lake, store.clone());
    let state = AppState::new(store.clone(), accounts, library, settings);
    tokio::spawn(tongshu_web::serve(listener, state, std::future::pending()));
    (site, dir)
}

async fn text(url: &str) -> String {
    let r = client().get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    r.text().await.unwrap()
}

#[tokio::test]
async fn a_platform_configured_as_another_city_shows_that_city_everywhere() {
    let (site, _dir) = platform_of(jinan()).await;
    let home = text(&format!("{site}/")).await;
    assert!(home.contains("济南市公共数据开放网") && home.contains("通数 · 济南"), "the portal's title and brand");
    assert!(home.contains("济南市大数据局"), "the footer names the bureau");
    let english = client().get(format!("{site}/")).header("cookie", "tongshu_lang=en").send().await.unwrap();
    let english = english.text().await.unwrap();
    assert!(english.contains("Jinan Open Data") && english.contains("Tongshu · Jinan"), "English pages too");

    // The district filter offers the configured city's districts, by name.
    let datasets = text(&format!("{site}/datasets")).await;
    assert!(datasets.contains("历下区"), "the district filter names 历下区");
    let district = text(&format!("{site}/districts/370102")).await;
    assert!(district.contains("历下区") && district.contains("历下区公交站点"), "the district's page lists its data");
    let r = client().get(format!("{site}/districts/371302")).send().await.unwrap();
    assert!(!r.text().await.unwrap().contains("兰山区"), "a Linyi district is not a district here");

    let status: Value =
        client().get(format!("{site}/api/3/action/status_show")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["result"]["site_title"], "济南市公共数据开放网", "{status}");
    assert!(status["result"]["site_description"].as_str().unwrap().contains("Jinan"), "{status}");

    let ttl = text(&format!("{site}/catalog.ttl")).await;
    assert!(ttl.contains("济南市公共数据开放网") && ttl.contains("济南市大数据局"), "DCAT title and publisher");
    let pages = [home, english, datasets, ttl, status.to_string()];
    for page in &pages {
        assert!(!page.contains("临沂") && !page.contains("Linyi"), "nothing of Linyi");
    }
}
