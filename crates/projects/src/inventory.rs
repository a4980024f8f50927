//! The inventory of information systems: adding systems, importing the bureau's
//! spreadsheet (XLSX/XLS, or CSV in UTF-8, GBK or GB18030, through the library's readers),
//! and finding systems that do what a project proposes to build (集约利旧).
//!
//! An import takes every row it can read and reports each row it could not, naming the
//! row, the column, the value and why; the rows it takes are recorded in one transaction,
//! so a failure records none of them.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tongshu_core::policy::Principal;
use tongshu_core::projects::{SystemKind, SystemStatus, parse_security_level};
use tongshu_store::{NewSystem, ProjectRecord, SystemRecord};

use crate::{ProjectsError, ProjectsService, Result, forbidden, invalid, parse_day};

/// A row of a spreadsheet that was not taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedRow {
    /// The row number in the file (the header is row 1).
    pub row: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub file: String,
    pub rows: u64,
    pub added: Vec<SystemRecord>,
    pub refused: Vec<RefusedRow>,
    /// Columns of the file that are not read (named, so a typo in a header shows).
    pub ignored_columns: Vec<String>,
}

/// A system of the inventory that does what a project proposes, with how alike they are:
/// what any reader of the project may see of it (the inventory of another department is
/// not theirs to read: no addresses, vendor, costs or users).
#[derive(Debug, Clone, Serialize)]
pub struct Similar {
    pub system_id: i64,
    pub name: String,
    pub kind: SystemKind,
    pub org_id: i64,
    pub function: String,
    /// 0–1: the share of two-character words they have in common.
    pub likeness: f64,
}

/// A system entered by hand (the API's body).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SystemInput {
    pub name: String,
    pub kind: String,
    pub org_id: Option<i64>,
    pub project_id: Option<i64>,
    #[serde(default)]
    pub vendor: String,
    pub cost_per_year: Option<i64>,
    #[serde(default)]
    pub urls: Vec<String>,
    #[serde(default)]
    pub hosting: String,
    pub security_level: Option<i64>,
    pub status: Option<String>,
    #[serde(default)]
    pub entries: Vec<i64>,
    #[serde(default)]
    pub apps: Vec<i64>,
    #[serde(default)]
    pub users: String,
    #[serde(default)]
    pub function: String,
    pub last_post_on: Option<String>,
}

/// Which field a spreadsheet column fills, by the words bureaus put in headers.
fn field_of(header: &str) -> Option<&'static str> {
    let h: String = header.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| h.contains(w));
    Some(match () {
        _ if has(&["系统名称", "名称", "账号名称", "name"]) && !has(&["项目", "部门", "单位名称"]) => {
            "name"
        }
        _ if has(&["类型", "类别", "kind"]) => "kind",
        _ if has(&["主管部门", "所属部门", "责任部门", "部门", "单位"]) && !has(&["承建", "开发", "运维单位"]) => {
            "org"
        }
        _ if has(&["项目"]) => "project",
        _ if has(&["承建", "开发商", "厂商", "供应商", "运维单位", "vendor"]) => "vendor",
        _ if has(&["费用", "经费", "cost"]) => "cost",
        _ if has(&["网址", "url", "地址", "域名"]) => "urls",
        _ if has(&["部署", "托管", "hosting", "机房"]) => "hosting",
        _ if has(&["等保", "等级", "security"]) => "level",
        _ if has(&["状态", "status"]) => "status",
        _ if has(&["用户", "使用对象", "users"]) => "users",
        _ if has(&["功能", "用途", "function", "简介"]) => "function",
        _ if has(&["最近发布", "最后发布", "最后更新", "最近更新"]) => "last_post",
        _ => return None,
    })
}

/// Full-width digits and punctuation as ASCII, trimmed; "N/A", "无", "-" and the like as empty.
fn clean(v: &str) -> String {
    let t: String = v
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            '．' => '.',
            '，' => ',',
            '：' => ':',
            '／' => '/',
            '\u{3000}' => ' ',
            c => c,
        })
        .collect();
    let t = t.trim();
    if matches!(t.to_ascii_lowercase().as_str(), "n/a" | "na" | "null" | "none" | "-" | "--" | "/" | "无" | "暂无") {
        String::new()
    } else {
        t.to_owned()
    }
}

/// Yuan from a cell: `12000`, `1,200.50`, `3.5万`, `3.5万元`; `per_10k`: the header said 万元.
fn money(v: &str, per_10k: bool) -> Option<i64> {
    let t = v.replace([',', ' '], "");
    let (t, scale) = match t.strip_suffix("万元").or_else(|| t.strip_suffix('万')) {
        Some(n) => (n.to_owned(), 10_000.0),
        None => (t.trim_end_matches('元').to_owned(), if per_10k { 10_000.0 } else { 1.0 }),
    };
    let n: f64 = t.parse().ok()?;
    (0.0..1e12).contains(&n).then(|| (n * scale).round() as i64)
}

/// The URLs of a cell (separated by spaces, commas, semicolons or 、), each http(s); a host
/// without a scheme gets `http://`.
fn urls(v: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for part in v.split([' ', ',', ';', '；', '、', '\n']).map(str::trim).filter(|s| !s.is_empty()) {
        let u = if part.contains("://") { part.to_owned() } else { format!("http://{part}") };
        match reqwest::Url::parse(&u) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => out.push(url.to_string()),
            _ => return Err(format!("{part:?} 不是 http(s) 地址")),
        }
    }
    Ok(out)
}

/// Two-character words of a text (CJK bigrams, and Latin words), for likeness.
fn words(s: &str) -> HashSet<String> {
    let chars: Vec<char> = s.chars().filter(|c| c.is_alphanumeric()).collect();
    let mut out: HashSet<String> = chars.windows(2).map(|w| w.iter().collect()).collect();
    out.extend(s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| w.len() > 2).map(str::to_lowercase));
    // Words every system shares say nothing of its function.
    for common in ["系统", "平台", "管理", "信息", "建设", "项目", "市级", "临沂", "政务", "服务"] {
        out.remove(common);
    }
    out
}

/// A spreadsheet's header and its rows (number, cells), or a row's reason behind NUL.
type Sheet = (Vec<String>, Vec<(u64, Vec<String>)>);

/// Keeps the first problem of a row.
fn refuse(problem: &mut Option<RefusedRow>, row: u64, col: &str, value: &str, reason: String) {
    if problem.is_none() {
        *problem = Some(RefusedRow { row, column: Some(col.to_owned()), value: Some(value.to_owned()), reason });
    }
}

fn likeness(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.intersection(b).count() as f64;
    common / (a.len().min(b.len()) as f64)
}

impl ProjectsService {
    /// The systems `who` may read: all for the bureau, auditors and the evaluation body;
    /// a department's own for its officers.
    pub async fn systems(&self, who: &Principal) -> Result<Vec<SystemRecord>> {
        let org = if who.reads_all_projects() { None } else { Some(who.org_id) };
        if org.is_some() && !who.proposes_for(who.org_id) {
            return Ok(Vec::new());
        }
        Ok(self.store.list_systems(org).await?)
    }

    pub async fn system(&self, who: &Principal, id: i64) -> Result<SystemRecord> {
        let s = self.store.get_system(id).await?;
        if who.reads_all_projects() || who.proposes_for(s.org_id) {
            Ok(s)
        } else {
            Err(ProjectsError::NotFound(format!("system {id}")))
        }
    }

    /// Adds one system to the inventory (the bureau, or the owning department).
    pub async fn add_system(&self, who: &Principal, s: SystemInput) -> Result<SystemRecord> {
        let org_id = s.org_id.unwrap_or(who.org_id);
        if !who.proposes_for(org_id) {
            return Err(forbidden("only the bureau or the owning department keeps its systems"));
        }
        let mut e = tongshu_core::FieldErrors::default();
        let name = s.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            e.add("name", "系统名称须为 1 到 200 个字");
        }
        let kind = SystemKind::parse(&s.kind);
        if kind.is_none() {
            e.add("kind", format!("未知的系统类型 {:?}", s.kind));
        }
        let status = match s.status.as_deref() {
            None | Some("") => Some(SystemStatus::InUse),
            Some(v) => SystemStatus::parse(v),
        };
        if status.is_none() {
            e.add("status", "状态须为 在用、整改中 或 已停用");
        }
        if s.security_level.is_some_and(|l| !(1..=5).contains(&l)) {
            e.add("security_level", "等保级别须为 1 到 5");
        }
        if s.cost_per_year.is_some_and(|c| c < 0) {
            e.add("cost_per_year", "年度费用不能为负");
        }
        let urls = urls(&s.urls.join(" ")).unwrap_or_else(|why| {
            e.add("urls", why);
            Vec::new()
        });
        if s.last_post_on.as_deref().is_some_and(|d| parse_day(d).is_none()) {
            e.add("last_post_on", "日期须为 YYYY-MM-DD");
        }
        if let Some(p) = s.project_id
            && self.store.get_project(p).await.is_err()
        {
            e.add("project_id", format!("项目 {p} 不存在"));
        }
        e.into_result(())?;
        self.store.get_org(org_id).await?;
        let new = NewSystem {
            name: name.to_owned(),
            kind,
            org_id,
            project_id: s.project_id,
            vendor: s.vendor.trim().to_owned(),
            cost_per_year: s.cost_per_year,
            urls,
            hosting: s.hosting.trim().to_owned(),
            security_level: s.security_level,
            status,
            entries: s.entries,
            apps: s.apps,
            users: s.users.trim().to_owned(),
            function: s.function.trim().to_owned(),
            last_post_on: s.last_post_on,
            oldest_unanswered_on: None,
        };
        Ok(self.store.insert_systems(&[new]).await?.remove(0))
    }

    /// Imports the bureau's list of systems from a spreadsheet (the bureau only): every
    /// readable row is taken, the others reported by row, column and value.
    pub async fn import_systems(&self, who: &Principal, path: &Path) -> Result<ImportReport> {
        if !who.manages_projects() {
            return Err(forbidden("only the bureau imports the system inventory"));
        }
        let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let orgs = self.store.list_orgs().await?;
        let projects = self.store.list_projects(None).await?;
        let existing: HashSet<(i64, String)> =
            self.store.list_systems(None).await?.into_iter().map(|s| (s.org_id, s.name)).collect();
        let path = path.to_owned();
        let (header, rows) = tokio::task::spawn_blocking(move || -> Result<Sheet> {
            let progress = Arc::new(tongshu_lake::Progress::default());
            let mut rows = tongshu_lake::source::open(&path, &tongshu_lake::SourceOptions::default(), progress)
                .map_err(|e| ProjectsError::Input(e.to_string()))?;
            let header = rows.header().to_vec();
            let mut out = Vec::new();
            let mut cells = Vec::new();
            while let Some(r) = rows.next_row(&mut cells) {
                match r {
                    Ok(n) => out.push((n, cells.clone())),
                    Err(bad) => out.push((bad.row, vec![format!("\u{0}{}", bad.reason)])),
                }
            }
            Ok((header, out))
        })
        .await
        .map_err(|e| ProjectsError::Io(e.to_string()))??;
        let fields: Vec<Option<&str>> = header.iter().map(|h| field_of(h)).collect();
        if !fields.contains(&Some("name")) || !fields.contains(&Some("org")) {
            return Err(invalid(
                "file",
                format!("{file}: 表头须有“系统名称”和“主管部门”两列（现有 {})", header.join("、")),
            ));
        }
        let per_10k = header.iter().zip(&fields).any(|(h, f)| *f == Some("cost") && h.contains("万"));
        let ignored_columns = header.iter().zip(&fields).filter(|(_, f)| f.is_none()).map(|(h, _)| h.clone()).collect();
        let org_by: HashMap<String, i64> =
            orgs.iter().flat_map(|o| [(o.name.clone(), o.id), (o.slug.clone(), o.id)]).collect();
        let mut refused = Vec::new();
        let mut taken = Vec::new();
        let mut seen = HashSet::new();
        let total = rows.len() as u64;
        for (row, cells) in rows {
            if let Some(reason) = cells.first().and_then(|c| c.strip_prefix('\u{0}')) {
                refused.push(RefusedRow { row, column: None, value: None, reason: reason.to_owned() });
                continue;
            }
            let mut s = NewSystem::default();
            let mut problem: Option<RefusedRow> = None;
            for ((h, f), raw) in header.iter().zip(&fields).zip(&cells) {
                let v = clean(raw);
                let Some(f) = f else { continue };
                match *f {
                    "name" => s.name = v.clone(),
                    "kind" if !v.is_empty() => match SystemKind::parse(&v) {
                        Some(k) => s.kind = Some(k),
                        None => refuse(
                            &mut problem,
                            row,
                            h,
                            raw,
                            "未知的系统类型（可填 网站、OA、邮箱、业务系统、公共服务、公众号、微博、APP、其他）".into(),
                        ),
                    },
                    "org" => match org_by.get(&v) {
                        Some(id) => s.org_id = *id,
                        None => refuse(&mut problem, row, h, raw, "没有这个部门（填部门全称或简称）".into()),
                    },
                    "project" if !v.is_empty() => match projects.iter().find(|p| p.code == v || p.name == v) {
                        Some(p) => s.project_id = Some(p.id),
                        None => refuse(&mut problem, row, h, raw, "没有这个项目（填项目编号或名称）".into()),
                    },
                    "vendor" => s.vendor = v,
                    "cost" if !v.is_empty() => match money(&v, per_10k) {
                        Some(y) => s.cost_per_year = Some(y),
                        None => refuse(&mut problem, row, h, raw, "不是金额".into()),
                    },
                    "urls" => match urls(&v) {
                        Ok(u) => s.urls = u,
                        Err(why) => refuse(&mut problem, row, h, raw, why),
                    },
                    "hosting" => s.hosting = v,
                    "level" if !v.is_empty() => match parse_security_level(&v) {
                        Some(l) => s.security_level = Some(i64::from(l)),
                        None => refuse(&mut problem, row, h, raw, "等保级别须为 1 到 5（一级至五级）".into()),
                    },
                    "status" if !v.is_empty() => match SystemStatus::parse(&v) {
                        Some(st) => s.status = Some(st),
                        None => refuse(&mut problem, row, h, raw, "状态须为 在用、整改中 或 已停用".into()),
                    },
                    "users" => s.users = v,
                    "function" => s.function = v,
                    "last_post" if !v.is_empty() => match parse_day(&v.replace(['/', '.'], "-")) {
                        Some(d) => s.last_post_on = Some(d.to_string()),
                        None => refuse(&mut problem, row, h, raw, "不是日期（YYYY-MM-DD）".into()),
                    },
                    _ => {}
                }
            }
            if s.name.is_empty() {
                refuse(&mut problem, row, "系统名称", "", "缺少系统名称".into());
            } else if s.org_id == 0 && problem.is_none() {
                refuse(&mut problem, row, "主管部门", "", "缺少主管部门".into());
            } else if s.kind.is_none() && problem.is_none() {
                // A kind the sheet does not give is read from the name (…网站, …公众号), else 其他.
                s.kind = SystemKind::parse(&s.name).or(Some(SystemKind::Other));
            }
            if problem.is_none() && existing.contains(&(s.org_id, s.name.clone())) {
                refuse(&mut problem, row, "系统名称", &s.name, "已在该部门的系统清单中".into());
            }
            if problem.is_none() && !seen.insert((s.org_id, s.name.clone())) {
                refuse(&mut problem, row, "系统名称", &s.name, "listed twice for the same department".into());
            }
            match problem {
                Some(p) => refused.push(p),
                None => taken.push(s),
            }
        }
        let added = if taken.is_empty() { Vec::new() } else { self.store.insert_systems(&taken).await? };
        tracing::info!(file = %file, added = added.len(), refused = refused.len(), "imported systems");
        Ok(ImportReport { file, rows: total, added, refused, ignored_columns })
    }

    /// Systems in use that do what the project proposes (by name and purpose against name
    /// and function), most alike first.
    pub async fn similar_systems(&self, p: &ProjectRecord) -> Result<Vec<Similar>> {
        let want = words(&format!("{} {} {}", p.name, p.purpose, p.builds.join(" ")));
        let mut out: Vec<Similar> = self
            .store
            .list_systems(None)
            .await?
            .into_iter()
            .filter(|s| s.status != SystemStatus::Stopped && s.project_id != Some(p.id) && !p.reuses.contains(&s.id))
            .map(|s| {
                let l = likeness(&want, &words(&format!("{} {}", s.name, s.function)));
                Similar {
                    system_id: s.id,
                    name: s.name,
                    kind: s.kind,
                    org_id: s.org_id,
                    function: s.function,
                    likeness: l,
                }
            })
            .filter(|s| s.likeness >= 0.3)
            .collect();
        out.sort_by(|a, b| b.likeness.total_cmp(&a.likeness));
        Ok(out)
    }

    /// The similar systems of a project `who` may read.
    pub async fn similar(&self, who: &Principal, id: i64) -> Result<Vec<Similar>> {
        let p = self.readable(who, id).await?;
        self.similar_systems(&p).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messy_cells_are_read_as_people_write_them() {
        assert_eq!(clean(" １２３ "), "123");
        assert_eq!(clean("N/A"), "");
        assert_eq!(clean("暂无"), "");
        assert_eq!(money("3.5万", false), Some(35_000));
        assert_eq!(money("1,200.50", false), Some(1201));
        assert_eq!(money("12", true), Some(120_000));
        assert_eq!(money("abc", false), None);
        assert_eq!(
            urls("www.linyi.gov.cn；https://x.gov.cn/a").unwrap(),
            ["http://www.linyi.gov.cn/", "https://x.gov.cn/a"]
        );
        assert!(urls("ftp://x").is_err());
        assert_eq!(field_of("系统名称"), Some("name"));
        assert_eq!(field_of("主管部门"), Some("org"));
        assert_eq!(field_of("承建单位"), Some("vendor"));
        assert_eq!(field_of("年运维费用（万元）"), Some("cost"));
        assert_eq!(field_of("备注"), None);
    }

    #[test]
    fn systems_doing_the_same_are_alike() {
        let a = words("不动产登记信息系统 不动产登记、抵押、查封业务办理");
        let b = words("不动产统一登记平台 登记业务与抵押办理");
        let c = words("市长热线工单系统 热线受理与派单");
        assert!(likeness(&a, &b) >= 0.3, "{}", likeness(&a, &b));
        assert!(likeness(&a, &c) < 0.3, "{}", likeness(&a, &c));
    }
}
