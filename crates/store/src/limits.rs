//! Counters that limits are decided on, shared by every node: calls per caller, subject
//! and window (interface quotas, API-key rates) and verification misses per day.

use crate::evidence::subject_among;
use crate::{Backend, MetaStore, Result};

/// One interface call to admit (see [`MetaStore::admit_call`]).
#[derive(Debug, Clone)]
pub struct Admission<'a> {
    /// The signed app; `None` for a user's call (no app quotas).
    pub app: Option<i64>,
    /// Whom the quota counts: the app key or `user:<id>`.
    pub caller: &'a str,
    pub subject: &'a str,
    /// The day and minute windows: key, default limit (an app's own quota replaces it; 0
    /// or less is none), end in Unix seconds.
    pub day: (&'a str, i64, i64),
    pub minute: (&'a str, i64, i64),
}

/// Whether a call was admitted, and the store's change counters as they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admitted {
    pub verdict: Verdict,
    pub day_limit: i64,
    pub minute_limit: i64,
    pub stamp: Stamp,
}

/// The outcome of an admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Admitted,
    /// The app does not exist (any more) or is revoked.
    NoApp,
    DayFull,
    MinuteFull,
}

/// The catalog's and the exchange's change counters: whatever was computed from the
/// store at one stamp is current for as long as the stamp is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Stamp {
    pub catalog: i64,
    pub exchange: i64,
}

/// The stamp of the counters' rows (id, seq); a missing row reads -1 (never cached as
/// current: every counter starts at 0).
pub(crate) fn stamp_of(rows: &[(i64, i64)]) -> Stamp {
    let seq = |id| rows.iter().find(|r| r.0 == id).map_or(-1, |r| r.1);
    Stamp { catalog: seq(1), exchange: seq(2) }
}

impl MetaStore {
    /// The change counters now (one read).
    pub async fn stamp(&self) -> Result<Stamp> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT id, seq FROM change_counter WHERE id IN (1, 2)").fetch_all(&self.pool).await?;
        Ok(stamp_of(&rows))
    }

    /// Admits one interface call, all or nothing: the app is known and not revoked, and
    /// the day and minute windows have room (and now count the call; a window without a
    /// limit counts nothing). On PostgreSQL this is one round trip (the function of
    /// migration 0012), so the admission does not cost a call several trips to the shared
    /// store. The call's nonce is used where its evidence record is written
    /// ([`MetaStore::append_calls`]).
    pub async fn admit_call(&self, a: &Admission<'_>) -> Result<Admitted> {
        if self.backend == Backend::Postgres {
            let (verdict, day_limit, minute_limit, catalog, exchange): (i32, i64, i64, i64, i64) =
                sqlx::query_as("SELECT * FROM tongshu_admit_call($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(a.app)
                    .bind(a.caller)
                    .bind(a.subject)
                    .bind(a.day.0)
                    .bind(a.day.1)
                    .bind(a.day.2)
                    .bind(a.minute.0)
                    .bind(a.minute.1)
                    .bind(a.minute.2)
                    .fetch_one(&self.pool)
                    .await?;
            let verdict = match verdict {
                0 => Verdict::Admitted,
                1 => Verdict::NoApp,
                3 => Verdict::DayFull,
                _ => Verdict::MinuteFull,
            };
            return Ok(Admitted { verdict, day_limit, minute_limit, stamp: Stamp { catalog, exchange } });
        }
        // SQLite is in the process: the same steps in one transaction.
        let (mut day_limit, mut minute_limit) = (a.day.1, a.minute.1);
        if let Some(app) = a.app {
            let row: Option<(Option<i64>, Option<i64>, Option<String>)> =
                sqlx::query_as("SELECT per_day, per_minute, revoked_at FROM exchange_apps WHERE id = $1")
                    .bind(app)
                    .fetch_optional(&self.pool)
                    .await?;
            let Some((per_day, per_minute, None)) = row else {
                let stamp = self.stamp().await?;
                return Ok(Admitted { verdict: Verdict::NoApp, day_limit, minute_limit, stamp });
            };
            (day_limit, minute_limit) = (per_day.unwrap_or(day_limit), per_minute.unwrap_or(minute_limit));
        }
        let limited: Vec<_> = [(a.day, day_limit, Verdict::DayFull), (a.minute, minute_limit, Verdict::MinuteFull)]
            .into_iter()
            .filter(|w| w.1 > 0)
            .collect();
        if limited.is_empty() {
            let stamp = self.stamp().await?;
            return Ok(Admitted { verdict: Verdict::Admitted, day_limit, minute_limit, stamp });
        }
        // The first statement writes: a transaction that reads first cannot always turn
        // into a writer under concurrent writers (SQLITE_BUSY).
        let mut tx = self.pool.begin().await?;
        let mut stamp = None;
        for (window, limit, full) in limited {
            let counted = sqlx::query(
                "INSERT INTO call_windows (caller, subject, window_key, calls, until) VALUES ($1, $2, $3, 1, $5)
                 ON CONFLICT (caller, subject, window_key) DO UPDATE SET calls = call_windows.calls + 1
                 WHERE call_windows.calls < $4",
            )
            .bind(a.caller)
            .bind(a.subject)
            .bind(window.0)
            .bind(limit)
            .bind(window.2)
            .execute(&mut *tx)
            .await?;
            let now = match stamp {
                Some(s) => s,
                None => self.stamp_in(&mut tx).await?,
            };
            stamp = Some(now);
            if counted.rows_affected() == 0 {
                // Nothing counted: the transaction is rolled back.
                return Ok(Admitted { verdict: full, day_limit, minute_limit, stamp: now });
            }
        }
        tx.commit().await?;
        Ok(Admitted { verdict: Verdict::Admitted, day_limit, minute_limit, stamp: stamp.unwrap_or_default() })
    }

    async fn stamp_in(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<Stamp> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT id, seq FROM change_counter WHERE id IN (1, 2)").fetch_all(&mut **tx).await?;
        Ok(stamp_of(&rows))
    }

    /// Counts one call of `caller` on `subject` in each of `windows` (key, limit, end in
    /// Unix seconds; a limit of 0 is none), all or nothing, in one transaction on the
    /// shared store: `Ok(None)` when every window had room (each now counts the call),
    /// else `Ok(Some(i))` for the first full window (nothing counted).
    pub async fn count_call(
        &self,
        caller: &str,
        subject: &str,
        windows: &[(String, i64, i64)],
    ) -> Result<Option<usize>> {
        let mut tx = self.pool.begin().await?;
        for (i, (key, limit, until)) in windows.iter().enumerate() {
            let limit = if *limit <= 0 { i64::MAX } else { *limit };
            let counted: Option<(i64,)> = sqlx::query_as(
                "INSERT INTO call_windows (caller, subject, window_key, calls, until) VALUES ($1, $2, $3, 1, $5)
                 ON CONFLICT (caller, subject, window_key) DO UPDATE SET calls = call_windows.calls + 1
                 WHERE call_windows.calls < $4 RETURNING calls",
            )
            .bind(caller)
            .bind(subject)
            .bind(key)
            .bind(limit)
            .bind(*until)
            .fetch_optional(&mut *tx)
            .await?;
            if counted.is_none() {
                tx.rollback().await?;
                return Ok(Some(i));
            }
        }
        tx.commit().await?;
        Ok(None)
    }

    /// Forgets call windows that ended before `now` (Unix seconds).
    pub async fn prune_call_windows(&self, now: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM call_windows WHERE until < $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Adds `delta` to the verification misses of `caller` on `subject` on `day`; returns
    /// the count after it (one statement, so concurrent calls on several nodes add up).
    pub async fn add_verify_miss(&self, caller: &str, subject: &str, day: &str, delta: i64) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "INSERT INTO verify_misses (caller, subject, day, misses) VALUES ($1, $2, $3, $4)
             ON CONFLICT (caller, subject, day) DO UPDATE SET misses = verify_misses.misses + $4
             RETURNING misses",
        )
        .bind(caller)
        .bind(subject)
        .bind(day)
        .bind(delta)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// Callers with at least `min` verification misses on `day`, on one of `subjects`
    /// (`None`: any): `(caller, subject, misses)`, most first.
    pub async fn verify_misses(
        &self,
        subjects: Option<&[String]>,
        day: &str,
        min: i64,
    ) -> Result<Vec<(String, String, i64)>> {
        let sql = format!(
            "SELECT caller, subject, misses FROM verify_misses WHERE day = $1 AND misses >= $2{}
             ORDER BY misses DESC, caller LIMIT 1000",
            subject_among(subjects, 3)
        );
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(day).bind(min);
        for s in subjects.into_iter().flatten() {
            q = q.bind(s.as_str());
        }
        Ok(q.fetch_all(&self.pool).await?)
    }
}
