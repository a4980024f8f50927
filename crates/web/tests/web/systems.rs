//! The inventory of information systems through the API (issue 16): the import of a messy
//! GBK spreadsheet; zombie rules on loopback probes, entered facts and the platform's own
//! activity records; tickets closed as fixed, merged or stopped by their checklists; the
//! daily check once across nodes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::projects::{fields, shared_entry_of, upload};

/// A loopback web server: `/ok` answers a page that changes when asked, `/down` 500.
async fn loopback() -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let version = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1));
    let v = version.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let v = v.load(std::sync::atomic::Ordering::Relaxed);
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]);
                let (status, body) = if req.starts_with("GET /ok") {
                    ("200 OK", format!("<h1>首页 第{v}版</h1>"))
                } else {
                    ("500 Internal Server Error", "down".into())
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\ncontent-type: text/html; charset=utf-8\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (addr, version)
}

#[tokio::test]
async fn zombie_rules_judge_probes_and_entered_facts_and_tickets_close_by_their_checklists() {
    let app = crate::support::spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let other = app.sign_in("officer.mzj", "Officer@2026").await;
    let (addr, _version) = loopback().await;
    let gaj = app.org_id("gaj").await;
    let add = |body: Value| {
        let admin = &admin;
        let app = &app;
        async move {
            let (st, b) = admin.post(app, "/api/v1/systems", body).await;
            assert_eq!(st, StatusCode::CREATED, "{b}");
            b["id"].as_i64().unwrap()
        }
    };
    let live = add(json!({"name": "公安门户网站", "kind": "网站", "org_id": gaj, "urls": [format!("http://{addr}/ok")], "users": "公众"})).await;
    let down = add(json!({"name": "旧版警务公开网", "kind": "website", "org_id": gaj, "urls": [format!("http://{addr}/down")], "users": "公众"})).await;
    let today = time::OffsetDateTime::now_utc().date();
    let silent_since = (today - time::Duration::days(20)).to_string();
    let wechat = add(json!({"name": "平安临沂公众号", "kind": "微信公众号", "org_id": gaj, "last_post_on": silent_since, "users": "公众"})).await;
    let detached = add(json!({"name": "档案扫描工具", "kind": "其他", "org_id": gaj})).await;

    // Bad input names its field.
    let (st, b) = admin
        .post(&app, "/api/v1/systems", json!({"name": "x", "kind": "飞船", "urls": ["ftp://x"], "security_level": 7}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["kind", "urls", "security_level"] {
        assert!(fields(&b).contains(&f.to_owned()), "{f}: {b}");
    }
    assert_eq!(officer.post(&app, "/api/v1/systems/check", json!({})).await.0, StatusCode::FORBIDDEN);

    let (st, probes) = admin.post(&app, "/api/v1/systems/probe", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{probes}");
    let by_url =
        |u: &str| probes.as_array().unwrap().iter().find(|p| p["url"].as_str().unwrap().ends_with(u)).unwrap().clone();
    assert_eq!((by_url("/ok")["ok"].as_bool(), by_url("/ok")["status"].as_i64()), (Some(true), Some(200)));
    assert_eq!((by_url("/down")["ok"].as_bool(), by_url("/down")["status"].as_i64()), (Some(false), Some(500)));

    let (st, checked) = admin.post(&app, "/api/v1/systems/check", json!({})).await;
    assert_eq!(st, StatusCode::OK, "{checked}");
    let verdict = |id: i64| checked.as_array().unwrap().iter().find(|c| c["system_id"] == id).unwrap().clone();
    assert_eq!(verdict(live)["verdict"]["severity"], "healthy", "{}", verdict(live));
    assert_eq!(verdict(down)["verdict"]["severity"], "zombie");
    assert_eq!(verdict(down)["verdict"]["findings"][0]["rule"], "unreachable");
    assert_eq!(verdict(wechat)["verdict"]["severity"], "zombie");
    assert!(verdict(wechat)["verdict"]["findings"][0]["evidence"].as_str().unwrap().contains("20 天未发布"));
    assert_eq!(verdict(detached)["verdict"]["severity"], "semi_zombie");
    assert!(verdict(live)["ticket"].is_null());
    let ticket_of = |id: i64| verdict(id)["ticket"].as_i64().unwrap();
    // A second check opens no second ticket.
    let (_, again) = admin.post(&app, "/api/v1/systems/check", json!({})).await;
    assert!(again.as_array().unwrap().iter().all(|c| c["new_ticket"] == false), "{again}");
    let (_, tickets) = officer.get(&app, "/api/v1/tickets").await;
    assert_eq!(tickets.as_array().unwrap().len(), 3);
    assert_eq!(other.get(&app, "/api/v1/tickets").await.1, json!([]));
    let (_, sys) = officer.get(&app, &format!("/api/v1/systems/{wechat}")).await;
    assert_eq!(sys["status"], "rectifying");

    // Fixed only when a fresh check finds nothing: the account posts again.
    let (st, b) =
        officer.post(&app, &format!("/api/v1/tickets/{}/close", ticket_of(wechat)), json!({"outcome": "fixed"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(b["message"].as_str().unwrap().contains("复查仍未通过"), "{b}");
    let (st, _) =
        other.post(&app, &format!("/api/v1/systems/{wechat}/facts"), json!({"last_post_on": today.to_string()})).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    officer.post(&app, &format!("/api/v1/systems/{wechat}/facts"), json!({"last_post_on": today.to_string()})).await;
    let (st, b) = officer
        .post(
            &app,
            &format!("/api/v1/tickets/{}/close", ticket_of(wechat)),
            json!({"outcome": "fixed", "note": "恢复更新"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // Closed once.
    let (st, _) =
        officer.post(&app, &format!("/api/v1/tickets/{}/close", ticket_of(wechat)), json!({"outcome": "fixed"})).await;
    assert_eq!(st, StatusCode::CONFLICT);
    // Merged into a system in use; stopped after the (empty) decommission checklist.
    let (st, b) = officer
        .post(&app, &format!("/api/v1/tickets/{}/close", ticket_of(detached)), json!({"outcome": "merged"}))
        .await;
    assert_eq!((st, fields(&b)), (StatusCode::UNPROCESSABLE_ENTITY, vec!["merged_into".to_owned()]));
    let (st, _) = officer
        .post(
            &app,
            &format!("/api/v1/tickets/{}/close", ticket_of(detached)),
            json!({"outcome": "merged", "merged_into": live}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = admin
        .post(
            &app,
            &format!("/api/v1/tickets/{}/close", ticket_of(down)),
            json!({"outcome": "stopped", "note": "关停"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (_, portfolio) = admin.get(&app, "/api/v1/portfolio").await;
    assert_eq!(portfolio["totals"]["systems_stopped"], 2, "{}", portfolio["totals"]);
    assert_eq!(portfolio["totals"]["rectified"], 3);
    assert_eq!(portfolio["totals"]["systems"], 4);

    // The daily check runs once a day across nodes: the first node to claim the day does it.
    let node = |_: &str| {
        tongshu_projects::ProjectsService::new(app.store.clone(), app.library.lake().clone(), Default::default())
    };
    let (a, b) = (node("a"), node("b"));
    let (ra, rb) = tokio::join!(a.run_due("node-a", None), b.run_due("node-b", None));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.len() + rb.len(), 2, "{ra:?} {rb:?}");
    assert!(ra.contains(&"check") || rb.contains(&"check"));
    assert!(a.run_due("node-a", None).await.unwrap().is_empty(), "nothing twice a day");
}

#[tokio::test]
async fn a_system_linked_to_shared_data_cannot_stop_until_its_decommission_checklist_holds() {
    let app = crate::support::spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let entry = shared_entry_of(&app, "gaj").await;
    let (_, sys) = admin
        .post(
            &app,
            "/api/v1/systems",
            json!({"name": "人口信息管理系统", "kind": "business", "org_id": app.org_id("gaj").await,
            "entries": [entry], "users": "户政"}),
        )
        .await;
    let id = sys["id"].as_i64().unwrap();
    admin.post(&app, &format!("/api/v1/systems/{id}/facts"), json!({"oldest_unanswered_on": "2026-01-02"})).await;
    let (_, checked) = admin.post(&app, "/api/v1/systems/check", json!({})).await;
    let c = checked.as_array().unwrap().iter().find(|c| c["system_id"] == id).unwrap().clone();
    assert_eq!(c["verdict"]["severity"], "zombie", "{c}");
    let (st, b) =
        admin.post(&app, &format!("/api/v1/tickets/{}/close", c["ticket"]), json!({"outcome": "stopped"})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let f = fields(&b);
    assert!(
        f.contains(&"decommission.entries_delisted".to_owned())
            && f.contains(&"decommission.grants_revoked".to_owned()),
        "{b}"
    );
    assert!(!f.contains(&"decommission.data_archived".to_owned()), "the data is in the library: {b}");
    let (_, s) = admin.get(&app, &format!("/api/v1/systems/{id}")).await;
    assert_eq!(s["status"], "rectifying");
}

#[tokio::test]
async fn the_bureaus_messy_gbk_spreadsheet_is_imported_and_each_bad_row_reported() {
    let app = crate::support::spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    admin
        .post(
            &app,
            "/api/v1/systems",
            json!({"name": "临沂市公安局门户网站", "kind": "网站", "org_id": app.org_id("gaj").await}),
        )
        .await;
    let csv = "序号,系统名称,系统类型,主管部门,承建单位,年运维费用（万元）,访问地址,等保级别,状态,主要功能,备注\n\
               1,市民政局婚姻登记系统,业务系统,临沂市民政局,浪潮软件,１２.５,http://hy.mzj.linyi.gov.cn,等保三级,在用,婚姻登记,\n\
               2,平安民政公众号,公众号,mzj,N/A,N/A,,N/A,使用中,信息发布,\n\
               3,殡葬管理系统,飞船,临沂市民政局,,3,,二级,在用,,类型写错\n\
               4,养老服务平台,公共服务,市外星局,,,,,在用,,部门不存在\n\
               5,,网站,临沂市民政局,,,,,,,缺名称\n\
               6,救助管理系统,业务系统,临沂市民政局,,,ftp://jz.local,,,,地址错\n\
               7,市民政局婚姻登记系统,业务系统,临沂市民政局,,,,,,,重复\n\
               8,临沂市公安局门户网站,网站,临沂市公安局,,,,,,,已在清单\n\
               9,社会组织管理系统,,临沂市民政局,,3.5万,shzz.mzj.linyi.gov.cn；https://shzz2.linyi.gov.cn,,整改中,社团登记,\n";
    let (gbk, _, bad) = encoding_rs::GBK.encode(csv);
    assert!(!bad);
    let (st, _) = upload(&officer, &app, "/api/v1/systems/import?name=systems.csv", gbk.to_vec()).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, report) =
        upload(&admin, &app, "/api/v1/systems/import?name=%E7%B3%BB%E7%BB%9F%E6%B8%85%E5%8D%95.csv", gbk.to_vec())
            .await;
    assert_eq!(st, StatusCode::OK, "{report}");
    let added: Vec<&str> = report["added"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(added, ["市民政局婚姻登记系统", "平安民政公众号", "社会组织管理系统"], "{report}");
    let first = &report["added"][0];
    assert_eq!((first["cost_per_year"].as_i64(), first["security_level"].as_i64()), (Some(125_000), Some(3)));
    assert_eq!(report["added"][1]["kind"], "wechat");
    assert_eq!(report["added"][1]["vendor"], "");
    let third = &report["added"][2];
    assert_eq!(
        (third["kind"].as_str(), third["status"].as_str(), third["cost_per_year"].as_i64()),
        (Some("business"), Some("rectifying"), Some(35_000))
    );
    assert_eq!(third["urls"], json!(["http://shzz.mzj.linyi.gov.cn/", "https://shzz2.linyi.gov.cn/"]));
    let refused: Vec<(i64, String)> = report["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["row"].as_i64().unwrap(), r["column"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert_eq!(
        refused,
        [
            (4, "系统类型".to_owned()),
            (5, "主管部门".to_owned()),
            (6, "系统名称".to_owned()),
            (7, "访问地址".to_owned()),
            (8, "系统名称".to_owned()),
            (9, "系统名称".to_owned())
        ],
        "{report}"
    );
    assert_eq!(report["refused"][0]["value"], "飞船");
    assert_eq!(report["ignored_columns"], json!(["序号", "备注"]));
    // A file without the columns it needs is refused whole.
    let (st, b) = upload(&admin, &app, "/api/v1/systems/import?name=x.csv", "a,b\n1,2\n".as_bytes().to_vec()).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(b["message"].as_str().unwrap().contains("系统名称"));
    let (_, all) = admin.get(&app, "/api/v1/systems").await;
    assert_eq!(all.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn a_system_whose_data_the_platform_no_longer_sees_used_is_a_zombie_until_it_is_called() {
    let app = crate::support::spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let (entry, table, _) = crate::exchange::provider_table(&app).await;
    let consumer = app.sign_in("consumer.ybj", "Consumer@2026").await;
    crate::sharing::granted(&app, &consumer, entry, json!({"approve": true})).await;
    let (_, sys) = admin
        .post(
            &app,
            "/api/v1/systems",
            json!({"name": "常住人口管理系统", "kind": "business", "org_id": app.org_id("gaj").await,
            "entries": [entry], "users": "户政窗口"}),
        )
        .await;
    let id = sys["id"].as_i64().unwrap();
    let verdict =
        |checked: &Value| checked.as_array().unwrap().iter().find(|c| c["system_id"] == id).unwrap()["verdict"].clone();
    // Fed and listed today: alive.
    let (_, checked) = admin.post(&app, "/api/v1/systems/check", json!({})).await;
    assert_eq!(verdict(&checked)["severity"], "healthy", "{checked}");
    // Its table last fed and its entry last updated long ago, no call since: a zombie by
    // the platform's own records.
    for sql in [
        format!("UPDATE library_tables SET updated_at = '2025-01-01T00:00:00Z' WHERE entry_id = {entry}"),
        format!("UPDATE catalog_entries SET updated_at = '2025-01-01T00:00:00Z' WHERE id = {entry}"),
    ] {
        tongshu_store::testing::execute(&app.store, &sql).await.unwrap();
    }
    let (_, checked) = admin.post(&app, "/api/v1/systems/check", json!({})).await;
    let v = verdict(&checked);
    assert_eq!((v["severity"].as_str(), v["findings"][0]["rule"].as_str()), (Some("zombie"), Some("inactive")), "{v}");
    assert!(v["findings"][0]["evidence"].as_str().unwrap().contains("天无任何使用记录"), "{v}");
    // A consumer calls the data interface: the platform sees the system used again.
    let (st, rows) = consumer.get(&app, &format!("/api/v1/exchange/tables/{table}/rows?limit=1")).await;
    assert_eq!(st, StatusCode::OK, "{rows}");
    let (_, checked) = admin.post(&app, "/api/v1/systems/check", json!({})).await;
    assert_eq!(verdict(&checked)["severity"], "healthy", "{checked}");
}
