//! The working-day calendar that sharing deadlines are counted on. Weekends
//! are days off; public holidays and make-up working days (调休上班) are data an
//! administrator maintains, so nothing about a year's arrangement is hard-coded here except
//! the seed of the current year, [`CHINA_2026`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Weekday};

/// What a listed day is, overriding the weekday rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A public holiday: no work, even on a weekday.
    Holiday,
    /// A make-up working day: work, even on a weekend.
    Workday,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Holiday => "holiday",
            DayKind::Workday => "workday",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "holiday" => Some(DayKind::Holiday),
            "workday" => Some(DayKind::Workday),
            _ => None,
        }
    }
}

/// Weekends off, plus listed exceptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    exceptions: BTreeMap<Date, DayKind>,
}

impl Calendar {
    pub fn new(exceptions: impl IntoIterator<Item = (Date, DayKind)>) -> Self {
        Self { exceptions: exceptions.into_iter().collect() }
    }

    pub fn is_working_day(&self, d: Date) -> bool {
        match self.exceptions.get(&d) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday),
        }
    }

    /// The day by whose end something started on `start` is due, `n` working days later.
    /// The start day itself does not count (a request filed on Friday with one working day
    /// is due on Monday), and `n = 0` is due the same day.
    pub fn add_working_days(&self, start: Date, n: u32) -> Date {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d += Duration::days(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// How many working days lie after `from` up to and including `to` (0 when `to` is not
    /// after `from`).
    pub fn working_days_between(&self, from: Date, to: Date) -> u32 {
        let mut n = 0;
        let mut d = from;
        while d < to {
            d += Duration::days(1);
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n
    }
}

/// The State Council's arrangement of 2026's public holidays (国办发明电〔2025〕7号): the
/// days off and the make-up working days. Seeded into a new store; administrators add the
/// next year's when it is announced.
pub const CHINA_2026: &[(&str, DayKind, &str)] = {
    use DayKind::{Holiday as H, Workday as W};
    &[
        ("2026-01-01", H, "元旦"),
        ("2026-01-02", H, "元旦"),
        ("2026-01-03", H, "元旦"),
        ("2026-01-04", W, "元旦调休"),
        ("2026-02-14", W, "春节调休"),
        ("2026-02-15", H, "春节"),
        ("2026-02-16", H, "春节"),
        ("2026-02-17", H, "春节"),
        ("2026-02-18", H, "春节"),
        ("2026-02-19", H, "春节"),
        ("2026-02-20", H, "春节"),
        ("2026-02-21", H, "春节"),
        ("2026-02-22", H, "春节"),
        ("2026-02-23", H, "春节"),
        ("2026-02-28", W, "春节调休"),
        ("2026-04-04", H, "清明节"),
        ("2026-04-05", H, "清明节"),
        ("2026-04-06", H, "清明节"),
        ("2026-05-01", H, "劳动节"),
        ("2026-05-02", H, "劳动节"),
        ("2026-05-03", H, "劳动节"),
        ("2026-05-04", H, "劳动节"),
        ("2026-05-05", H, "劳动节"),
        ("2026-05-09", W, "劳动节调休"),
        ("2026-06-19", H, "端午节"),
        ("2026-06-20", H, "端午节"),
        ("2026-06-21", H, "端午节"),
        ("2026-09-20", W, "国庆节调休"),
        ("2026-09-25", H, "中秋节"),
        ("2026-09-26", H, "中秋节"),
        ("2026-09-27", H, "中秋节"),
        ("2026-10-01", H, "国庆节"),
        ("2026-10-02", H, "国庆节"),
        ("2026-10-03", H, "国庆节"),
        ("2026-10-04", H, "国庆节"),
        ("2026-10-05", H, "国庆节"),
        ("2026-10-06", H, "国庆节"),
        ("2026-10-07", H, "国庆节"),
        ("2026-10-10", W, "国庆节调休"),
    ]
};

/// Parses `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// The seed calendar as days.
pub fn china_2026() -> Calendar {
    Calendar::new(CHINA_2026.iter().filter_map(|(d, k, _)| Some((parse_day(d)?, *k))))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::date;

    use super::*;

    #[test]
    fn deadlines_skip_weekends_holidays_and_count_make_up_days() {
        let cal = china_2026();
        // Friday + 1 working day → Monday.
        assert_eq!(cal.add_working_days(date!(2026 - 11 - 27), 1), date!(2026 - 11 - 30));
        // Ten working days from an ordinary Monday: two weeks later.
        assert_eq!(cal.add_working_days(date!(2026 - 11 - 16), 10), date!(2026 - 11 - 30));
        // Filed the day before National Day: Oct 1–7 off, Sat Oct 10 is a working day.
        // Working days after Sep 30: Oct 8 (1), 9 (2), 10 (3, make-up Saturday), 12 (4), ...
        assert_eq!(cal.add_working_days(date!(2026 - 09 - 30), 3), date!(2026 - 10 - 10));
        assert_eq!(cal.add_working_days(date!(2026 - 09 - 30), 10), date!(2026 - 10 - 20));
        // Spring Festival: Feb 14 (Saturday) is worked, Feb 15–23 off.
        assert_eq!(cal.add_working_days(date!(2026 - 02 - 13), 1), date!(2026 - 02 - 14));
        assert_eq!(cal.add_working_days(date!(2026 - 02 - 14), 1), date!(2026 - 02 - 24));
        // The make-up Sunday after New Year.
        assert!(cal.is_working_day(date!(2026 - 01 - 04)));
        assert!(!cal.is_working_day(date!(2026 - 01 - 01)));
        assert_eq!(cal.add_working_days(date!(2026 - 11 - 27), 0), date!(2026 - 11 - 27));
    }

    #[test]
    fn working_days_between_counts_what_add_adds() {
        let cal = china_2026();
        assert_eq!(cal.working_days_between(date!(2026 - 09 - 30), date!(2026 - 10 - 10)), 3);
        assert_eq!(cal.working_days_between(date!(2026 - 10 - 10), date!(2026 - 09 - 30)), 0);
    }

    proptest! {
        #[test]
        fn adding_n_working_days_lands_on_a_working_day_n_working_days_on(
            start in 0i64..800, n in 1u32..40, offs in proptest::collection::vec((0i64..800, any::<bool>()), 0..60)
        ) {
            let base = date!(2026 - 01 - 01);
            let cal = Calendar::new(offs.iter().map(|(o, h)| {
                (base + Duration::days(*o), if *h { DayKind::Holiday } else { DayKind::Workday })
            }));
            let from = base + Duration::days(start);
            let due = cal.add_working_days(from, n);
            prop_assert!(cal.is_working_day(due));
            prop_assert_eq!(cal.working_days_between(from, due), n);
            // No earlier day would do.
            prop_assert!(cal.working_days_between(from, due - Duration::days(1)) < n);
        }
    }
}
