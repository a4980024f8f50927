//! The rows of a pull on their way from the source's connection (an async task) to the
//! ingest (a blocking thread), with bounded memory.
//!
//! Two transports, each chosen for what the source does fastest:
//! - PostgreSQL sends the result as one `COPY (SELECT …) TO STDOUT`, in COPY's text format
//!   (the server's cheapest: no CSV quoting): the task forwards it in blocks of about
//!   256 KiB of whole records, and the ingest splits each record at its tabs; a record
//!   without a backslash is taken as it is (its cells are ranges of it), one with escapes
//!   is unescaped first.
//! - MySQL/MariaDB has no COPY: rows come as text cells, which the reading task puts
//!   straight into the chunks the ingest converts (a batch each), so that the channel is
//!   crossed once per batch and no cell is copied twice.

use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use sqlx::{Connection as _, Row};
use tokio::sync::mpsc::{Receiver, Sender, channel};
use tongshu_lake::source::{BATCH_ROWS, Chunk, Rows};
use tongshu_lake::{BadRow, ColumnType};

use crate::{db_err, with_zone};

/// Chunks of MySQL rows the reading tasks keep ready.
const GROUPS: usize = 4;
/// Blocks of COPY output a reader task keeps ready: at most this many × [`BLOCK`] bytes.
const BLOCKS: usize = 16;
/// The size a block of COPY output is gathered to before it is sent on.
const BLOCK: usize = 256 * 1024;
/// Why a COPY record is refused when its bytes are not text.
const NOT_UTF8: &str = "a COPY record that is not UTF-8";
/// Why COPY output is refused when it stops inside a record.
const CUT: &str = "the COPY output ends inside a record";

pub(crate) type BlockMsg = Result<Vec<u8>, String>;
/// Rows of a MySQL result sent on together: a chunk of a batch, in the shape the ingest
/// converts (its rows numbered by the receiver).
pub(crate) type GroupMsg = Result<Chunk, String>;

/// The channel COPY output travels on to the ingest.
pub(crate) fn copy_channel() -> (Sender<BlockMsg>, Receiver<BlockMsg>) {
    channel::<BlockMsg>(BLOCKS)
}

/// Starts a task that runs `copy` (a `COPY … TO STDOUT` statement) on `conn` and sends its
/// output on `tx` in blocks of whole records (the server sends each record as one message),
/// so that several copies may share one channel; the receiver ends when every copy's
/// output has.
pub(crate) fn spawn_copy(mut conn: sqlx::PgConnection, copy: String, tx: Sender<BlockMsg>) {
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
}

async fn send(tx: &Sender<BlockMsg>, block: Vec<u8>) -> bool {
    tx.send(Ok(block)).await.is_ok()
}

/// The channel chunks of MySQL rows travel on to the ingest.
pub(crate) fn group_channel() -> (Sender<GroupMsg>, Receiver<GroupMsg>) {
    channel::<GroupMsg>(GROUPS)
}

/// Starts a task that runs `sql` on a MySQL connection and sends its rows (`width` text
/// cells each) on `tx` in chunks of a batch, so that several sessions may share one
/// channel; the receiver ends when every session's rows have.
pub(crate) fn spawn_rows(mut conn: sqlx::MySqlConnection, sql: String, width: usize, tx: Sender<GroupMsg>) {
    tokio::spawn(async move {
        let result: Result<(), String> = async {
            // `fetch_many` rather than `fetch`: one stream adapter less per row.
            let mut stream = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).fetch_many(&mut conn);
            let mut group = Chunk::default();
            while let Some(step) = stream.try_next().await.map_err(|e| db_err(e).to_string())? {
                let sqlx::Either::Right(row) = step else { continue };
                group.start_row(0);
                for i in 0..width {
                    // Borrowed from the row: no allocation per cell. Unchecked: a number or a
                    // date comes as its text too (the text protocol); a cell that is not
                    // UTF-8 is still refused.
                    let cell = row.try_get_unchecked::<Option<&str>, _>(i).map_err(|e| e.to_string())?;
                    group.push_cell(cell.unwrap_or(""));
                }
                if group.len() >= BATCH_ROWS && tx.send(Ok(std::mem::take(&mut group))).await.is_err() {
                    return Ok(()); // the ingest stopped reading
                }
            }
            if !group.is_empty() {
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
}

/// COPY's text format read record by record from blocks of whole records (a record cut
/// between two blocks is joined). The cells of a record end at its tabs; `\N` (NULL) is
/// read as an empty cell, as the library reads NULL; escapes are undone.
pub(crate) struct TextCopy {
    rx: Receiver<BlockMsg>,
    block: Vec<u8>,
    at: usize,
    /// The current record: its range in `block`, or (with escapes) undone in `plain`.
    current: Option<std::ops::Range<usize>>,
    plain: Vec<u8>,
    ends: Vec<usize>,
}

impl TextCopy {
    pub(crate) fn new(rx: Receiver<BlockMsg>) -> Self {
        Self { rx, block: Vec::new(), at: 0, current: None, plain: Vec::new(), ends: Vec::new() }
    }

    /// Moves to the next record; `Ok(false)` at the end of the output.
    pub(crate) fn advance(&mut self) -> Result<bool, String> {
        loop {
            if let Some(n) = memchr::memchr(b'\n', &self.block[self.at..]) {
                let record = self.at..self.at + n;
                self.at = record.end + 1;
                let raw = &self.block[record.clone()];
                self.ends.clear();
                if memchr::memchr(b'\\', raw).is_none() {
                    self.ends.extend(memchr::memchr_iter(b'\t', raw));
                    self.ends.push(raw.len());
                    self.current = Some(record);
                } else {
                    unescape(raw, &mut self.plain, &mut self.ends);
                    self.current = None;
                }
                return Ok(true);
            }
            let rest = self.block.split_off(self.at);
            match self.rx.blocking_recv() {
                Some(Ok(next)) if rest.is_empty() => self.block = next,
                Some(Ok(next)) => {
                    self.block = rest;
                    self.block.extend_from_slice(&next);
                }
                Some(Err(e)) => {
                    self.rx.close();
                    return Err(e);
                }
                None if rest.is_empty() => return Ok(false),
                None => return Err(CUT.into()),
            }
            self.at = 0;
        }
    }

    /// How many cells the current record has.
    pub(crate) fn width(&self) -> usize {
        self.ends.len()
    }

    /// The current record's text (checked as UTF-8 here, once), where its cells end, and
    /// whether a tab separates them (as sent) or they follow one another (undone).
    pub(crate) fn record(&self) -> Result<(&str, &[usize], bool), &'static str> {
        let (bytes, separated) = match &self.current {
            Some(r) => (&self.block[r.clone()], true),
            None => (&self.plain[..], false),
        };
        let text = simdutf8::basic::from_utf8(bytes).map_err(|_| NOT_UTF8)?;
        Ok((text, &self.ends, separated))
    }
}

/// Undoes COPY's text escapes in `raw` (one record) into `out`, with where each cell ends.
fn unescape(raw: &[u8], out: &mut Vec<u8>, ends: &mut Vec<usize>) {
    out.clear();
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        i += 1;
        match b {
            b'\t' => ends.push(out.len()),
            b'\\' if i < raw.len() => {
                let e = raw[i];
                i += 1;
                match e {
                    b'N' => {} // NULL: an empty cell
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(11),
                    b'0'..=b'7' => {
                        let mut v = u32::from(e - b'0');
                        for _ in 0..2 {
                            match raw.get(i) {
                                Some(d @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(v as u8);
                    }
                    b'x' if raw.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                        let mut v = 0u8;
                        for _ in 0..2 {
                            match raw.get(i).and_then(|d| (*d as char).to_digit(16)) {
                                Some(d) => {
                                    v = v * 16 + d as u8;
                                    i += 1;
                                }
                                None => break,
                            }
                        }
                        out.push(v);
                    }
                    other => out.push(other),
                }
            }
            other => out.push(other),
        }
    }
    ends.push(out.len());
}

enum Transport {
    Copy(Box<TextCopy>),
    /// `next`: the index in `group` of the next row.
    Groups {
        rx: Receiver<GroupMsg>,
        group: Chunk,
        next: usize,
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
        Self::with(of, Transport::Copy(Box::new(TextCopy::new(rx))))
    }

    pub(crate) fn grouped(of: RowsOf, rx: Receiver<GroupMsg>) -> Self {
        Self::with(of, Transport::Groups { rx, group: Chunk::default(), next: 0 })
    }

    fn with(of: RowsOf, transport: Transport) -> Self {
        let RowsOf { name, header, watch, high_water, times, zone } = of;
        Self { name, header, transport, row: 1, watch, high_water, failure: None, times, zone }
    }

    fn fail(&mut self, reason: String) {
        self.failure = Some(format!("{}: the source failed after row {}: {reason}", self.name, self.row - 1));
    }

    /// Moves to the next COPY record of the right width; `None` at the end or on a failure
    /// (kept).
    fn next_record(&mut self) -> Option<()> {
        let width = self.header.len();
        let Transport::Copy(copy) = &mut self.transport else { return None };
        self.row += 1;
        let problem = match copy.advance() {
            Ok(false) => return None,
            Ok(true) if copy.width() == width => return Some(()),
            Ok(true) => format!("a COPY record of {} cells for {width} columns", copy.width()),
            Err(e) => e,
        };
        self.fail(problem);
        None
    }

    /// Moves to the next COPY record and hands `take` its row number, text, where its cells
    /// end and whether tabs separate them; `None` at the end or on a failure (kept), a
    /// record that is not UTF-8 included.
    fn next_copied(&mut self, take: impl FnOnce(u64, &str, &[usize], bool)) -> Option<()> {
        self.next_record()?;
        let Transport::Copy(copy) = &self.transport else { return None };
        let utf8 = match copy.record() {
            Ok((text, ends, separated)) => {
                take(self.row, text, ends, separated);
                true
            }
            Err(_) => false,
        };
        if !utf8 {
            self.fail(NOT_UTF8.into());
            return None;
        }
        Some(())
    }

    /// Moves to the next row of a MySQL result: its index in the current chunk; `None` at
    /// the end or on a failure (kept).
    fn next_grouped(&mut self) -> Option<usize> {
        if matches!(&self.transport, Transport::Groups { group, next, .. } if *next >= group.len()) {
            let received = self.receive_group()?;
            if let Transport::Groups { group, next, .. } = &mut self.transport {
                (*group, *next) = (received, 0);
            }
        }
        let Transport::Groups { next, .. } = &mut self.transport else { return None };
        *next += 1;
        self.row += 1;
        Some(*next - 1)
    }

    /// The next chunk from the reading tasks, skipping empty ones; `None` at the end or on
    /// a failure (kept).
    fn receive_group(&mut self) -> Option<Chunk> {
        let Transport::Groups { rx, .. } = &mut self.transport else { return None };
        loop {
            match rx.blocking_recv()? {
                Ok(next) if next.is_empty() => continue,
                Ok(next) => return Some(next),
                Err(reason) => {
                    rx.close();
                    self.row += 1;
                    self.fail(reason);
                    return None;
                }
            }
        }
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
            Transport::Copy(_) => {
                cells.clear();
                self.next_copied(|_, text, ends, separated| {
                    let mut start = 0;
                    for &end in ends {
                        cells.push(text[start..end].to_owned());
                        start = end + usize::from(separated);
                    }
                })?;
            }
            Transport::Groups { .. } => {
                let i = self.next_grouped()?;
                let Transport::Groups { group, .. } = &self.transport else { return None };
                cells.clear();
                cells.extend(group.cells(i).map(str::to_owned));
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
            Transport::Copy(_) => {
                self.next_copied(|row, text, ends, separated| match separated {
                    true => chunk.push_separated(row, text, ends),
                    false => chunk.push_ranges(row, text, ends.iter().copied()),
                })?;
            }
            Transport::Groups { .. } => {
                let i = self.next_grouped()?;
                let Transport::Groups { group, .. } = &self.transport else { return None };
                chunk.start_row(self.row);
                for cell in group.cells(i) {
                    chunk.push_cell(cell);
                }
            }
        }
        Some(Ok(self.row))
    }

    /// A MySQL result's rows go on in the chunks its reading tasks made, unless a cell of
    /// each row has to be looked at (the incremental column, a zone to add).
    fn chunks(&self) -> bool {
        matches!(self.transport, Transport::Groups { .. }) && self.watch.is_none() && self.times.is_empty()
    }

    fn next_chunk(&mut self) -> Option<Chunk> {
        let mut group = self.receive_group()?;
        self.row = group.renumber(self.row + 1) - 1;
        Some(group)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A cell as PostgreSQL's text output writes it (`None`: NULL).
    fn escaped(cell: &Option<String>) -> String {
        let Some(v) = cell else { return "\\N".into() };
        let mut out = String::new();
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\u{b}' => out.push_str("\\v"),
                c => out.push(c),
            }
        }
        out
    }

    /// Reads `bytes`, sent in blocks cut at `cuts`, back into records of cells.
    fn read(bytes: &[u8], cuts: &[usize]) -> Result<Vec<Vec<String>>, String> {
        let (tx, rx) = copy_channel();
        let mut at = 0;
        let mut blocks = Vec::new();
        for &c in cuts.iter().chain([&bytes.len()]) {
            let c = c.clamp(at, bytes.len());
            blocks.push(bytes[at..c].to_vec());
            at = c;
        }
        let mut copy = TextCopy::new(rx);
        std::thread::scope(|s| {
            s.spawn(move || {
                for b in blocks {
                    tx.blocking_send(Ok(b)).unwrap();
                }
            });
            let mut out = Vec::new();
            while copy.advance()? {
                let (text, ends, separated) = copy.record().map_err(str::to_owned)?;
                let mut start = 0;
                let mut cells = Vec::new();
                for &end in ends {
                    cells.push(text[start..end].to_owned());
                    start = end + usize::from(separated);
                }
                out.push(cells);
            }
            Ok(out)
        })
    }

    proptest! {
        /// Whatever the cells hold (tabs, new lines, backslashes, Chinese, NULL) and wherever
        /// the output is cut into blocks, every record reads back as its cells (NULL empty).
        #[test]
        fn text_copy_output_reads_back(
            rows in prop::collection::vec(prop::collection::vec(prop::option::of("[a-z\\\\\t\n\r\u{8}\u{b}\u{c}临沂N ]{0,8}"), 3), 0..20),
            cuts in prop::collection::vec(0usize..400, 0..6),
        ) {
            let mut text = String::new();
            for r in &rows {
                text.push_str(&r.iter().map(escaped).collect::<Vec<_>>().join("\t"));
                text.push('\n');
            }
            let mut cuts = cuts;
            cuts.sort_unstable();
            let got = read(text.as_bytes(), &cuts).unwrap();
            let want: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| c.clone().unwrap_or_default()).collect()).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn octal_and_hex_escapes_are_undone_and_bad_text_fails_closed() {
        assert_eq!(read(b"a\\101\\x42c\tx\n", &[]).unwrap(), [["aABc", "x"]]);
        // Bytes that are not UTF-8 (raw or escaped) are refused, never passed on.
        assert_eq!(read(b"ok\tok\n\xff\tx\n", &[]).unwrap_err(), NOT_UTF8);
        assert_eq!(read(b"\\377\tx\n", &[]).unwrap_err(), NOT_UTF8);
        // Output that stops inside a record is refused.
        assert_eq!(read(b"a\tb\nc\td", &[3]).unwrap_err(), CUT);
    }
}
