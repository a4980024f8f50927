//! IT projects (政务信息化项目) and the city's information systems: the project lifecycle
//! from proposal to post-evaluation with its gates, post-evaluation indicator trees and
//! AHP weights, zombie-system rules, and the portfolio's risk rating.
//!
//! Everything here is pure: the gates are decided on [`GateFacts`] that the service
//! gathers (documents attached, catalog entries registered, data actually shared), so the
//! rules are tested without a store.

pub mod ahp;
pub mod evaluation;
pub mod risk;
pub mod zombie;

use serde::{Deserialize, Serialize};

use crate::FieldErrors;

/// Where a project stands (the stages of the city's project management rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 储备/申报: drafted and proposed by a department.
    Proposal,
    /// 评审: experts score it against the indicator sheet.
    Review,
    /// 审批/立项: the bureau approves it, after the data-sharing review.
    Approval,
    /// 建设: milestones, payments, variances.
    Construction,
    /// 验收: the acceptance checklist.
    Acceptance,
    /// 运行: in operation.
    Operation,
    /// 后评价: post-evaluation, 12 to 24 months after acceptance.
    Evaluation,
    /// 整改: rectification after an evaluation or a zombie finding.
    Rectification,
    /// 停用: stopped (decommissioned).
    Retired,
    /// 不予立项: refused at review or approval.
    Rejected,
}

impl Stage {
    pub const ALL: [Stage; 10] = [
        Stage::Proposal,
        Stage::Review,
        Stage::Approval,
        Stage::Construction,
        Stage::Acceptance,
        Stage::Operation,
        Stage::Evaluation,
        Stage::Rectification,
        Stage::Retired,
        Stage::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Proposal => "proposal",
            Stage::Review => "review",
            Stage::Approval => "approval",
            Stage::Construction => "construction",
            Stage::Acceptance => "acceptance",
            Stage::Operation => "operation",
            Stage::Evaluation => "evaluation",
            Stage::Rectification => "rectification",
            Stage::Retired => "retired",
            Stage::Rejected => "rejected",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Stage::Proposal => "储备申报",
            Stage::Review => "专家评审",
            Stage::Approval => "审批立项",
            Stage::Construction => "建设实施",
            Stage::Acceptance => "竣工验收",
            Stage::Operation => "运行维护",
            Stage::Evaluation => "项目后评价",
            Stage::Rectification => "整改",
            Stage::Retired => "停用",
            Stage::Rejected => "不予立项",
        }
    }

    /// Parses the stored name (or the Chinese label); `None` for anything else, so that a
    /// corrupt stored stage is an error, never a default.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s || st.label() == s)
    }

    /// The IT Dashboard's project status for this stage.
    pub fn status(self) -> &'static str {
        match self {
            Stage::Proposal | Stage::Review | Stage::Approval => "not_started",
            Stage::Construction | Stage::Acceptance => "in_progress",
            Stage::Operation | Stage::Evaluation | Stage::Rectification => "completed",
            Stage::Retired => "disposed",
            Stage::Rejected => "canceled",
        }
    }
}

/// A step of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// The department submits its proposal for review.
    Submit,
    /// The review is closed with the experts' combined score (pass → approval).
    CloseReview,
    /// Sent back to the department with a comment (from review or approval).
    Return,
    /// Approved: the project is set up (立项) and construction starts.
    Approve,
    /// Refused (不予立项), with a reason.
    Reject,
    /// Construction is finished: acceptance starts.
    Complete,
    /// The acceptance checklist passed: the system goes into operation.
    Accept,
    /// Post-evaluation starts.
    StartEvaluation,
    /// The evaluation is finished without findings that need rectification.
    FinishEvaluation,
    /// Rectification is ordered (after an evaluation or a zombie finding).
    Rectify,
    /// Rectification is done and re-checked.
    Fixed,
    /// Stopped (停用), after the decommission checklist.
    Retire,
}

impl Transition {
    pub const ALL: [Transition; 12] = [
        Transition::Submit,
        Transition::CloseReview,
        Transition::Return,
        Transition::Approve,
        Transition::Reject,
        Transition::Complete,
        Transition::Accept,
        Transition::StartEvaluation,
        Transition::FinishEvaluation,
        Transition::Rectify,
        Transition::Fixed,
        Transition::Retire,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Submit => "submit",
            Transition::CloseReview => "close_review",
            Transition::Return => "return",
            Transition::Approve => "approve",
            Transition::Reject => "reject",
            Transition::Complete => "complete",
            Transition::Accept => "accept",
            Transition::StartEvaluation => "start_evaluation",
            Transition::FinishEvaluation => "finish_evaluation",
            Transition::Rectify => "rectify",
            Transition::Fixed => "fixed",
            Transition::Retire => "retire",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the department that owns the project takes this step (the others are the
    /// bureau's).
    pub fn by_department(self) -> bool {
        matches!(self, Transition::Submit | Transition::Complete)
    }
}

impl Stage {
    /// The stage `t` leads to from here; `None` when the step is not possible from here.
    pub fn after(self, t: Transition) -> Option<Stage> {
        use Stage::*;
        use Transition::*;
        Some(match (self, t) {
            (Proposal, Submit) => Review,
            (Review, CloseReview) => Approval,
            (Review | Approval, Return) => Proposal,
            (Review | Approval, Reject) => Rejected,
            (Approval, Approve) => Construction,
            (Construction, Complete) => Acceptance,
            (Acceptance, Return) => Construction,
            (Acceptance, Accept) => Operation,
            (Operation, StartEvaluation) => Evaluation,
            (Evaluation, FinishEvaluation) => Operation,
            (Operation | Evaluation, Rectify) => Rectification,
            (Rectification, Fixed) => Operation,
            (Operation | Rectification | Evaluation, Retire) => Retired,
            _ => return None,
        })
    }
}

/// The kinds of documents attached to a project's stages.
pub const DOCUMENT_KINDS: &[(&str, &str)] = &[
    ("proposal", "项目申报书"),
    ("feasibility", "可行性研究报告"),
    ("review_opinion", "专家评审意见"),
    ("approval", "立项批复"),
    ("contract", "建设合同"),
    ("progress", "进度报告"),
    ("acceptance", "验收报告"),
    ("financial_audit", "财务审计报告"),
    ("archive", "档案移交清单"),
    ("evaluation", "后评价报告"),
    ("rectification", "整改报告"),
    ("decommission", "停用报告"),
    ("other", "其他"),
];

/// The label of a document kind, `None` for an unknown kind.
pub fn document_kind(kind: &str) -> Option<&'static str> {
    DOCUMENT_KINDS.iter().find(|(k, _)| *k == kind).map(|(_, l)| *l)
}

/// What the gates are decided on; the service gathers it from the store, the catalog and
/// the exchange's own records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GateFacts {
    /// Kinds of the documents attached to the project.
    pub documents: Vec<String>,
    /// Proposal fields.
    pub name: String,
    pub purpose: String,
    pub budget: i64,
    pub funding_source: String,
    /// Experts assigned to the review, and those who have scored.
    pub experts_assigned: usize,
    pub experts_scored: usize,
    /// The experts' combined score (0–100), once any scored.
    pub review_score: Option<f64>,
    /// The review's pass mark.
    pub pass_mark: f64,
    /// Catalog entries the project registered as data it will produce.
    pub produces: usize,
    /// Whether the project declared the shared data it will consume (possibly none, with a
    /// reason), and how many catalog entries it named.
    pub consumption_declared: bool,
    /// Inventory systems found doing the same as a system the project builds, and whether
    /// the reviewer recorded why a new one is needed (集约利旧).
    pub similar_systems: usize,
    pub reuse_reason: bool,
    /// Milestones, and those without an actual finish date.
    pub milestones: usize,
    pub milestones_open: usize,
    /// Acceptance checklist: items (technical, financial, archive, effectiveness), those
    /// not yet passed.
    pub checklist_open: Vec<String>,
    /// Promised catalog entries whose data was never shared (no library table with rows,
    /// or no grant or interface call in the exchange's records).
    pub promised_not_shared: Vec<String>,
    /// Decommission checklist items not yet done (data archived, entries delisted or
    /// moved, grants revoked).
    pub decommission_open: Vec<String>,
    /// A comment given with the step (required to return, reject or rectify).
    pub comment: String,
}

impl GateFacts {
    fn has(&self, kind: &str) -> bool {
        self.documents.iter().any(|d| d == kind)
    }
}

/// Checks the gate of step `t` from `from`: every problem, each naming its field.
pub fn check_gate(from: Stage, t: Transition, f: &GateFacts) -> Result<Stage, FieldErrors> {
    let mut e = FieldErrors::default();
    let Some(to) = from.after(t) else {
        e.add("transition", format!("{} 阶段不能执行 {}", from.label(), t.as_str()));
        return Err(e);
    };
    let need_doc = |e: &mut FieldErrors, kind: &str| {
        if !f.has(kind) {
            e.add(format!("documents.{kind}"), format!("缺少{}", document_kind(kind).unwrap_or(kind)));
        }
    };
    match t {
        Transition::Submit => {
            if f.name.trim().is_empty() {
                e.add("name", "项目名称不能为空");
            }
            if f.purpose.trim().is_empty() {
                e.add("purpose", "建设目标不能为空");
            }
            if f.budget <= 0 {
                e.add("budget", "预算须大于零");
            }
            if f.funding_source.trim().is_empty() {
                e.add("funding_source", "资金来源不能为空");
            }
            need_doc(&mut e, "proposal");
        }
        Transition::CloseReview => {
            if f.experts_assigned == 0 {
                e.add("experts", "尚未指定评审专家");
            } else if f.experts_scored < f.experts_assigned {
                e.add(
                    "experts",
                    format!("{} 位专家中 {} 位尚未评分", f.experts_assigned, f.experts_assigned - f.experts_scored),
                );
            }
            match f.review_score {
                Some(s) if s < f.pass_mark => {
                    e.add("review_score", format!("评审得分 {s:.1} 低于合格线 {:.0}，应退回或不予立项", f.pass_mark))
                }
                None if f.experts_assigned > 0 => e.add("review_score", "尚无评审得分"),
                _ => {}
            }
            need_doc(&mut e, "review_opinion");
        }
        Transition::Approve => {
            if f.produces == 0 {
                e.add("data_sharing.produces", "数据共享审查：项目须在目录中登记将产生的数据资源");
            }
            if !f.consumption_declared {
                e.add("data_sharing.consumes", "数据共享审查：项目须列出将使用的共享数据（无则说明理由）");
            }
            if f.similar_systems > 0 && !f.reuse_reason {
                e.add(
                    "reuse_reason",
                    format!("集约利旧：系统清单中有 {} 个功能相近的系统，须记录新建的理由", f.similar_systems),
                );
            }
            need_doc(&mut e, "approval");
        }
        Transition::Complete => {
            if f.milestones == 0 {
                e.add("milestones", "尚无建设里程碑");
            } else if f.milestones_open > 0 {
                e.add("milestones", format!("{} 个里程碑尚未完成", f.milestones_open));
            }
        }
        Transition::Accept => {
            for item in &f.checklist_open {
                e.add(format!("checklist.{item}"), format!("验收项“{}”未通过", checklist_label(item)));
            }
            for entry in &f.promised_not_shared {
                e.add("checklist.effectiveness", format!("承诺共享的数据“{entry}”尚未实际共享"));
            }
            need_doc(&mut e, "acceptance");
        }
        Transition::Retire => {
            for item in &f.decommission_open {
                e.add(format!("decommission.{item}"), format!("停用清单“{}”未完成", decommission_label(item)));
            }
            need_doc(&mut e, "decommission");
        }
        Transition::FinishEvaluation => need_doc(&mut e, "evaluation"),
        Transition::Fixed => need_doc(&mut e, "rectification"),
        Transition::Return | Transition::Reject | Transition::Rectify => {
            if f.comment.trim().is_empty() {
                e.add("comment", "须说明理由");
            }
        }
        Transition::StartEvaluation => {}
    }
    e.into_result(to)
}

/// The acceptance checklist's items (GB/T 42584's construction quality and the city's
/// rules): technical, financial, archive, effectiveness (data actually shared).
pub const CHECKLIST: &[(&str, &str)] = &[
    ("technical", "技术验收"),
    ("financial", "财务验收"),
    ("archive", "档案验收"),
    ("effectiveness", "应用成效（含数据共享）"),
];

pub fn checklist_label(item: &str) -> &str {
    CHECKLIST.iter().find(|(k, _)| *k == item).map(|(_, l)| *l).unwrap_or(item)
}

/// The decommission checklist (a system stopped, or a project retired).
pub const DECOMMISSION: &[(&str, &str)] = &[
    ("data_archived", "数据已归档入库"),
    ("entries_delisted", "目录已下架或移交"),
    ("grants_revoked", "共享授权已撤销"),
];

pub fn decommission_label(item: &str) -> &str {
    DECOMMISSION.iter().find(|(k, _)| *k == item).map(|(_, l)| *l).unwrap_or(item)
}

/// The kinds of information systems in the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemKind {
    Website,
    Oa,
    Email,
    Business,
    PublicService,
    Wechat,
    Microblog,
    App,
    Other,
}

impl SystemKind {
    pub const ALL: [SystemKind; 9] = [
        SystemKind::Website,
        SystemKind::Oa,
        SystemKind::Email,
        SystemKind::Business,
        SystemKind::PublicService,
        SystemKind::Wechat,
        SystemKind::Microblog,
        SystemKind::App,
        SystemKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SystemKind::Website => "website",
            SystemKind::Oa => "oa",
            SystemKind::Email => "email",
            SystemKind::Business => "business",
            SystemKind::PublicService => "public_service",
            SystemKind::Wechat => "wechat",
            SystemKind::Microblog => "microblog",
            SystemKind::App => "app",
            SystemKind::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SystemKind::Website => "政府网站",
            SystemKind::Oa => "OA办公系统",
            SystemKind::Email => "邮箱系统",
            SystemKind::Business => "业务管理系统",
            SystemKind::PublicService => "公共服务系统",
            SystemKind::Wechat => "微信公众号",
            SystemKind::Microblog => "政务微博",
            SystemKind::App => "移动应用",
            SystemKind::Other => "其他",
        }
    }

    /// Parses the stored name, the Chinese label, or the words a bureau's spreadsheet uses
    /// (网站, 公众号, 微博, 邮箱, OA, APP …).
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim();
        if let Some(k) = Self::ALL.into_iter().find(|k| k.as_str() == t || k.label() == t) {
            return Some(k);
        }
        let l = t.to_lowercase();
        Some(match () {
            _ if l.contains("公众号") || l.contains("微信") => SystemKind::Wechat,
            _ if l.contains("微博") => SystemKind::Microblog,
            _ if l.contains("网站") || l.contains("门户") => SystemKind::Website,
            _ if l.contains("邮箱") || l.contains("邮件") || l == "email" => SystemKind::Email,
            _ if l.contains("oa") || l.contains("办公") => SystemKind::Oa,
            _ if l.contains("app") || l.contains("客户端") || l.contains("小程序") => SystemKind::App,
            _ if l.contains("公共服务") || l.contains("服务平台") => SystemKind::PublicService,
            _ if l.contains("业务") || l.contains("管理系统") => SystemKind::Business,
            _ if l.contains("其他") || l.contains("其它") => SystemKind::Other,
            _ => return None,
        })
    }

    /// New-media accounts: judged by their posts rather than by probes.
    pub fn is_new_media(self) -> bool {
        matches!(self, SystemKind::Wechat | SystemKind::Microblog)
    }
}

/// A system's status in the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemStatus {
    InUse,
    Rectifying,
    Stopped,
}

impl SystemStatus {
    pub const ALL: [SystemStatus; 3] = [SystemStatus::InUse, SystemStatus::Rectifying, SystemStatus::Stopped];

    pub fn as_str(self) -> &'static str {
        match self {
            SystemStatus::InUse => "in_use",
            SystemStatus::Rectifying => "rectifying",
            SystemStatus::Stopped => "stopped",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SystemStatus::InUse => "在用",
            SystemStatus::Rectifying => "整改中",
            SystemStatus::Stopped => "已停用",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim();
        Self::ALL.into_iter().find(|k| k.as_str() == t || k.label() == t).or(match t {
            "使用中" | "正常" | "运行" | "运行中" => Some(SystemStatus::InUse),
            "整改" => Some(SystemStatus::Rectifying),
            "停用" | "关停" | "下线" => Some(SystemStatus::Stopped),
            _ => None,
        })
    }
}

/// The security protection level (网络安全等级保护, 等保) 1–5.
pub fn parse_security_level(s: &str) -> Option<u8> {
    let t = s.trim().trim_start_matches("等保").trim_end_matches('级');
    let n = match t {
        "一" | "1" | "１" => 1,
        "二" | "2" | "２" => 2,
        "三" | "3" | "３" => 3,
        "四" | "4" | "４" => 4,
        "五" | "5" | "５" => 5,
        _ => return None,
    };
    Some(n)
}

#[cfg(test)]
mod tests;
