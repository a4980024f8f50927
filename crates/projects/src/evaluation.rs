//! Post-evaluation rounds (后评价): a round fixes the indicator tree's weights (entered, or
//! from an AHP pairwise matrix whose consistency is checked); departments evaluate their
//! own projects, the evaluation body the sample it evaluates (third-party and on-site);
//! indicators the platform measures are pre-filled from its own records; the round's
//! report gathers every project's totals.

use std::collections::BTreeMap;

use serde::Serialize;
use tongshu_core::policy::Principal;
use tongshu_core::projects::evaluation::{Measure, Tree, gbt_42584};
use tongshu_core::projects::{Stage, ahp};
use tongshu_store::{EvaluationRecord, RoundRecord};

use crate::{ProjectsError, ProjectsService, Result, forbidden, invalid};

/// The kinds of evaluation, in the order a final result prefers them.
pub const KINDS: [(&str, &str); 3] = [("on_site", "现场评价"), ("third_party", "第三方评价"), ("self", "单位自评")];

/// Scores the platform measured for a project, with how.
#[derive(Debug, Clone, Serialize)]
pub struct Prefill {
    pub scores: BTreeMap<String, f64>,
    pub notes: BTreeMap<String, String>,
}

/// One project's line in a round's report.
#[derive(Debug, Clone, Serialize)]
pub struct RoundRow {
    pub project_id: i64,
    pub code: String,
    pub name: String,
    pub org_id: i64,
    /// Total per kind of evaluation.
    pub totals: BTreeMap<String, f64>,
    /// The final total: on-site, else third-party, else self.
    pub total: Option<f64>,
    pub grade: Option<String>,
    /// Each dimension's score in the final evaluation.
    pub by_dimension: Vec<(String, f64)>,
}

/// A round's report.
#[derive(Debug, Clone, Serialize)]
pub struct RoundReport {
    pub round: RoundRecord,
    pub tree: Tree,
    pub rows: Vec<RoundRow>,
    pub evaluated: usize,
    pub on_site: usize,
    pub by_grade: BTreeMap<String, usize>,
    pub average: Option<f64>,
}

fn tree_of(r: &RoundRecord) -> Result<Tree> {
    serde_json::from_str(&r.tree)
        .map_err(|e| ProjectsError::Store(tongshu_store::StoreError::Corrupt(format!("round {}: {e}", r.id))))
}

impl ProjectsService {
    /// Opens a round (the bureau) with the dimension weights given directly or derived from
    /// a pairwise matrix (refused when its consistency ratio is 0.1 or more).
    pub async fn create_round(
        &self,
        who: &Principal,
        name: &str,
        year: i64,
        weights: Option<Vec<f64>>,
        matrix: Option<Vec<Vec<f64>>>,
    ) -> Result<RoundRecord> {
        if !who.manages_projects() {
            return Err(forbidden("only the bureau opens evaluation rounds"));
        }
        if name.trim().is_empty() {
            return Err(invalid("name", "轮次名称不能为空"));
        }
        let (weights, cr) = match (weights, &matrix) {
            (Some(_), Some(_)) => return Err(invalid("weights", "给出权重或判断矩阵之一")),
            (Some(w), None) => (w, None),
            (None, Some(m)) => {
                let w = ahp::weigh(m)?;
                (w.weights, Some(w.consistency_ratio))
            }
            (None, None) => (gbt_42584().dimensions.iter().map(|d| d.weight).collect(), None),
        };
        let tree = gbt_42584().with_weights(&weights)?;
        let tree_json = serde_json::to_string(&tree).map_err(|e| ProjectsError::Input(e.to_string()))?;
        let matrix_json = matrix.map(|m| serde_json::to_string(&m).unwrap_or_default());
        Ok(self.store.insert_round(name.trim(), year, &tree_json, matrix_json.as_deref(), cr, &who.username).await?)
    }

    pub async fn rounds(&self) -> Result<Vec<RoundRecord>> {
        Ok(self.store.list_rounds().await?)
    }

    /// The scores the platform measures of a project (its promised entries listed, called;
    /// its systems' probes over the last 30 days).
    pub async fn prefill(&self, who: &Principal, project_id: i64) -> Result<Prefill> {
        let p = self.readable(who, project_id).await?;
        let mut scores = BTreeMap::new();
        let mut notes = BTreeMap::new();
        let entries = self.store.project_entries(p.id).await?;
        let mut listed = 0;
        let mut called = 0;
        for e in &entries {
            let f = self.store.entry_facts(*e).await?;
            listed += usize::from(f.status == "listed" && f.rows > 0);
            called += usize::from(f.calls > 0 || f.grants > 0);
        }
        let systems: Vec<_> =
            self.store.list_systems(None).await?.into_iter().filter(|s| s.project_id == Some(p.id)).collect();
        let mut probes = Vec::new();
        for s in &systems {
            probes.extend(self.store.probes_since(s.id, tongshu_core::now().unix_timestamp() - 30 * 86_400).await?);
        }
        for d in gbt_42584().dimensions {
            for x in d.indicators {
                let Some(m) = x.measured else { continue };
                let (score, note) = match m {
                    Measure::CatalogEntries if !entries.is_empty() => (
                        100.0 * listed as f64 / entries.len() as f64,
                        format!("承诺 {} 个目录，{listed} 个已上架且有数据", entries.len()),
                    ),
                    Measure::InterfaceCalls if !entries.is_empty() => {
                        (100.0 * called as f64 / entries.len() as f64, format!("{called} 个目录被授权或调用"))
                    }
                    Measure::Uptime if !probes.is_empty() => {
                        let ok = probes.iter().filter(|p| p.ok == 1).count();
                        (100.0 * ok as f64 / probes.len() as f64, format!("30 天 {} 次探测，{ok} 次可达", probes.len()))
                    }
                    Measure::Response if !probes.is_empty() => {
                        let mean = probes.iter().map(|p| p.ms).sum::<i64>() as f64 / probes.len() as f64;
                        let s = match mean {
                            m if m <= 1000.0 => 100.0,
                            m if m <= 3000.0 => 80.0,
                            m if m <= 10000.0 => 60.0,
                            _ => 40.0,
                        };
                        (s, format!("平均响应 {mean:.0} 毫秒"))
                    }
                    _ => continue,
                };
                scores.insert(x.key.clone(), (score * 10.0).round() / 10.0);
                notes.insert(x.key, note);
            }
        }
        Ok(Prefill { scores, notes })
    }

    /// Records an evaluation of `kind` (self: the project's department; third_party and
    /// on_site: the evaluation body or the bureau) with a score for every indicator.
    pub async fn evaluate(
        &self,
        who: &Principal,
        round_id: i64,
        project_id: i64,
        kind: &str,
        scores: BTreeMap<String, f64>,
        comment: &str,
    ) -> Result<EvaluationRecord> {
        let round = self.store.get_round(round_id).await?;
        let p = self.readable(who, project_id).await?;
        let allowed = match kind {
            "self" => who.proposes_for(p.org_id),
            "third_party" | "on_site" => who.evaluates_projects(),
            other => return Err(invalid("kind", format!("{other:?}: 须为 self、third_party 或 on_site"))),
        };
        if !allowed {
            return Err(forbidden(
                "self-evaluations are the department's; third-party and on-site ones the evaluation body's",
            ));
        }
        if !matches!(p.stage, Stage::Operation | Stage::Evaluation | Stage::Rectification) {
            return Err(ProjectsError::Conflict(format!(
                "a project is evaluated after acceptance ({})",
                p.stage.label()
            )));
        }
        let score = tree_of(&round)?.total(&scores)?;
        let json = serde_json::to_string(&scores).map_err(|e| ProjectsError::Input(e.to_string()))?;
        self.store
            .put_evaluation(round_id, project_id, kind, &json, score.total, score.grade, comment.trim(), &who.username)
            .await?;
        self.store
            .add_project_event(
                project_id,
                p.stage,
                "evaluation",
                &who.username,
                &format!("{kind} {:.1} {}", score.total, score.grade),
            )
            .await?;
        self.store
            .evaluations(round_id)
            .await?
            .into_iter()
            .find(|e| e.project_id == project_id && e.kind == kind)
            .ok_or_else(|| ProjectsError::NotFound("evaluation".into()))
    }

    /// The round's report: every evaluated project's totals, the final one, grades. The
    /// bureau, auditors and the evaluation body see every project; a department its own.
    pub async fn round_report(&self, who: &Principal, round_id: i64) -> Result<RoundReport> {
        self.round_report_of(who, round_id).await
    }

    /// The round's report as an XLSX workbook (see [`crate::round_xlsx`]).
    pub async fn round_report_xlsx(&self, who: &Principal, round_id: i64) -> Result<Vec<u8>> {
        let r = self.round_report_of(who, round_id).await?;
        tokio::task::spawn_blocking(move || crate::round_xlsx(&r))
            .await
            .map_err(|e| ProjectsError::Io(e.to_string()))?
    }

    async fn round_report_of(&self, who: &Principal, round_id: i64) -> Result<RoundReport> {
        let round = self.store.get_round(round_id).await?;
        let tree = tree_of(&round)?;
        let mut evals = self.store.evaluations(round_id).await?;
        if !who.reads_all_projects() {
            let mine: std::collections::HashSet<i64> = self.list(who).await?.into_iter().map(|p| p.id).collect();
            evals.retain(|e| mine.contains(&e.project_id));
        }
        let mut rows: BTreeMap<i64, RoundRow> = BTreeMap::new();
        for e in &evals {
            if !rows.contains_key(&e.project_id) {
                let p = self.store.get_project(e.project_id).await?;
                rows.insert(
                    p.id,
                    RoundRow {
                        project_id: p.id,
                        code: p.code,
                        name: p.name,
                        org_id: p.org_id,
                        totals: BTreeMap::new(),
                        total: None,
                        grade: None,
                        by_dimension: Vec::new(),
                    },
                );
            }
            if let Some(r) = rows.get_mut(&e.project_id) {
                r.totals.insert(e.kind.clone(), e.total);
            }
        }
        for r in rows.values_mut() {
            let final_kind = KINDS.iter().map(|(k, _)| *k).find(|k| r.totals.contains_key(*k));
            if let Some(k) = final_kind
                && let Some(e) = evals.iter().find(|e| e.project_id == r.project_id && e.kind == k)
            {
                let scores: BTreeMap<String, f64> = serde_json::from_str(&e.scores).map_err(|err| {
                    ProjectsError::Store(tongshu_store::StoreError::Corrupt(format!("evaluation {}: {err}", e.id)))
                })?;
                let s = tree.total(&scores)?;
                r.total = Some(s.total);
                r.grade = Some(s.grade.to_owned());
                r.by_dimension = s.by_dimension;
            }
        }
        let rows: Vec<RoundRow> = rows.into_values().collect();
        let mut by_grade = BTreeMap::new();
        for r in &rows {
            if let Some(g) = &r.grade {
                *by_grade.entry(g.clone()).or_insert(0) += 1;
            }
        }
        let finals: Vec<f64> = rows.iter().filter_map(|r| r.total).collect();
        Ok(RoundReport {
            evaluated: rows.len(),
            on_site: rows.iter().filter(|r| r.totals.contains_key("on_site")).count(),
            average: (!finals.is_empty()).then(|| finals.iter().sum::<f64>() / finals.len() as f64),
            by_grade,
            rows,
            tree,
            round,
        })
    }
}
