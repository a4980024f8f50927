//! Counters that limits are decided on, shared by every node: calls per caller, subject
//! and window (interface quotas, API-key rates) and verification misses per day.

use crate::evidence::subject_among;
use crate::{MetaStore, Result};

impl MetaStore {
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
