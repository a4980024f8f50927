//! Reading input files as typed Arrow batches, row by row, with bounded memory.
//!
//! Every input format is a [`Rows`] source: a header and rows of text cells. CSV/TSV (UTF-8
//! with or without BOM, GBK or GB18030, detected or given; any delimiter and quoting),
//! NDJSON and Parquet stream; JSON arrays and spreadsheets (XLSX/XLS, one sheet) are read
//! whole. Each data row is parsed completely before it is added to a batch, so a bad row is
//! either refused or quarantined whole, never half-added.

use std::path::Path;
use std::sync::Arc;

use deltalake::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use deltalake::arrow::datatypes::SchemaRef;
use deltalake::arrow::record_batch::RecordBatch;
use encoding_rs::Encoding;
use serde::Serialize;

use crate::LakeError;
pub use crate::chunk::Chunk;
use crate::values::{ColumnType, Inference, Value, fits_inferred, parse};

/// Rows per Arrow batch.
pub const BATCH_ROWS: usize = 8192;
/// Bad rows described in a report; the rest are only counted (and kept in quarantine).
pub const MAX_REPORTED: usize = 1000;

/// The formats an ingest reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Csv,
    Tsv,
    Json,
    Ndjson,
    /// XLSX, XLS, XLSB or ODS (one sheet).
    Spreadsheet,
    Parquet,
}

impl InputFormat {
    /// Parses a format name (`csv`, `tsv`, `json`, `ndjson`, `xlsx`, `xls`, `parquet`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "csv" | "txt" => InputFormat::Csv,
            "tsv" | "tab" => InputFormat::Tsv,
            "json" => InputFormat::Json,
            "ndjson" | "jsonl" => InputFormat::Ndjson,
            "xlsx" | "xls" | "xlsb" | "xlsm" | "ods" => InputFormat::Spreadsheet,
            "parquet" => InputFormat::Parquet,
            _ => return None,
        })
    }

    /// The format the first bytes of a file show: ZIP (XLSX/ODS) and OLE (XLS) containers,
    /// Parquet's magic, a JSON array, JSON lines; else text with delimiters (CSV, sniffed
    /// further when read). For uploads that name no file and no format.
    pub fn sniff(head: &[u8]) -> Self {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"\xD0\xCF\x11\xE0") {
            return InputFormat::Spreadsheet;
        }
        if head.starts_with(b"PAR1") {
            return InputFormat::Parquet;
        }
        match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => InputFormat::Json,
            Some(b'{') => InputFormat::Ndjson,
            _ => InputFormat::Csv,
        }
    }

    /// The format a file name suggests (CSV when it suggests none).
    pub fn of(path: &Path) -> Self {
        path.extension().and_then(|e| e.to_str()).and_then(Self::parse).unwrap_or(InputFormat::Csv)
    }
}

/// How to read an input file.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// `None`: from the file name.
    pub format: Option<InputFormat>,
    /// CSV field separator; `None` sniffs it from the header line (`,` `\t` `;` `|`).
    pub delimiter: Option<u8>,
    /// CSV text encoding; `None` detects it (BOM, else UTF-8 when valid, else GB18030).
    pub encoding: Option<&'static Encoding>,
    /// Spreadsheet sheet; `None`: the first; `*`: every sheet (all with the same columns).
    pub sheet: Option<String>,
}

/// Parses an encoding name as users write it.
pub fn encoding_named(name: &str) -> Option<&'static Encoding> {
    match name.trim().to_ascii_lowercase().as_str() {
        "utf-8" | "utf8" => Some(encoding_rs::UTF_8),
        "gbk" | "cp936" => Some(encoding_rs::GBK),
        "gb18030" => Some(encoding_rs::GB18030),
        _ => None,
    }
}

/// One row that could not be taken, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadRow {
    pub file: String,
    /// Line number in the file (the header is line 1).
    pub row: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: row {}", self.file, self.row)?;
        if let Some(c) = &self.column {
            write!(f, ", column {c:?}")?;
        }
        if let Some(v) = &self.value {
            write!(f, ", value {v:?}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// What reading a file found: counts, bad rows, notes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReadReport {
    pub rows_read: u64,
    pub rows_taken: u64,
    pub bad_rows: u64,
    pub bad_row_samples: Vec<BadRow>,
    pub notes: Vec<String>,
    pub encoding: String,
    pub bytes: u64,
    /// Columns of the table the file does not have (left empty, except by a delete, which
    /// reads only its keys).
    pub missing: Vec<String>,
}

impl ReadReport {
    fn bad(&mut self, row: BadRow) {
        self.bad_rows += 1;
        if self.bad_row_samples.len() < MAX_REPORTED {
            self.bad_row_samples.push(row);
        }
    }
}

/// Live counters of an ingest, for progress bars.
#[derive(Debug, Default)]
pub struct Progress {
    pub rows: std::sync::atomic::AtomicU64,
    pub bytes: std::sync::atomic::AtomicU64,
}

/// A target column: its name, type and (for text) the longest value allowed.
#[derive(Debug, Clone)]
pub struct TargetColumn {
    pub name: String,
    pub ty: ColumnType,
    pub max_len: Option<u32>,
}

/// A header and rows of text cells: what every input format is turned into.
pub trait Rows: Send {
    /// The file's name, for reports.
    fn name(&self) -> &str;
    /// Which part of the input the last row came from (a workbook's sheet), when the name
    /// can change: a cheap way to tell that it did.
    fn part(&self) -> usize {
        0
    }
    fn header(&self) -> &[String];
    /// The text encoding or container format, for reports.
    fn encoding(&self) -> String;
    /// Fills `cells` with the next data row and returns its row number (the header is row
    /// 1), or a row that could not be read at all; `None` at the end.
    fn next_row(&mut self, cells: &mut Vec<String>) -> Option<Result<u64, BadRow>>;
    /// Like [`Rows::next_row`], but appends the row's cells to `chunk` (sources that can
    /// copy their cells there directly override it).
    fn next_into(&mut self, chunk: &mut Chunk) -> Option<Result<u64, BadRow>> {
        let mut cells = std::mem::take(&mut chunk.scratch);
        let next = self.next_row(&mut cells);
        if let Some(Ok(row)) = &next {
            chunk.push_row(*row, &cells);
        }
        chunk.scratch = cells;
        next
    }
    /// Whether cells may hold U+FFFD for bytes that could not be decoded (each is then
    /// checked, and such a row refused).
    fn decodes(&self) -> bool {
        true
    }
    /// Whether the rows come in whole chunks ([`Rows::next_chunk`]), made elsewhere (a
    /// source database's reading task), rather than row by row.
    fn chunks(&self) -> bool {
        false
    }
    /// The next chunk of rows, numbered, when [`Rows::chunks`]; `None` at the end or on a
    /// failure ([`Rows::failure`]).
    fn next_chunk(&mut self) -> Option<Chunk> {
        None
    }
    /// Why the rows ended early, when they did (a source database failing mid-way): asked
    /// after `next_row` returned `None`; the ingest is then refused whatever the bad-row policy.
    fn failure(&mut self) -> Option<String> {
        None
    }
}

pub(crate) fn fill(cells: &mut Vec<String>, values: impl Iterator<Item = impl AsRef<str>>) {
    let mut n = 0;
    for v in values {
        if n < cells.len() {
            cells[n].clear();
            cells[n].push_str(v.as_ref());
        } else {
            cells.push(v.as_ref().to_owned());
        }
        n += 1;
    }
    cells.truncate(n);
}

fn check_header(name: &str, header: &[String]) -> Result<(), LakeError> {
    if header.is_empty() || header.iter().all(|h| h.is_empty()) {
        return Err(LakeError::Input(format!("{name}: the first row has no column names")));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = header.iter().find(|h| !seen.insert(h.as_str())) {
        return Err(LakeError::Input(format!("{name}: column {dup:?} appears twice in the header")));
    }
    if let Some(i) = header.iter().position(|h| h.is_empty()) {
        return Err(LakeError::Input(format!("{name}: column {} has no name", i + 1)));
    }
    Ok(())
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Opens `path` as rows in the format the options give or the file name suggests.
pub fn open(path: &Path, opts: &SourceOptions, progress: Arc<Progress>) -> Result<Box<dyn Rows>, LakeError> {
    let format = opts.format.unwrap_or_else(|| InputFormat::of(path));
    let rows: Box<dyn Rows> = match format {
        InputFormat::Csv | InputFormat::Tsv => {
            let mut o = opts.clone();
            if format == InputFormat::Tsv && o.delimiter.is_none() {
                o.delimiter = Some(b'\t');
            }
            Box::new(crate::csv_rows::CsvRows::open(path, &o, progress)?)
        }
        InputFormat::Ndjson => Box::new(crate::formats::NdjsonRows::open(path, progress)?),
        InputFormat::Json => Box::new(crate::formats::json_array(path, progress)?),
        InputFormat::Spreadsheet => crate::formats::spreadsheet(path, opts.sheet.as_deref(), progress)?,
        InputFormat::Parquet => Box::new(crate::formats::ParquetRows::open(path, progress)?),
    };
    check_header(rows.name(), rows.header())?;
    Ok(rows)
}

/// Column types chosen from a file's rows: from all of them, or (for a new table, so that its
/// file is read only once) from the first rows, to be confirmed by the rest during the ingest.
#[derive(Debug, Clone)]
pub struct Guess {
    pub columns: Vec<TargetColumn>,
    /// Notes on the columns whose type is settled.
    pub notes: Vec<String>,
    /// Whether every row was looked at (the types are then final).
    pub complete: bool,
    /// Per column, the inference so far; the ingest goes on observing the columns that had
    /// no value in the first rows, and checks every value of the others against its type.
    inferences: Vec<Inference>,
}

/// Rows looked at to guess a new table's column types before the ingest confirms them.
pub const GUESS_ROWS: u64 = 100_000;

/// Looks at the rows (all of them, or the first `limit`) to choose each column's type.
/// Rows that cannot be read, or have the wrong number of fields, are not looked at: the
/// ingest refuses them.
pub fn infer(rows: &mut dyn Rows, limit: Option<u64>) -> Result<Guess, LakeError> {
    let header = rows.header().to_vec();
    let width = header.len();
    let limit = limit.unwrap_or(u64::MAX);
    let (looked, failure) = in_two_stages(rows, move |chunks| {
        let mut inf = vec![Inference::default(); width];
        let mut seen = 0u64;
        for (_, chunk) in chunks {
            for i in 0..chunk.rows.len() {
                let Ok((row, _)) = chunk.rows[i] else { continue };
                if chunk.cells(i).count() != width {
                    continue;
                }
                for (inf, cell) in inf.iter_mut().zip(chunk.cells(i)) {
                    inf.observe(row, cell);
                }
            }
            seen += chunk.rows.len() as u64;
            if seen >= limit {
                return Ok((inf, false)); // reading stops too
            }
        }
        Ok((inf, true))
    });
    let (inferences, complete) = looked?;
    if let Some(failure) = failure {
        return Err(LakeError::Input(failure));
    }
    let mut notes = Vec::new();
    let columns = header
        .iter()
        .zip(&inferences)
        .map(|(name, inf)| {
            let (ty, note) = inf.decide(name);
            // A column empty so far is only settled at the end.
            if complete || inf.seen() > 0 {
                notes.extend(note);
            }
            TargetColumn { name: name.clone(), ty, max_len: None }
        })
        .collect();
    Ok(Guess { columns, notes, complete, inferences })
}

/// How the ingest confirms a guessed column type, value by value.
enum Confirm {
    /// Settled (text stays text whatever comes).
    Nothing,
    /// Every value must parse as the column's type (and, for numbers, not look like an
    /// identifier), or the guess was wrong.
    Parses,
    /// The column had no value in the first rows: watch the rest, decide at the end.
    Observe(Inference),
}

/// Reads every row into batches of `schema` (whose columns are `targets`), calling `emit`
/// for each batch. Bad rows go to the report and are skipped; `emit` returning an error
/// stops reading.
///
/// Two stages run on two threads: this one reads rows (decoding, CSV parsing) into chunks,
/// a second converts chunks into typed Arrow batches; the Delta writer encodes the batches
/// on a third. The channel between the stages is short, so memory stays bounded.
///
/// With a `guess` (column types chosen from the first rows of a new table's file), every
/// value is also checked against it; when one does not fit, reading stops with
/// [`LakeError::GuessWrong`] (and the caller starts again with types from the whole file).
pub fn read(
    rows: &mut dyn Rows,
    progress: &Progress,
    targets: &[TargetColumn],
    schema: SchemaRef,
    guess: Option<&Guess>,
    emit: impl FnMut(RecordBatch) -> Result<(), LakeError> + Send,
) -> Result<ReadReport, LakeError> {
    let name = rows.name().to_owned();
    let encoding = rows.encoding();
    let header = rows.header().to_vec();
    // Where each target column comes from in the file.
    let sources: Vec<Option<usize>> = targets.iter().map(|t| header.iter().position(|h| *h == t.name)).collect();
    let unknown: Vec<&String> = header.iter().filter(|h| !targets.iter().any(|t| t.name == **h)).collect();
    if !unknown.is_empty() {
        return Err(LakeError::Input(format!(
            "{name}: columns {:?} are not columns of the table (it has {:?})",
            unknown,
            targets.iter().map(|t| &t.name).collect::<Vec<_>>()
        )));
    }
    let mut notes = Vec::new();
    let missing: Vec<String> =
        targets.iter().zip(&sources).filter(|(_, s)| s.is_none()).map(|(t, _)| t.name.clone()).collect();
    let confirm: Vec<Confirm> = targets
        .iter()
        .map(|t| {
            let guessed = guess.filter(|g| !g.complete).and_then(|g| {
                g.columns.iter().position(|c| c.name == t.name && c.ty == t.ty).map(|i| &g.inferences[i])
            });
            match guessed {
                None => Confirm::Nothing,
                Some(inf) if inf.seen() == 0 => Confirm::Observe(inf.clone()),
                Some(_) if t.ty == ColumnType::Text => Confirm::Nothing,
                Some(_) => Confirm::Parses,
            }
        })
        .collect();
    let mut converter = Converter {
        targets,
        sources: &sources,
        width: header.len(),
        encoding: &encoding,
        decodes: rows.decodes(),
        progress,
        confirm,
        too_long: Default::default(),
    };
    let (converted, failure) = in_two_stages(rows, |chunks| converter.run(chunks, schema, emit));
    let mut report = converted?;
    for (t, c) in targets.iter().zip(&converter.confirm) {
        if let Confirm::Observe(inf) = c {
            match inf.decide(&t.name) {
                (ColumnType::Text, note) => notes.extend(note),
                (ty, _) => {
                    return Err(LakeError::GuessWrong(format!(
                        "column {:?} has no value in the first rows but is {ty} in the rest",
                        t.name
                    )));
                }
            }
        }
    }
    if let Some(failure) = failure {
        return Err(LakeError::Input(failure));
    }
    notes.append(&mut report.notes);
    report.notes = notes;
    report.missing = missing;
    report.encoding = encoding;
    report.bytes = progress.bytes.load(std::sync::atomic::Ordering::Relaxed);
    Ok(report)
}

/// Reads rows on this thread into chunks of a batch each and hands them to `stage` on a
/// second thread; returns what the stage returns, and why the rows ended early if they did
/// ([`Rows::failure`]). A chunk also ends where the file name changes (every sheet of a
/// workbook), so that reports name the right sheet. The channel holds two chunks, so memory
/// stays bounded; when the stage stops early, reading stops too.
fn in_two_stages<T: Send>(
    rows: &mut dyn Rows,
    stage: impl FnOnce(std::sync::mpsc::Receiver<(String, Chunk)>) -> Result<T, LakeError> + Send,
) -> (Result<T, LakeError>, Option<String>) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<(String, Chunk)>(2);
    std::thread::scope(|scope| {
        let worker = scope.spawn(move || stage(rx));
        let mut chunk = Chunk::default();
        let mut chunk_name = rows.name().to_owned();
        let mut part = rows.part();
        let mut stopped = false;
        // Rows made into chunks elsewhere go on as they are.
        while rows.chunks() && !stopped {
            let Some(next) = rows.next_chunk() else { break };
            stopped = !next.rows.is_empty() && tx.send((chunk_name.clone(), next)).is_err();
        }
        while !rows.chunks() && !stopped {
            if chunk.rows.len() >= BATCH_ROWS && tx.send((chunk_name.clone(), std::mem::take(&mut chunk))).is_err() {
                stopped = true; // the stage ended early: its error is the answer
                break;
            }
            let Some(next) = rows.next_into(&mut chunk) else { break };
            if let Err(bad) = next {
                chunk.rows.push(Err(BadRow { file: rows.name().to_owned(), ..bad }));
            }
            if rows.part() != part {
                // A new sheet: its first row starts a chunk of its own.
                part = rows.part();
                let first = chunk.split_last();
                let name = std::mem::replace(&mut chunk_name, rows.name().to_owned());
                let full = std::mem::replace(&mut chunk, first);
                if !full.rows.is_empty() && tx.send((name, full)).is_err() {
                    stopped = true;
                    break;
                }
            }
        }
        let failure = if stopped { None } else { rows.failure() };
        if failure.is_none() && !stopped && !chunk.rows.is_empty() {
            let _ = tx.send((chunk_name, chunk));
        }
        drop(tx);
        let result = worker.join().unwrap_or_else(|_| Err(LakeError::Internal("a reading thread panicked".into())));
        (result, failure)
    })
}

/// The second stage of [`read`]: chunks of text cells into typed batches.
struct Converter<'a> {
    targets: &'a [TargetColumn],
    sources: &'a [Option<usize>],
    width: usize,
    encoding: &'a str,
    /// Whether cells may hold U+FFFD for undecodable bytes ([`Rows::decodes`]).
    decodes: bool,
    progress: &'a Progress,
    /// Per target column, how a guessed type is confirmed.
    confirm: Vec<Confirm>,
    /// Text columns with values longer than their item allows: (longest, allowed).
    too_long: std::collections::BTreeMap<String, (usize, u32)>,
}

/// Why a row is not taken.
enum Refusal {
    Bad(BadRow),
    GuessWrong(String),
}

impl Converter<'_> {
    fn run(
        &mut self,
        rx: std::sync::mpsc::Receiver<(String, Chunk)>,
        schema: SchemaRef,
        mut emit: impl FnMut(RecordBatch) -> Result<(), LakeError>,
    ) -> Result<ReadReport, LakeError> {
        let mut report = ReadReport::default();
        let mut builder = BatchBuilder::new(self.targets);
        let mut values: Vec<Value> = Vec::with_capacity(self.targets.len());
        for (name, chunk) in rx {
            let mut cells: Vec<&str> = Vec::with_capacity(self.width);
            for i in 0..chunk.rows.len() {
                report.rows_read += 1;
                let row = match &chunk.rows[i] {
                    Ok((row, _)) => *row,
                    Err(bad) => {
                        report.bad(bad.clone());
                        continue;
                    }
                };
                cells.clear();
                cells.extend(chunk.cells(i));
                match self.convert(&name, row, &cells, &mut values) {
                    Ok(()) => {
                        builder.push(&values, &cells, self.sources);
                        report.rows_taken += 1;
                    }
                    Err(Refusal::Bad(bad)) => report.bad(bad),
                    Err(Refusal::GuessWrong(why)) => return Err(LakeError::GuessWrong(why)),
                }
            }
            if builder.len() >= BATCH_ROWS {
                self.progress.rows.fetch_add(builder.len() as u64, std::sync::atomic::Ordering::Relaxed);
                emit(builder.finish(schema.clone())?)?;
            }
        }
        if builder.len() > 0 {
            self.progress.rows.fetch_add(builder.len() as u64, std::sync::atomic::Ordering::Relaxed);
            emit(builder.finish(schema)?)?;
        }
        for (item, (longest, allowed)) in std::mem::take(&mut self.too_long) {
            report.notes.push(format!(
                "item {item:?} has values of up to {longest} characters, its catalog entry allows {allowed}: widen the \
                 item's length in the entry (an edit, reviewed like any other; the table is not rewritten), then \
                 ingest the file again"
            ));
        }
        Ok(report)
    }

    /// Parses one row completely (so a bad row is refused whole), and confirms guessed
    /// column types with every cell. Text cells are only checked here; the builder copies
    /// them straight from the chunk.
    fn convert(&mut self, file: &str, row: u64, cells: &[&str], values: &mut Vec<Value>) -> Result<(), Refusal> {
        if cells.len() != self.width {
            let reason = format!("has {} fields, the header has {}", cells.len(), self.width);
            return Err(Refusal::Bad(BadRow { file: file.to_owned(), row, column: None, value: None, reason }));
        }
        values.clear();
        let mut bad = None;
        for ((t, s), confirm) in self.targets.iter().zip(self.sources).zip(&mut self.confirm) {
            let cell = s.and_then(|i| cells.get(i).copied()).unwrap_or("");
            let parsed = parse(cell, t.ty, t.max_len);
            match confirm {
                Confirm::Nothing => {}
                Confirm::Observe(inf) => inf.observe(row, cell),
                Confirm::Parses => {
                    if !parsed.as_ref().is_ok_and(|_| fits_inferred(t.ty, cell)) {
                        return Err(Refusal::GuessWrong(format!(
                            "row {row} has {:?} in column {:?}, which the first rows made {}",
                            cell.chars().take(60).collect::<String>(),
                            t.name,
                            t.ty
                        )));
                    }
                }
            }
            if bad.is_some() {
                continue; // the other cells are still looked at for the guess
            }
            let refuse = |reason: String| BadRow {
                file: file.to_owned(),
                row,
                column: Some(t.name.clone()),
                value: Some(cell.chars().take(60).collect()),
                reason,
            };
            if self.decodes && cell.contains('\u{fffd}') {
                bad = Some(refuse(format!("is not valid {} text; give the right --encoding", self.encoding)));
                continue;
            }
            match parsed {
                Ok(v) => values.push(v),
                Err(reason) => {
                    if let (ColumnType::Text, Some(max)) = (t.ty, t.max_len) {
                        let n = cell.chars().count();
                        let longest = self.too_long.entry(t.name.clone()).or_insert((0, max));
                        longest.0 = longest.0.max(n);
                    }
                    bad = Some(refuse(format!("{reason} ({} column)", t.ty)))
                }
            }
        }
        bad.map_or(Ok(()), |b| Err(Refusal::Bad(b)))
    }
}

/// Column builders for one batch.
enum Col {
    Text(StringBuilder),
    Integer(Int64Builder),
    Number(Float64Builder),
    Date(Date32Builder),
    DateTime(TimestampMicrosecondBuilder),
    Boolean(BooleanBuilder),
    Decimal(Decimal128Builder),
}

struct BatchBuilder {
    cols: Vec<Col>,
    rows: usize,
}

impl BatchBuilder {
    fn new(targets: &[TargetColumn]) -> Self {
        let cols = targets
            .iter()
            .map(|t| match t.ty {
                ColumnType::Text => Col::Text(StringBuilder::new()),
                ColumnType::Integer => Col::Integer(Int64Builder::new()),
                ColumnType::Number => Col::Number(Float64Builder::new()),
                ColumnType::Date => Col::Date(Date32Builder::new()),
                ColumnType::DateTime => Col::DateTime(TimestampMicrosecondBuilder::new().with_timezone("UTC")),
                ColumnType::Boolean => Col::Boolean(BooleanBuilder::new()),
                ColumnType::Decimal { precision, scale } => Col::Decimal(
                    Decimal128Builder::new()
                        .with_precision_and_scale(precision, scale as i8)
                        .unwrap_or_else(|_| Decimal128Builder::new()),
                ),
            })
            .collect();
        Self { cols, rows: 0 }
    }

    fn len(&self) -> usize {
        self.rows
    }

    /// Appends one row of values that were parsed for these columns' types.
    /// Appends a parsed row; text comes from the row's `cells` via the column `sources`.
    fn push(&mut self, values: &[Value], cells: &[&str], sources: &[Option<usize>]) {
        for ((c, v), s) in self.cols.iter_mut().zip(values).zip(sources) {
            match (c, v) {
                (Col::Text(b), Value::Text) => b.append_value(s.and_then(|i| cells.get(i)).copied().unwrap_or("")),
                (Col::Integer(b), Value::Integer(n)) => b.append_value(*n),
                (Col::Number(b), Value::Number(n)) => b.append_value(*n),
                (Col::Date(b), Value::Date(d)) => b.append_value(*d),
                (Col::DateTime(b), Value::DateTime(t)) => b.append_value(*t),
                (Col::Boolean(b), Value::Boolean(x)) => b.append_value(*x),
                (Col::Decimal(b), Value::Decimal(n)) => b.append_value(*n),
                (Col::Text(b), _) => b.append_null(),
                (Col::Integer(b), _) => b.append_null(),
                (Col::Number(b), _) => b.append_null(),
                (Col::Date(b), _) => b.append_null(),
                (Col::DateTime(b), _) => b.append_null(),
                (Col::Boolean(b), _) => b.append_null(),
                (Col::Decimal(b), _) => b.append_null(),
            }
        }
        self.rows += 1;
    }

    fn finish(&mut self, schema: SchemaRef) -> Result<RecordBatch, LakeError> {
        let arrays: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Col::Text(b) => Arc::new(b.finish()),
                    Col::Integer(b) => Arc::new(b.finish()),
                    Col::Number(b) => Arc::new(b.finish()),
                    Col::Date(b) => Arc::new(b.finish()),
                    Col::DateTime(b) => Arc::new(b.finish()),
                    Col::Boolean(b) => Arc::new(b.finish()),
                    Col::Decimal(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(schema, arrays).map_err(|e| LakeError::Internal(format!("building a batch: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_are_sniffed_from_the_first_bytes() {
        use super::InputFormat as F;
        for (head, want) in [
            (&b"PK\x03\x04rest"[..], F::Spreadsheet),
            (b"\xD0\xCF\x11\xE0\xA1\xB1", F::Spreadsheet),
            (b"PAR1\x15", F::Parquet),
            (b"\xEF\xBB\xBF[{\"a\":1}]", F::Json),
            (b"  \n{\"a\":1}\n{\"a\":2}", F::Ndjson),
            ("姓名,年龄\n张三,3".as_bytes(), F::Csv),
            (b"", F::Csv),
        ] {
            assert_eq!(F::sniff(head), want, "{head:?}");
        }
    }
}
