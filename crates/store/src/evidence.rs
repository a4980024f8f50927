//! The evidence log: every request, decision and interface call as an SM3-chained record,
//! appended under the head row's lock (one by one or in groups), searched, paged, anchored
//! daily. Records are only ever appended.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tongshu_core::evidence::{EvidenceFields, EvidenceRecord, chain_hash};

use crate::limits::Stamp;
use crate::{MetaStore, Result, ts};

/// Which evidence to list.
#[derive(Debug, Clone, Default)]
pub struct EvidenceFilter {
    pub subject: Option<String>,
    pub org_id: Option<i64>,
    pub kind: Option<String>,
    /// Records about any of these subjects (a provider's tables and entries).
    pub subjects: Option<Vec<String>>,
    /// Records numbered below this one (paging back from the newest).
    pub before_seq: Option<i64>,
    /// Only what one organization may read: the records of its own calls and actions
    /// (`org_id`) and those about its subjects (its tables).
    pub visible_to: Option<(i64, Vec<String>)>,
    pub limit: i64,
}

fn evidence_from(r: &AnyRow) -> Result<EvidenceRecord> {
    Ok(EvidenceRecord {
        seq: r.try_get("seq")?,
        fields: EvidenceFields {
            at: r.try_get("at")?,
            kind: r.try_get("kind")?,
            org_id: r.try_get("org_id")?,
            app_id: r.try_get("app_id")?,
            user_id: r.try_get("user_id")?,
            subject: r.try_get("subject")?,
            request_hash: r.try_get("request_hash")?,
            rows_out: r.try_get("rows_out")?,
            bytes_out: r.try_get("bytes_out")?,
            status: r.try_get("status")?,
            duration_ms: r.try_get("duration_ms")?,
            detail: r.try_get("detail")?,
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// Appends one evidence record inside `tx`: locks the head, chains, inserts, moves the head.
pub(crate) async fn append(tx: &mut Transaction<'_, Any>, fields: &EvidenceFields) -> Result<EvidenceRecord> {
    // The head's row lock (PostgreSQL) or the write lock (SQLite) is taken first, so
    // concurrent appends queue there and number their records one after another.
    let mut one = append_all(tx, std::slice::from_ref(fields)).await?;
    one.pop().ok_or_else(|| crate::StoreError::Corrupt("an evidence append wrote nothing".into()))
}

/// A list of subjects as `AND subject IN ($first, $first+1, ...)` (the caller binds them in
/// order); an empty list matches nothing, `None` everything.
pub(crate) fn subject_among(subjects: Option<&[String]>, first: usize) -> String {
    match subjects {
        None => String::new(),
        Some([]) => " AND 1 = 0".to_owned(),
        Some(list) => {
            let ps: Vec<String> = (0..list.len()).map(|i| format!("${}", i + first)).collect();
            format!(" AND subject IN ({})", ps.join(", "))
        }
    }
}

impl MetaStore {
    /// Appends one evidence record on its own.
    pub async fn append_evidence(&self, fields: &EvidenceFields) -> Result<EvidenceRecord> {
        let mut tx = self.pool.begin().await?;
        let r = append(&mut tx, fields).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Appends several evidence records in one transaction, in order (group commit): the
    /// chain's head is locked once for all of them. All are written, or none.
    pub async fn append_evidence_batch(&self, batch: &[EvidenceFields]) -> Result<Vec<EvidenceRecord>> {
        let mut tx = self.pool.begin().await?;
        let out = append_all(&mut tx, batch).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Writes the evidence records of a group of interface calls in one transaction, using
    /// each signed call's nonce (app, nonce) in the same transaction: a call whose nonce was
    /// used before (by an earlier call, or by one before it in the group) is a replay; its
    /// record is written as refused (401, nothing out) and its answer must be withheld.
    /// A call that names the change counters its answer was computed at ([`Stamp`]) is
    /// written only if the counters still stand there in this transaction; otherwise it is
    /// [`Written::Stale`]: nothing of it is written (not even its nonce used) and it must be
    /// answered again. Answers per call what became of it, and the counters as read here.
    pub async fn append_calls(&self, batch: &[CallToRecord]) -> Result<(Vec<Written>, Stamp)> {
        let mut tx = self.pool.begin().await?;
        // The chain's head is locked first (a write first: SQLite cannot always turn a
        // reading transaction into a writer), then the counters are read under it.
        let head = lock_head(&mut tx).await?;
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT id, seq FROM change_counter WHERE id IN (1, 2)").fetch_all(&mut *tx).await?;
        let now = crate::limits::stamp_of(&rows);
        let mut written: Vec<Written> = batch
            .iter()
            .map(|(_, _, at)| if at.is_some_and(|a| a != now) { Written::Stale } else { Written::Stands })
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut asked = Vec::new();
        for (i, (_, nonce, _)) in batch.iter().enumerate() {
            if written[i] == Written::Stale {
                continue;
            }
            if let Some(n) = nonce {
                if seen.insert(n) {
                    asked.push((i, n));
                } else {
                    written[i] = Written::Replay;
                }
            }
        }
        let at = crate::ts(tongshu_core::now());
        for chunk in asked.chunks(200) {
            let values: Vec<String> =
                (0..chunk.len()).map(|i| format!("(${}, ${}, ${})", i * 3 + 1, i * 3 + 2, i * 3 + 3)).collect();
            let sql = format!(
                "INSERT INTO exchange_nonces (app_id, nonce, at) VALUES {} ON CONFLICT DO NOTHING RETURNING app_id, nonce",
                values.join(", ")
            );
            let mut q = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
            for (_, (app, nonce)) in chunk {
                q = q.bind(*app).bind(nonce.as_str()).bind(&at);
            }
            let used: std::collections::HashSet<(i64, String)> = q.fetch_all(&mut *tx).await?.into_iter().collect();
            for (i, n) in chunk {
                if !used.contains(*n) {
                    written[*i] = Written::Replay;
                }
            }
        }
        let fields: Vec<EvidenceFields> = batch
            .iter()
            .zip(&written)
            .filter(|(_, w)| **w != Written::Stale)
            .map(|((f, _, _), w)| {
                if *w == Written::Stands {
                    f.clone()
                } else {
                    EvidenceFields {
                        status: 401,
                        rows_out: 0,
                        bytes_out: 0,
                        detail: "nonce used before (replay)".into(),
                        ..f.clone()
                    }
                }
            })
            .collect();
        if !fields.is_empty() {
            append_at(&mut tx, head, &fields).await?;
        }
        tx.commit().await?;
        Ok((written, now))
    }
}

/// One call for [`MetaStore::append_calls`]: its record, its nonce (app, nonce) when it
/// was signed, and the counters its answer was computed at when it was admitted without
/// the store.
pub type CallToRecord = (EvidenceFields, Option<(i64, String)>, Option<Stamp>);

/// What became of one call of [`MetaStore::append_calls`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Recorded as given.
    Stands,
    /// Its nonce was used before: recorded as refused.
    Replay,
    /// The counters moved since its answer was computed: nothing written.
    Stale,
}

/// Locks the chain's head for the rest of `tx` and reads it (one statement).
async fn lock_head(tx: &mut Transaction<'_, Any>) -> Result<(i64, String)> {
    Ok(sqlx::query_as("UPDATE evidence_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut **tx)
        .await?)
}

/// Appends `batch` in order in `tx`: the chain's head is locked and read once, the records
/// inserted together, the head moved once.
async fn append_all(tx: &mut Transaction<'_, Any>, batch: &[EvidenceFields]) -> Result<Vec<EvidenceRecord>> {
    let head = lock_head(tx).await?;
    append_at(tx, head, batch).await
}

/// Appends `batch` after `head`, which `tx` holds locked ([`lock_head`]).
async fn append_at(
    tx: &mut Transaction<'_, Any>,
    (mut seq, mut prev): (i64, String),
    batch: &[EvidenceFields],
) -> Result<Vec<EvidenceRecord>> {
    let mut out = Vec::with_capacity(batch.len());
    for fields in batch {
        seq += 1;
        let hash = chain_hash(seq, fields, &prev);
        out.push(EvidenceRecord {
            seq,
            fields: fields.clone(),
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
        });
    }
    // One INSERT for the group (its text depends only on the group's size).
    for chunk in out.chunks(64) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p: Vec<String> = (1..=15).map(|k| format!("${}", i * 15 + k)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO evidence (seq, at, kind, org_id, app_id, user_id, subject, request_hash, rows_out, bytes_out,
                     status, duration_ms, detail, prev_hash, hash) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            let f = &r.fields;
            q = q
                .bind(r.seq)
                .bind(&f.at)
                .bind(&f.kind)
                .bind(f.org_id)
                .bind(f.app_id)
                .bind(f.user_id)
                .bind(&f.subject)
                .bind(&f.request_hash)
                .bind(f.rows_out)
                .bind(f.bytes_out)
                .bind(f.status)
                .bind(f.duration_ms)
                .bind(&f.detail)
                .bind(&r.prev_hash)
                .bind(&r.hash);
        }
        q.execute(&mut **tx).await?;
    }
    sqlx::query("UPDATE evidence_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&prev)
        .execute(&mut **tx)
        .await?;
    Ok(out)
}

impl MetaStore {
    /// Evidence records after `after_seq`, in order, at most `limit`.
    pub async fn evidence_page(&self, after_seq: i64, limit: i64) -> Result<Vec<EvidenceRecord>> {
        let rows = sqlx::query("SELECT * FROM evidence WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(evidence_from).collect()
    }

    /// Evidence records matching `f`, newest first.
    pub async fn evidence_search(&self, f: &EvidenceFilter) -> Result<Vec<EvidenceRecord>> {
        let among = subject_among(f.subjects.as_deref(), 6);
        let next = 6 + f.subjects.as_ref().map_or(0, Vec::len);
        let visible = match &f.visible_to {
            None => String::new(),
            Some((_, subjects)) => {
                let theirs = subject_among(Some(subjects), next + 1).replacen(" AND ", "", 1);
                format!(" AND (org_id = ${next} OR ({theirs}))")
            }
        };
        let sql = format!(
            "SELECT * FROM evidence WHERE ($1 IS NULL OR subject = $1) AND ($2 IS NULL OR org_id = $2)
               AND ($3 IS NULL OR kind = $3) AND ($4 IS NULL OR seq < $4){among}{visible}
             ORDER BY seq DESC LIMIT $5"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(f.subject.as_deref())
            .bind(f.org_id)
            .bind(f.kind.as_deref())
            .bind(f.before_seq)
            .bind(f.limit.clamp(1, 10_000));
        for s in f.subjects.iter().flatten() {
            q = q.bind(s.as_str());
        }
        if let Some((org, subjects)) = &f.visible_to {
            q = q.bind(*org);
            for s in subjects {
                q = q.bind(s.as_str());
            }
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(evidence_from).collect()
    }

    /// The chain's head: the last record's number and hash.
    pub async fn evidence_head(&self) -> Result<(i64, String)> {
        Ok(sqlx::query_as("SELECT seq, hash FROM evidence_head WHERE id = 1").fetch_one(&self.pool).await?)
    }

    /// Copies the head out as the anchor of `day` (once per day; later calls keep the first).
    pub async fn anchor_evidence(&self, day: &str) -> Result<bool> {
        let (seq, hash) = self.evidence_head().await?;
        let r = sqlx::query(
            "INSERT INTO evidence_anchors (day, seq, hash, at) VALUES ($1, $2, $3, $4) ON CONFLICT (day) DO NOTHING",
        )
        .bind(day)
        .bind(seq)
        .bind(hash)
        .bind(ts(tongshu_core::now()))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The daily anchors `(day, seq, hash)`.
    pub async fn evidence_anchors(&self) -> Result<Vec<(String, i64, String)>> {
        Ok(sqlx::query_as("SELECT day, seq, hash FROM evidence_anchors ORDER BY day").fetch_all(&self.pool).await?)
    }
}
