//! The evidence log's records and their hash chain (after X-Road's message log).
//! Each record carries the SM3 hash of the record before it, and its own hash covers every
//! field including its number, so editing, deleting, inserting or reordering records breaks
//! the chain at the first record touched. [`verify`] walks a chain and names that record.

use serde::{Deserialize, Serialize};

use crate::masking::sm3_hex;

/// The hash the first record points back to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// A call of a data interface (answered or refused).
    Call,
    /// A share request filed.
    Request,
    /// A grant made, narrowed, renewed or revoked, or a request refused.
    Grant,
}

impl EvidenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Call => "call",
            EvidenceKind::Request => "request",
            EvidenceKind::Grant => "grant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [EvidenceKind::Call, EvidenceKind::Request, EvidenceKind::Grant].into_iter().find(|k| k.as_str() == s)
    }
}

/// The fields of a record that its writer supplies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceFields {
    /// RFC 3339, UTC, whole seconds.
    pub at: String,
    pub kind: String,
    pub org_id: Option<i64>,
    pub app_id: Option<i64>,
    pub user_id: Option<i64>,
    /// The interface, table or request the record is about.
    pub subject: String,
    /// SM3 of the canonical request (method, path, query, body hash).
    pub request_hash: String,
    pub rows_out: i64,
    pub bytes_out: i64,
    /// HTTP status of a call; 0 for decisions.
    pub status: i64,
    pub duration_ms: i64,
    /// Free text or JSON: what was decided, why a call was refused.
    pub detail: String,
}

/// A record as stored: its number, fields, the hash before it and its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRecord {
    pub seq: i64,
    #[serde(flatten)]
    pub fields: EvidenceFields,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of record `seq` with `fields` after a record hashed `prev_hash`.
pub fn chain_hash(seq: i64, fields: &EvidenceFields, prev_hash: &str) -> String {
    let f = fields;
    // A JSON array is an unambiguous encoding: no field can bleed into the next.
    let canonical = serde_json::json!([
        seq,
        f.at,
        f.kind,
        f.org_id,
        f.app_id,
        f.user_id,
        f.subject,
        f.request_hash,
        f.rows_out,
        f.bytes_out,
        f.status,
        f.duration_ms,
        f.detail,
        prev_hash
    ]);
    sm3_hex(canonical.to_string().as_bytes())
}

/// Where a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("evidence record {seq}: {reason}")]
pub struct Broken {
    /// The first record that does not check out (the number the chain expected there).
    pub seq: i64,
    pub reason: String,
}

/// What a walk of the chain found when it is intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    pub records: i64,
    pub head: String,
    pub anchors: usize,
}

/// Checks a chain record by record, in stored order, without holding it in memory.
#[derive(Debug, Clone)]
pub struct Verifier {
    prev: String,
    expected: i64,
    anchors: Vec<(i64, String)>,
    anchored: std::collections::HashMap<i64, String>,
}

impl Verifier {
    /// A walk that will also check the daily anchors `(seq, hash)`.
    pub fn new(anchors: Vec<(i64, String)>) -> Self {
        Self { prev: GENESIS.to_owned(), expected: 1, anchors, anchored: Default::default() }
    }

    /// Checks the next stored record against the one before.
    pub fn push(&mut self, r: &EvidenceRecord) -> Result<(), Broken> {
        let expected = self.expected;
        if r.seq != expected {
            let reason = if r.seq > expected {
                format!("missing: the next stored record is {}", r.seq)
            } else {
                format!("out of order: record {} follows {}", r.seq, expected - 1)
            };
            return Err(Broken { seq: expected, reason });
        }
        if r.prev_hash != self.prev {
            return Err(Broken { seq: r.seq, reason: "does not point to the hash of the record before it".into() });
        }
        if chain_hash(r.seq, &r.fields, &r.prev_hash) != r.hash {
            return Err(Broken { seq: r.seq, reason: "its content does not match its hash (edited)".into() });
        }
        if self.anchors.iter().any(|(s, _)| *s == r.seq) {
            self.anchored.insert(r.seq, r.hash.clone());
        }
        self.prev = r.hash.clone();
        self.expected += 1;
        Ok(())
    }

    /// Checks that the last record is the recorded head `(seq, hash)` (records deleted at
    /// the end) and that every anchor names a record with that hash.
    pub fn finish(self, head: (i64, &str)) -> Result<Verified, Broken> {
        let last = self.expected - 1;
        if head.0 != last || head.1 != self.prev {
            return Err(Broken {
                seq: last + 1,
                reason: format!(
                    "the log ends at record {last} but its head says {} (records deleted at the end)",
                    head.0
                ),
            });
        }
        for (seq, hash) in &self.anchors {
            if self.anchored.get(seq) != Some(hash) {
                return Err(Broken { seq: *seq, reason: "does not match the daily anchor".into() });
            }
        }
        Ok(Verified { records: last, head: self.prev, anchors: self.anchors.len() })
    }
}

/// Walks `records` (in stored order of `seq`) with a [`Verifier`].
pub fn verify(
    records: impl IntoIterator<Item = EvidenceRecord>,
    head: (i64, &str),
    anchors: &[(i64, String)],
) -> Result<Verified, Broken> {
    let mut v = Verifier::new(anchors.to_vec());
    for r in records {
        v.push(&r)?;
    }
    v.finish(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<EvidenceRecord> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let fields = EvidenceFields {
                    at: format!("2026-11-29T00:00:{seq:02}Z"),
                    kind: "call".into(),
                    subject: "population".into(),
                    rows_out: seq,
                    ..Default::default()
                };
                let hash = chain_hash(seq, &fields, &prev);
                let r = EvidenceRecord { seq, fields, prev_hash: prev.clone(), hash: hash.clone() };
                prev = hash;
                r
            })
            .collect()
    }

    fn head(c: &[EvidenceRecord]) -> (i64, &str) {
        c.last().map(|r| (r.seq, r.hash.as_str())).unwrap_or((0, GENESIS))
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        let anchors = vec![(3, c[2].hash.clone())];
        let v = verify(c.clone(), head(&c), &anchors).unwrap();
        assert_eq!((v.records, v.anchors), (5, 1));
        assert_eq!(verify(vec![], (0, GENESIS), &[]).unwrap().records, 0);
    }

    #[test]
    fn edits_deletions_and_reorderings_name_the_first_broken_record() {
        let c = chain(5);
        let h = (5, c[4].hash.clone());
        let mut edited = c.clone();
        edited[2].fields.rows_out = 999;
        assert_eq!(verify(edited, (h.0, &h.1), &[]).unwrap_err().seq, 3);

        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(verify(deleted, (h.0, &h.1), &[]).unwrap_err().seq, 2);

        let mut swapped = c.clone();
        swapped.swap(1, 3);
        assert_eq!(verify(swapped, (h.0, &h.1), &[]).unwrap_err().seq, 2);

        // Renumbered after a deletion, and rehashed from there on: the head or an anchor tells.
        let mut truncated = c.clone();
        truncated.pop();
        let e = verify(truncated.clone(), (h.0, &h.1), &[]).unwrap_err();
        assert_eq!(e.seq, 5, "{e}");

        // Rewritten wholesale from record 2 on, head forged too: the anchor of day one catches it.
        let mut forged = chain(5);
        forged[1].fields.subject = "other".into();
        let mut prev = forged[0].hash.clone();
        for r in forged.iter_mut().skip(1) {
            r.prev_hash = prev.clone();
            r.hash = chain_hash(r.seq, &r.fields, &prev);
            prev = r.hash.clone();
        }
        let anchors = vec![(3, c[2].hash.clone())];
        let fh = (5, forged[4].hash.clone());
        assert_eq!(verify(forged, (fh.0, &fh.1), &anchors).unwrap_err().seq, 3);
    }
}
