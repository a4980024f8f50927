//! Read-only SQL over library tables, with a time limit and a row limit.

use std::time::Duration;

use deltalake::arrow::record_batch::RecordBatch;
use deltalake::datafusion::execution::context::SQLOptions;
use deltalake::datafusion::logical_expr::LogicalPlan;
use deltalake::datafusion::prelude::{SessionConfig, SessionContext};

use crate::{LakeError, Library, Result};

/// Limits of one query.
#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    pub max_rows: usize,
    pub timeout: Duration,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self { max_rows: 10_000, timeout: Duration::from_secs(60) }
    }
}

/// Rows of a query, and whether the row limit cut them short.
#[derive(Debug)]
pub struct QueryResult {
    pub batches: Vec<RecordBatch>,
    pub truncated: bool,
}

impl Library {
    /// Runs one read-only SQL statement. Every table of the library is visible by name;
    /// `versions` pins tables to an earlier version (time travel).
    pub async fn sql(&self, sql: &str, versions: &[(String, u64)], limits: QueryLimits) -> Result<QueryResult> {
        let ctx = self.session(sql, versions).await?;
        let run = async {
            let df = Library::read_only(&ctx, sql).await?;
            // EXPLAIN must stay the root of its plan; its few rows need no limit.
            let explain = matches!(df.logical_plan(), LogicalPlan::Explain(_) | LogicalPlan::Analyze(_));
            let df = if explain {
                df
            } else {
                df.limit(0, Some(limits.max_rows + 1)).map_err(|e| LakeError::Query(e.to_string()))?
            };
            df.collect().await.map_err(|e| LakeError::Query(e.to_string()))
        };
        let mut batches = tokio::time::timeout(limits.timeout, run)
            .await
            .map_err(|_| LakeError::Timeout(limits.timeout.as_secs()))??;
        // Cut to `max_rows`, remembering that there was more.
        let mut left = limits.max_rows;
        let mut truncated = false;
        for b in batches.iter_mut() {
            if b.num_rows() > left {
                *b = b.slice(0, left);
                truncated = true;
            }
            left -= b.num_rows();
        }
        batches.retain(|b| b.num_rows() > 0 || !truncated);
        Ok(QueryResult { batches, truncated })
    }
}

impl Library {
    /// The output column names of a read-only statement, without running it.
    pub async fn sql_columns(&self, sql: &str) -> Result<Vec<String>> {
        let ctx = self.session(sql, &[]).await?;
        let df = Library::read_only(&ctx, sql).await?;
        Ok(df.schema().fields().iter().map(|f| f.name().clone()).collect())
    }

    /// A DataFusion session for one statement, with the library tables it names registered
    /// by name (only those: a library of thousands of tables costs nothing extra);
    /// `versions` pins tables to earlier versions. Settings come from `DATAFUSION_*`
    /// environment variables where set (e.g. `DATAFUSION_EXECUTION_TARGET_PARTITIONS`).
    pub(crate) async fn session(&self, sql: &str, versions: &[(String, u64)]) -> Result<SessionContext> {
        let config =
            SessionConfig::from_env().map_err(|e| LakeError::Internal(format!("DATAFUSION_* settings: {e}")))?;
        let ctx = SessionContext::new_with_config(config);
        for (n, _) in versions {
            if !self.exists(n).await? {
                return Err(LakeError::NoSuchTable(n.clone()));
            }
        }
        let state = ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        let statement = state.sql_to_statement(sql, &dialect).map_err(|e| LakeError::Query(e.to_string()))?;
        let mut names: Vec<String> = state
            .resolve_table_references(&statement)
            .map_err(|e| LakeError::Query(e.to_string()))?
            .into_iter()
            .filter(|r| r.schema().is_none())
            .map(|r| r.table().to_owned())
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            if crate::check_name(&name).is_err() {
                continue; // DataFusion names the unknown table
            }
            if !self.exists(&name).await? {
                if let Some(external) = &self.external
                    && !versions.iter().any(|(n, _)| *n == name)
                    && let Some(provider) = external.provider(&name).await?
                {
                    ctx.register_table(name.as_str(), provider).map_err(|e| LakeError::Internal(e.to_string()))?;
                }
                continue;
            }
            let mut t = self.table(&name).await?;
            if let Some((_, v)) = versions.iter().find(|(n, _)| *n == name) {
                t.load_version(*v)
                    .await
                    .map_err(|e| LakeError::Input(format!("table {name:?} has no version {v}: {e}")))?;
            }
            t.update_datafusion_session(&ctx.state())?;
            let provider = t.table_provider().await?;
            ctx.register_table(name.as_str(), provider).map_err(|e| LakeError::Internal(e.to_string()))?;
        }
        Ok(ctx)
    }

    /// Plans one read-only statement.
    pub(crate) async fn read_only(
        ctx: &SessionContext,
        sql: &str,
    ) -> Result<deltalake::datafusion::prelude::DataFrame> {
        let options = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
        ctx.sql_with_options(sql, options).await.map_err(|e| LakeError::Query(e.to_string()))
    }
}
