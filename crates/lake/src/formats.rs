//! Input formats beyond CSV, each turned into [`Rows`] of text cells so that typing,
//! inference and bad-row reports are the same for every format.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use deltalake::arrow::record_batch::RecordBatch;
use deltalake::arrow::util::display::{ArrayFormatter, FormatOptions};
use deltalake::parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::LakeError;
use crate::source::{BadRow, Progress, Rows};

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn input(path: &Path, e: impl std::fmt::Display) -> LakeError {
    LakeError::Input(format!("{}: {e}", path.display()))
}

/// Rows that were read whole (JSON arrays, spreadsheets).
pub struct VecRows {
    name: String,
    header: Vec<String>,
    kind: String,
    rows: std::vec::IntoIter<(u64, Result<Vec<String>, String>)>,
}

impl Rows for VecRows {
    fn name(&self) -> &str {
        &self.name
    }
    fn header(&self) -> &[String] {
        &self.header
    }
    fn encoding(&self) -> String {
        self.kind.clone()
    }
    fn next_row(&mut self, cells: &mut Vec<String>) -> Option<Result<u64, BadRow>> {
        let (row, r) = self.rows.next()?;
        Some(match r {
            Ok(values) => {
                *cells = values;
                Ok(row)
            }
            Err(reason) => Err(BadRow { file: self.name.clone(), row, column: None, value: None, reason }),
        })
    }
}

/// A JSON value as a cell: strings as they are, numbers and booleans as text, null empty,
/// nested values as JSON.
fn json_cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// The keys of all objects, in order of first appearance.
fn keys<'a>(objects: impl Iterator<Item = &'a serde_json::Map<String, serde_json::Value>>) -> Vec<String> {
    let mut header: Vec<String> = Vec::new();
    for o in objects {
        for k in o.keys() {
            if !header.contains(k) {
                header.push(k.clone());
            }
        }
    }
    header
}

/// A JSON file holding one array of objects (read whole).
pub fn json_array(path: &Path, progress: Arc<Progress>) -> Result<VecRows, LakeError> {
    let bytes = std::fs::read(path).map_err(|e| input(path, e))?;
    progress.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(input(path, "the file is empty"));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| input(path, format!("not valid JSON: {e}")))?;
    let serde_json::Value::Array(items) = value else {
        return Err(input(path, "a JSON file must hold an array of objects (use ndjson for one object per line)"));
    };
    let header = keys(items.iter().filter_map(|v| v.as_object()));
    let rows: Vec<(u64, Result<Vec<String>, String>)> = items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            // Row numbers count the array's elements from 2, as if the keys were a header row.
            let row = i as u64 + 2;
            match v.as_object() {
                Some(o) => (row, Ok(header.iter().map(|k| o.get(k).map(json_cell).unwrap_or_default()).collect())),
                None => (row, Err(format!("element {} is not an object", i + 1))),
            }
        })
        .collect();
    Ok(VecRows { name: file_name(path), header, kind: "JSON".into(), rows: rows.into_iter() })
}

/// A file with one JSON object per line, streamed. The keys are collected in a first pass.
pub struct NdjsonRows {
    name: String,
    header: Vec<String>,
    lines: std::io::Lines<BufReader<File>>,
    line: u64,
    progress: Arc<Progress>,
}

impl NdjsonRows {
    pub fn open(path: &Path, progress: Arc<Progress>) -> Result<Self, LakeError> {
        let f = File::open(path).map_err(|e| input(path, e))?;
        let mut header: Vec<String> = Vec::new();
        let mut any = false;
        for line in BufReader::new(f).lines() {
            let line = line.map_err(|e| input(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            any = true;
            if let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(&line) {
                for k in o.keys() {
                    if !header.contains(k) {
                        header.push(k.clone());
                    }
                }
            }
        }
        if !any {
            return Err(input(path, "the file is empty"));
        }
        let f = File::open(path).map_err(|e| input(path, e))?;
        Ok(Self { name: file_name(path), header, lines: BufReader::new(f).lines(), line: 0, progress })
    }
}

impl Rows for NdjsonRows {
    fn name(&self) -> &str {
        &self.name
    }
    fn header(&self) -> &[String] {
        &self.header
    }
    fn encoding(&self) -> String {
        "NDJSON".into()
    }
    fn next_row(&mut self, cells: &mut Vec<String>) -> Option<Result<u64, BadRow>> {
        loop {
            let line = self.lines.next()?;
            self.line += 1;
            let bad =
                |reason: String| BadRow { file: self.name.clone(), row: self.line, column: None, value: None, reason };
            let line = match line {
                Ok(l) => l,
                Err(e) => return Some(Err(bad(e.to_string()))),
            };
            self.progress.bytes.fetch_add(line.len() as u64 + 1, Ordering::Relaxed);
            if line.trim().is_empty() {
                continue;
            }
            return Some(match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(serde_json::Value::Object(o)) => {
                    cells.clear();
                    cells.extend(self.header.iter().map(|k| o.get(k).map(json_cell).unwrap_or_default()));
                    Ok(self.line)
                }
                Ok(_) => Err(bad("the line is not a JSON object".into())),
                Err(e) => Err(bad(format!("not valid JSON: {e}"))),
            });
        }
    }
}

/// The sheet name that means every sheet.
pub const EVERY_SHEET: &str = "*";

/// A spreadsheet: one sheet (the first unless named), or with `*` every non-empty sheet,
/// which must all have the same columns; read whole.
pub fn spreadsheet(path: &Path, sheet: Option<&str>, progress: Arc<Progress>) -> Result<Box<dyn Rows>, LakeError> {
    if sheet != Some(EVERY_SHEET) {
        return Ok(Box::new(one_sheet(path, sheet, progress)?));
    }
    use calamine::Reader;
    let book =
        calamine::open_workbook_auto(path).map_err(|e| input(path, format!("not a readable spreadsheet: {e}")))?;
    let mut sheets: Vec<VecRows> = Vec::new();
    for name in book.sheet_names() {
        // The file's bytes are counted once, with the first sheet.
        let counted = if sheets.is_empty() { progress.clone() } else { Arc::default() };
        match one_sheet(path, Some(&name), counted) {
            Ok(rows) => {
                if let Some(first) = sheets.first()
                    && first.header != rows.header
                {
                    return Err(input(
                        path,
                        format!(
                            "sheet {name:?} has columns {:?}, sheet {:?} has {:?}; every sheet must have the same columns (or choose one with --sheet)",
                            rows.header, first.name, first.header
                        ),
                    ));
                }
                sheets.push(rows);
            }
            Err(LakeError::Input(msg)) if msg.ends_with("is empty") => continue,
            Err(e) => return Err(e),
        }
    }
    if sheets.is_empty() {
        return Err(input(path, "has no sheet with data"));
    }
    sheets.reverse();
    let current = sheets.pop().expect("not empty");
    Ok(Box::new(Sheets { current, rest: sheets, started: 0 }))
}

/// Every sheet of a workbook, one after the other.
struct Sheets {
    current: VecRows,
    /// Still to read, last first.
    rest: Vec<VecRows>,
    /// How many sheets were started.
    started: usize,
}

impl Rows for Sheets {
    fn name(&self) -> &str {
        &self.current.name
    }

    fn part(&self) -> usize {
        self.started
    }

    fn header(&self) -> &[String] {
        &self.current.header
    }

    fn encoding(&self) -> String {
        self.current.kind.clone()
    }

    fn next_row(&mut self, cells: &mut Vec<String>) -> Option<Result<u64, BadRow>> {
        loop {
            if let Some(r) = self.current.next_row(cells) {
                return Some(r);
            }
            self.current = self.rest.pop()?;
            self.started += 1;
        }
    }
}

fn one_sheet(path: &Path, sheet: Option<&str>, progress: Arc<Progress>) -> Result<VecRows, LakeError> {
    use calamine::{Data, DataType, Reader};
    let mut book =
        calamine::open_workbook_auto(path).map_err(|e| input(path, format!("not a readable spreadsheet: {e}")))?;
    let names = book.sheet_names();
    let sheet = match sheet {
        Some(s) if names.iter().any(|n| n == s) => s.to_owned(),
        Some(s) => return Err(input(path, format!("has no sheet {s:?} (it has {names:?})"))),
        None => names.first().cloned().ok_or_else(|| input(path, "has no sheets"))?,
    };
    let range = book.worksheet_range(&sheet).map_err(|e| input(path, format!("sheet {sheet:?}: {e}")))?;
    progress.bytes.fetch_add(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0), Ordering::Relaxed);
    let first_row = range.start().map(|(r, _)| r as u64).unwrap_or(0);
    let cell = |d: &Data| -> Result<String, String> {
        Ok(match d {
            Data::Empty => String::new(),
            Data::String(s) => s.clone(),
            Data::Int(i) => i.to_string(),
            // Whole numbers typed into Excel are floats; show them without ".0".
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Data::Float(f) => f.to_string(),
            Data::Bool(b) => b.to_string(),
            Data::DateTime(_) => match d.as_datetime() {
                Some(t) if t.time() == chrono::NaiveTime::MIN => t.date().to_string(),
                Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
                None => return Err("has a date Excel cannot read".into()),
            },
            Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
            Data::Error(e) => return Err(format!("has the Excel error {e:?}")),
        })
    };
    let mut rows_iter = range.rows();
    let header: Vec<String> = match rows_iter.next() {
        Some(r) => r.iter().map(|d| cell(d).unwrap_or_default().trim().to_owned()).collect(),
        None => return Err(input(path, format!("sheet {sheet:?} is empty"))),
    };
    let rows: Vec<(u64, Result<Vec<String>, String>)> = rows_iter
        .enumerate()
        .filter(|(_, r)| r.iter().any(|d| !matches!(d, Data::Empty)))
        .map(|(i, r)| (first_row + i as u64 + 2, r.iter().map(cell).collect::<Result<Vec<_>, _>>()))
        .collect();
    Ok(VecRows {
        name: format!("{}[{sheet}]", file_name(path)),
        header,
        kind: "spreadsheet".into(),
        rows: rows.into_iter(),
    })
}

/// A Parquet file, streamed batch by batch; cells are the values' text.
pub struct ParquetRows {
    name: String,
    header: Vec<String>,
    reader: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    at: usize,
    row: u64,
    progress: Arc<Progress>,
}

impl ParquetRows {
    pub fn open(path: &Path, progress: Arc<Progress>) -> Result<Self, LakeError> {
        let f = File::open(path).map_err(|e| input(path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(f)
            .map_err(|e| input(path, format!("not a readable Parquet file: {e}")))?;
        let header = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
        let reader = builder.build().map_err(|e| input(path, e))?;
        progress.bytes.fetch_add(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0), Ordering::Relaxed);
        Ok(Self { name: file_name(path), header, reader, batch: None, at: 0, row: 1, progress })
    }
}

impl Rows for ParquetRows {
    fn name(&self) -> &str {
        &self.name
    }
    fn header(&self) -> &[String] {
        &self.header
    }
    fn encoding(&self) -> String {
        "Parquet".into()
    }
    fn next_row(&mut self, cells: &mut Vec<String>) -> Option<Result<u64, BadRow>> {
        while self.batch.as_ref().is_none_or(|b| self.at >= b.num_rows()) {
            match self.reader.next()? {
                Ok(b) => {
                    self.batch = Some(b);
                    self.at = 0;
                }
                Err(e) => {
                    let _ = &self.progress;
                    return Some(Err(BadRow {
                        file: self.name.clone(),
                        row: self.row + 1,
                        column: None,
                        value: None,
                        reason: e.to_string(),
                    }));
                }
            }
        }
        let batch = self.batch.as_ref()?;
        let options = FormatOptions::default().with_null("");
        cells.clear();
        for col in batch.columns() {
            let text = ArrayFormatter::try_new(col.as_ref(), &options)
                .map(|f| f.value(self.at).to_string())
                .unwrap_or_default();
            cells.push(text);
        }
        self.at += 1;
        self.row += 1;
        Some(Ok(self.row))
    }
}
