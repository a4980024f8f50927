//! The library subcommands: `ingest`, `table ...` and `sql`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use tongshu_core::policy::{Principal, Role};
use tongshu_lake::{BadRowPolicy, IngestRequest, LakeError, Library, Mode, QueryLimits, SourceOptions, encoding_named};
use tongshu_library::{LibraryError, LibraryService};
use tongshu_store::MetaStore;

use crate::Common;

#[derive(Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub common: Common,
    /// Library table to feed: 1-63 lowercase letters, digits and '_' (e.g. gaj_hukou).
    #[arg(long)]
    pub table: String,
    /// The input file.
    #[arg(long, value_name = "PATH")]
    pub file: PathBuf,
    /// csv, tsv, xlsx, xls, json (an array of objects), ndjson or parquet.
    /// [default: from the file name]
    #[arg(long)]
    pub format: Option<String>,
    /// utf-8, gbk or gb18030. [default: detected]
    #[arg(long)]
    pub encoding: Option<String>,
    /// Spreadsheet sheet to read, or * for every sheet (all with the same columns). [default: the first]
    #[arg(long)]
    pub sheet: Option<String>,
    /// append, overwrite, upsert (update matching keys, insert the rest) or delete (by key).
    #[arg(long, default_value = "append")]
    pub mode: String,
    /// Key columns for upsert and delete, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub key: Vec<String>,
    /// reject (nothing is written when any row is bad) or quarantine (bad rows are left out
    /// and reported).
    #[arg(long, default_value = "reject")]
    pub on_bad_rows: String,
    /// Create the table from the file's columns (types from the whole file) and file a draft
    /// catalog entry describing it.
    #[arg(long)]
    pub create: bool,
    /// Organization (slug) that owns a new table's catalog entry. [default: the user's]
    #[arg(long, value_name = "SLUG", requires = "create")]
    pub org: Option<String>,
    /// Act as this user. [default: the first platform administrator]
    #[arg(long = "as", value_name = "USERNAME")]
    pub as_user: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum TableCmd {
    /// List the library's tables with their rows, size and last update.
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Show a table: its URI (any Delta reader opens it), version, rows, columns.
    Info {
        #[command(flatten)]
        common: Common,
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Show every version: when, who, what, rows added and removed.
    History {
        #[command(flatten)]
        common: Common,
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Compact small files into large ones, optionally Z-ordered by columns (a new version).
    Optimize {
        #[command(flatten)]
        common: Common,
        name: String,
        /// Cluster rows by these columns (comma-separated) so filters on them read less.
        #[arg(long, value_delimiter = ',')]
        zorder: Vec<String>,
    },
    /// Delete data files that no version younger than the retention period needs.
    Vacuum {
        #[command(flatten)]
        common: Common,
        name: String,
        /// Keep every file needed by versions younger than this (time travel ends there).
        #[arg(long, default_value_t = 168)]
        retention_hours: u64,
        /// Only list the files that would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Make an earlier version the table's content again (as a new version).
    Restore {
        #[command(flatten)]
        common: Common,
        name: String,
        #[arg(long)]
        version: u64,
    },
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub common: Common,
    /// Export this whole table ...
    #[arg(long, conflicts_with = "query", required_unless_present = "query")]
    pub table: Option<String>,
    /// ... or the rows of this read-only SELECT.
    #[arg(long)]
    pub query: Option<String>,
    /// csv, xlsx, json, ndjson or parquet.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Start CSV with a UTF-8 byte order mark, so that Excel shows Chinese correctly.
    #[arg(long)]
    pub bom: bool,
    /// Write here instead of standard output (required for parquet).
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Read a table as of a version, e.g. --as-of renkou=3 (repeatable).
    #[arg(long, value_name = "TABLE=VERSION")]
    pub as_of: Vec<String>,
}

#[derive(Args)]
pub struct SqlArgs {
    #[command(flatten)]
    pub common: Common,
    /// Output format: table, csv or json.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Most rows to print.
    #[arg(long, default_value_t = 10_000)]
    pub max_rows: usize,
    /// Seconds before the query is stopped.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Read a table as of a version, e.g. --as-of renkou=3 (repeatable).
    #[arg(long, value_name = "TABLE=VERSION")]
    pub as_of: Vec<String>,
    /// One read-only SELECT statement over library tables.
    pub query: String,
}

/// The library of the configured data directory.
pub fn library(s: &crate::settings::Settings) -> Result<Library> {
    let root = if s.library.is_empty() { s.data_dir.join("library").display().to_string() } else { s.library.clone() };
    Ok(Library::open(&root, s.library_options.0.clone())?)
}

pub async fn principal(store: &MetaStore, username: Option<&str>) -> Result<Principal> {
    let users = store.list_users().await?;
    let user = match username {
        Some(u) => users.into_iter().find(|x| x.username == u).with_context(|| format!("--as {u:?}: no such user"))?,
        None => users
            .into_iter()
            .find(|x| x.role == Role::PlatformAdmin && !x.disabled)
            .context("no platform administrator exists; create one with `tongshu user add` or pass --as")?,
    };
    Ok(user.principal())
}

fn human_bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

pub async fn ingest(args: IngestArgs, store: MetaStore, lake: Library) -> Result<()> {
    let format = match &args.format {
        None => None,
        Some(f) => Some(
            tongshu_lake::InputFormat::parse(f)
                .with_context(|| format!("--format {f:?} is not one of csv, tsv, xlsx, xls, json, ndjson, parquet"))?,
        ),
    };
    let encoding = match &args.encoding {
        None => None,
        Some(e) => {
            Some(encoding_named(e).with_context(|| format!("--encoding {e:?} is not one of utf-8, gbk, gb18030"))?)
        }
    };
    let mode = Mode::parse(&args.mode)
        .with_context(|| format!("--mode {:?} is not one of append, overwrite, upsert, delete", args.mode))?;
    let on_bad_rows = match args.on_bad_rows.as_str() {
        "reject" => BadRowPolicy::Reject,
        "quarantine" => BadRowPolicy::Quarantine,
        other => bail!("--on-bad-rows {other:?} is not reject or quarantine"),
    };
    let who = principal(&store, args.as_user.as_deref()).await?;
    let org_id = match &args.org {
        Some(slug) => {
            Some(store.get_org_by_slug(slug).await.with_context(|| format!("--org {slug:?}: no such organization"))?.id)
        }
        None => None,
    };
    let total = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let progress = Arc::new(tongshu_lake::Progress::default());
    let req = IngestRequest {
        table: args.table.clone(),
        file: args.file.clone(),
        source: SourceOptions { format, delimiter: None, encoding, sheet: args.sheet.clone() },
        mode,
        keys: args.key.clone(),
        on_bad_rows,
        create: args.create,
        max_lengths: Default::default(),
        user: who.username.clone(),
        progress: progress.clone(),
        rows: None,
        job: None,
        position: None,
    };
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {bytes_per_sec} {msg} [{elapsed}]")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let ticker = {
        let (bar, progress) = (bar.clone(), progress.clone());
        tokio::spawn(async move {
            loop {
                bar.set_position(progress.bytes.load(Ordering::Relaxed));
                bar.set_message(format!("{} rows", progress.rows.load(Ordering::Relaxed)));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let service = LibraryService::new(lake, store);
    let result = service.ingest(&who, req, org_id).await;
    ticker.abort();
    bar.finish_and_clear();
    match result {
        Ok((report, record)) => {
            if args.json {
                say!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(());
            }
            say!(
                "committed version {} of table {}: {} rows written, {} updated, {} deleted ({} {}, {:.1} s)",
                report.version,
                report.table,
                report.rows_written,
                report.rows_updated,
                report.rows_deleted,
                human_bytes(report.bytes),
                report.encoding,
                report.seconds
            );
            if report.created {
                let entry = record.entry_id.map(|e| e.to_string()).unwrap_or_default();
                say!("created table {}; a draft catalog entry was filed for it (entry {entry})", report.table);
            }
            say!("table now has {} rows", record.rows);
            for n in &report.notes {
                say!("note: {n}");
            }
            if report.bad_rows > 0 {
                say!("quarantined {} bad rows:", report.bad_rows);
                for b in report.bad_row_samples.iter().take(20) {
                    say!("  {b}");
                }
            }
            Ok(())
        }
        Err(LibraryError::Lake(LakeError::Rejected(r))) => {
            eprintln!("ingest refused, nothing was written: {} of {} rows are bad", r.bad_rows, r.rows_read);
            for b in r.bad_row_samples.iter().take(20) {
                eprintln!("  {b}");
            }
            if r.bad_rows > 20 {
                eprintln!(
                    "  ... and {} more; --on-bad-rows quarantine writes the good rows and reports these",
                    r.bad_rows - 20
                );
            }
            bail!("{} bad rows", r.bad_rows)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn table(cmd: TableCmd, store: MetaStore, lake: Library) -> Result<()> {
    let service = LibraryService::new(lake.clone(), store.clone());
    match cmd {
        TableCmd::List { json, .. } => {
            let mut names = lake.list().await?;
            names.sort();
            let records = store.list_tables().await?;
            if json {
                let mut out = Vec::new();
                for n in &names {
                    let info = lake.info(n).await?;
                    out.push(serde_json::json!({"name": n, "uri": info.uri, "version": info.version, "rows": info.rows,
                        "bytes": info.bytes, "entry_id": records.iter().find(|r| &r.name == n).and_then(|r| r.entry_id)}));
                }
                say!("{}", serde_json::to_string_pretty(&out)?);
                return Ok(());
            }
            say!(
                "{:<32} {:>8} {:>12} {:>10}  {:<17} catalog entry",
                "table",
                "version",
                "rows",
                "size",
                "updated (UTC+8)"
            );
            for n in &names {
                let info = lake.info(n).await?;
                let record = records.iter().find(|r| &r.name == n);
                let entry = record.and_then(|r| r.entry_id).map(|e| e.to_string()).unwrap_or_else(|| "-".into());
                let updated = record.map(|r| crate::beijing_minute(r.updated_at)).unwrap_or_else(|| "-".into());
                say!(
                    "{:<32} {:>8} {:>12} {:>10}  {:<17} {entry}",
                    n,
                    info.version,
                    info.rows,
                    human_bytes(info.bytes),
                    updated
                );
            }
            Ok(())
        }
        TableCmd::Info { name, json, .. } => {
            let info = lake.info(&name).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&info)?);
                return Ok(());
            }
            say!(
                "table    {}\nuri      {}\nversion  {}\nrows     {}\nfiles    {}\nsize     {}",
                info.name,
                info.uri,
                info.version,
                info.rows,
                info.files,
                human_bytes(info.bytes)
            );
            say!("columns:");
            for c in &info.columns {
                say!("  {} ({})", c.name, c.ty);
            }
            Ok(())
        }
        TableCmd::History { name, json, .. } => {
            let history = lake.history(&name).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&history)?);
                return Ok(());
            }
            say!("{:>7}  {:<16}  {:<10} {:<16} {:<28} changes", "version", "when (UTC+8)", "operation", "by", "from");
            for v in history {
                let when = v
                    .timestamp
                    .and_then(|ms| time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
                    .map(crate::beijing_minute)
                    .unwrap_or_else(|| "-".into());
                say!(
                    "{:>7}  {:<16}  {:<10} {:<16} {:<28} {}",
                    v.version,
                    when,
                    v.operation,
                    v.user.as_deref().filter(|u| !u.is_empty()).unwrap_or("-"),
                    v.source.as_deref().filter(|u| !u.is_empty()).unwrap_or("-"),
                    change_summary(&v.metrics)
                );
            }
            Ok(())
        }
        TableCmd::Optimize { name, zorder, .. } => {
            let r = lake.compact(&name, &zorder).await?;
            let entry = store.get_table(&name).await?.and_then(|r| r.entry_id);
            service.refresh(&name, entry).await?;
            say!("table {name}: {} files rewritten into {} (version {})", r.files_removed, r.files_added, r.version);
            Ok(())
        }
        TableCmd::Vacuum { name, retention_hours, dry_run, .. } => {
            let files = lake.vacuum(&name, retention_hours, dry_run).await?;
            let verb = if dry_run { "would delete" } else { "deleted" };
            say!("table {name}: {verb} {} files older than {retention_hours} hours", files.len());
            Ok(())
        }
        TableCmd::Restore { name, version, .. } => {
            let v = lake.restore(&name, version).await?;
            let entry = store.get_table(&name).await?.and_then(|r| r.entry_id);
            service.refresh(&name, entry).await?;
            say!("table {name} restored to version {version} as version {v}");
            Ok(())
        }
    }
}

fn versions(as_of: &[String]) -> Result<Vec<(String, u64)>> {
    let mut versions = Vec::new();
    for a in as_of {
        let (t, v) = a.split_once('=').with_context(|| format!("--as-of {a:?} is not TABLE=VERSION"))?;
        let v: u64 = v.parse().with_context(|| format!("--as-of {a:?}: the version must be a number"))?;
        versions.push((t.to_owned(), v));
    }
    Ok(versions)
}

pub async fn export(args: ExportArgs, lake: Library) -> Result<()> {
    let format = tongshu_lake::ExportFormat::parse(&args.format, args.bom)
        .with_context(|| format!("--format {:?} is not csv, xlsx, json, ndjson or parquet", args.format))?;
    if args.table.is_none() && args.query.is_none() {
        bail!("give --table or --query");
    }
    let versions = versions(&args.as_of)?;
    // A table by name is read through its provider (no SQL made from the name); a query as given.
    let write = |out: Box<dyn std::io::Write + Send>| {
        let (lake, versions, table, query) = (&lake, &versions, args.table.clone(), args.query.clone());
        async move {
            match (table, query) {
                (Some(t), _) => {
                    let version = versions.iter().find(|(n, _)| *n == t).map(|(_, v)| *v);
                    lake.export_table(&t, version, format, out).await
                }
                (None, Some(q)) => lake.export(&q, versions, format, out).await,
                (None, None) => unreachable!("checked above"),
            }
            .map(|(rows, _)| rows)
        }
    };
    let rows = match &args.output {
        Some(path) => {
            // Write to a temporary file first, so a failed export never leaves half a file.
            let tmp = path.with_extension("partial");
            let file = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
            let result = write(Box::new(std::io::BufWriter::new(file))).await;
            match result {
                Ok(rows) => {
                    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
                    rows
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e.into());
                }
            }
        }
        None if format == tongshu_lake::ExportFormat::Parquet => bail!("parquet needs --output PATH"),
        None => write(Box::new(std::io::BufWriter::new(std::io::stdout()))).await?,
    };
    eprintln!("exported {rows} rows");
    Ok(())
}

pub async fn sql(args: SqlArgs, lake: Library) -> Result<()> {
    let versions = versions(&args.as_of)?;
    let limits = QueryLimits { max_rows: args.max_rows, timeout: Duration::from_secs(args.timeout) };
    let result = lake.sql(&args.query, &versions, limits).await?;
    use tongshu_lake::arrow;
    match args.format.as_str() {
        "table" => say!("{}", arrow::util::pretty::pretty_format_batches(&result.batches)?),
        "csv" => {
            let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(std::io::stdout());
            for b in &result.batches {
                w.write(b)?;
            }
        }
        "json" => {
            let mut w = arrow::json::ArrayWriter::new(std::io::stdout());
            for b in &result.batches {
                w.write(b)?;
            }
            w.finish()?;
            say!();
        }
        other => bail!("--format {other:?} is not table, csv or json"),
    }
    if result.truncated {
        eprintln!("(stopped at {} rows; raise --max-rows for more)", args.max_rows);
    }
    Ok(())
}

/// A commit's operation metrics in words: rows added, updated, deleted, files (Delta names
/// them differently per operation).
fn change_summary(metrics: &serde_json::Value) -> String {
    let n = |keys: &[&str]| {
        keys.iter().find_map(|k| match &metrics[*k] {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        })
    };
    let parts: Vec<String> = [
        (n(&["num_added_rows", "numOutputRows", "num_target_rows_inserted"]), "rows added"),
        (n(&["num_target_rows_updated"]), "updated"),
        (n(&["num_deleted_rows", "num_target_rows_deleted"]), "deleted"),
        (n(&["num_added_files", "numFiles"]), "files added"),
        (n(&["num_removed_files"]), "files removed"),
    ]
    .into_iter()
    .filter_map(|(v, what)| v.filter(|v| *v > 0).map(|v| format!("{v} {what}")))
    .collect();
    if parts.is_empty() { "-".into() } else { parts.join(", ") }
}
