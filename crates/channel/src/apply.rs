//! What both sources share: the carried tables as the pipeline knows them, the batch
//! each holds, its commit into the library (with the source position), and the copy of a
//! snapshot.

use tongshu_lake::{ChangeKind, Changes, ColumnType, IngestRequest, Mode, RowStream, SourcePosition, TargetColumn};

use crate::{ChannelError, Pipeline, Result};

/// Changes held in memory for one table at most before a part of a long transaction is
/// applied ahead of its commit (without a position: a replay applies it again, to the
/// same effect), so memory stays bounded whatever the transaction's size.
pub(crate) const HELD_CHANGES: usize = 200_000;

/// A source column as the pipeline types it.
#[derive(Debug, Clone)]
pub(crate) struct SourceColumn {
    pub(crate) name: String,
    /// The type as sqlx names it (`INT4`, `TIMESTAMPTZ`, …).
    pub(crate) type_name: String,
    pub(crate) ty: ColumnType,
}

/// A carried table as the source describes it.
pub(crate) struct SourceTable {
    pub(crate) schema: String,
    pub(crate) name: String,
    pub(crate) target: String,
    pub(crate) keys: Vec<String>,
    pub(crate) columns: Vec<SourceColumn>,
    /// The position its library table holds.
    pub(crate) position: Option<i64>,
}

/// One carried table while streaming: its columns as the stream last described them.
pub(crate) struct Live {
    pub(crate) table: SourceTable,
    pub(crate) pending: Changes,
    /// Changes applied since start.
    pub(crate) applied: u64,
    /// Batches committed since start (for compaction).
    pub(crate) batches: u64,
}

impl Live {
    pub(crate) fn key_of(&self, cells: &[Option<String>]) -> Vec<Option<String>> {
        self.table
            .keys
            .iter()
            .map(|k| self.table.columns.iter().position(|c| &c.name == k).and_then(|i| cells[i].clone()))
            .collect()
    }

    pub(crate) fn push(&mut self, kind: ChangeKind, cells: Vec<Option<String>>) {
        if self.pending.columns.is_empty() {
            self.pending.columns = self.table.columns.iter().map(|c| c.name.clone()).collect();
        }
        self.pending.rows.push((kind, cells));
    }

    /// A delete of the row with these key cells (in key order).
    pub(crate) fn push_delete(&mut self, key: Vec<Option<String>>) {
        let mut cells = vec![None; self.table.columns.len()];
        for (k, v) in self.table.keys.iter().zip(key) {
            if let Some(i) = self.table.columns.iter().position(|c| &c.name == k) {
                cells[i] = v;
            }
        }
        self.push(ChangeKind::Delete, cells);
    }
}

/// Copies table `t` as `pull` reads it (in a snapshot that stands at `at`) into its
/// library table, which then holds `at`. Returns the rows copied.
pub(crate) async fn copy(
    p: &Pipeline,
    t: &SourceTable,
    pull: tongshu_sources::Pull,
    at: SourcePosition,
) -> Result<u64> {
    let mut exists = p.lake.exists(&t.target).await?;
    if exists && t.position.is_none() && p.lake.info(&t.target).await?.version == 0 {
        // Made, still empty, by a copy that was killed before its first commit of rows:
        // start that table again.
        p.lake.drop_table(&t.target).await?;
        exists = false;
    }
    if exists && t.position.is_none() {
        return Err(ChannelError::Input(format!(
            "library table {:?} exists and is not fed by pipeline {:?}: choose another table name",
            t.target, p.spec.name
        )));
    }
    if exists {
        let have = tongshu_lake::Library::columns_of(&p.lake.table(&t.target).await?)?;
        let added: Vec<TargetColumn> =
            pull.columns.iter().filter(|c| !have.iter().any(|h| h.name == c.name)).cloned().collect();
        if !added.is_empty() {
            p.lake.add_columns(&t.target, &added, "channel").await?;
        }
    }
    let req = IngestRequest {
        create: !exists,
        mode: if exists { Mode::Overwrite } else { Mode::Append },
        rows: Some(RowStream::new(Box::new(pull.rows), pull.columns)),
        position: Some(at),
        ..IngestRequest::new(t.target.clone(), format!("{}.{}", t.schema, t.name), "channel")
    };
    let report = p.lake.ingest(req).await?;
    Ok(report.rows_written)
}

/// Applies what `live` holds, each table in its own commit at `position` (none for the
/// part of a transaction applied early); the caller then tells the source `position`.
pub(crate) async fn flush(
    p: &Pipeline,
    live: &mut [Live],
    position: Option<i64>,
    committed_at: Option<chrono_like::Millis>,
) -> Result<()> {
    let app = p.spec.app();
    let mut any = false;
    for l in live.iter_mut() {
        if l.pending.is_empty() {
            continue;
        }
        any = true;
        let changes = std::mem::take(&mut l.pending);
        let n = changes.rows.len() as u64;
        let at = position.map(|position| SourcePosition { app: app.clone(), position });
        let done = p.lake.apply_changes(&l.table.target, &l.table.keys, changes, at.as_ref(), "channel").await?;
        l.applied += n;
        if done.version.is_some() {
            l.batches += 1;
            if p.spec.compact_every > 0 && l.batches.is_multiple_of(p.spec.compact_every) {
                // Small files of many batches into larger ones; the position stays.
                match p.lake.compact(&l.table.target, &[]).await {
                    Ok(r) => tracing::debug!(table = %l.table.target, removed = r.files_removed, "compacted"),
                    Err(e) => {
                        tracing::warn!(table = %l.table.target, error = %e, "compaction failed; the stream goes on")
                    }
                }
            }
        }
        if let Some(pos) = position {
            l.table.position = Some(pos);
        }
        let (target, applied, pos) = (l.table.target.clone(), l.applied, l.table.position);
        p.update(|s| {
            if let Some(st) = s.tables.iter_mut().find(|x| x.target == target) {
                st.changes = applied;
                st.position = pos;
            }
        });
    }
    if let Some(pos) = position {
        p.update(|s| {
            s.confirmed = Some(pos);
            if any {
                s.batches += 1;
                s.lag_ms = committed_at.map(chrono_like::since);
            }
        });
    }
    Ok(())
}

/// Time helpers without a date crate: commit times as Unix milliseconds.
pub(crate) mod chrono_like {
    pub type Millis = i64;

    pub fn now() -> Millis {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    pub fn since(t: Millis) -> u64 {
        (now() - t).max(0) as u64
    }
}

impl SourceTable {
    /// A described table with its keys: `keys` (the operator's) or else the source's
    /// primary key `pk`; refused without either, or with a key that is not a column.
    pub(crate) fn keyed(
        spec: &crate::TableSpec,
        schema: &str,
        name: &str,
        columns: Vec<SourceColumn>,
        pk: Vec<String>,
    ) -> Result<SourceTable> {
        let keys = if spec.keys.is_empty() { pk } else { spec.keys.clone() };
        if keys.is_empty() {
            return Err(ChannelError::Input(format!(
                "table {schema}.{name} has no primary key: name its key columns (--key) so that changes can be matched to rows"
            )));
        }
        if let Some(k) = keys.iter().find(|k| !columns.iter().any(|c| &c.name == *k)) {
            return Err(ChannelError::Input(format!("key column {k:?} is not a column of {schema}.{name}")));
        }
        Ok(SourceTable {
            schema: schema.to_owned(),
            name: name.to_owned(),
            target: spec.target.clone(),
            keys,
            columns,
            position: None,
        })
    }
}

/// Carried table `i` as the source now describes it (`now`: name, the source's type name,
/// library type): a column it added is added to the library table; one dropped, renamed or
/// retyped stops the pipeline ([`ChannelError::Paused`], nothing of it applied) unless the
/// operator accepted the change (a key column never). What is held with the old columns is
/// applied first, without a position.
pub(crate) async fn evolve(
    p: &Pipeline,
    live: &mut [Live],
    i: usize,
    now: &[(String, String, ColumnType)],
) -> Result<()> {
    let mut gone = Vec::new();
    {
        let l = &live[i];
        for c in &l.table.columns {
            let change = match now.iter().find(|(n, _, _)| *n == c.name) {
                None => "was dropped or renamed in the source".to_owned(),
                Some((_, _, t)) if *t != c.ty => format!("changed type in the source ({} to {t})", c.ty),
                Some(_) => continue,
            };
            if !p.spec.accept_schema || l.table.keys.contains(&c.name) {
                return Err(ChannelError::Paused { table: l.table.target.clone(), column: c.name.clone(), change });
            }
            tracing::warn!(table = %l.table.target, column = %c.name, %change, "schema change accepted");
            p.update(|s| s.accepted += 1);
            if !now.iter().any(|(n, _, _)| *n == c.name) {
                gone.push(c.name.clone());
            }
        }
    }
    let added: Vec<SourceColumn> = now
        .iter()
        .filter(|(n, _, _)| !live[i].table.columns.iter().any(|c| &c.name == n))
        .map(|(n, tn, t)| SourceColumn { name: n.clone(), type_name: tn.clone(), ty: *t })
        .collect();
    if gone.is_empty() && added.is_empty() {
        return Ok(());
    }
    flush(p, live, None, None).await?;
    let l = &mut live[i];
    l.table.columns.retain(|c| !gone.contains(&c.name));
    if !added.is_empty() {
        let targets: Vec<TargetColumn> =
            added.iter().map(|c| TargetColumn { name: c.name.clone(), ty: c.ty, max_len: None }).collect();
        p.lake.add_columns(&l.table.target, &targets, "channel").await?;
        tracing::info!(table = %l.table.target, columns = ?targets.iter().map(|t| &t.name).collect::<Vec<_>>(), "source added columns");
        l.table.columns.extend(added);
    }
    l.pending = Changes::default();
    Ok(())
}
