//! Post-evaluation (后评价) indicator trees as data: dimensions, their indicators, weights
//! and scoring guidance, seeded with the dimensions of GB/T 42584-2023. An evaluation round
//! sets the dimension weights (entered, or from an AHP matrix); a project's score is the
//! weighted sum of its indicator scores (0–100).

use serde::{Deserialize, Serialize};

use crate::FieldErrors;

/// One indicator of a dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// Stable key, `dimension.indicator`.
    pub key: String,
    pub name: String,
    /// Weight within its dimension (the dimension's weights sum to 1).
    pub weight: f64,
    /// How to score it.
    pub guidance: String,
    /// Measured by the platform itself (pre-filled from its own records) and how.
    pub measured: Option<Measure>,
}

/// What the platform measures of a project from its own records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Catalog entries the project's systems produce that are listed, against those promised.
    CatalogEntries,
    /// Interfaces published of those entries that were called in the last year.
    InterfaceCalls,
    /// Availability of the systems' URLs by the probes.
    Uptime,
    /// Response time of the probes.
    Response,
}

/// A dimension (一级指标) with its indicators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dimension {
    pub key: String,
    pub name: String,
    /// Weight of the dimension in the total (the dimensions' weights sum to 1).
    pub weight: f64,
    pub indicators: Vec<Indicator>,
}

/// An indicator tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub dimensions: Vec<Dimension>,
}

fn ind(key: &str, name: &str, weight: f64, guidance: &str, measured: Option<Measure>) -> Indicator {
    Indicator { key: key.into(), name: name.into(), weight, guidance: guidance.into(), measured }
}

/// The seed tree: GB/T 42584-2023's four dimensions, with equal-ish default weights that a
/// round replaces.
pub fn gbt_42584() -> Tree {
    use Measure::*;
    Tree {
        dimensions: vec![
            Dimension {
                key: "construction".into(),
                name: "建设质量".into(),
                weight: 0.3,
                indicators: vec![
                    ind("construction.management", "项目管理", 0.3, "制度、进度、变更与档案是否规范", None),
                    ind(
                        "construction.data_sharing",
                        "数据共享",
                        0.4,
                        "承诺的目录是否上架、是否被共享使用（平台记录预填）",
                        Some(CatalogEntries),
                    ),
                    ind("construction.resources", "资源利用", 0.15, "是否集约利旧、复用云与平台资源", None),
                    ind("construction.security", "安全保障", 0.15, "等保测评、密码应用、漏洞整改", None),
                ],
            },
            Dimension {
                key: "operation".into(),
                name: "运行维护".into(),
                weight: 0.2,
                indicators: vec![
                    ind("operation.availability", "可用性", 0.4, "探测可达率（平台探测预填）", Some(Uptime)),
                    ind("operation.reliability", "可靠性", 0.3, "故障次数与恢复时长", None),
                    ind("operation.response", "响应", 0.3, "探测响应时间与运维响应（平台探测预填）", Some(Response)),
                ],
            },
            Dimension {
                key: "effect".into(),
                name: "应用效果".into(),
                weight: 0.3,
                indicators: vec![
                    ind(
                        "effect.function_use",
                        "功能使用",
                        0.4,
                        "接口调用与功能使用情况（平台记录预填）",
                        Some(InterfaceCalls),
                    ),
                    ind("effect.satisfaction", "用户满意度", 0.3, "用户满意度调查", None),
                    ind("effect.activity", "用户活跃度", 0.3, "活跃用户数与使用频次", None),
                ],
            },
            Dimension {
                key: "benefit".into(),
                name: "经济社会效益".into(),
                weight: 0.2,
                indicators: vec![
                    ind("benefit.economic", "经济效益", 0.5, "节约的成本、带动的收益", None),
                    ind("benefit.social", "社会效益", 0.5, "办事效率、群众获得感", None),
                ],
            },
        ],
    }
}

impl Tree {
    /// Checks the tree: keys unique, weights positive and summing to 1 (per level).
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        if self.dimensions.is_empty() {
            e.add("dimensions", "指标体系至少有一个维度");
        }
        let mut seen = std::collections::HashSet::new();
        let sum: f64 = self.dimensions.iter().map(|d| d.weight).sum();
        if (sum - 1.0).abs() > 1e-6 {
            e.add("dimensions.weight", format!("维度权重之和为 {sum:.4}，应为 1"));
        }
        for (i, d) in self.dimensions.iter().enumerate() {
            if !seen.insert(d.key.clone()) {
                e.add(format!("dimensions[{i}].key"), format!("重复的键 {}", d.key));
            }
            if d.weight.is_nan() || d.weight <= 0.0 {
                e.add(format!("dimensions[{i}].weight"), "权重须大于零");
            }
            if d.indicators.is_empty() {
                e.add(format!("dimensions[{i}].indicators"), "每个维度至少有一个指标");
            }
            let s: f64 = d.indicators.iter().map(|x| x.weight).sum();
            if !d.indicators.is_empty() && (s - 1.0).abs() > 1e-6 {
                e.add(format!("dimensions[{i}].indicators"), format!("“{}”的指标权重之和为 {s:.4}，应为 1", d.name));
            }
            for (j, x) in d.indicators.iter().enumerate() {
                if !seen.insert(x.key.clone()) {
                    e.add(format!("dimensions[{i}].indicators[{j}].key"), format!("重复的键 {}", x.key));
                }
                if x.weight.is_nan() || x.weight <= 0.0 {
                    e.add(format!("dimensions[{i}].indicators[{j}].weight"), "权重须大于零");
                }
            }
        }
        e.into_result(())
    }

    /// The tree with these dimension weights (in dimension order).
    pub fn with_weights(mut self, weights: &[f64]) -> Result<Tree, FieldErrors> {
        if weights.len() != self.dimensions.len() {
            let mut e = FieldErrors::default();
            e.add("weights", format!("给出 {} 个权重，应为 {} 个", weights.len(), self.dimensions.len()));
            return Err(e);
        }
        for (d, w) in self.dimensions.iter_mut().zip(weights) {
            d.weight = *w;
        }
        self.validate()?;
        Ok(self)
    }

    /// Every indicator's key with its weight in the total (dimension × indicator).
    pub fn overall_weights(&self) -> Vec<(&str, f64)> {
        self.dimensions
            .iter()
            .flat_map(|d| d.indicators.iter().map(move |x| (x.key.as_str(), d.weight * x.weight)))
            .collect()
    }

    /// The total of `scores` (indicator key → 0–100): the weighted sum, when every
    /// indicator is scored; each missing or out-of-range score is named.
    pub fn total(&self, scores: &std::collections::BTreeMap<String, f64>) -> Result<Score, FieldErrors> {
        let mut e = FieldErrors::default();
        for k in scores.keys() {
            if !self.overall_weights().iter().any(|(key, _)| key == k) {
                e.add(format!("scores.{k}"), "不是本指标体系的指标");
            }
        }
        let mut total = 0.0;
        let mut by_dimension = Vec::new();
        for d in &self.dimensions {
            let mut sum = 0.0;
            for x in &d.indicators {
                match scores.get(&x.key) {
                    Some(s) if (0.0..=100.0).contains(s) => sum += x.weight * s,
                    Some(_) => e.add(format!("scores.{}", x.key), "得分须在 0 到 100 之间"),
                    None => e.add(format!("scores.{}", x.key), format!("“{}”尚未评分", x.name)),
                }
            }
            by_dimension.push((d.key.clone(), round2(sum)));
            total += d.weight * sum;
        }
        // Totals are kept to two decimals, so that 90 on every indicator is 90 (优秀), not
        // 89.99999999999999 (良好) by the weights' rounding.
        let total = round2(total);
        e.into_result(Score { total, grade: grade(total), by_dimension })
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A project's evaluation result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub total: f64,
    pub grade: &'static str,
    /// Each dimension's own score (0–100).
    pub by_dimension: Vec<(String, f64)>,
}

/// The grade of a total: 优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60, else 不合格.
pub fn grade(total: f64) -> &'static str {
    match total {
        t if t >= 90.0 => "优秀",
        t if t >= 80.0 => "良好",
        t if t >= 60.0 => "合格",
        _ => "不合格",
    }
}

/// The expert review's indicator sheet (评审指标表): key, name, weight (summing to 1).
pub const REVIEW_SHEET: &[(&str, &str, f64)] = &[
    ("necessity", "建设必要性", 0.25),
    ("feasibility", "技术可行性", 0.20),
    ("data_sharing", "数据共享与业务协同", 0.20),
    ("reuse", "集约利旧", 0.15),
    ("investment", "投资合理性", 0.10),
    ("security", "安全保障", 0.10),
];

/// An expert's score from the review sheet (each item 0–100): the weighted sum, to two
/// decimals; every missing, unknown or out-of-range item is named (`sheet.<key>`).
pub fn review_score(sheet: &std::collections::BTreeMap<String, f64>) -> Result<f64, FieldErrors> {
    let mut e = FieldErrors::default();
    for k in sheet.keys() {
        if !REVIEW_SHEET.iter().any(|(key, _, _)| key == k) {
            e.add(format!("sheet.{k}"), "不是评审指标表的项目");
        }
    }
    let mut total = 0.0;
    for (key, name, weight) in REVIEW_SHEET {
        match sheet.get(*key) {
            Some(v) if (0.0..=100.0).contains(v) => total += weight * v,
            Some(_) => e.add(format!("sheet.{key}"), format!("“{name}”得分须在 0 到 100 之间")),
            None => e.add(format!("sheet.{key}"), format!("“{name}”尚未评分")),
        }
    }
    e.into_result(round2(total))
}

/// The combined score of a review from the experts' scores: the mean, dropping the
/// highest and the lowest when five or more experts scored (the usual rule of expert
/// panels, so one outlier does not decide).
pub fn combine_expert_scores(scores: &[f64]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let mut s = scores.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let kept = if s.len() >= 5 { &s[1..s.len() - 1] } else { &s[..] };
    Some(kept.iter().sum::<f64>() / kept.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_seed_tree_is_valid_and_weights_to_one() {
        let t = gbt_42584();
        t.validate().unwrap();
        let sum: f64 = t.overall_weights().iter().map(|(_, w)| w).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        assert_eq!(
            t.dimensions.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
            ["建设质量", "运行维护", "应用效果", "经济社会效益"]
        );
    }

    #[test]
    fn a_total_is_the_weighted_sum_and_gaps_are_named() {
        let t = gbt_42584().with_weights(&[0.4, 0.2, 0.2, 0.2]).unwrap();
        let mut scores: BTreeMap<String, f64> =
            t.overall_weights().iter().map(|(k, _)| (k.to_string(), 80.0)).collect();
        let s = t.total(&scores).unwrap();
        assert!((s.total - 80.0).abs() < 1e-9 && s.grade == "良好");
        // Weights that do not add up exactly in binary still give a grade's boundary exactly.
        let thirds = gbt_42584().with_weights(&[1.0 / 3.0, 1.0 / 6.0, 1.0 / 3.0, 1.0 / 6.0]).unwrap();
        let nineties: BTreeMap<String, f64> =
            thirds.overall_weights().iter().map(|(k, _)| (k.to_string(), 90.0)).collect();
        assert_eq!(thirds.total(&nineties).unwrap().total, 90.0);
        assert_eq!(thirds.total(&nineties).unwrap().grade, "优秀");
        scores.insert("construction.data_sharing".into(), 30.0);
        // 0.4 × (0.4 × 30 + 0.6 × 80) + 0.6 × 80 = 0.4 × 60 + 48 = 72
        let s = t.total(&scores).unwrap();
        assert!((s.total - 72.0).abs() < 1e-9, "{}", s.total);
        assert_eq!(s.grade, "合格");
        scores.remove("benefit.social");
        scores.insert("effect.activity".into(), 120.0);
        scores.insert("nosuch".into(), 1.0);
        let e = t.total(&scores).unwrap_err();
        assert!(e.get("scores.benefit.social").unwrap().contains("尚未评分"));
        assert!(e.get("scores.effect.activity").is_some() && e.get("scores.nosuch").is_some());
        assert!(gbt_42584().with_weights(&[0.5, 0.5, 0.5, 0.5]).unwrap_err().get("dimensions.weight").is_some());
        assert!(gbt_42584().with_weights(&[1.0]).unwrap_err().get("weights").is_some());
    }

    #[test]
    fn an_expert_scores_every_item_of_the_review_sheet() {
        let full: BTreeMap<String, f64> = REVIEW_SHEET.iter().map(|(k, _, _)| (k.to_string(), 80.0)).collect();
        assert_eq!(review_score(&full), Ok(80.0));
        let sum: f64 = REVIEW_SHEET.iter().map(|(_, _, w)| w).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        let mut bad = full.clone();
        bad.remove("reuse");
        bad.insert("security".into(), 101.0);
        bad.insert("looks".into(), 50.0);
        let e = review_score(&bad).unwrap_err();
        for f in ["sheet.reuse", "sheet.security", "sheet.looks"] {
            assert!(e.get(f).is_some(), "{f}: {e}");
        }
    }

    #[test]
    fn expert_scores_drop_the_extremes_of_five_or_more() {
        assert_eq!(combine_expert_scores(&[]), None);
        assert_eq!(combine_expert_scores(&[70.0, 80.0]), Some(75.0));
        assert_eq!(combine_expert_scores(&[10.0, 80.0, 82.0, 78.0, 100.0]), Some(80.0));
    }
}
