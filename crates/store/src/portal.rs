//! The open portal's interaction layer (data requests, feedback, ratings and comments,
//! applications for conditionally open data, showcase entries) and its usage counters.
//! Who may post, answer or moderate what is decided by the portal crate, not here.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{MetaStore, Result, StoreError, parse_ts, ts};

/// What the public can post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    /// A data request (需求申请): data someone wants opened.
    Request,
    /// An error report or suggestion about one dataset.
    Feedback,
    /// A rating (1–5) and comment on one dataset.
    Comment,
    /// An application to use one conditionally open dataset.
    Application,
    /// An app or piece of research built on the data.
    Showcase,
}

impl InteractionKind {
    pub const ALL: [InteractionKind; 5] =
        [Self::Request, Self::Feedback, Self::Comment, Self::Application, Self::Showcase];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Feedback => "feedback",
            Self::Comment => "comment",
            Self::Application => "application",
            Self::Showcase => "showcase",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a post stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionStatus {
    /// Waiting for moderation or an answer.
    Pending,
    /// Shown to everyone (comments, showcase entries, requests accepted for answering).
    Published,
    /// Answered by the provider or the platform.
    Answered,
    /// An application granted.
    Approved,
    /// An application or showcase entry turned down, with a reason.
    Refused,
    /// Removed by a moderator.
    Hidden,
}

impl InteractionStatus {
    pub const ALL: [InteractionStatus; 6] =
        [Self::Pending, Self::Published, Self::Answered, Self::Approved, Self::Refused, Self::Hidden];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Published => "published",
            Self::Answered => "answered",
            Self::Approved => "approved",
            Self::Refused => "refused",
            Self::Hidden => "hidden",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A post to store.
#[derive(Debug, Clone, Default)]
pub struct NewInteraction {
    pub user_id: i64,
    pub dataset: Option<String>,
    pub org_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub rating: Option<i64>,
    pub link: Option<String>,
}

/// A stored post with its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interaction {
    pub id: i64,
    pub kind: InteractionKind,
    pub user_id: i64,
    /// The poster's display name.
    pub user_name: String,
    pub dataset: Option<String>,
    pub org_id: Option<i64>,
    pub org_name: Option<String>,
    pub title: String,
    pub body: String,
    pub rating: Option<i64>,
    pub link: Option<String>,
    pub status: InteractionStatus,
    pub answer: Option<String>,
    pub answered_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

/// Which posts to list.
#[derive(Debug, Clone, Default)]
pub struct InteractionFilter {
    pub kind: Option<InteractionKind>,
    pub statuses: Vec<InteractionStatus>,
    pub dataset: Option<String>,
    pub user_id: Option<i64>,
    pub org_id: Option<i64>,
    pub limit: Option<i64>,
}

const COLUMNS: &str = "i.id, i.kind, i.user_id, u.display_name AS user_name, i.dataset, i.org_id, o.name AS org_name,
    i.title, i.body, i.rating, i.link, i.status, i.answer, i.answered_by, i.answered_at, i.expires_at, i.created_at";
const FROM: &str = "FROM interactions i JOIN users u ON u.id = i.user_id LEFT JOIN organizations o ON o.id = i.org_id";

fn opt_ts(r: &AnyRow, col: &str) -> Result<Option<time::OffsetDateTime>> {
    r.try_get::<Option<String>, _>(col)?.as_deref().map(parse_ts).transpose()
}

fn from_row(r: &AnyRow) -> Result<Interaction> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    Ok(Interaction {
        id: r.try_get("id")?,
        kind: InteractionKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("interaction kind {kind:?}")))?,
        user_id: r.try_get("user_id")?,
        user_name: r.try_get("user_name")?,
        dataset: r.try_get("dataset")?,
        org_id: r.try_get("org_id")?,
        org_name: r.try_get("org_name")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        rating: r.try_get("rating")?,
        link: r.try_get("link")?,
        status: InteractionStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("interaction status {status:?}")))?,
        answer: r.try_get("answer")?,
        answered_by: r.try_get("answered_by")?,
        answered_at: opt_ts(r, "answered_at")?,
        expires_at: opt_ts(r, "expires_at")?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
    })
}

/// Downloads and API calls of one dataset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UsageTotals {
    pub downloads: u64,
    pub calls: u64,
}

/// One day's downloads and calls (of everything, or of one token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageDay {
    pub day: String,
    pub downloads: u64,
    pub calls: u64,
}

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsageKind {
    Download,
    Call,
}

impl UsageKind {
    fn as_str(self) -> &'static str {
        match self {
            UsageKind::Download => "download",
            UsageKind::Call => "call",
        }
    }
}

impl MetaStore {
    pub async fn insert_interaction(
        &self,
        kind: InteractionKind,
        status: InteractionStatus,
        new: &NewInteraction,
    ) -> Result<Interaction> {
        let row = sqlx::query(
            "INSERT INTO interactions (kind, user_id, dataset, org_id, title, body, rating, link, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(kind.as_str())
        .bind(new.user_id)
        .bind(new.dataset.clone())
        .bind(new.org_id)
        .bind(new.title.clone())
        .bind(new.body.clone())
        .bind(new.rating)
        .bind(new.link.clone())
        .bind(status.as_str())
        .bind(ts(tongshu_core::now()))
        .fetch_one(&self.pool)
        .await?;
        self.get_interaction(row.try_get("id")?).await
    }

    pub async fn get_interaction(&self, id: i64) -> Result<Interaction> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} {FROM} WHERE i.id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("post {id}")))?;
        from_row(&row)
    }

    /// Posts matching `f`, newest first.
    pub async fn list_interactions(&self, f: &InteractionFilter) -> Result<Vec<Interaction>> {
        let mut sql = format!("SELECT {COLUMNS} {FROM} WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if f.kind.is_some() {
            sql += &format!(" AND i.kind = {}", next());
        }
        if !f.statuses.is_empty() {
            let marks: Vec<String> = f.statuses.iter().map(|_| next()).collect();
            sql += &format!(" AND i.status IN ({})", marks.join(", "));
        }
        if f.dataset.is_some() {
            sql += &format!(" AND i.dataset = {}", next());
        }
        if f.user_id.is_some() {
            sql += &format!(" AND i.user_id = {}", next());
        }
        if f.org_id.is_some() {
            sql += &format!(" AND i.org_id = {}", next());
        }
        sql += &format!(" ORDER BY i.id DESC LIMIT {}", f.limit.unwrap_or(500).clamp(1, 5000));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(k) = f.kind {
            q = q.bind(k.as_str());
        }
        for s in &f.statuses {
            q = q.bind(s.as_str());
        }
        if let Some(d) = &f.dataset {
            q = q.bind(d.clone());
        }
        if let Some(u) = f.user_id {
            q = q.bind(u);
        }
        if let Some(o) = f.org_id {
            q = q.bind(o);
        }
        q.fetch_all(&self.pool).await?.iter().map(from_row).collect()
    }

    /// Sets a post's status and (when given) its answer, answerer and access end.
    pub async fn answer_interaction(
        &self,
        id: i64,
        status: InteractionStatus,
        answer: Option<&str>,
        answered_by: &str,
        expires_at: Option<time::OffsetDateTime>,
    ) -> Result<Interaction> {
        let r = sqlx::query(
            "UPDATE interactions SET status = $1, answer = COALESCE($2, answer), answered_by = $3, answered_at = $4,
             expires_at = $5 WHERE id = $6",
        )
        .bind(status.as_str())
        .bind(answer.map(str::to_owned))
        .bind(answered_by)
        .bind(ts(tongshu_core::now()))
        .bind(expires_at.map(ts))
        .bind(id)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("post {id}")));
        }
        self.get_interaction(id).await
    }

    /// Adds one to today's count of `kind` for `dataset` (and `token_id`, 0 for none).
    pub async fn count_usage(&self, dataset: &str, kind: UsageKind, token_id: i64, by: u64) -> Result<()> {
        let day = ts(tongshu_core::now())[..10].to_owned();
        sqlx::query(
            "INSERT INTO usage_counts (day, dataset, kind, token_id, count) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (day, dataset, kind, token_id) DO UPDATE SET count = usage_counts.count + excluded.count",
        )
        .bind(day)
        .bind(dataset)
        .bind(kind.as_str())
        .bind(token_id)
        .bind(by as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Downloads and calls of every dataset ever counted.
    pub async fn usage_by_dataset(&self) -> Result<Vec<(String, UsageTotals)>> {
        let rows = sqlx::query(
            "SELECT dataset, kind, CAST(SUM(count) AS BIGINT) AS n FROM usage_counts GROUP BY dataset, kind ORDER BY dataset",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<(String, UsageTotals)> = Vec::new();
        for r in rows {
            let dataset: String = r.try_get("dataset")?;
            let kind: String = r.try_get("kind")?;
            let n = r.try_get::<i64, _>("n")?.max(0) as u64;
            if out.last().is_none_or(|(d, _)| *d != dataset) {
                out.push((dataset, UsageTotals::default()));
            }
            let totals = &mut out.last_mut().expect("pushed").1;
            match kind.as_str() {
                "download" => totals.downloads += n,
                _ => totals.calls += n,
            }
        }
        Ok(out)
    }

    /// Downloads and calls per day since `since` (`YYYY-MM-DD`), of one token or of all.
    pub async fn usage_by_day(&self, since: &str, token_id: Option<i64>) -> Result<Vec<UsageDay>> {
        let filter = if token_id.is_some() { " AND token_id = $2" } else { "" };
        let sql = format!(
            "SELECT day, kind, CAST(SUM(count) AS BIGINT) AS n FROM usage_counts WHERE day >= $1{filter} GROUP BY day, kind ORDER BY day"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since.to_owned());
        if let Some(t) = token_id {
            q = q.bind(t);
        }
        let mut out: Vec<UsageDay> = Vec::new();
        for r in q.fetch_all(&self.pool).await? {
            let day: String = r.try_get("day")?;
            let kind: String = r.try_get("kind")?;
            let n = r.try_get::<i64, _>("n")?.max(0) as u64;
            if out.last().is_none_or(|d| d.day != day) {
                out.push(UsageDay { day, downloads: 0, calls: 0 });
            }
            let d = out.last_mut().expect("pushed");
            match kind.as_str() {
                "download" => d.downloads += n,
                _ => d.calls += n,
            }
        }
        Ok(out)
    }
}
