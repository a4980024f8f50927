//! The real-time channel's pipelines as the platform's people see and hold them: every
//! node reads them from the store (the channel crate runs them), and who may see or hold
//! one is its source's organization's business (or the platform's).

use tongshu_core::catalog::FeedLag;
use tongshu_core::policy::Principal;
use tongshu_store::{ChannelSample, PipelineRecord};

use crate::{LibraryError, LibraryService, Result};

/// A pipeline with its source and owner.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Feed {
    #[serde(flatten)]
    pub pipeline: PipelineRecord,
    /// The data source's name and kind (`postgres`, `mysql`).
    pub source: String,
    pub source_kind: String,
    pub org_id: i64,
}

/// Measurements kept of a running pipeline (a day's, every ten seconds).
pub const SAMPLES_KEPT_SECONDS: i64 = 86_400;

impl LibraryService {
    async fn feed_of(&self, p: PipelineRecord) -> Result<Feed> {
        let s = self.store.get_source_by_id(p.source_id).await?;
        Ok(Feed { pipeline: p, source: s.name, source_kind: s.kind, org_id: s.org_id })
    }

    /// The pipelines `who` may see: its organization's, or all for the platform.
    pub async fn feeds_for(&self, who: &Principal) -> Result<Vec<Feed>> {
        let mut out = Vec::new();
        for p in self.store.list_pipelines().await? {
            let f = self.feed_of(p).await?;
            if who.may_edit_for(f.org_id) {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// Pipeline `name` for `who`, with its measurements since `since` (Unix seconds).
    pub async fn feed(&self, who: &Principal, name: &str, since: i64) -> Result<(Feed, Vec<ChannelSample>)> {
        let f = self.feed_of(self.store.get_pipeline(name).await?).await?;
        if !who.may_edit_for(f.org_id) {
            return Err(LibraryError::Forbidden(format!("pipeline {name:?} belongs to another organization")));
        }
        let samples = self.store.channel_samples(name, since).await?;
        Ok((f, samples))
    }

    /// Holds pipeline `name`: its runner (on whichever node) stops after applying what it
    /// has received.
    pub async fn pause_feed(&self, who: &Principal, name: &str) -> Result<Feed> {
        self.feed(who, name, i64::MAX).await?;
        self.store.set_pipeline_paused(name, Some(&format!("paused by {}", who.username)), false).await?;
        self.feed_of(self.store.get_pipeline(name).await?).await
    }

    /// Lets pipeline `name` run again; `accept`: its next run accepts the schema change
    /// that paused it.
    pub async fn resume_feed(&self, who: &Principal, name: &str, accept: bool) -> Result<Feed> {
        self.feed(who, name, i64::MAX).await?;
        self.store.set_pipeline_paused(name, None, accept).await?;
        self.feed_of(self.store.get_pipeline(name).await?).await
    }

    /// The real-time feed of each library table a pipeline feeds (for the lag shown with
    /// its catalog entry and dataset, and their freshness): whether it is live (streaming,
    /// reported in the last two minutes) and its lag. Public facts: no source, no position.
    pub async fn feed_lags(&self) -> Result<std::collections::HashMap<String, FeedLag>> {
        let now = tongshu_core::now();
        let mut out = std::collections::HashMap::new();
        for p in self.store.list_pipelines().await? {
            let live = p.state == "streaming" && p.paused.is_none() && (now - p.updated_at).whole_seconds() <= 120;
            for t in &p.tables {
                out.insert(t.target.clone(), FeedLag { live, lag_seconds: p.lag_ms.map(|ms| (ms + 999) / 1000) });
            }
        }
        Ok(out)
    }
}
