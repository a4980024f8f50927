//! The whole evidence log as a file for inspectors (auditors, administrators): every record
//! with its hashes, so that the chain can be verified outside Tongshu.

use std::io::Write;

use tongshu_core::evidence::EvidenceRecord;
use tongshu_core::policy::Principal;

use crate::{Exchange, ExchangeError, Result};

/// The formats the evidence log is exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceFormat {
    Ndjson,
    Csv,
}

const CSV_HEADER: [&str; 15] = [
    "seq",
    "at",
    "kind",
    "org_id",
    "app_id",
    "user_id",
    "subject",
    "request_hash",
    "rows_out",
    "bytes_out",
    "status",
    "duration_ms",
    "detail",
    "prev_hash",
    "hash",
];

/// Records read from the store per page.
const PAGE: i64 = 10_000;

fn io(e: impl std::fmt::Display) -> ExchangeError {
    ExchangeError::Internal(format!("writing the evidence export: {e}"))
}

/// Writes one page of records; runs on a blocking thread.
fn encode<W: Write>(out: &mut W, format: EvidenceFormat, page: &[EvidenceRecord], first: bool) -> Result<()> {
    match format {
        EvidenceFormat::Csv => {
            let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(out);
            if first {
                w.write_record(CSV_HEADER).map_err(io)?;
            }
            let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
            for r in page {
                let f = &r.fields;
                w.write_record([
                    r.seq.to_string(),
                    f.at.clone(),
                    f.kind.clone(),
                    opt(f.org_id),
                    opt(f.app_id),
                    opt(f.user_id),
                    f.subject.clone(),
                    f.request_hash.clone(),
                    f.rows_out.to_string(),
                    f.bytes_out.to_string(),
                    f.status.to_string(),
                    f.duration_ms.to_string(),
                    f.detail.clone(),
                    r.prev_hash.clone(),
                    r.hash.clone(),
                ])
                .map_err(io)?;
            }
            w.flush().map_err(io)
        }
        EvidenceFormat::Ndjson => {
            for r in page {
                serde_json::to_writer(&mut *out, r).map_err(io)?;
                out.write_all(b"\n").map_err(io)?;
            }
            Ok(())
        }
    }
}

impl Exchange {
    /// Writes the whole evidence log to `out` (inspectors only): pages are read from the
    /// store and encoded on a blocking thread, so memory holds one page. Returns the records
    /// written and `out`.
    pub async fn export_evidence<W: Write + Send + 'static>(
        &self,
        who: &Principal,
        format: EvidenceFormat,
        out: W,
    ) -> Result<(u64, W)> {
        if !who.sees_all_of_the_exchange() {
            return Err(ExchangeError::Forbidden("the evidence export is for auditors".into()));
        }
        let (mut out, mut after, mut n) = (out, 0, 0u64);
        loop {
            let page = self.store.evidence_page(after, PAGE).await?;
            let first = after == 0;
            let Some(last) = page.last() else {
                if first && format == EvidenceFormat::Csv {
                    // An empty log still has its header.
                    out = tokio::task::spawn_blocking(move || encode(&mut out, format, &[], true).map(|()| out))
                        .await
                        .map_err(io)??;
                }
                break;
            };
            after = last.seq;
            n += page.len() as u64;
            out = tokio::task::spawn_blocking(move || encode(&mut out, format, &page, first).map(|()| out))
                .await
                .map_err(io)??;
        }
        let out = tokio::task::spawn_blocking(move || {
            let mut out = out;
            out.flush().map_err(io).map(|()| out)
        })
        .await
        .map_err(io)??;
        Ok((n, out))
    }
}
