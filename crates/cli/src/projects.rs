//! The `systems` and `projects` subcommands: importing the bureau's list of information
//! systems, probing and checking them, and the projects' reports.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use tongshu_projects::ProjectsService;
use tongshu_store::MetaStore;

use crate::Common;

/// Who acts, and how the answer is written.
#[derive(Args)]
pub struct Acting {
    #[command(flatten)]
    pub common: Common,
    /// Act as this user (default: the first platform administrator).
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_user: Option<String>,
    /// Write JSON instead of lines for people.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum SystemsCmd {
    /// Import the bureau's spreadsheet of information systems (XLSX/XLS, or CSV/TSV in
    /// UTF-8, GBK or GB18030): every readable row is added, every other row reported with
    /// its row, column, value and reason. Columns are found by their headers (系统名称,
    /// 系统类型, 主管部门, 建设项目, 承建单位, 年运维费用（元 or 万元）, 访问地址, 部署方式,
    /// 等保级别, 状态, 使用对象, 主要功能, 最近发布).
    Import {
        #[command(flatten)]
        acting: Acting,
        /// The spreadsheet.
        file: std::path::PathBuf,
    },
    /// List the systems with their status and last verdict.
    List(Acting),
    /// Probe every system's URLs now (reachable, status, time, page hash).
    Probe(Acting),
    /// Judge every system by the zombie rules; findings open rectification tickets.
    Check(Acting),
}

#[derive(Subcommand)]
pub enum ProjectsCmd {
    /// List the projects with stage, budget, spent, variances and risk rating.
    List(Acting),
    /// Write an evaluation round's report: XLSX (with a chart), or JSON with --json.
    Report {
        #[command(flatten)]
        acting: Acting,
        /// The round's id (`tongshu projects rounds`).
        round: i64,
        /// Where to write the workbook.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
    /// List the evaluation rounds.
    Rounds(Acting),
}

impl SystemsCmd {
    pub fn common(&self) -> &Common {
        match self {
            SystemsCmd::Import { acting, .. } => &acting.common,
            SystemsCmd::List(a) | SystemsCmd::Probe(a) | SystemsCmd::Check(a) => &a.common,
        }
    }
}

impl ProjectsCmd {
    pub fn common(&self) -> &Common {
        match self {
            ProjectsCmd::Report { acting, .. } => &acting.common,
            ProjectsCmd::List(a) | ProjectsCmd::Rounds(a) => &a.common,
        }
    }
}

fn json(v: impl serde::Serialize) -> Result<()> {
    say!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

pub async fn systems(cmd: SystemsCmd, store: MetaStore, svc: ProjectsService) -> Result<()> {
    match cmd {
        SystemsCmd::Import { acting, file } => {
            if !file.is_file() {
                bail!("{}: no such file", file.display());
            }
            let who = crate::library::principal(&store, acting.as_user.as_deref()).await?;
            let report = svc.import_systems(&who, &file).await?;
            if acting.json {
                return json(&report);
            }
            say!(
                "{}: {} rows, {} systems added, {} rows refused",
                report.file,
                report.rows,
                report.added.len(),
                report.refused.len()
            );
            for r in &report.refused {
                say!(
                    "  row {}{}{}: {}",
                    r.row,
                    r.column.as_deref().map(|c| format!(", column {c}")).unwrap_or_default(),
                    r.value.as_deref().filter(|v| !v.is_empty()).map(|v| format!(" = {v:?}")).unwrap_or_default(),
                    r.reason
                );
            }
            if !report.ignored_columns.is_empty() {
                say!("  columns not read: {}", report.ignored_columns.join(", "));
            }
            Ok(())
        }
        SystemsCmd::List(a) => {
            let who = crate::library::principal(&store, a.as_user.as_deref()).await?;
            let all = svc.systems(&who).await?;
            if a.json {
                return json(&all);
            }
            say!("{:>5} {:<12} {:<10} {:<8} name", "id", "kind", "status", "verdict");
            for s in all {
                say!(
                    "{:>5} {:<12} {:<10} {:<8} {}",
                    s.id,
                    s.kind.as_str(),
                    s.status.as_str(),
                    s.verdict.map(|v| v.as_str()).unwrap_or("-"),
                    s.name
                );
            }
            Ok(())
        }
        SystemsCmd::Probe(a) => {
            let who = crate::library::principal(&store, a.as_user.as_deref()).await?;
            let probes = svc.probe_all(&who).await?;
            if a.json {
                return json(&probes);
            }
            for p in probes {
                say!(
                    "{} {} {} ms{}",
                    if p.ok { "ok  " } else { "FAIL" },
                    p.url,
                    p.ms,
                    p.status.map(|s| format!(" HTTP {s}")).or(p.error.map(|e| format!(" {e}"))).unwrap_or_default()
                );
            }
            Ok(())
        }
        SystemsCmd::Check(a) => {
            let who = crate::library::principal(&store, a.as_user.as_deref()).await?;
            let checked = svc.check_systems(&who).await?;
            if a.json {
                return json(&checked);
            }
            for c in checked {
                say!(
                    "{:<12} {}{}",
                    c.verdict.severity.as_str(),
                    c.name,
                    c.ticket
                        .map(|t| format!(" (ticket {t}{})", if c.new_ticket { ", new" } else { "" }))
                        .unwrap_or_default()
                );
                for f in c.verdict.findings {
                    say!("             {}", f.evidence);
                }
            }
            Ok(())
        }
    }
}

pub async fn projects(cmd: ProjectsCmd, store: MetaStore, svc: ProjectsService) -> Result<()> {
    match cmd {
        ProjectsCmd::List(a) => {
            let who = crate::library::principal(&store, a.as_user.as_deref()).await?;
            let p = svc.portfolio(&who).await?;
            if a.json {
                return json(&p);
            }
            say!(
                "{:<13} {:<8} {:>12} {:>12} {:>7} {:>6} {:>4}  name",
                "code",
                "stage",
                "budget",
                "spent",
                "cost%",
                "days",
                "risk"
            );
            for r in &p.projects {
                say!(
                    "{:<13} {:<8} {:>12} {:>12} {:>7.1} {:>6} {:>4}  {}",
                    r.code,
                    r.stage.as_str(),
                    r.budget,
                    r.spent,
                    r.cost_variance_pct,
                    r.schedule_variance_days,
                    r.rating,
                    r.name
                );
            }
            say!(
                "{} projects ({} reviewed), {} systems ({} zombies, {} semi-zombies now; {} rectified, {} stopped), {} projects evaluated",
                p.totals.projects,
                p.totals.reviewed,
                p.totals.systems,
                p.totals.zombies_now,
                p.totals.semi_zombies_now,
                p.totals.rectified,
                p.totals.systems_stopped,
                p.totals.projects_evaluated
            );
            Ok(())
        }
        ProjectsCmd::Rounds(a) => {
            let rounds = svc.rounds().await?;
            if a.json {
                return json(&rounds);
            }
            for r in rounds {
                say!("{:>4} {} ({})", r.id, r.name, r.year);
            }
            Ok(())
        }
        ProjectsCmd::Report { acting, round, output } => {
            let who = crate::library::principal(&store, acting.as_user.as_deref()).await?;
            if acting.json {
                return json(svc.round_report(&who, round).await?);
            }
            let Some(output) = output else { bail!("--output FILE.xlsx: where to write the workbook (or --json)") };
            let bytes = svc.round_report_xlsx(&who, round).await?;
            std::fs::write(&output, &bytes).map_err(|e| anyhow::anyhow!("{}: {e}", output.display()))?;
            say!("wrote {} ({} bytes)", output.display(), bytes.len());
            Ok(())
        }
    }
}
