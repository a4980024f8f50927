//! The demo city: Linyi's districts, departments, enterprises and banks, one account for
//! each role, and a few hundred catalog entries in every lifecycle status.
//!
//! Seeding is deterministic (the same city every time) and idempotent: it stops early when
//! the store says the demo is already there, and every step skips what already exists, so
//! an interrupted seed can simply be run again.

mod city;
mod projects;
mod resources;

use tongshu_accounts::AccountError;
use tongshu_catalog::{Catalog, CatalogError};
use tongshu_core::ids::CreditCode;
use tongshu_core::org::{OrgKind, Organization};
use tongshu_core::policy::{Principal, Role};
use tongshu_store::{MetaStore, NewUser, StoreError};

/// A demo account: username, password, role, organization slug, what it is for.
pub struct DemoAccount {
    pub username: &'static str,
    pub password: &'static str,
    pub role: Role,
    pub org_slug: &'static str,
    /// The person's name shown in pages.
    pub person: &'static str,
    pub note: &'static str,
}

/// The accounts printed at start-up in demo mode and listed in the README. Every city
/// department and publishing body also has a data officer `officer.<slug>` with the
/// officer password.
pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        username: "admin",
        person: "刘建华",
        password: "Admin@2026",
        role: Role::PlatformAdmin,
        org_slug: "dsjj",
        note: "平台管理员（市大数据局）",
    },
    DemoAccount {
        username: "officer.gaj",
        person: "王磊",
        password: OFFICER_PASSWORD,
        role: Role::DataOfficer,
        org_slug: "gaj",
        note: "市公安局数据管理员",
    },
    DemoAccount {
        username: "officer.mzj",
        person: "李娜",
        password: OFFICER_PASSWORD,
        role: Role::DataOfficer,
        org_slug: "mzj",
        note: "市民政局数据管理员",
    },
    DemoAccount {
        username: "consumer.ybj",
        person: "赵敏",
        password: "Consumer@2026",
        role: Role::Consumer,
        org_slug: "ybj",
        note: "市医保局数据使用者",
    },
    DemoAccount {
        username: "consumer.nsh",
        person: "孙强",
        password: "Consumer@2026",
        role: Role::Consumer,
        org_slug: "nsh",
        note: "临沂农商银行数据使用者",
    },
    DemoAccount {
        username: "auditor",
        person: "陈静",
        password: "Auditor@2026",
        role: Role::Auditor,
        org_slug: "dsjj",
        note: "审计员（只读日志与历史）",
    },
    DemoAccount {
        username: "citizen",
        person: "周小林",
        password: "Citizen@2026",
        role: Role::Public,
        org_slug: "public",
        note: "注册公众用户",
    },
];

pub const OFFICER_PASSWORD: &str = "Officer@2026";

/// The store key that marks a completed demo seed.
const SEEDED_KEY: &str = "demo_seeded_at";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Accounts(#[from] AccountError),
    #[error("demo entry {name:?}: {source}")]
    Catalog { name: String, source: CatalogError },
    #[error("demo tables: {0}")]
    Io(String),
}

/// What a seed run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// False when the demo was already there and nothing was done.
    pub seeded: bool,
    pub organizations: usize,
    pub users: usize,
    pub entries: usize,
}

/// A deterministic number for `key`: FNV-1a, then one splitmix64 step.
fn roll(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    tables::Rng::new(h).next_u64()
}

/// A valid unified social credit code for a demo body: `11` for government bodies, `91`
/// for enterprises, `12` for public institutions, then the district and nine characters.
fn credit_code(kind: OrgKind, district: &str, slug: &str) -> String {
    let alphabet: Vec<char> = CreditCode::alphabet().chars().collect();
    let mut r = roll(slug);
    let body: String = (0..9)
        .map(|_| {
            let c = alphabet[(r % 31) as usize];
            r /= 31;
            c
        })
        .collect();
    let prefix = match kind {
        OrgKind::Enterprise => "91",
        OrgKind::Other => "12",
        _ => "11",
    };
    CreditCode::compose(&format!("{prefix}{district}{body}")).map(|c| c.to_string()).unwrap_or_default()
}

struct Seeder {
    store: MetaStore,
    catalog: Catalog,
    officer_hash: String,
    admin: Principal,
    orgs: usize,
    users: usize,
    entries: usize,
}

impl Seeder {
    async fn org(
        &mut self,
        slug: &str,
        name: &str,
        kind: OrgKind,
        parent: Option<i64>,
        district: &str,
    ) -> Result<Organization, DemoError> {
        if let Ok(org) = self.store.get_org_by_slug(slug).await {
            return Ok(org);
        }
        let credit = (slug != "public").then(|| credit_code(kind, district, slug));
        let org = self
            .store
            .insert_org(&Organization {
                id: 0,
                parent_id: parent,
                kind,
                name: name.into(),
                slug: slug.into(),
                district_code: district.into(),
                credit_code: credit,
            })
            .await?;
        self.orgs += 1;
        Ok(org)
    }

    async fn user(
        &mut self,
        username: &str,
        display: &str,
        hash: &str,
        role: Role,
        org_id: i64,
    ) -> Result<Principal, DemoError> {
        if let Some((u, _)) = self.store.user_credentials(username).await? {
            return Ok(u.principal());
        }
        let u = self
            .store
            .insert_user(&NewUser {
                username: username.into(),
                display_name: display.into(),
                password_hash: hash.into(),
                role,
                org_id,
            })
            .await?;
        self.users += 1;
        Ok(u.principal())
    }

    /// A data officer for `org` and its entries, each taken through its lifecycle.
    async fn publisher(
        &mut self,
        org: &Organization,
        names: &[&str],
        class: (&str, u32),
        first_category: u32,
    ) -> Result<(), DemoError> {
        if names.is_empty() {
            return Ok(());
        }
        let officer_hash = self.officer_hash.clone();
        let officer = self
            .user(
                &format!("officer.{}", org.slug),
                &format!("{}数据管理员", org.name),
                &officer_hash,
                Role::DataOfficer,
                org.id,
            )
            .await?;
        for (j, name) in names.iter().enumerate() {
            let r = roll(&format!("{}/{name}", org.slug));
            let class = base_class(name).unwrap_or((class.0, class.1, first_category + j as u32));
            let input = resources::describe(name, &org.name, class, r);
            let entry = match self.catalog.create(&officer, Some(org.id), &input, None).await {
                Ok(e) => e,
                Err(CatalogError::Conflict(_)) => continue,
                Err(source) => {
                    return Err(DemoError::Catalog { name: name.to_string(), source });
                }
            };
            self.entries += 1;
            let fail = |source| DemoError::Catalog { name: name.to_string(), source };
            let id = entry.id;
            match r % 20 {
                0 => {} // stays a draft
                1 => {
                    self.catalog.submit(&officer, id).await.map_err(fail)?;
                }
                2 => {
                    self.catalog.submit(&officer, id).await.map_err(fail)?;
                    self.catalog
                        .return_entry(&self.admin, id, "信息项描述不完整，请补充各信息项的说明后重新提交")
                        .await
                        .map_err(fail)?;
                }
                _ => {
                    self.catalog.submit(&officer, id).await.map_err(fail)?;
                    self.catalog.approve(&self.admin, id, None).await.map_err(fail)?;
                    if r % 20 == 3 {
                        self.catalog.delist(&self.admin, id, "数据已停止更新，由新目录替代").await.map_err(fail)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Base resources (类 1 基础信息资源) of the national catalog guide.
fn base_class(name: &str) -> Option<(&'static str, u32, u32)> {
    match name {
        "户籍人口基本信息" => Some(("1", 1, 1)),
        "市场主体登记信息" => Some(("1", 2, 1)),
        "不动产登记信息" => Some(("1", 3, 1)),
        "电子证照信息" => Some(("1", 4, 1)),
        _ => None,
    }
}

/// Seeds the demo city unless it is already there.
pub async fn seed(store: &MetaStore) -> Result<SeedReport, DemoError> {
    if store.meta_get(SEEDED_KEY).await?.is_some() {
        return Ok(SeedReport { seeded: false, organizations: 0, users: 0, entries: 0 });
    }
    // One hash per distinct demo password keeps seeding fast; argon2 takes ~50 ms a hash.
    let officer_hash = tongshu_accounts::hash_password(OFFICER_PASSWORD).await?;
    let mut s = Seeder {
        store: store.clone(),
        catalog: Catalog::new(store.clone()),
        officer_hash,
        admin: Principal {
            user_id: 0,
            username: String::new(),
            display_name: String::new(),
            role: Role::PlatformAdmin,
            org_id: 0,
        },
        orgs: 0,
        users: 0,
        entries: 0,
    };

    let city = s.org("linyi", "临沂市人民政府", OrgKind::City, None, "371300").await?;
    let mut dept_orgs = Vec::new();
    for (slug, name, _) in city::CITY_DEPARTMENTS {
        dept_orgs.push(s.org(slug, name, OrgKind::Department, Some(city.id), "371300").await?);
    }
    let public = s.org("public", "社会公众", OrgKind::Other, None, "371300").await?;

    for a in DEMO_ACCOUNTS {
        let org = store.get_org_by_slug(a.org_slug).await;
        let org = match org {
            Ok(o) => o,
            // Banks are created below with the other enterprises; create them early here.
            Err(_) => {
                let (slug, name, kind, _) = city::ENTERPRISES.iter().find(|e| e.0 == a.org_slug).copied().unwrap_or((
                    a.org_slug,
                    a.org_slug,
                    "other",
                    &[],
                ));
                let kind = OrgKind::parse(kind).unwrap_or(OrgKind::Other);
                s.org(slug, name, kind, Some(city.id), "371300").await?
            }
        };
        let hash = if a.password == OFFICER_PASSWORD {
            s.officer_hash.clone()
        } else {
            tongshu_accounts::hash_password(a.password).await?
        };
        let p = s.user(a.username, a.person, &hash, a.role, org.id).await?;
        if a.role == Role::PlatformAdmin {
            s.admin = p;
        }
    }
    let _ = public;

    for (i, ((_, _, names), org)) in city::CITY_DEPARTMENTS.iter().zip(&dept_orgs).enumerate() {
        s.publisher(org, names, ("3", i as u32 + 1), 1).await?;
    }
    if let Some(bureau) = dept_orgs.first() {
        for (t, (_topic, names)) in city::TOPICS.iter().enumerate() {
            s.publisher(bureau, names, ("2", t as u32 + 1), 1).await?;
        }
    }
    for (d, (code, dname, dslug)) in city::DISTRICTS.iter().enumerate() {
        let gov = s.org(dslug, &format!("{dname}人民政府"), OrgKind::District, Some(city.id), code).await?;
        for (k, (suffix, name_suffix, names)) in city::DISTRICT_DEPARTMENTS.iter().enumerate() {
            let name_suffix = if *suffix == "ga" && dname.ends_with('区') { "公安分局" } else { name_suffix };
            let org = s
                .org(
                    &format!("{dslug}-{suffix}"),
                    &format!("{dname}{name_suffix}"),
                    OrgKind::Department,
                    Some(gov.id),
                    code,
                )
                .await?;
            let names: Vec<String> = names.iter().map(|n| format!("{dname}{n}")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            s.publisher(&org, &refs, ("3", 51 + k as u32), d as u32 * 10 + 1).await?;
        }
    }
    for (e, (slug, name, kind, names)) in city::ENTERPRISES.iter().enumerate() {
        let kind = OrgKind::parse(kind).unwrap_or(OrgKind::Other);
        let org = s.org(slug, name, kind, Some(city.id), "371300").await?;
        s.publisher(&org, names, ("3", 61 + e as u32), 1).await?;
    }

    store.meta_set_once(SEEDED_KEY, &tongshu_core::now().to_string()).await?;
    tracing::info!(organizations = s.orgs, users = s.users, entries = s.entries, "demo city seeded");
    Ok(SeedReport { seeded: true, organizations: s.orgs, users: s.users, entries: s.entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_credit_codes_are_valid() {
        for (slug, ..) in city::CITY_DEPARTMENTS {
            let code = credit_code(OrgKind::Department, "371300", slug);
            assert!(CreditCode::parse(&code).is_ok(), "{slug}: {code}");
        }
    }

    #[test]
    fn the_demo_city_has_at_least_41_departments_and_300_entries() {
        let city: usize = city::CITY_DEPARTMENTS.iter().map(|d| d.2.len()).sum();
        let districts: usize =
            city::DISTRICT_DEPARTMENTS.iter().map(|d| d.2.len()).sum::<usize>() * city::DISTRICTS.len();
        let topics: usize = city::TOPICS.iter().map(|t| t.1.len()).sum();
        let firms: usize = city::ENTERPRISES.iter().map(|e| e.3.len()).sum();
        assert!(city::CITY_DEPARTMENTS.len() >= 41);
        assert!(city + districts + topics + firms >= 300, "{}", city + districts + topics + firms);
    }
}

pub mod tables;

pub use projects::{EXPERT_PASSWORD, ProjectsSeed, seed_projects};

/// The store key that marks loaded demo tables.
const TABLES_KEY: &str = "demo_tables_seeded_at";

/// What loading the demo tables did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablesReport {
    pub seeded: bool,
    pub tables: usize,
    pub rows: u64,
}

/// A demo table: its name, the entry it holds the data of, and how its rows are made.
enum Fill {
    /// Residents of the pool whose index passes the test.
    People(fn(usize, usize) -> bool),
    Firms,
    Statistics,
}

const DEMO_TABLES: &[(&str, &str, &str, Fill)] = &[
    ("gaj_huji_renkou", "gaj", "户籍人口基本信息", Fill::People(|_, _| true)),
    // 85% of residents are insured; 3% of residents died (indices ≡ 7 mod 33), and most of
    // those are still in the insurance table: the comparison the city runs.
    ("ybj_yibao_canbao", "ybj", "基本医疗保险参保人员信息", Fill::People(|i, _| i % 20 < 17)),
    ("mzj_binzang_huohua", "mzj", "殡葬火化信息", Fill::People(|i, _| i % 33 == 7)),
    ("rsj_yanglao_canbao", "rsj", "企业职工养老保险参保人员信息", Fill::People(|i, _| i % 10 < 6)),
    ("jyj_xuesheng_xueji", "jyj", "中小学学生学籍信息", Fill::People(|i, _| i % 9 == 0)),
    ("gaj_liudong_renkou", "gaj", "流动人口居住登记信息", Fill::People(|i, _| i % 25 == 3)),
    ("wjw_yufang_jiezhong", "wjw", "预防接种信息", Fill::People(|i, _| i % 4 == 1)),
    ("scjgj_shichang_zhuti", "scjgj", "市场主体登记信息", Fill::Firms),
    ("swj_nashuiren", "swj", "纳税人登记信息", Fill::Firms),
    ("gdgs_qiye_yongdian", "gdgs", "企业用电信息", Fill::Firms),
    ("zjj_jianzhu_qiye", "zjj", "建筑业企业资质信息", Fill::Firms),
    ("gaj_renkou_tongji", "gaj", "户籍人口统计信息", Fill::Statistics),
    ("ybj_canbao_tongji", "ybj", "医保参保统计信息", Fill::Statistics),
    ("swj_nashui_tongji", "swj", "企业纳税统计信息", Fill::Statistics),
    ("tjj_jingji_zhibiao", "tjj", "国民经济主要指标信息", Fill::Statistics),
    ("wjw_weijian_tongji", "wjw", "卫生健康统计信息", Fill::Statistics),
];

/// Small tables for the listed, unconditionally open entries of database or spreadsheet
/// kind that have none yet, filled after their subject (firms, things, statistics). Named
/// `<provider slug>_<entry id>`.
async fn seed_open_tables(
    store: &MetaStore,
    library: &tongshu_library::LibraryService,
    admin: &tongshu_core::policy::Principal,
    dir: &std::path::Path,
) -> Result<(usize, u64), DemoError> {
    use resources::Subject;
    let entries = store
        .list_entries(&tongshu_store::EntryFilter {
            statuses: vec![tongshu_core::catalog::EntryStatus::Listed],
            open_type: Some("open".into()),
            limit: 10_000,
            ..Default::default()
        })
        .await?
        .entries;
    let (mut count, mut rows) = (0, 0u64);
    for entry in entries {
        use tongshu_core::catalog::ResourceFormat;
        if !matches!(entry.body.format, ResourceFormat::Database | ResourceFormat::Spreadsheet) {
            continue;
        }
        let io = |e: String| DemoError::Io(e);
        if !library.tables_of_entry(entry.id).await.map_err(|e| io(e.to_string()))?.is_empty() {
            continue;
        }
        let org = store.get_org(entry.org_id).await?;
        let table = format!("{}_{}", org.slug.replace('-', "_"), entry.id);
        if library.lake().exists(&table).await.map_err(|e| io(e.to_string()))? {
            continue;
        }
        let core = entry.body.name.trim_end_matches("信息").to_owned();
        let file = dir.join(format!("{table}.csv"));
        let seed = 5000 + entry.id as u64;
        let written = match resources::subject_of(&entry.body.name) {
            Subject::Statistic => tables::statistic_csv(&file, &core, 12, seed),
            Subject::LegalPerson => tables::firm_csv(&file, &core, 150, seed),
            Subject::Thing => tables::thing_csv(&file, &core, 150, seed),
            Subject::Person => continue,
        }
        .map_err(|e| io(e.to_string()))?;
        let req = tongshu_lake::IngestRequest {
            create: true,
            ..tongshu_lake::IngestRequest::new(table.clone(), file.clone(), "demo")
        };
        library.create_for_entry(admin, req, entry.id).await.map_err(|e| io(format!("demo table {table}: {e}")))?;
        let _ = std::fs::remove_file(&file);
        count += 1;
        rows += written as u64;
    }
    Ok((count, rows))
}

/// Loads the demo tables into the library (unless already there): `people` residents, a
/// tenth as many firms, and two years of monthly statistics per district. Each table is
/// linked to the demo catalog entry it holds the data of.
pub async fn seed_tables(
    store: &MetaStore,
    library: &tongshu_library::LibraryService,
    people: usize,
) -> Result<TablesReport, DemoError> {
    if store.meta_get(TABLES_KEY).await?.is_some() {
        return Ok(TablesReport { seeded: false, tables: 0, rows: 0 });
    }
    let admin = store
        .list_users()
        .await?
        .into_iter()
        .find(|u| u.role == Role::PlatformAdmin)
        .ok_or_else(|| StoreError::NotFound("a platform administrator (seed the demo city first)".into()))?
        .principal();
    let dir = std::env::temp_dir().join(format!("tongshu-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| DemoError::Io(e.to_string()))?;
    let pool = tables::people(people);
    let (mut count, mut rows) = (0, 0);
    for (i, (table, slug, entry_name, fill)) in DEMO_TABLES.iter().enumerate() {
        if library.lake().exists(table).await.map_err(|e| DemoError::Io(e.to_string()))? {
            continue;
        }
        let org = store.get_org_by_slug(slug).await?;
        let page = store
            .list_entries(&tongshu_store::EntryFilter {
                org_id: Some(org.id),
                text: Some((*entry_name).into()),
                limit: 5,
                ..Default::default()
            })
            .await?;
        let Some(entry) = page.entries.into_iter().find(|e| e.body.name == *entry_name) else { continue };
        let core = entry_name.trim_end_matches("信息");
        let file = dir.join(format!("{table}.csv"));
        let seed = 1000 + i as u64;
        let written = match fill {
            Fill::People(keep) => tables::person_csv(&file, core, &pool, |k| keep(k, pool.len()), seed),
            Fill::Firms => tables::firm_csv(&file, core, (people / 10).max(10), seed),
            Fill::Statistics => tables::statistic_csv(&file, core, 24, seed),
        }
        .map_err(|e| DemoError::Io(e.to_string()))?;
        let req = tongshu_lake::IngestRequest {
            create: true,
            ..tongshu_lake::IngestRequest::new(*table, file.clone(), "demo")
        };
        library
            .create_for_entry(&admin, req, entry.id)
            .await
            .map_err(|e| DemoError::Io(format!("demo table {table}: {e}")))?;
        let _ = std::fs::remove_file(&file);
        count += 1;
        rows += written as u64;
    }
    // Every other open dataset of tabular kind gets a small table too, so that the open data
    // portal has rows to preview, download and query for most of its datasets.
    let (open_count, open_rows) = seed_open_tables(store, library, &admin, &dir).await?;
    count += open_count;
    rows += open_rows;
    let _ = std::fs::remove_dir_all(&dir);
    store.meta_set_once(TABLES_KEY, &tongshu_core::now().to_string()).await?;
    tracing::info!(tables = count, rows, "demo tables loaded");
    Ok(TablesReport { seeded: true, tables: count, rows })
}

/// Adds `n` more listed catalog entries spread over the demo's departments (for search
/// benchmarks over a catalog of realistic size): firm, thing and statistics resources named
/// from districts and subjects, mostly open. Returns how many were listed.
pub async fn seed_more_entries(store: &MetaStore, n: usize) -> Result<usize, DemoError> {
    const SUBJECTS: [&str; 24] = [
        "企业登记",
        "个体工商户",
        "公交线路",
        "公交站点",
        "学校名录",
        "医疗机构",
        "药店",
        "停车场",
        "充电桩",
        "旅游景区",
        "星级酒店",
        "农贸市场",
        "体育场馆",
        "文化场馆",
        "养老机构",
        "幼儿园",
        "建设工程",
        "环境监测",
        "空气质量",
        "水质监测",
        "食品抽检",
        "招标公告",
        "政府采购",
        "行政许可",
    ];
    const KINDS: [&str; 4] = ["名录", "统计", "公示", "台账"];
    let users = store.list_users().await?;
    let admin = users
        .iter()
        .find(|u| u.role == Role::PlatformAdmin)
        .ok_or_else(|| StoreError::NotFound("a platform administrator (seed the demo city first)".into()))?
        .principal();
    let officers: Vec<(Principal, String)> =
        users.iter().filter(|u| u.role == Role::DataOfficer).map(|u| (u.principal(), u.org_name.clone())).collect();
    let catalog = Catalog::new(store.clone());
    let mut listed = 0;
    for i in 0..n {
        let (officer, org_name) = &officers[i % officers.len()];
        let district = tongshu_core::ids::LINYI_DISTRICTS[i / officers.len() % 12].1;
        let name = format!("{district}{}{}信息（{i}）", SUBJECTS[i % SUBJECTS.len()], KINDS[i / 7 % 4]);
        let class = ("3", 50 + (i % 40) as u32, 1 + (i / 40 % 900) as u32);
        let input = resources::describe(&name, org_name, class, roll(&name));
        let entry = match catalog.create(officer, Some(officer.org_id), &input, None).await {
            Ok(e) => e,
            Err(CatalogError::Conflict(_)) => continue,
            Err(source) => return Err(DemoError::Catalog { name, source }),
        };
        let fail = |source| DemoError::Catalog { name: name.clone(), source };
        catalog.submit(officer, entry.id).await.map_err(fail)?;
        catalog.approve(&admin, entry.id, None).await.map_err(fail)?;
        listed += 1;
    }
    Ok(listed)
}
