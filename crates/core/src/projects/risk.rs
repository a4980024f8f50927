//! The portfolio's risk rating, as the US IT Dashboard's CIO rating: 1 (high risk) to 5
//! (low), computed from cost variance (% bands), schedule variance (days-behind bands),
//! overdue gates and the zombie verdicts of the project's systems; the worst factor
//! decides. An operator may override it with a comment (the service keeps the history).

use serde::{Deserialize, Serialize};

use super::zombie::Severity;

/// What the rating is computed from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RiskFacts {
    /// Cost variance in percent: (actual or forecast − planned) / planned × 100.
    pub cost_variance_pct: f64,
    /// Days the latest milestone (actual, else forecast) is behind its plan.
    pub schedule_variance_days: i64,
    /// Deadlines of the lifecycle passed without the step.
    pub overdue_gates: usize,
    /// The worst zombie verdict among its systems.
    pub worst_system: Option<Severity>,
}

/// A rating with the factor that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub rating: u8,
    pub reasons: Vec<String>,
}

/// The cost variance band's rating: within 5% → 5, 10% → 4, 20% → 3, 30% → 2, more → 1.
fn cost_band(pct: f64) -> u8 {
    match pct.abs() {
        p if p < 5.0 => 5,
        p if p < 10.0 => 4,
        p if p < 20.0 => 3,
        p if p < 30.0 => 2,
        _ => 1,
    }
}

/// The schedule band's rating: on time → 5, 30 days behind → 4, 90 → 3, 180 → 2, more → 1.
fn schedule_band(days: i64) -> u8 {
    match days {
        d if d <= 0 => 5,
        d if d <= 30 => 4,
        d if d <= 90 => 3,
        d if d <= 180 => 2,
        _ => 1,
    }
}

/// Rates a project: the lowest of its factors' ratings, with each factor that lowered it.
pub fn rate(f: &RiskFacts) -> Rating {
    let mut factors: Vec<(u8, String)> = vec![
        (cost_band(f.cost_variance_pct), format!("成本偏差 {:+.1}%", f.cost_variance_pct)),
        (schedule_band(f.schedule_variance_days), format!("进度偏差 {} 天", f.schedule_variance_days)),
    ];
    factors.push(match f.overdue_gates {
        0 => (5, "无逾期环节".into()),
        1 => (3, "1 个环节逾期".into()),
        n => (2, format!("{n} 个环节逾期")),
    });
    factors.push(match f.worst_system {
        Some(Severity::Zombie) => (1, "所建系统被判定为僵尸系统".into()),
        Some(Severity::SemiZombie) => (2, "所建系统被判定为半僵尸系统".into()),
        _ => (5, "系统运行正常".into()),
    });
    let rating = factors.iter().map(|(r, _)| *r).min().unwrap_or(5);
    let reasons = factors.into_iter().filter(|(r, _)| *r < 5).map(|(_, why)| why).collect();
    Rating { rating, reasons }
}

/// A rating entered by an operator must be 1–5 with a comment.
pub fn check_override(rating: i64, comment: &str) -> Result<u8, crate::FieldErrors> {
    let mut e = crate::FieldErrors::default();
    if !(1..=5).contains(&rating) {
        e.add("rating", "风险等级须为 1（高）到 5（低）");
    }
    if comment.trim().is_empty() {
        e.add("comment", "调整风险等级须说明理由");
    }
    e.into_result(rating as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_factor_decides_and_is_named() {
        assert_eq!(rate(&RiskFacts::default()), Rating { rating: 5, reasons: vec![] });
        let r = rate(&RiskFacts { cost_variance_pct: 12.0, schedule_variance_days: 20, ..Default::default() });
        assert_eq!(r.rating, 3);
        assert_eq!(r.reasons, ["成本偏差 +12.0%", "进度偏差 20 天"]);
        assert_eq!(rate(&RiskFacts { schedule_variance_days: 200, ..Default::default() }).rating, 1);
        assert_eq!(rate(&RiskFacts { cost_variance_pct: -29.0, ..Default::default() }).rating, 2);
        assert_eq!(rate(&RiskFacts { overdue_gates: 1, ..Default::default() }).rating, 3);
        let z = rate(&RiskFacts { worst_system: Some(Severity::Zombie), ..Default::default() });
        assert_eq!((z.rating, z.reasons[0].as_str()), (1, "所建系统被判定为僵尸系统"));
    }

    #[test]
    fn an_override_needs_a_rating_in_range_and_a_reason() {
        assert_eq!(check_override(2, "供应商更换").unwrap(), 2);
        let e = check_override(0, " ").unwrap_err();
        assert!(e.get("rating").is_some() && e.get("comment").is_some());
    }
}
