//! Metering read from the evidence log: calls, rows, bytes and errors per interface,
//! consumer and day, and the durations operational figures are computed from.

use serde::Serialize;

use crate::{MetaStore, Result};

/// Calls of one interface by one consumer organization on one day.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct UsageRow {
    /// `table:<name>`.
    pub subject: String,
    pub org_id: Option<i64>,
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub calls: i64,
    pub rows_out: i64,
    pub bytes_out: i64,
    /// Calls answered 4xx or 5xx.
    pub errors: i64,
}

impl MetaStore {
    /// Usage per interface, consumer and day since `since_day` (`YYYY-MM-DD`).
    pub async fn usage_rows(&self, since_day: &str) -> Result<Vec<UsageRow>> {
        Ok(sqlx::query_as(
            "SELECT subject, org_id, SUBSTR(at, 1, 10) AS day, CAST(COUNT(*) AS BIGINT) AS calls,
                 CAST(SUM(rows_out) AS BIGINT) AS rows_out, CAST(SUM(bytes_out) AS BIGINT) AS bytes_out,
                 CAST(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS BIGINT) AS errors
             FROM evidence WHERE kind = 'call' AND at >= $1
             GROUP BY subject, org_id, SUBSTR(at, 1, 10) ORDER BY day, subject, org_id",
        )
        .bind(since_day)
        .fetch_all(&self.pool)
        .await?)
    }

    /// `(subject, duration in ms, status)` of the latest calls since `since_day`, at most `limit`.
    pub async fn call_durations(&self, since_day: &str, limit: i64) -> Result<Vec<(String, i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT subject, duration_ms, status FROM evidence WHERE kind = 'call' AND at >= $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(since_day)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }
}
