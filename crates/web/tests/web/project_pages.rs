//! The projects plane's page forms (issue 16), posted as a browser posts them: a proposal
//! typed with full-width digits and 、 lists, the data registration, gated steps, an
//! expert's sheet, the bureau's risk rating; the inventory, the zombie check and a ticket;
//! an evaluation round from a typed AHP matrix and an evaluation pre-filled by the
//! platform. Each refused form shows its page again with every problem named and keeps
//! nothing; roles that may not act get no form and a refusal.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tongshu_core::projects::Stage;

use crate::projects::upload;
use crate::support::{Session, TestApp, spawn_app};

/// Posts a page form (with the session's CSRF token unless `csrf` is false); the status,
/// the redirect target, the page's HTML.
async fn form(
    s: &Session,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    csrf: bool,
) -> (StatusCode, String, String) {
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    if csrf {
        all.push(("_csrf", &s.csrf));
    }
    let r = s.client.post(app.url(path)).form(&all).send().await.unwrap();
    let status = r.status();
    let to = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, to, r.text().await.unwrap())
}

async fn page(s: &Session, app: &TestApp, path: &str) -> String {
    let r = s.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}

async fn expert(admin: &Session, app: &TestApp, name: &str, role: &str) -> Session {
    let org_id = app.org_id("dsjj").await;
    let body =
        json!({"username": name, "display_name": name, "password": "Expert@2026x", "role": role, "org_id": org_id});
    let (st, b) = admin.post(app, "/api/v1/users", body).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    app.sign_in(name, "Expert@2026x").await
}

async fn detail(s: &Session, app: &TestApp, id: i64) -> Value {
    let (st, d) = s.get(app, &format!("/api/v1/projects/{id}")).await;
    assert_eq!(st, StatusCode::OK, "{d}");
    d
}

#[tokio::test]
async fn the_project_pages_forms_carry_a_proposal_from_the_department_to_the_experts_and_the_bureau() {
    let app = spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let other = app.sign_in("officer.mzj", "Officer@2026").await;
    let auditor = app.sign_in("auditor", "Auditor@2026").await;
    let scorer = expert(&admin, &app, "expert.form", "expert").await;

    // The portfolio offers the proposal form to departments, not to auditors.
    assert!(page(&officer, &app, "/projects").await.contains(r#"action="/projects""#));
    assert!(!page(&auditor, &app, "/projects").await.contains(r#"action="/projects""#));
    let typed = [
        ("name", "公安视频汇聚共享平台"),
        ("year", "２０２６"),
        ("budget", "８,６００,０００"),
        ("funding_source", "市级财政资金"),
        ("purpose", "汇聚全市公共视频，按需共享给各部门"),
        ("builds", "视频汇聚系统、视频共享服务\n视频解析系统"),
    ];
    // Without the CSRF token the form is refused; with a budget that is no number the
    // page comes back naming it, and nothing is filed.
    assert_eq!(form(&officer, &app, "/projects", &typed, false).await.0, StatusCode::FORBIDDEN);
    let mut bad = typed.to_vec();
    bad[2] = ("budget", "N/A");
    let (st, _, html) = form(&officer, &app, "/projects", &bad, true).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("budget") && html.contains("不是整数"), "{html}");
    assert!(html.contains(r#"id="propose""#), "the form is shown again");
    assert_eq!(officer.get(&app, "/api/v1/projects").await.1.as_array().unwrap().len(), 0);
    let (st, to, _) = form(&officer, &app, "/projects", &typed, true).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let id: i64 = to.trim_start_matches("/projects/").split('?').next().unwrap().parse().unwrap();
    assert!(page(&officer, &app, &to).await.contains("项目已申报"));
    let d = detail(&officer, &app, id).await;
    assert_eq!(d["project"]["budget"], 8_600_000);
    assert_eq!(d["project"]["year"], 2026);
    assert_eq!(d["project"]["builds"], json!(["视频汇聚系统", "视频共享服务", "视频解析系统"]));

    // The proposal is changed from its page while it is one: a name too long is named.
    let long = "长".repeat(201);
    let mut edit = typed.to_vec();
    edit[0] = ("name", &long);
    let (st, _, html) = form(&officer, &app, &format!("/projects/{id}"), &edit, true).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("项目名称须为 1 到 200 个字"), "{html}");
    edit[0] = ("name", "公安视频汇聚共享平台（一期）");
    assert_eq!(form(&officer, &app, &format!("/projects/{id}"), &edit, true).await.0, StatusCode::SEE_OTHER);
    assert_eq!(detail(&officer, &app, id).await["project"]["name"], "公安视频汇聚共享平台（一期）");

    // The department's page has its forms, not the bureau's; another department gets none.
    let html = page(&officer, &app, &format!("/projects/{id}")).await;
    for f in [r#"id="step""#, r#"id="data""#, r#"id="attach""#, r#"id="edit""#] {
        assert!(html.contains(f), "{f}");
    }
    for f in [r#"id="risk""#, r#"id="assign""#, r#"id="score""#] {
        assert!(!html.contains(f), "{f}");
    }
    // What the next step lacks names the document, not the comment given with a step.
    let gates = html.split(r#"id="gates""#).nth(1).unwrap().split("</section>").next().unwrap();
    assert!(gates.contains("documents.proposal") && !gates.contains("comment"), "{gates}");
    let (st, _, _) = form(&other, &app, &format!("/projects/{id}/steps"), &[("transition", "submit")], true).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // A gated step is refused with each missing piece named on the page.
    let (st, _, html) = form(&officer, &app, &format!("/projects/{id}/steps"), &[("transition", "submit")], true).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("documents.proposal"), "{html}");
    assert_eq!(detail(&officer, &app, id).await["project"]["stage"], "proposal");
    let (st, b) = upload(
        &officer,
        &app,
        &format!("/api/v1/projects/{id}/documents?kind=proposal&name=申报书.pdf"),
        b"%PDF".to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{b}");

    // The data registration: no shared data without a reason is refused, kept otherwise.
    let gaj = app.org_id("gaj").await;
    let filter = tongshu_store::EntryFilter { org_id: Some(gaj), limit: 5, ..Default::default() };
    let own = app.store.list_entries(&filter).await.unwrap().entries[0].id.to_string();
    let path = format!("/projects/{id}/data");
    let (st, _, html) = form(&officer, &app, &path, &[("produces", &own)], true).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("consumes_reason"), "{html}");
    assert_eq!(detail(&officer, &app, id).await["produces"], json!([]));
    let reason = ("consumes_reason", "视频数据由本部门采集，不使用其他部门数据");
    assert_eq!(form(&officer, &app, &path, &[("produces", &own), reason], true).await.0, StatusCode::SEE_OTHER);
    assert_eq!(detail(&officer, &app, id).await["produces"], json!([own.parse::<i64>().unwrap()]));
    let (st, to, _) = form(&officer, &app, &format!("/projects/{id}/steps"), &[("transition", "submit")], true).await;
    assert_eq!((st, to.contains("done=step")), (StatusCode::SEE_OTHER, true));
    assert_eq!(detail(&officer, &app, id).await["project"]["stage"], "review");

    // The bureau assigns the expert; a department may not (the route is the bureau's).
    let html = page(&admin, &app, &format!("/projects/{id}")).await;
    assert!(html.contains(r#"id="assign""#) && html.contains("expert.form"));
    let assign = [("username", "expert.form")];
    assert_eq!(form(&officer, &app, &format!("/projects/{id}/experts"), &assign, true).await.0, StatusCode::FORBIDDEN);
    assert_eq!(form(&admin, &app, &format!("/projects/{id}/experts"), &assign, true).await.0, StatusCode::SEE_OTHER);

    // The expert's sheet: a word where a score goes is named and nothing is scored.
    let html = page(&scorer, &app, &format!("/projects/{id}")).await;
    assert!(html.contains(r#"id="score""#) && !html.contains(r#"id="step""#));
    let mut sheet = vec![
        ("sheet.necessity", "高"),
        ("sheet.feasibility", "85"),
        ("sheet.data_sharing", "９０"),
        ("sheet.reuse", "80"),
        ("sheet.investment", "75.5"),
        ("sheet.security", "88"),
        ("comment", "建议与雪亮工程平台对接"),
    ];
    let (st, _, html) = form(&scorer, &app, &format!("/projects/{id}/score"), &sheet, true).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("sheet.necessity"), "{html}");
    assert!(detail(&admin, &app, id).await["reviews"][0]["score"].is_null());
    sheet[0] = ("sheet.necessity", "95");
    assert_eq!(form(&scorer, &app, &format!("/projects/{id}/score"), &sheet, true).await.0, StatusCode::SEE_OTHER);
    let score = detail(&admin, &app, id).await["reviews"][0]["score"].as_f64().unwrap();
    let want = 0.25 * 95.0 + 0.20 * 85.0 + 0.20 * 90.0 + 0.15 * 80.0 + 0.10 * 75.5 + 0.10 * 88.0;
    assert!((score - want).abs() < 1e-6, "{score} vs {want}");

    // The bureau's risk rating needs a reason; the history keeps the override.
    let risk = format!("/projects/{id}/risk");
    assert_eq!(form(&officer, &app, &risk, &[("rating", "2"), ("comment", "x")], true).await.0, StatusCode::FORBIDDEN);
    let (st, _, html) = form(&admin, &app, &risk, &[("rating", "2"), ("comment", " ")], true).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("调整风险等级须说明理由"), "{html}");
    let (st, _, _) = form(&admin, &app, &risk, &[("rating", "2"), ("comment", "视频点位征地进度滞后")], true).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let last = detail(&admin, &app, id).await["risks"].as_array().unwrap().last().cloned().unwrap();
    assert_eq!((last["rating"].as_i64(), last["overridden"].as_i64()), (Some(2), Some(1)), "{last}");
}

#[tokio::test]
async fn the_systems_page_keeps_the_inventory_and_closes_a_ticket_only_when_the_recheck_passes() {
    let app = spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let html = page(&admin, &app, "/systems").await;
    assert!(html.contains(r#"action="/systems/check""#) && html.contains(r#"id="import""#));
    let html = page(&officer, &app, "/systems").await;
    assert!(html.contains(r#"id="add-system""#) && !html.contains(r#"action="/systems/check""#));

    let gaj = app.org_id("gaj").await.to_string();
    let mut typed = vec![
        ("name", "平安临沂微博"),
        ("kind", "microblog"),
        ("org_id", &gaj),
        ("cost_per_year", "N/A"),
        ("urls", "https://weibo.example/pingan"),
        ("function", "发布警情通报"),
        ("users", "全市群众"),
    ];
    let (st, _, html) = form(&officer, &app, "/systems", &typed, true).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("cost_per_year"), "{html}");
    assert_eq!(officer.get(&app, "/api/v1/systems").await.1.as_array().unwrap().len(), 0);
    typed[3] = ("cost_per_year", "１２,０００");
    let (st, to, _) = form(&officer, &app, "/systems", &typed, true).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{to}");
    let (_, systems) = officer.get(&app, "/api/v1/systems").await;
    let s = &systems[0];
    assert_eq!((s["cost_per_year"].as_i64(), s["kind"].as_str()), (Some(12_000), Some("microblog")), "{s}");
    let sid = s["id"].as_i64().unwrap();

    // Silent for a month: the bureau's check opens a ticket; "fixed" is refused while the
    // account is still silent, taken once it posts again.
    let today = time::OffsetDateTime::now_utc().date();
    let month_ago = (today - time::Duration::days(30)).to_string();
    let facts = format!("/systems/{sid}/facts");
    assert_eq!(form(&officer, &app, &facts, &[("last_post_on", &month_ago)], true).await.0, StatusCode::SEE_OTHER);
    assert_eq!(form(&officer, &app, "/systems/check", &[], true).await.0, StatusCode::FORBIDDEN);
    assert_eq!(form(&admin, &app, "/systems/check", &[], true).await.0, StatusCode::SEE_OTHER);
    let html = page(&officer, &app, "/systems").await;
    let (_, tickets) = officer.get(&app, "/api/v1/tickets").await;
    let t = tickets.as_array().unwrap().iter().find(|t| t["system_id"] == sid).cloned().expect("a ticket");
    let tid = t["id"].as_i64().unwrap();
    assert!(html.contains(&format!(r#"action="/tickets/{tid}/close""#)), "the owner may close it");
    let close = format!("/tickets/{tid}/close");
    let (st, _, html) = form(&officer, &app, &close, &[("outcome", "fixed"), ("note", "已恢复更新")], true).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("复查仍未通过"), "{html}");
    let today = today.to_string();
    assert_eq!(form(&officer, &app, &facts, &[("last_post_on", &today)], true).await.0, StatusCode::SEE_OTHER);
    let (st, _, html) = form(&officer, &app, &close, &[("outcome", "fixed"), ("note", "已恢复更新")], true).await;
    assert_eq!(st, StatusCode::SEE_OTHER, "{}", html.split("role=\"alert\"").nth(1).unwrap_or(""));
    let (_, tickets) = officer.get(&app, "/api/v1/tickets").await;
    let t = tickets.as_array().unwrap().iter().find(|t| t["id"] == tid).cloned().unwrap();
    assert_eq!(t["status"], "fixed", "{t}");
}

#[tokio::test]
async fn a_round_is_opened_from_a_typed_matrix_and_a_project_evaluated_from_the_prefilled_form() {
    let app = spawn_app().await;
    let admin = app.sign_in("admin", "Admin@2026").await;
    let officer = app.sign_in("officer.gaj", "Officer@2026").await;
    let evaluator = expert(&admin, &app, "evaluator.form", "evaluator").await;

    // The AHP matrix as typed: fractions, full-width, one row per line.
    let round = |m: &'static str| [("name", "2026年度后评价"), ("year", "2026"), ("matrix", m)];
    let (st, _, html) =
        form(&admin, &app, "/evaluation", &round("1 9 1/9 1\n1/9 1 9 1\n9 1/9 1 1\n1 1 1 1"), true).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("一致性比率"), "{html}");
    let (st, _, html) = form(&admin, &app, "/evaluation", &round("1 2 1 2\n1/2 1 1/2 x"), true).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("matrix[1]"), "{html}");
    assert_eq!(admin.get(&app, "/api/v1/evaluation/rounds").await.1.as_array().unwrap().len(), 0);
    let good = "1 2 1 2\n１／２ 1 1/2 1\n1 2 1 2\n0.5 1 0.5 1";
    assert_eq!(form(&officer, &app, "/evaluation", &round(good), true).await.0, StatusCode::FORBIDDEN);
    let (st, to, _) = form(&admin, &app, "/evaluation", &round(good), true).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let rid: i64 = to.trim_start_matches("/evaluation/").split('?').next().unwrap().parse().unwrap();

    // A project in operation (its way there is the lifecycle test's).
    let proposal = json!({"name": "不动产登记系统", "purpose": "登记与查询", "budget": 1_200_000, "funding_source": "市级财政资金"});
    let (st, p) = officer.post(&app, "/api/v1/projects", proposal).await;
    assert_eq!(st, StatusCode::CREATED, "{p}");
    let id = p["id"].as_i64().unwrap();
    let path =
        [Stage::Proposal, Stage::Review, Stage::Approval, Stage::Construction, Stage::Acceptance, Stage::Operation];
    for w in path.windows(2) {
        app.store.move_project(id, w[0], w[1], "test", "test", "", None).await.unwrap();
    }

    // The form comes pre-filled with what the platform measured; the department records
    // its self-evaluation, the evaluation body its on-site one (which is final).
    let html = page(&officer, &app, &format!("/evaluation/{rid}?project={id}")).await;
    assert!(html.contains("平台预填") && html.contains(r#"value="self""#) && !html.contains(r#"value="on_site""#));
    let path = format!("/evaluation/{rid}");
    let (st, html) = evaluate(&officer, &app, &path, id, "self", "80", 1).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("construction.management"), "the missing indicator is named: {html}");
    let (st, _) = evaluate(&officer, &app, &path, id, "on_site", "80", 0).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "a department does not evaluate on site");
    assert_eq!(evaluate(&officer, &app, &path, id, "self", "80", 0).await.0, StatusCode::SEE_OTHER);
    assert_eq!(evaluate(&evaluator, &app, &path, id, "on_site", "７０", 0).await.0, StatusCode::SEE_OTHER);
    let (_, report) = admin.get(&app, &format!("/api/v1/evaluation/rounds/{rid}/report")).await;
    let row = report["rows"].as_array().unwrap().iter().find(|r| r["project_id"] == id).cloned().unwrap();
    assert!((row["totals"]["self"].as_f64().unwrap() - 80.0).abs() < 1e-9, "{row}");
    assert!((row["total"].as_f64().unwrap() - 70.0).abs() < 1e-9, "on-site is final: {row}");
    assert!(page(&admin, &app, &format!("/evaluation/{rid}")).await.contains("不动产登记系统"));
}

/// Posts the evaluation form with every indicator at `v` but the first `skip`.
async fn evaluate(
    s: &Session,
    app: &TestApp,
    path: &str,
    id: i64,
    kind: &str,
    v: &str,
    skip: usize,
) -> (StatusCode, String) {
    let tree = tongshu_core::projects::evaluation::gbt_42584();
    let mut f: Vec<(String, String)> = tree
        .dimensions
        .iter()
        .flat_map(|d| d.indicators.iter().map(|i| (format!("score.{}", i.key), v.to_owned())))
        .skip(skip)
        .collect();
    f.extend([
        ("project_id".into(), id.to_string()),
        ("kind".into(), kind.to_owned()),
        ("_csrf".into(), s.csrf.clone()),
    ]);
    let r = s.client.post(app.url(path)).form(&f).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}
