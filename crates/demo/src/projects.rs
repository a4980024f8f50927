//! The demo city's IT projects and information systems (issue 16), made through the
//! projects service as its users would: experts and an evaluation body, projects in every
//! stage (each step through its gate), systems of every kind with some zombies and their
//! tickets, and one finished evaluation round. Run after the exchange's demo, whose grants
//! make promised data "shared" for the projects that pass acceptance. Idempotent.

use std::collections::BTreeMap;

use tongshu_core::policy::{Principal, Role};
use tongshu_core::projects::Transition;
use tongshu_projects::{MilestoneInput, ProjectsService, Proposal, SystemInput};
use tongshu_store::{MetaStore, NewUser};

use crate::DemoError;

const SEEDED_KEY: &str = "projects_demo_seeded";

/// The experts' and the evaluation body's demo password.
pub const EXPERT_PASSWORD: &str = "Expert@2026";

/// A demo system: department, name, kind, URLs, users, last post, oldest unanswered message.
type DemoSystem =
    (&'static str, &'static str, &'static str, Vec<&'static str>, &'static str, Option<String>, Option<String>);

/// What the projects demo made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectsSeed {
    pub seeded: bool,
    pub projects: usize,
    pub systems: usize,
}

/// A review sheet with every item at `v`, a little lower for investment.
fn sheet(v: f64) -> BTreeMap<String, f64> {
    tongshu_core::projects::evaluation::REVIEW_SHEET
        .iter()
        .map(|(k, _, _)| ((*k).to_owned(), if *k == "investment" { v - 6.0 } else { v }))
        .collect()
}

fn err(e: tongshu_projects::ProjectsError) -> DemoError {
    DemoError::Io(format!("demo projects: {e}"))
}

struct Seeder<'a> {
    store: &'a MetaStore,
    svc: &'a ProjectsService,
    admin: Principal,
    experts: Vec<Principal>,
    evaluator: Principal,
}

impl Seeder<'_> {
    async fn officer(&self, slug: &str) -> Result<Principal, DemoError> {
        let (u, _) = self
            .store
            .user_credentials(&format!("officer.{slug}"))
            .await?
            .ok_or_else(|| DemoError::Io(format!("no officer of {slug}")))?;
        Ok(u.principal())
    }

    async fn doc(&self, who: &Principal, id: i64, kind: &str, name: &str) -> Result<(), DemoError> {
        let text = format!("{name}\n（演示文档，项目 {id}）\n");
        self.svc.attach(who, id, kind, name, text.into_bytes()).await.map_err(err)?;
        Ok(())
    }

    async fn step(&self, who: &Principal, id: i64, t: Transition, comment: &str) -> Result<(), DemoError> {
        self.svc.step(who, id, t, comment).await.map_err(err)?;
        Ok(())
    }

    /// A proposal of `slug`, taken as far as `until` (the number of steps along the main
    /// path: 0 proposal, 1 review, 2 approval, 3 construction, 4 acceptance, 5 operation).
    #[allow(clippy::too_many_arguments)]
    async fn project(
        &self,
        slug: &str,
        name: &str,
        purpose: &str,
        budget: i64,
        until: usize,
        produces: Option<i64>,
        late_days: i64,
    ) -> Result<i64, DemoError> {
        let officer = self.officer(slug).await?;
        let p = self
            .svc
            .propose(
                &officer,
                Proposal {
                    org_id: None,
                    name: name.into(),
                    year: Some(2026),
                    purpose: purpose.into(),
                    budget,
                    funding_source: if budget > 5_000_000 {
                        "市级财政资金".into()
                    } else {
                        "部门预算".into()
                    },
                    builds: vec![name.trim_end_matches("（一期）").to_owned()],
                    reuses: vec![],
                },
            )
            .await
            .map_err(err)?;
        let id = p.id;
        self.doc(&officer, id, "proposal", &format!("{name}申报书.pdf")).await?;
        if until == 0 {
            return Ok(id);
        }
        self.step(&officer, id, Transition::Submit, "").await?;
        for e in &self.experts {
            self.svc.assign_expert(&self.admin, id, &e.username).await.map_err(err)?;
        }
        if until == 1 {
            // In review: two of three experts have scored.
            for (e, s) in self.experts.iter().take(2).zip([78.0, 84.0]) {
                self.svc.score(e, id, &sheet(s), "建设必要性充分").await.map_err(err)?;
            }
            return Ok(id);
        }
        for (e, s) in self.experts.iter().zip([82.0, 88.0, 79.0]) {
            self.svc.score(e, id, &sheet(s), "方案可行，建议加强数据共享").await.map_err(err)?;
        }
        self.doc(&self.admin, id, "review_opinion", "专家评审意见.pdf").await?;
        self.step(&self.admin, id, Transition::CloseReview, "").await?;
        let Some(produces) = produces else { return Ok(id) };
        let consumes: Vec<i64> = Vec::new();
        self.svc.register_data(&officer, id, &[produces], &consumes, "本项目不使用其他部门数据").await.map_err(err)?;
        if until == 2 {
            return Ok(id);
        }
        if !self.svc.similar(&self.admin, id).await.map_err(err)?.is_empty() {
            self.svc
                .set_reuse_reason(&self.admin, id, "现有系统功能不能覆盖本项目业务，且将整合其数据")
                .await
                .map_err(err)?;
        }
        self.doc(&self.admin, id, "approval", "立项批复.pdf").await?;
        self.step(&self.admin, id, Transition::Approve, "同意立项").await?;
        let third = budget / 3;
        let m1 = self
            .svc
            .add_milestone(
                &officer,
                id,
                MilestoneInput { name: "需求与设计".into(), planned_on: "2026-03-31".into(), planned_cost: third },
            )
            .await
            .map_err(err)?;
        let m2 = self
            .svc
            .add_milestone(
                &officer,
                id,
                MilestoneInput {
                    name: "开发与部署".into(),
                    planned_on: "2026-08-31".into(),
                    planned_cost: budget - third,
                },
            )
            .await
            .map_err(err)?;
        let actual1 = time::Date::from_calendar_date(2026, time::Month::March, 31).expect("a date")
            + time::Duration::days(late_days);
        self.svc
            .report_milestone(&officer, m1.id, None, Some(&actual1.to_string()), Some(third + third * late_days / 200))
            .await
            .map_err(err)?;
        if until == 3 {
            self.svc.report_milestone(&officer, m2.id, Some("2026-12-20"), None, None).await.map_err(err)?;
            self.svc.add_payment(&officer, id, third, "2026-04-15", "首付款").await.map_err(err)?;
            return Ok(id);
        }
        self.svc
            .report_milestone(&officer, m2.id, None, Some("2026-09-15"), Some(budget - third))
            .await
            .map_err(err)?;
        self.svc.add_payment(&officer, id, budget * 9 / 10, "2026-09-30", "合同款").await.map_err(err)?;
        self.step(&officer, id, Transition::Complete, "").await?;
        if until == 4 {
            return Ok(id);
        }
        let items: BTreeMap<String, bool> =
            ["technical", "financial", "archive", "effectiveness"].iter().map(|k| ((*k).to_owned(), true)).collect();
        self.svc.check_items(&self.admin, id, &items).await.map_err(err)?;
        self.doc(&self.admin, id, "acceptance", "竣工验收报告.pdf").await?;
        self.step(&self.admin, id, Transition::Accept, "验收通过").await?;
        Ok(id)
    }
}

/// Seeds the projects plane of the demo city (once per store).
pub async fn seed_projects(store: &MetaStore, svc: &ProjectsService) -> Result<ProjectsSeed, DemoError> {
    if !store.meta_set_once(SEEDED_KEY, "1").await? {
        return Ok(ProjectsSeed::default());
    }
    let bureau = store.get_org_by_slug("dsjj").await?;
    let (admin, _) = store.user_credentials("admin").await?.ok_or_else(|| DemoError::Io("no admin".into()))?;
    let hash = tongshu_accounts::hash_password(EXPERT_PASSWORD).await?;
    let mut people = Vec::new();
    for (username, name, role) in [
        ("expert.zhang", "张立新（评审专家）", Role::Expert),
        ("expert.chen", "陈晓梅（评审专家）", Role::Expert),
        ("expert.liu", "刘海涛（评审专家）", Role::Expert),
        ("evaluator", "山东某第三方评估机构", Role::Evaluator),
    ] {
        let u = store
            .insert_user(&NewUser {
                username: username.into(),
                display_name: name.into(),
                password_hash: hash.clone(),
                role,
                org_id: bureau.id,
            })
            .await?;
        people.push(u.principal());
    }
    let evaluator = people.pop().expect("four people");
    let s = Seeder { store, svc, admin: admin.principal(), experts: people, evaluator };

    // An entry per department whose data the exchange shares (listed, rows, a grant or a
    // call): what projects that pass acceptance promised.
    let mut shared: BTreeMap<i64, i64> = BTreeMap::new();
    for t in store.list_tables().await? {
        if let Some(e) = t.entry_id
            && let Ok(f) = store.entry_facts(e).await
            && f.status == "listed"
            && f.rows > 0
            && (f.grants > 0 || f.calls > 0)
        {
            let org = store.get_entry(e).await?.org_id;
            shared.entry(org).or_insert(e);
        }
    }
    // Any listed entry of a department, for projects that stop before acceptance.
    let mut listed = BTreeMap::new();
    for t in store.list_tables().await? {
        if let Some(e) = t.entry_id
            && let Ok(en) = store.get_entry(e).await
            && en.status == tongshu_core::catalog::EntryStatus::Listed
        {
            listed.entry(en.org_id).or_insert(e);
        }
    }
    let slug_of = |org: i64| async move { store.get_org(org).await.map(|o| o.slug) };
    let sharing: Vec<(String, i64)> = {
        let mut v = Vec::new();
        for (org, e) in &shared {
            v.push((slug_of(*org).await?, *e));
        }
        v
    };
    let pick = |i: usize| sharing.get(i % sharing.len().max(1)).cloned();
    let mut listed_slugs = Vec::new();
    for (org, e) in &listed {
        listed_slugs.push((slug_of(*org).await?, *e));
    }
    let lpick = |i: usize| listed_slugs.get(i % listed_slugs.len().max(1)).cloned();

    let mut ids = Vec::new();
    // Early stages: any department.
    let early = [
        ("智慧殡葬服务平台", "殡葬服务网上预约、火化信息与民政救助联动", 1_800_000, 0usize),
        ("城市生命线安全监测系统", "燃气、供水、桥梁等城市生命线运行监测预警", 12_500_000, 1),
        ("医保基金智能监管平台", "医保结算数据智能审核，防范欺诈骗保", 6_300_000, 2),
    ];
    for (i, (name, purpose, budget, until)) in early.iter().enumerate() {
        if let Some((slug, e)) = lpick(i) {
            ids.push(s.project(&slug, name, purpose, *budget, *until, Some(e), 0).await?);
        }
    }
    // Later stages need promised data actually shared: departments whose data is.
    let later = [
        ("业务数据共享交换系统", "汇聚本部门业务数据，按目录向各部门共享", 9_800_000, 3usize, 45i64),
        ("基础信息综合应用系统", "基础信息汇聚、核验与共享服务", 4_200_000, 4, 10),
        ("网上办事服务平台", "业务网上申办、审批与结果共享", 7_600_000, 5, 0),
        ("业务专网安全运维平台", "业务专网统一安全监测与运维", 3_100_000, 5, 20),
        ("业务办理系统升级改造", "窗口业务网上办理与电子证照", 2_400_000, 5, 5),
        ("移动服务应用", "面向群众的移动端查询与办理", 1_500_000, 5, 90),
        ("数据资源中心（一期）", "部门数据汇聚治理与目录编制", 5_500_000, 5, 0),
    ];
    let mut operating = Vec::new();
    for (i, (name, purpose, budget, until, late)) in later.iter().enumerate() {
        if let Some((slug, e)) = pick(i) {
            let id = s.project(&slug, name, purpose, *budget, *until, Some(e), *late).await?;
            if *until == 5 {
                operating.push(id);
            }
            ids.push(id);
        }
    }
    // A rejected one.
    if let Some((slug, _)) = lpick(3) {
        let id = s.project(&slug, "部门自建OA升级项目", "升级本部门OA办公系统", 800_000, 1, None, 0).await?;
        s.svc.score(&s.experts[2], id, &sheet(52.0), "与全市协同办公平台重复").await.map_err(err)?;
        s.doc(&s.admin, id, "review_opinion", "专家评审意见.pdf").await?;
        s.step(&s.admin, id, Transition::Reject, "与全市统一协同办公平台重复建设，不予立项").await?;
        ids.push(id);
    }

    // The evaluation round: AHP weights, self-evaluations, third-party for all, on-site for one.
    let matrix =
        vec![vec![1.0, 2.0, 1.0, 2.0], vec![0.5, 1.0, 0.5, 1.0], vec![1.0, 2.0, 1.0, 2.0], vec![0.5, 1.0, 0.5, 1.0]];
    let round =
        svc.create_round(&s.admin, "2026年度市级政务信息化项目后评价", 2026, None, Some(matrix)).await.map_err(err)?;
    let keys: Vec<String> = tongshu_core::projects::evaluation::gbt_42584()
        .overall_weights()
        .iter()
        .map(|(k, _)| (*k).to_owned())
        .collect();
    for (n, id) in operating.iter().enumerate() {
        let p = store.get_project(*id).await?;
        let officer = s.officer(&store.get_org(p.org_id).await?.slug).await?;
        let prefill = svc.prefill(&officer, *id).await.map_err(err)?;
        let base = [92.0, 85.0, 78.0, 66.0, 88.0][n % 5];
        let scores = |delta: f64| -> BTreeMap<String, f64> {
            keys.iter()
                .enumerate()
                .map(|(i, k)| {
                    let v = prefill.scores.get(k).copied().unwrap_or(base - (i % 3) as f64 * 3.0 + delta);
                    (k.clone(), v.clamp(0.0, 100.0))
                })
                .collect()
        };
        svc.step(&s.admin, *id, Transition::StartEvaluation, "纳入2026年度后评价").await.map_err(err)?;
        svc.evaluate(&officer, round.id, *id, "self", scores(4.0), "单位自评").await.map_err(err)?;
        svc.evaluate(&s.evaluator, round.id, *id, "third_party", scores(0.0), "第三方评价").await.map_err(err)?;
        if n == 0 {
            svc.evaluate(&s.evaluator, round.id, *id, "on_site", scores(-2.0), "现场评价").await.map_err(err)?;
        }
        if n == 1 {
            // Still being evaluated on site next month.
            continue;
        }
        s.doc(&s.evaluator, *id, "evaluation", "后评价报告.pdf").await?;
        if base < 70.0 {
            svc.step(&s.admin, *id, Transition::Rectify, "用户活跃度低，限期整改").await.map_err(err)?;
        } else {
            svc.step(&s.admin, *id, Transition::FinishEvaluation, "评价完成").await.map_err(err)?;
        }
    }
    // One project retired after its decommission checklist; one risk override.
    if let Some(&last) = operating.last() {
        let items: BTreeMap<String, bool> =
            ["data_archived", "entries_delisted", "grants_revoked"].iter().map(|k| ((*k).to_owned(), true)).collect();
        svc.check_items(&s.admin, last, &items).await.map_err(err)?;
        s.doc(&s.admin, last, "decommission", "停用报告.pdf").await?;
        svc.step(&s.admin, last, Transition::Retire, "功能并入警务数据资源中心二期").await.map_err(err)?;
    }
    if let Some(&first) = ids.get(3) {
        svc.override_risk(&s.admin, first, 2, "视频专网建设滞后，供应商变更").await.map_err(err)?;
    }

    // Systems of every kind; some zombies by their own facts (no probes in the demo: its
    // addresses are not on this network).
    let today = tongshu_core::now().date();
    let ago = |d: i64| (today - time::Duration::days(d)).to_string();
    let systems: Vec<DemoSystem> = vec![
        ("gaj", "市公安局门户网站", "website", vec!["http://gaj.linyi.gov.cn"], "公众", None, None),
        ("gaj", "平安临沂微信公众号", "wechat", vec![], "公众", Some(ago(2)), None),
        ("gaj", "临沂公安政务微博", "microblog", vec![], "公众", Some(ago(40)), None),
        ("gaj", "警务协同办公系统", "oa", vec!["http://oa.gaj.linyi.gov.cn"], "全局民警", None, None),
        ("mzj", "民政局门户网站", "website", vec!["http://mzj.linyi.gov.cn"], "公众", None, Some(ago(120))),
        ("mzj", "婚姻登记管理系统", "business", vec!["http://hy.mzj.linyi.gov.cn"], "婚姻登记处", None, None),
        ("mzj", "临沂民政公众号", "wechat", vec![], "公众", Some(ago(10)), None),
        ("ybj", "医保电子凭证服务", "app", vec!["https://ybpz.linyi.gov.cn"], "参保群众", None, None),
        ("ybj", "医保局内部邮箱", "email", vec!["http://mail.ybj.linyi.gov.cn"], "全局职工", None, None),
        ("rsj", "社保业务经办系统", "business", vec!["http://jb.rsj.linyi.gov.cn"], "经办窗口", None, None),
        ("rsj", "人社网上服务大厅", "public_service", vec!["https://rswt.linyi.gov.cn"], "公众、企业", None, None),
        ("wjw", "卫健委旧版网站", "website", vec!["http://old.wjw.linyi.gov.cn"], "", None, None),
        ("scjgj", "市场主体登记系统", "business", vec!["http://djxt.scjgj.linyi.gov.cn"], "登记窗口", None, None),
        ("zjj", "建筑市场监管平台", "public_service", vec!["http://jzsc.zjj.linyi.gov.cn"], "企业", None, None),
        ("dsjj", "政务信息资源共享交换平台", "business", vec!["http://gxjh.linyi.gov.cn"], "各部门", None, None),
        ("dsjj", "数据开放网", "website", vec!["http://data.linyi.gov.cn"], "公众", None, None),
        ("swj", "税务数据分析工具", "other", vec![], "", None, None),
    ];
    let mut made = 0;
    // Systems built by the projects in operation (one per department).
    let built: Vec<_> = store
        .list_projects(None)
        .await?
        .into_iter()
        .filter(|p| p.stage == tongshu_core::projects::Stage::Operation)
        .collect();
    for (slug, name, kind, urls, users, last_post, unanswered) in systems {
        let Ok(org) = store.get_org_by_slug(slug).await else { continue };
        let sys = svc
            .add_system(
                &s.admin,
                SystemInput {
                    name: name.into(),
                    kind: kind.into(),
                    org_id: Some(org.id),
                    project_id: built
                        .iter()
                        .find(|p| p.org_id == org.id && !matches!(kind, "wechat" | "microblog" | "website"))
                        .map(|p| p.id),
                    vendor: if kind == "business" { "浪潮软件股份有限公司".into() } else { String::new() },
                    cost_per_year: Some(if kind == "business" { 680_000 } else { 120_000 }),
                    urls: urls.iter().map(|u| (*u).to_owned()).collect(),
                    hosting: "市政务云".into(),
                    security_level: Some(if kind == "business" { 3 } else { 2 }),
                    users: users.into(),
                    function: name.into(),
                    last_post_on: last_post,
                    ..Default::default()
                },
            )
            .await
            .map_err(err)?;
        if unanswered.is_some() {
            svc.set_system_facts(&s.admin, sys.id, None, unanswered.as_deref(), None).await.map_err(err)?;
        }
        made += 1;
    }
    let checked = svc.check_systems(&s.admin).await.map_err(err)?;
    // Two tickets already dealt with: an account that posts again (re-checked), and a
    // detached tool stopped.
    for c in &checked {
        let Some(ticket) = c.ticket else { continue };
        if c.name == "临沂民政公众号" {
            svc.set_system_facts(&s.admin, c.system_id, Some(&today.to_string()), None, None).await.map_err(err)?;
            svc.close_ticket(&s.admin, ticket, "fixed", "恢复每周更新", None).await.map_err(err)?;
        } else if c.name == "税务数据分析工具" {
            svc.close_ticket(&s.admin, ticket, "stopped", "无业务使用，关停", None).await.map_err(err)?;
        }
    }
    Ok(ProjectsSeed { seeded: true, projects: ids.len(), systems: made })
}
