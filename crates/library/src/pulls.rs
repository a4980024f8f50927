//! Pulls from department databases: sources with sealed passwords, saved SELECTs, and runs
//! that feed library tables, incrementally by a high-water mark.

use std::path::PathBuf;
use std::sync::Arc;

use tongshu_core::policy::Principal;
use tongshu_lake::{BadRowPolicy, IngestReport, IngestRequest, Mode, Progress, RowStream};
use tongshu_sources::{Connection, Incremental, Kind};
use tongshu_store::{DataSourceRecord, NewPull, PullRecord, TableRecord};

use crate::{LibraryError, LibraryService, Result};

/// A department database to register.
#[derive(Debug, Clone)]
pub struct NewSource {
    pub name: String,
    /// Default: the caller's organization.
    pub org_id: Option<i64>,
    pub kind: String,
    pub host: String,
    pub port: Option<u16>,
    pub database: String,
    pub username: String,
    pub password: String,
    /// The zone of its times without one (`+08:00`); default Beijing.
    pub time_zone: Option<String>,
}

/// A pull to save.
#[derive(Debug, Clone)]
pub struct PullSpec {
    pub name: String,
    pub source: String,
    pub table: String,
    pub query: String,
    pub mode: Mode,
    pub keys: Vec<String>,
    pub incremental_column: Option<String>,
    pub every_minutes: Option<i64>,
}

fn input(msg: impl Into<String>) -> LibraryError {
    LibraryError::Lake(tongshu_lake::LakeError::Input(msg.into()))
}

fn source_err(e: tongshu_sources::SourceError) -> LibraryError {
    input(e.to_string())
}

impl LibraryService {
    fn secret(&self) -> Result<&tongshu_sources::SecretKey> {
        self.secret.as_ref().ok_or_else(|| input("no secret key is configured, so source passwords cannot be sealed"))
    }

    async fn connection(&self, s: &DataSourceRecord) -> Result<Connection> {
        let kind =
            Kind::parse(&s.kind).ok_or_else(|| input(format!("data source {:?} has kind {:?}", s.name, s.kind)))?;
        let password = self
            .secret()?
            .open(&s.password_sealed)
            .map_err(|e| input(format!("the password of data source {:?}: {e}", s.name)))?;
        Ok(Connection {
            kind,
            host: s.host.clone(),
            port: u16::try_from(s.port).unwrap_or(kind.default_port()),
            database: s.database.clone(),
            username: s.username.clone(),
            password,
            time_zone: s.time_zone.clone(),
        })
    }

    /// Source `name` and how to reach it (its password opened), for `who` of its
    /// organization (or the platform): a real-time channel's pipeline.
    pub async fn source_connection(&self, who: &Principal, name: &str) -> Result<(DataSourceRecord, Connection)> {
        let source = self.store.get_source(name).await?;
        if !who.may_edit_for(source.org_id) {
            return Err(LibraryError::Forbidden(format!("data source {name:?} belongs to another organization")));
        }
        let conn = self.connection(&source).await?;
        Ok((source, conn))
    }

    /// The connection of data source `id` for the platform's own use (external tables read
    /// in place; who may query them is decided where SQL is allowed at all).
    pub async fn platform_source_connection(&self, id: i64) -> Result<Connection> {
        let source = self.store.get_source_by_id(id).await?;
        self.connection(&source).await
    }

    /// Registers a department database after checking that it answers with these
    /// credentials; the password is stored sealed.
    pub async fn add_source(&self, who: &Principal, s: NewSource) -> Result<DataSourceRecord> {
        let org_id = s.org_id.unwrap_or(who.org_id);
        if !who.may_edit_for(org_id) {
            return Err(LibraryError::Forbidden("you may only register data sources of your own organization".into()));
        }
        if s.name.trim().is_empty() {
            return Err(input("a data source needs a name"));
        }
        let kind = Kind::parse(&s.kind)
            .ok_or_else(|| input(format!("unknown database kind {:?}: use postgres or mysql", s.kind)))?;
        let conn = Connection {
            kind,
            host: s.host.clone(),
            port: s.port.unwrap_or(kind.default_port()),
            database: s.database.clone(),
            username: s.username.clone(),
            password: s.password.clone(),
            time_zone: match &s.time_zone {
                Some(z) => tongshu_sources::parse_time_zone(z).map_err(source_err)?,
                None => tongshu_sources::DEFAULT_TIME_ZONE.to_owned(),
            },
        };
        tongshu_sources::check(&conn).await.map_err(source_err)?;
        let sealed = self.secret()?.seal(&s.password);
        Ok(self
            .store
            .add_source(
                s.name.trim(),
                org_id,
                kind.as_str(),
                &s.host,
                i64::from(conn.port),
                &s.database,
                &s.username,
                &sealed,
                &who.username,
                &conn.time_zone,
            )
            .await?)
    }

    pub async fn sources(&self, who: &Principal) -> Result<Vec<DataSourceRecord>> {
        let only = if who.runs_the_platform() { None } else { Some(who.org_id) };
        Ok(self.store.list_sources(only).await?)
    }

    /// Saves a pull after checking its query against the source (it must describe).
    pub async fn add_pull(&self, who: &Principal, p: PullSpec) -> Result<PullRecord> {
        let source = self.store.get_source(&p.source).await?;
        if !who.may_edit_for(source.org_id) {
            return Err(LibraryError::Forbidden("you may only pull from your own organization's sources".into()));
        }
        tongshu_lake::check_name(&p.table)?;
        tongshu_sources::check_query(&p.query).map_err(source_err)?;
        if matches!(p.mode, Mode::Upsert | Mode::Delete) && p.keys.is_empty() {
            return Err(input(format!("mode {:?} needs key columns", p.mode)));
        }
        if let Some(every) = p.every_minutes
            && every < 1
        {
            return Err(input("a pull runs at most every minute"));
        }
        let mode = serde_json::to_value(p.mode).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let record = self
            .store
            .add_pull(&NewPull {
                name: p.name.trim().to_owned(),
                source_id: source.id,
                table: p.table,
                query: p.query,
                mode,
                keys: p.keys,
                incremental_column: p.incremental_column,
                every_minutes: p.every_minutes,
                created_by: who.username.clone(),
            })
            .await?;
        Ok(record)
    }

    pub async fn pulls(&self) -> Result<Vec<PullRecord>> {
        Ok(self.store.list_pulls().await?)
    }

    /// Runs a saved pull: its rows (above the high-water mark, when incremental) become one
    /// new version of its table, made on the first run. The mark moves only after the commit.
    pub async fn run_pull(
        &self,
        who: &Principal,
        name: &str,
        progress: Arc<Progress>,
    ) -> Result<(IngestReport, TableRecord)> {
        self.run_pull_as(who, name, progress, None).await
    }

    /// [`Self::run_pull`] for background job `job` (kept in the commit).
    pub(crate) async fn run_pull_as(
        &self,
        who: &Principal,
        name: &str,
        progress: Arc<Progress>,
        job: Option<i64>,
    ) -> Result<(IngestReport, TableRecord)> {
        let pull = self.store.get_pull(name).await?;
        let source = self.store.get_source_by_id(pull.source_id).await?;
        if !who.may_edit_for(source.org_id) {
            return Err(LibraryError::Forbidden("you may only run your own organization's pulls".into()));
        }
        let result = self.run_pull_inner(who, &pull, &source, progress, job).await;
        match &result {
            Ok((report, _, hw)) => {
                let msg = format!(
                    "version {}: {} rows read, {} written, {} updated, {} deleted",
                    report.version, report.rows_read, report.rows_written, report.rows_updated, report.rows_deleted
                );
                self.store.record_pull_run(pull.id, "succeeded", &msg, hw.as_deref()).await?;
            }
            Err(e) => self.store.record_pull_run(pull.id, "failed", &e.to_string(), None).await?,
        }
        result.map(|(r, t, _)| (r, t))
    }

    async fn run_pull_inner(
        &self,
        who: &Principal,
        pull: &PullRecord,
        source: &DataSourceRecord,
        progress: Arc<Progress>,
        job: Option<i64>,
    ) -> Result<(IngestReport, TableRecord, Option<String>)> {
        let conn = self.connection(source).await?;
        let incremental =
            pull.incremental_column.clone().map(|column| Incremental { column, after: pull.high_water.clone() });
        let started = tongshu_sources::pull(&conn, &pull.query, incremental).await.map_err(source_err)?;
        let high_water = started.high_water.clone();
        let mode =
            Mode::parse(&pull.mode).ok_or_else(|| input(format!("pull {:?} has mode {:?}", pull.name, pull.mode)))?;
        let create = !self.lake.exists(&pull.table).await?;
        let req = IngestRequest {
            table: pull.table.clone(),
            file: PathBuf::from(&pull.name),
            source: Default::default(),
            mode: if create && mode == Mode::Delete { Mode::Append } else { mode },
            keys: pull.keys.clone(),
            on_bad_rows: BadRowPolicy::Reject,
            create,
            max_lengths: Default::default(),
            user: who.username.clone(),
            progress,
            rows: Some(RowStream::new(Box::new(started.rows), started.columns)),
            job,
            position: None,
        };
        let (report, record) = self.ingest(who, req, Some(source.org_id)).await?;
        let hw = high_water.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok((report, record, hw))
    }
}
