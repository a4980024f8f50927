//! The catalog service: data officers draft and submit entries, the platform administrator
//! reviews them (list or return with a comment) and delists them later; everyone browses
//! what is listed. Every step is checked against the caller and kept in the entry's history.

use tongshu_core::FieldErrors;
use tongshu_core::catalog::{CatalogEntry, EntryInput, EntryStatus, HistoryRecord, ResourceCode, Transition};
use tongshu_core::policy::{Action, Principal, is_public_viewer, may_see_listed};
/// Records and filters this service takes and hands out.
pub use tongshu_store::{Dimension, EntryFilter, EntryPage};
use tongshu_store::{MetaStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("invalid entry: {0}")]
    Invalid(FieldErrors),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CatalogError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => CatalogError::NotFound(what),
            StoreError::Conflict(msg) => CatalogError::Conflict(msg),
            other => CatalogError::Store(other),
        }
    }
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// The catalog service. Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    store: MetaStore,
}

fn one_field(field: &str, message: impl Into<String>) -> CatalogError {
    let mut errs = FieldErrors::default();
    errs.add(field, message);
    CatalogError::Invalid(errs)
}

impl Catalog {
    pub fn new(store: MetaStore) -> Self {
        Self { store }
    }

    /// Creates a draft entry for `org_id` (default: the caller's organization). `code` may
    /// carry an existing resource code when a catalog is migrated; it must match the
    /// classification and be free.
    pub async fn create(
        &self,
        who: &Principal,
        org_id: Option<i64>,
        input: &EntryInput,
        code: Option<&str>,
    ) -> Result<CatalogEntry> {
        let org_id = org_id.unwrap_or(who.org_id);
        if !who.may_edit_for(org_id) {
            return Err(CatalogError::Forbidden("you may only create entries for your own organization".into()));
        }
        let org = self.store.get_org(org_id).await.map_err(|e| match e {
            StoreError::NotFound(_) => one_field("org_id", format!("organization {org_id} does not exist")),
            e => e.into(),
        })?;
        let body = input.validate().map_err(CatalogError::Invalid)?;
        let sequence = match code.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => {
                let parsed = ResourceCode::parse(c).map_err(|m| one_field("code", m))?;
                let (class, seq) = parsed.as_str().split_once('/').unwrap_or_default();
                if class != body.classification.code() {
                    return Err(one_field(
                        "code",
                        format!("code {c:?} does not start with the classification {}", body.classification.code()),
                    ));
                }
                Some(seq.parse::<u32>().map_err(|_| one_field("code", "sequence number is too large"))?)
            }
        };
        let entry = self.store.insert_entry(org.id, &org.district_code, who.user_id, &body, sequence).await?;
        tracing::debug!(entry_id = entry.id, code = %entry.code, user_id = who.user_id, "catalog entry created");
        Ok(entry)
    }

    /// Replaces the content of a draft, returned or delisted entry. A delisted entry becomes
    /// a draft again.
    pub async fn update(&self, who: &Principal, id: i64, input: &EntryInput) -> Result<CatalogEntry> {
        let entry = self.editable(who, id).await?;
        let to = entry
            .status
            .after(Transition::Edit)
            .ok_or_else(|| CatalogError::Conflict(format!("a {} entry cannot be edited", entry.status.label())))?;
        let body = input.validate().map_err(CatalogError::Invalid)?;
        Ok(self.store.update_entry(id, who.user_id, entry.status, to, &body).await?)
    }

    pub async fn submit(&self, who: &Principal, id: i64) -> Result<CatalogEntry> {
        let entry = self.editable(who, id).await?;
        self.step(who, &entry, Transition::Submit, "submit", None).await
    }

    pub async fn approve(&self, who: &Principal, id: i64, comment: Option<&str>) -> Result<CatalogEntry> {
        let entry = self.reviewable(who, id).await?;
        self.step(who, &entry, Transition::Approve, "approve", comment).await
    }

    pub async fn return_entry(&self, who: &Principal, id: i64, comment: &str) -> Result<CatalogEntry> {
        let entry = self.reviewable(who, id).await?;
        if comment.trim().is_empty() {
            return Err(one_field("comment", "say what the officer must fix"));
        }
        self.step(who, &entry, Transition::Return, "return", Some(comment)).await
    }

    pub async fn delist(&self, who: &Principal, id: i64, reason: &str) -> Result<CatalogEntry> {
        let entry = self.reviewable(who, id).await?;
        if reason.trim().is_empty() {
            return Err(one_field("comment", "give the reason for delisting"));
        }
        self.step(who, &entry, Transition::Delist, "delist", Some(reason)).await
    }

    /// One entry as `viewer` may see it. Entries the viewer may not see are "not found",
    /// so that their existence is not revealed.
    pub async fn get(&self, viewer: Option<&Principal>, id: i64) -> Result<CatalogEntry> {
        let entry = self.store.get_entry(id).await?;
        if self.visible(viewer, &entry) {
            Ok(entry)
        } else {
            Err(CatalogError::NotFound(format!("catalog entry {id}")))
        }
    }

    /// The history of an entry, for those who may read it.
    pub async fn history(&self, viewer: &Principal, id: i64) -> Result<Vec<HistoryRecord>> {
        let entry = self.get(Some(viewer), id).await?;
        if !viewer.can(Action::ReadHistory) || !viewer.may_read_unlisted_of(entry.org_id) {
            return Err(CatalogError::Forbidden("you may not read this entry's history".into()));
        }
        Ok(self.store.entry_history(id).await?)
    }

    /// Listed entries that `viewer` may see, filtered.
    pub async fn browse(&self, viewer: Option<&Principal>, mut filter: EntryFilter) -> Result<EntryPage> {
        filter.statuses = vec![EntryStatus::Listed];
        filter.public_only = is_public_viewer(viewer);
        Ok(self.store.list_entries(&filter).await?)
    }

    /// The entries of the caller's own organization in any status (the officer workbench).
    /// Administrators may name another organization.
    /// The entries of `filter.org_id` or `filter.org_slug` (default: the caller's own
    /// organization) in every status.
    pub async fn workbench(&self, who: &Principal, mut filter: EntryFilter) -> Result<EntryPage> {
        let org_id = match (filter.org_id, filter.org_slug.take()) {
            (Some(id), _) => id,
            (None, Some(slug)) => self.store.get_org_by_slug(&slug).await?.id,
            (None, None) => who.org_id,
        };
        if !who.may_read_unlisted_of(org_id) {
            return Err(CatalogError::Forbidden("you may only see your own organization's entries".into()));
        }
        filter.org_id = Some(org_id);
        Ok(self.store.list_entries(&filter).await?)
    }

    /// Entries waiting for review, oldest change last.
    pub async fn review_queue(&self, who: &Principal, mut filter: EntryFilter) -> Result<EntryPage> {
        if !who.can(Action::ReviewEntries) {
            return Err(CatalogError::Forbidden("only platform administrators review entries".into()));
        }
        filter.statuses = vec![EntryStatus::Submitted];
        Ok(self.store.list_entries(&filter).await?)
    }

    /// Counts of listed entries along a dimension (for browsing facets). Public viewers get
    /// counts of public entries only.
    pub async fn listed_counts(&self, viewer: Option<&Principal>, dim: Dimension) -> Result<Vec<(String, i64)>> {
        Ok(self.store.entry_counts(dim, EntryStatus::Listed, is_public_viewer(viewer)).await?)
    }

    fn visible(&self, viewer: Option<&Principal>, e: &CatalogEntry) -> bool {
        match e.status {
            EntryStatus::Listed => may_see_listed(viewer, e.body.open.kind),
            _ => viewer.is_some_and(|v| v.may_read_unlisted_of(e.org_id)),
        }
    }

    async fn editable(&self, who: &Principal, id: i64) -> Result<CatalogEntry> {
        let entry = self.get(Some(who), id).await?;
        if !who.can(Action::EditEntries) || !who.may_edit_for(entry.org_id) {
            return Err(CatalogError::Forbidden("you may only change your own organization's entries".into()));
        }
        Ok(entry)
    }

    async fn reviewable(&self, who: &Principal, id: i64) -> Result<CatalogEntry> {
        if !who.can(Action::ReviewEntries) {
            return Err(CatalogError::Forbidden("only platform administrators review entries".into()));
        }
        Ok(self.store.get_entry(id).await?)
    }

    async fn step(
        &self,
        who: &Principal,
        entry: &CatalogEntry,
        t: Transition,
        action: &str,
        comment: Option<&str>,
    ) -> Result<CatalogEntry> {
        let to = entry.status.after(t).ok_or_else(|| {
            CatalogError::Conflict(format!("cannot {action} an entry that is {}", entry.status.label()))
        })?;
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        let e = self.store.transition_entry(entry.id, who.user_id, action, entry.status, to, comment).await?;
        tracing::info!(
            entry_id = e.id,
            action,
            user_id = who.user_id,
            status = e.status.as_str(),
            "catalog entry changed"
        );
        Ok(e)
    }
}
