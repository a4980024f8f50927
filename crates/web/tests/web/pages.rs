//! The same stories through the Chinese pages and their forms, as a browser would post them.

use reqwest::StatusCode;

use crate::support::{TestApp, client, spawn_app};

/// Signs in through the login form and returns the client and the page CSRF token.
async fn page_sign_in(app: &TestApp, user: &str, password: &str) -> (reqwest::Client, String) {
    let c = client();
    let r = c
        .post(app.url("/login"))
        .form(&[("username", user), ("password", password), ("next", "/workbench")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "sign-in of {user}");
    let html = c.get(app.url("/account")).send().await.unwrap().text().await.unwrap();
    (c, csrf_of(&html))
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a csrf field") + "name=\"_csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").unwrap().to_str().unwrap().to_owned()
}

#[tokio::test]
async fn officer_fills_the_form_fixes_errors_submits_and_admin_approves() {
    let app = spawn_app().await;
    let (officer, csrf) = page_sign_in(&app, "officer.gaj", "Officer@2026").await;

    let form = officer.get(app.url("/workbench/new")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert_eq!(form.headers()["content-type"], "text/html; charset=utf-8");
    let html = form.text().await.unwrap();
    assert!(html.contains("信息资源名称") && html.contains("共享属性"));

    // Conditional sharing without a condition and a text item without a length.
    let mut fields = vec![
        ("_csrf", csrf.as_str()),
        ("class", "3"),
        ("item", "02"),
        ("category", "010"),
        ("name", "网吧上网人员信息"),
        ("summary", "网吧实名上网登记信息"),
        ("format", "database"),
        ("items[0].name", "姓名"),
        ("items[0].data_type", "text"),
        ("items[1].name", ""),
        ("items[2].name", "上网时间"),
        ("items[2].data_type", "datetime"),
        ("sharing_type", "conditional"),
        ("sharing_methods", "interface"),
        ("open_type", "not_open"),
        ("update_cycle", "daily"),
        ("grading", "important"),
    ];
    let r = officer.post(app.url("/workbench/new")).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("有条件共享必须填写共享条件"), "the error is shown in Chinese");
    assert!(html.contains("字符型信息项必须填写长度"));
    assert!(html.contains("value=\"网吧上网人员信息\""), "what was typed is kept");
    assert!(html.contains("value=\"上网时间\""));

    fields.push(("sharing_condition", "仅限公安、网信部门"));
    fields.push(("items[0].length", "50"));
    let r = officer.post(app.url("/workbench/new")).form(&fields).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let entry_url = location(&r);
    assert!(entry_url.ends_with("?done=created"), "{entry_url}");
    let id: i64 = entry_url.trim_start_matches("/catalog/").split('?').next().unwrap().parse().unwrap();
    let page = officer.get(app.url(&entry_url)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已保存为草稿") && page.contains("草稿") && page.contains("上网时间"));

    let r = officer
        .post(app.url(&format!("/workbench/{id}/submit")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let (admin, admin_csrf) = page_sign_in(&app, "admin", "Admin@2026").await;
    let queue = admin.get(app.url("/review")).send().await.unwrap().text().await.unwrap();
    assert!(queue.contains("网吧上网人员信息"), "the review queue shows the entry");
    let r = admin
        .post(app.url(&format!("/review/{id}/return")))
        .form(&[("_csrf", admin_csrf.as_str()), ("comment", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "a return needs a comment");
    let r = admin
        .post(app.url(&format!("/review/{id}/approve")))
        .form(&[("_csrf", admin_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = admin.get(app.url(&format!("/catalog/{id}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("已上架") && page.contains("变更历史") && page.contains("审核通过"));

    // Anonymous visitors may not see it: it is not open to the public.
    let r = client().get(app.url(&format!("/catalog/{id}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn public_pages_browse_and_protected_pages_ask_to_sign_in() {
    let app = spawn_app().await;
    let c = client();
    let home = c.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("临沂市公共数据开放网") && home.contains("兰山区") && home.contains("临沂市公安局"));
    assert!(home.contains("开放数据集") && home.contains("/datasets?topic="), "the open data figures and topics");
    let list = c.get(app.url("/catalog?district=371302")).send().await.unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    let html = list.text().await.unwrap();
    assert!(html.contains("兰山区"));
    assert!(!html.contains("费县城乡低保对象信息"), "another district's entries are filtered out");
    let r = c.get(app.url("/catalog?limit=abc")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = c.get(app.url("/workbench")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/login?next=%2Fworkbench");
    let r = c.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("页面不存在"));
    let css = c.get(app.url("/assets/style.css")).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    // A wrong password is answered on the form, in Chinese.
    let r = c.post(app.url("/login")).form(&[("username", "admin"), ("password", "nope1234")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("用户名或密码错误"));
    // The "next" target never leaves the site.
    let r = c
        .post(app.url("/login"))
        .form(&[("username", "citizen"), ("password", "Citizen@2026"), ("next", "//evil.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/");
    let r = c.get(app.url("/review")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the public may not review");
}

#[tokio::test]
async fn visitors_switch_the_open_data_pages_to_english_and_back() {
    let app = spawn_app().await;
    let c = client();
    // Browsers send the Referer percent-encoded.
    let r = c
        .get(app.url("/lang?to=en"))
        .header("referer", app.url("/datasets?q=%E4%BC%81%E4%B8%9A"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()["location"], "/datasets?q=%E4%BC%81%E4%B8%9A", "back to the page the link was on");
    assert!(r.headers()["set-cookie"].to_str().unwrap().starts_with("tongshu_lang=en"));
    let html = c.get(app.url("/datasets?q=企业")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(r#"<html lang="en">"#) && html.contains(">Open data</a>") && !html.contains(">开放数据</a>"));
    assert!(html.contains("Search open data") && html.contains(">中文</a>"), "labels in English, a way back");
    assert!(html.contains("<h3>Publisher</h3>") && html.contains("Most downloaded"), "facets and sorts too");
    let names: serde_json::Value =
        c.get(app.url("/api/3/action/package_list")).send().await.unwrap().json().await.unwrap();
    let name = names["result"][0].as_str().unwrap();
    let page = c.get(app.url(&format!("/datasets/{name}"))).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h2>Metadata</h2>") && html.contains("<dt>Publisher</dt>"), "the dataset page too");
    assert!(html.contains("Licence") && !html.contains("Rate this dataset"), "quality checks; forms need an account");
    assert!(!html.contains("无条件开放") && !html.contains("知识共享"), "vocabulary labels in English");
    let r = c.get(app.url("/datasets/no-such-dataset")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("Page not found"), "error pages too");
    for (path, english) in [
        ("/", "Browse by topic"),
        ("/requests", "No public requests yet."),
        ("/showcase", "Nothing shown yet."),
        ("/stats", "Most used datasets"),
        ("/register", "Register and sign in"),
        ("/login", "Username"),
    ] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(r.text().await.unwrap().contains(english), "{path} in English");
    }
    // The developer centre too, once signed in.
    let r = c
        .post(app.url("/login"))
        .form(&[("username", "citizen"), ("password", "Citizen@2026"), ("next", "/developer")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    let html = c.get(app.url("/developer")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("My apps and API keys") && html.contains("Create the app and get its key"), "{html}");
    let html = c.get(app.url("/inbox")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<h2>My posts</h2>") && !html.contains("我提交的"), "the inbox too");
    let r = c.get(app.url("/lang?to=zh&next=//evil.example/")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/", "no open redirect");
    let html = c.get(app.url("/datasets")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(r#"<html lang="zh-CN">"#) && html.contains(">开放数据</a>") && html.contains(">English</a>"));
}

#[tokio::test]
async fn the_home_page_leads_to_newest_most_used_departments_and_districts() {
    let app = spawn_app().await;
    let (name, table) = crate::ckan::with_table(&app, "open", "企业", crate::ckan::FIRMS, "home_firms").await;
    let r = client().get(app.url(&format!("/api/v1/open/tables/{table}/download?format=csv"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = client().get(app.url("/")).send().await.unwrap().text().await.unwrap();
    let section =
        |id: &str| html.split(&format!("id=\"{id}\"")).nth(1).unwrap().split("</section>").next().unwrap().to_owned();
    assert_eq!(section("open-newest").matches("href=\"/datasets/").count(), 6, "six newest open datasets");
    assert!(section("open-used").contains(&format!("/datasets/{name}")), "the downloaded dataset is the most used");
    let browse = section("open-orgs");
    assert!(browse.contains("href=\"/organizations/") && browse.contains("href=\"/districts/37"), "{browse}");
}
