//! Whether a table is up to date for its entry's update cycle (by days since it was fed,
//! or for a real-time entry by its feed's lag).

use serde::Serialize;

use super::UpdateCycle;

impl UpdateCycle {
    /// How long a table may go unfed before it is overdue, in days (`None`: never).
    pub fn max_age_days(self) -> Option<i64> {
        match self {
            UpdateCycle::RealTime => Some(1),
            UpdateCycle::Daily => Some(2),
            UpdateCycle::Weekly => Some(8),
            UpdateCycle::Monthly => Some(32),
            UpdateCycle::Quarterly => Some(93),
            UpdateCycle::Yearly => Some(366),
        }
    }
}

/// Whether data fed at `last` is still fresh at `now` for this update cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Freshness {
    Fresh {
        days_since: i64,
    },
    /// A real-time (实时) table whose feed is not streaming, or lags more than allowed.
    Behind {
        /// Seconds from the source's commit to the library's of the last applied change;
        /// `None` when the feed is not running.
        lag_seconds: Option<i64>,
        allowed_seconds: i64,
    },
    /// Not fed within the cycle (a monthly table last fed 40 days ago).
    Overdue {
        days_since: i64,
        allowed_days: i64,
    },
}

/// A real-time feed of a table as its runner last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FeedLag {
    /// The feed is streaming and its runner reported in the last two minutes.
    pub live: bool,
    pub lag_seconds: Option<i64>,
}

/// The lag beyond which a real-time table is behind.
pub const REALTIME_ALLOWED_LAG_SECONDS: i64 = 300;

impl UpdateCycle {
    /// Freshness of a table fed at `last`, and for a real-time (实时) entry by a feed:
    /// then by the feed's lag (live and at most [`REALTIME_ALLOWED_LAG_SECONDS`] behind),
    /// not by days.
    pub fn freshness_fed(
        self,
        last: time::OffsetDateTime,
        feed: Option<FeedLag>,
        now: time::OffsetDateTime,
    ) -> Freshness {
        match feed {
            Some(f) if self == UpdateCycle::RealTime => {
                let allowed_seconds = REALTIME_ALLOWED_LAG_SECONDS;
                if f.live && f.lag_seconds.unwrap_or(0) <= allowed_seconds {
                    Freshness::Fresh { days_since: (now - last).whole_days().max(0) }
                } else {
                    Freshness::Behind { lag_seconds: f.lag_seconds.filter(|_| f.live), allowed_seconds }
                }
            }
            _ => self.freshness(last, now),
        }
    }

    pub fn freshness(self, last: time::OffsetDateTime, now: time::OffsetDateTime) -> Freshness {
        let days_since = (now - last).whole_days().max(0);
        match self.max_age_days() {
            Some(allowed) if days_since > allowed => Freshness::Overdue { days_since, allowed_days: allowed },
            _ => Freshness::Fresh { days_since },
        }
    }
}
