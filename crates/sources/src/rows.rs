//! The rows of a pull on their way from the source's connection (an async task) to the
//! ingest (a blocking thread), with bounded memory.
//!
//! Two transports, each chosen for what the source does fastest:
//! - PostgreSQL sends the result as one `COPY (SELECT …) TO STDOUT (FORMAT csv)`: the
//!   server writes CSV without a protocol message per row, the task forwards it in blocks
//!   of about 256 KiB, and the ingest parses it as it parses a CSV file (one copy of each
//!   record; its cells are ranges of it).
//! - MySQL/MariaDB has no COPY: rows come as text cells, sent on in groups of 256 rows so
//!   that the channel is crossed once per group, not once per row.

use std::io::Read;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use sqlx::{Connection as _, Row};
use tokio::sync::mpsc::{Receiver, Sender, channel};
use tongshu_lake::source::{Chunk, Rows};
use tongshu_lake::{BadRow, ColumnType};

use crate::{db_err, with_zone};

/// Blocks of COPY output a reader task keeps ready: at most this many × [`BLOCK`] bytes.
const BLOCKS: usize = 16;
/// The size a block of COPY output is gathered to before it is sent on.
const BLOCK: usize = 256 * 1024;
/// Why a COPY record is refused when its bytes are not text.
const NOT_UTF8: &str = "a COPY record that is not UTF-8";

/// Rows of a MySQL result sent on together.
const GROUP: usize = 256;

pub(crate) type BlockMsg = Result<Vec<u8>, String>;
pub(crate) type GroupMsg = Result<Group, String>;

/// Rows of a MySQL result in one buffer: every cell's text one after the other (a NULL as
/// empty text, as the library reads it), and where each cell ends.
#[derive(Default)]
pub(crate) struct Group {
    text: String,
    ends: Vec<usize>,
}

/// Starts a task that runs `copy` (a `COPY … TO STDOUT` statement) on `conn` and sends its
/// output on in blocks; the receiver ends when the output does.
pub(crate) fn spawn_copy(mut conn: sqlx::PgConnection, copy: String) -> Receiver<BlockMsg> {
    let (tx, rx) = channel::<BlockMsg>(BLOCKS);
    tokio::spawn(async move {
        let result: Result<(), String> = async {
            let mut out = conn.copy_out_raw(&copy).await.map_err(|e| db_err(e).to_string())?;
            let mut block = Vec::with_capacity(BLOCK + 4096);
            while let Some(data) = out.try_next().await.map_err(|e| db_err(e).to_string())? {
                block.extend_from_slice(&data);
                if block.len() >= BLOCK
                    && !send(&tx, std::mem::replace(&mut block, Vec::with_capacity(BLOCK + 4096))).await
                {
                    return Ok(()); // the ingest stopped reading
                }
            }
            if !block.is_empty() {
                send(&tx, block).await;
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            let _ = tx.send(Err(e)).await;
        }
        let _ = conn.close().await;
    });
    rx
}

async fn send(tx: &Sender<BlockMsg>, block: Vec<u8>) -> bool {
    tx.send(Ok(block)).await.is_ok()
}

/// Starts a task that runs `sql` on a MySQL connection and sends its rows (`width` text
/// cells each) on in groups.
pub(crate) fn spawn_rows(mut conn: sqlx::MySqlConnection, sql: String, width: usize) -> Receiver<GroupMsg> {
    let (tx, rx) = channel::<GroupMsg>(8);
    tokio::spawn(async move {
        let result: Result<(), String> = async {
            let mut stream = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).fetch(&mut conn);
            let mut group = Group::default();
            while let Some(row) = stream.try_next().await.map_err(|e| db_err(e).to_string())? {
                for i in 0..width {
                    // Borrowed from the row: no allocation per cell.
                    let cell = row.try_get::<Option<&str>, _>(i).map_err(|e| e.to_string())?;
                    group.text.push_str(cell.unwrap_or(""));
                    group.ends.push(group.text.len());
                }
                if group.ends.len() >= GROUP * width && tx.send(Ok(std::mem::take(&mut group))).await.is_err() {
                    return Ok(()); // the ingest stopped reading
                }
            }
            if !group.ends.is_empty() {
                let _ = tx.send(Ok(group)).await;
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            let _ = tx.send(Err(e)).await;
        }
        let _ = conn.close().await;
    });
    rx
}

/// The COPY output as a byte stream (read on the ingest's blocking thread); a failure of
/// the source ends it and is kept for [`PulledRows::failure`].
struct Blocks {
    rx: Receiver<BlockMsg>,
    block: Vec<u8>,
    at: usize,
    failure: Arc<Mutex<Option<String>>>,
}

impl Read for Blocks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.block.len() {
            match self.rx.blocking_recv() {
                Some(Ok(block)) => {
                    self.block = block;
                    self.at = 0;
                }
                Some(Err(e)) => {
                    *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    self.rx.close();
                    return Ok(0);
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.block.len() - self.at);
        buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

enum Transport {
    Copy {
        csv: Box<csv::Reader<Blocks>>,
        record: csv::ByteRecord,
        failed: Arc<Mutex<Option<String>>>,
    },
    /// `cell`: the index in `group.ends` of the next row's first cell.
    Groups {
        rx: Receiver<GroupMsg>,
        group: Group,
        cell: usize,
        width: usize,
    },
}

/// The rows of a pull, as the ingest reads them (on a blocking thread).
pub struct PulledRows {
    name: String,
    header: Vec<String>,
    transport: Transport,
    row: u64,
    watch: Option<(usize, ColumnType)>,
    high_water: Arc<Mutex<Option<String>>>,
    failure: Option<String>,
    /// Date-time columns, and the zone their values without one are in.
    times: Vec<usize>,
    zone: String,
}

/// What a pull's rows are made of besides their transport.
pub(crate) struct RowsOf {
    pub name: String,
    pub header: Vec<String>,
    pub watch: Option<(usize, ColumnType)>,
    pub high_water: Arc<Mutex<Option<String>>>,
    pub times: Vec<usize>,
    pub zone: String,
}

impl PulledRows {
    pub(crate) fn copied(of: RowsOf, rx: Receiver<BlockMsg>) -> Self {
        let failed = Arc::new(Mutex::new(None));
        let blocks = Blocks { rx, block: Vec::new(), at: 0, failure: failed.clone() };
        let csv =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).buffer_capacity(1 << 20).from_reader(blocks);
        Self::with(of, Transport::Copy { csv: Box::new(csv), record: csv::ByteRecord::new(), failed })
    }

    pub(crate) fn grouped(of: RowsOf, rx: Receiver<GroupMsg>) -> Self {
        let width = of.header.len();
        Self::with(of, Transport::Groups { rx, group: Group::default(), cell: 0, width })
    }

    fn with(of: RowsOf, transport: Transport) -> Self {
        let RowsOf { name, header, watch, high_water, times, zone } = of;
        Self { name, header, transport, row: 1, watch, high_water, failure: None, times, zone }
    }

    fn fail(&mut self, reason: String) {
        self.failure = Some(format!("{}: the source failed after row {}: {reason}", self.name, self.row - 1));
    }

    /// Moves to the next COPY record of the right width; `None` at the end or on a failure
    /// (kept). Its text is checked as UTF-8 once, where the record is read.
    fn next_record(&mut self) -> Option<()> {
        let Transport::Copy { csv, record, failed } = &mut self.transport else { return None };
        let read = csv.read_byte_record(record);
        self.row += 1;
        if let Ok(true) = read {
            let width = record.len();
            if width != self.header.len() {
                self.fail(format!("a COPY record of {width} cells for {} columns", self.header.len()));
                return None;
            }
            return Some(());
        }
        // The end, or a failure: the source's own (kept by the byte stream) comes first.
        let failed = failed.lock().unwrap_or_else(|p| p.into_inner()).take();
        match (read, failed) {
            (_, Some(reason)) => self.fail(reason),
            (Err(e), None) => self.fail(format!("unreadable COPY output: {e}")),
            _ => {}
        }
        None
    }

    /// Moves to the next row of a MySQL result: the range of its cells in the current
    /// group; `None` at the end or on a failure (kept).
    fn next_grouped(&mut self) -> Option<std::ops::Range<usize>> {
        let Transport::Groups { rx, group, cell, width } = &mut self.transport else { return None };
        if *cell >= group.ends.len() {
            match rx.blocking_recv()? {
                Ok(next) => {
                    *group = next;
                    *cell = 0;
                }
                Err(reason) => {
                    rx.close();
                    self.row += 1;
                    self.fail(reason);
                    return None;
                }
            }
        }
        let first = *cell;
        *cell += *width;
        self.row += 1;
        Some(first..*cell)
    }

    /// Notes the incremental column's value and gives naive date-times the source's zone.
    fn finish(&mut self, cells: &mut [String]) {
        if let Some((i, ty)) = self.watch
            && let Some(v) = cells.get(i).filter(|v| !v.is_empty())
        {
            let mut hw = self.high_water.lock().unwrap_or_else(|e| e.into_inner());
            if hw.as_deref().is_none_or(|cur| above(ty, v, cur)) {
                *hw = Some(v.clone());
            }
        }
        // The mark above stays in the source's own terms (it is compared there).
        for &i in &self.times {
            if let Some(zoned) = cells.get(i).and_then(|v| with_zone(v, &self.zone)) {
                cells[i] = zoned;
            }
        }
    }
}

fn above(ty: ColumnType, a: &str, b: &str) -> bool {
    match ty {
        ColumnType::Integer => match (a.parse::<i64>(), b.parse::<i64>()) {
            (Ok(a), Ok(b)) => a > b,
            _ => a > b,
        },
        ColumnType::Number => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(a), Ok(b)) => a > b,
            _ => a > b,
        },
        ColumnType::Decimal { precision, scale } => {
            let exact = |v: &str| tongshu_lake::values::parse_decimal(v, precision, scale);
            match (exact(a), exact(b)) {
                (Ok(a), Ok(b)) => a > b,
                _ => a > b,
            }
        }
        _ => a > b,
    }
}

impl Rows for PulledRows {
    fn name(&self) -> &str {
        &self.name
    }

    fn header(&self) -> &[String] {
        &self.header
    }

    fn encoding(&self) -> String {
        "database".to_owned()
    }

    fn failure(&mut self) -> Option<String> {
        self.failure.take()
    }

    fn next_row(&mut self, cells: &mut Vec<String>) -> Option<Result<u64, BadRow>> {
        match &self.transport {
            Transport::Copy { .. } => {
                self.next_record()?;
                let Transport::Copy { record, .. } = &self.transport else { return None };
                cells.clear();
                // The record's text, checked as UTF-8 once.
                let utf8 = match simdutf8::basic::from_utf8(record.as_slice()) {
                    Ok(text) => {
                        cells.extend((0..record.len()).filter_map(|i| record.range(i)).map(|r| text[r].to_owned()));
                        true
                    }
                    Err(_) => false,
                };
                if !utf8 {
                    self.fail(NOT_UTF8.into());
                    return None;
                }
            }
            Transport::Groups { .. } => {
                let range = self.next_grouped()?;
                let Transport::Groups { group, .. } = &self.transport else { return None };
                cells.clear();
                for k in range {
                    let start = if k == 0 { 0 } else { group.ends[k - 1] };
                    cells.push(group.text[start..group.ends[k]].to_owned());
                }
            }
        }
        self.finish(cells);
        Some(Ok(self.row))
    }

    fn next_into(&mut self, chunk: &mut Chunk) -> Option<Result<u64, BadRow>> {
        if self.watch.is_some() || !self.times.is_empty() {
            let mut cells = std::mem::take(&mut chunk.scratch);
            let next = self.next_row(&mut cells);
            if let Some(Ok(row)) = &next {
                chunk.push_row(*row, &cells);
            }
            chunk.scratch = cells;
            return next;
        }
        // One copy of the whole row; the cells are ranges of it.
        match &self.transport {
            Transport::Copy { .. } => {
                self.next_record()?;
                let row = self.row;
                let Transport::Copy { record, .. } = &self.transport else { return None };
                // The record's text, checked as UTF-8 once.
                let utf8 = match simdutf8::basic::from_utf8(record.as_slice()) {
                    Ok(text) => {
                        chunk.push_ranges(row, text, (0..record.len()).filter_map(|i| record.range(i)).map(|r| r.end));
                        true
                    }
                    Err(_) => false,
                };
                if !utf8 {
                    self.fail(NOT_UTF8.into());
                    return None;
                }
            }
            Transport::Groups { .. } => {
                let range = self.next_grouped()?;
                let Transport::Groups { group, .. } = &self.transport else { return None };
                let start = if range.start == 0 { 0 } else { group.ends[range.start - 1] };
                let end = group.ends[range.end - 1];
                chunk.push_ranges(self.row, &group.text[start..end], group.ends[range].iter().map(|e| e - start));
            }
        }
        Some(Ok(self.row))
    }
}
