//! Zombie-system detection (僵尸系统): signals of a system, measured or entered, judged by
//! a rule set whose thresholds are configuration. The defaults are the State Council's
//! 2017 No. 39 criteria (use detached from the business, replaceable by another system,
//! resources idle, maintenance stopped, narrow and rare use) with the 2019 No. 19 website
//! and new-media inspection figures where they give numbers: a site is unreachable when 5%
//! or more of a week's probes fail or take over 15 s; a homepage unchanged for two weeks;
//! messages unanswered for three months; a new-media account silent for two weeks.
//! "Semi-zombie" has no official definition: its thresholds are their own settings.

use serde::{Deserialize, Serialize};

/// What is known of one system (each `None`: not measured, so that signal says nothing).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Days since the platform last saw the system at work: an interface call by its
    /// apps, a feed into its tables, an update of its catalog entries, a use of its grants.
    pub days_since_activity: Option<i64>,
    /// Of the last week's probes of its URLs: how many, how many failed or took too long.
    pub probes: Option<(u32, u32)>,
    /// Days the homepage's content has not changed (by the probes' page hashes).
    pub days_page_unchanged: Option<i64>,
    /// Days since a new-media account's last post (entered or imported).
    pub days_since_post: Option<i64>,
    /// Days the oldest unanswered public message has waited.
    pub days_oldest_unanswered: Option<i64>,
    /// Use detached from the business: no project built it and no users are recorded.
    pub detached: bool,
    /// Another system in use does the same (named).
    pub duplicate_of: Option<String>,
    /// Whether this is a new-media account (judged by posts, not probes).
    pub new_media: bool,
}

/// Thresholds (days unless said otherwise). Semi-zombie thresholds are lower.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    pub inactive_days: i64,
    pub semi_inactive_days: i64,
    /// Share of failed probes over a week (0.05 = 5%).
    pub unreachable_share: f64,
    /// A probe slower than this counts as failed (seconds).
    pub probe_timeout_secs: u64,
    pub page_unchanged_days: i64,
    pub silent_days: i64,
    pub semi_silent_days: i64,
    pub unanswered_days: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            inactive_days: 180,
            semi_inactive_days: 90,
            unreachable_share: 0.05,
            probe_timeout_secs: 15,
            page_unchanged_days: 14,
            silent_days: 14,
            semi_silent_days: 7,
            unanswered_days: 90,
        }
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Healthy,
    SemiZombie,
    Zombie,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Healthy => "healthy",
            Severity::SemiZombie => "semi_zombie",
            Severity::Zombie => "zombie",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::Healthy => "正常",
            Severity::SemiZombie => "半僵尸",
            Severity::Zombie => "僵尸",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Severity::Healthy, Severity::SemiZombie, Severity::Zombie].into_iter().find(|v| v.as_str() == s)
    }
}

/// One rule that fired, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// `inactive`, `unreachable`, `page_stale`, `silent`, `unanswered`, `detached`, `duplicate`.
    pub rule: String,
    pub severity: Severity,
    pub evidence: String,
}

/// The verdict on a system: the worst of its findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub severity: Severity,
    pub findings: Vec<Finding>,
}

impl Rules {
    /// Judges `s`.
    pub fn judge(&self, s: &Signals) -> Verdict {
        let mut f = Vec::new();
        let mut add = |rule: &str, severity: Severity, evidence: String| {
            f.push(Finding { rule: rule.into(), severity, evidence })
        };
        if let Some(d) = s.days_since_activity {
            if d >= self.inactive_days {
                add(
                    "inactive",
                    Severity::Zombie,
                    format!("平台上 {d} 天无任何使用记录（阈值 {} 天）", self.inactive_days),
                );
            } else if d >= self.semi_inactive_days {
                add(
                    "inactive",
                    Severity::SemiZombie,
                    format!("平台上 {d} 天无任何使用记录（半僵尸阈值 {} 天）", self.semi_inactive_days),
                );
            }
        }
        if !s.new_media {
            if let Some((n, failed)) = s.probes.filter(|(n, _)| *n > 0) {
                let share = failed as f64 / n as f64;
                if share >= self.unreachable_share {
                    add(
                        "unreachable",
                        if failed == n { Severity::Zombie } else { Severity::SemiZombie },
                        format!(
                            "一周 {n} 次探测中 {failed} 次不可达或超过 {} 秒（{:.0}%）",
                            self.probe_timeout_secs,
                            share * 100.0
                        ),
                    );
                }
            }
            if let Some(d) = s.days_page_unchanged.filter(|d| *d >= self.page_unchanged_days) {
                add(
                    "page_stale",
                    Severity::SemiZombie,
                    format!("首页 {d} 天未更新（阈值 {} 天）", self.page_unchanged_days),
                );
            }
        }
        if s.new_media
            && let Some(d) = s.days_since_post
        {
            if d >= self.silent_days {
                add("silent", Severity::Zombie, format!("账号 {d} 天未发布信息（阈值 {} 天）", self.silent_days));
            } else if d >= self.semi_silent_days {
                add(
                    "silent",
                    Severity::SemiZombie,
                    format!("账号 {d} 天未发布信息（半僵尸阈值 {} 天）", self.semi_silent_days),
                );
            }
        }
        if let Some(d) = s.days_oldest_unanswered.filter(|d| *d >= self.unanswered_days) {
            add("unanswered", Severity::Zombie, format!("留言 {d} 天未回复（阈值 {} 天）", self.unanswered_days));
        }
        if s.detached {
            add("detached", Severity::SemiZombie, "无建设项目、未登记使用对象（与业务脱节）".into());
        }
        if let Some(other) = &s.duplicate_of {
            add("duplicate", Severity::SemiZombie, format!("功能与在用系统“{other}”重复"));
        }
        // Two semi-zombie findings of different rules make a zombie.
        let semi = f.iter().filter(|x| x.severity == Severity::SemiZombie).count();
        let worst = f.iter().map(|x| x.severity).max().unwrap_or(Severity::Healthy);
        let severity = if worst == Severity::SemiZombie && semi >= 2 { Severity::Zombie } else { worst };
        Verdict { severity, findings: f }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_reachable_system_is_healthy() {
        let s = Signals {
            days_since_activity: Some(2),
            probes: Some((672, 3)),
            days_page_unchanged: Some(1),
            ..Default::default()
        };
        let v = Rules::default().judge(&s);
        assert_eq!(v.severity, Severity::Healthy, "{v:?}");
        assert!(v.findings.is_empty());
    }

    #[test]
    fn the_no_19_thresholds_decide_websites_and_new_media() {
        let r = Rules::default();
        // 5% of the week's probes failing is the threshold.
        let v = r.judge(&Signals { probes: Some((100, 5)), ..Default::default() });
        assert_eq!(v.severity, Severity::SemiZombie);
        assert_eq!(v.findings[0].rule, "unreachable");
        assert!(v.findings[0].evidence.contains("100 次探测中 5 次"));
        assert_eq!(r.judge(&Signals { probes: Some((100, 4)), ..Default::default() }).severity, Severity::Healthy);
        assert_eq!(r.judge(&Signals { probes: Some((20, 20)), ..Default::default() }).severity, Severity::Zombie);
        // Homepage stale two weeks and messages unanswered three months.
        assert_eq!(
            r.judge(&Signals { days_page_unchanged: Some(13), ..Default::default() }).severity,
            Severity::Healthy
        );
        assert_eq!(
            r.judge(&Signals { days_page_unchanged: Some(14), ..Default::default() }).severity,
            Severity::SemiZombie
        );
        assert_eq!(
            r.judge(&Signals { days_oldest_unanswered: Some(91), ..Default::default() }).severity,
            Severity::Zombie
        );
        // New media: two weeks silent; probes say nothing of them.
        let wechat =
            |d| Signals { new_media: true, days_since_post: Some(d), probes: Some((10, 10)), ..Default::default() };
        assert_eq!(r.judge(&wechat(3)).severity, Severity::Healthy);
        assert_eq!(r.judge(&wechat(8)).severity, Severity::SemiZombie);
        assert_eq!(r.judge(&wechat(15)).severity, Severity::Zombie);
    }

    #[test]
    fn platform_activity_and_detachment_count_and_two_semi_findings_make_a_zombie() {
        let r = Rules { semi_inactive_days: 30, ..Rules::default() };
        assert_eq!(
            r.judge(&Signals { days_since_activity: Some(45), ..Default::default() }).severity,
            Severity::SemiZombie
        );
        assert_eq!(
            r.judge(&Signals { days_since_activity: Some(200), ..Default::default() }).severity,
            Severity::Zombie
        );
        let v = r.judge(&Signals { detached: true, duplicate_of: Some("市OA".into()), ..Default::default() });
        assert_eq!(v.severity, Severity::Zombie, "{v:?}");
        assert_eq!(v.findings.len(), 2);
        // Not measured says nothing.
        assert_eq!(r.judge(&Signals::default()).severity, Severity::Healthy);
    }
}
