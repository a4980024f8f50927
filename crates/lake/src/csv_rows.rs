//! CSV and TSV files as [`Rows`]: encoding detection (BOM, UTF-8 when valid, else
//! GB18030) or a given encoding, delimiter sniffing, any quoting. UTF-8 is read as it is
//! and each record validated once; other encodings are decoded on the way.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use encoding_rs::Encoding;

use crate::LakeError;
use crate::source::{BadRow, Chunk, Progress, Rows, SourceOptions, file_name, fill};

/// Counts bytes read, for progress and reports.
struct Counting<R> {
    inner: R,
    count: Arc<Progress>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.bytes.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `path` as UTF-8 text, detecting or applying the encoding. UTF-8 files are read as
/// they are (less a BOM; the rows check their bytes); other encodings are decoded on the way,
/// undecodable bytes becoming U+FFFD. Returns the reader, the encoding, and whether it decodes.
fn open_text(
    path: &Path,
    opts: &SourceOptions,
    bytes: Arc<Progress>,
) -> Result<(Box<dyn Read + Send>, &'static Encoding, bool), LakeError> {
    let io = |e: std::io::Error| LakeError::Input(format!("{}: {e}", path.display()));
    let mut head = vec![0u8; 64 * 1024];
    let mut f = File::open(path).map_err(io)?;
    let n = read_full(&mut f, &mut head).map_err(io)?;
    head.truncate(n);
    if n == 0 {
        return Err(LakeError::Input(format!("{}: the file is empty", path.display())));
    }
    let bom = Encoding::for_bom(&head);
    let encoding = match (opts.encoding, bom) {
        (Some(e), _) => e,
        (None, Some((e, _))) => e,
        (None, None) => match std::str::from_utf8(&head) {
            Ok(_) => encoding_rs::UTF_8,
            // A multi-byte character cut at the end of the sample is still UTF-8.
            Err(e) if e.error_len().is_none() => encoding_rs::UTF_8,
            Err(_) => encoding_rs::GB18030,
        },
    };
    let mut f = File::open(path).map_err(io)?;
    if encoding == encoding_rs::UTF_8 {
        if let Some((e, len)) = bom
            && e == encoding_rs::UTF_8
        {
            std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(len as u64)).map_err(io)?;
        }
        let counted = Counting { inner: f, count: bytes };
        return Ok((Box::new(counted), encoding, false));
    }
    let counted = Counting { inner: BufReader::with_capacity(1 << 20, f), count: bytes };
    let decoder = encoding_rs_io::DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_override(true)
        .strip_bom(true)
        .build(counted);
    Ok((Box::new(decoder), encoding, true))
}

fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The separator that occurs most often outside quotes in `line`.
fn sniff(line: &str) -> u8 {
    let mut counts = [0usize; 4];
    let seps = [b',', b'\t', b';', b'|'];
    let mut quoted = false;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(i) = seps.iter().position(|s| *s == b) {
            counts[i] += 1;
        }
    }
    let best = (0..4).max_by_key(|i| counts[*i]).unwrap_or(0);
    if counts[best] == 0 { b',' } else { seps[best] }
}

/// A CSV or TSV file.
pub struct CsvRows {
    name: String,
    reader: csv::Reader<Box<dyn Read + Send>>,
    header: Vec<String>,
    encoding: &'static Encoding,
    /// The text is decoded from another encoding on the way (see [`open_text`]).
    decoded: bool,
    record: csv::ByteRecord,
}

impl CsvRows {
    pub fn open(path: &Path, opts: &SourceOptions, progress: Arc<Progress>) -> Result<Self, LakeError> {
        let (text, encoding, decoded) = open_text(path, opts, progress)?;
        let mut text = BufReader::with_capacity(1 << 20, text);
        // Read the header line ourselves to sniff the separator, then hand the rest to csv.
        let mut first = Vec::new();
        std::io::BufRead::read_until(&mut text, b'\n', &mut first)
            .map_err(|e| LakeError::Input(format!("{}: {e}", path.display())))?;
        let first = String::from_utf8_lossy(&first).trim_end_matches(['\r', '\n']).to_owned();
        let delimiter = opts.delimiter.unwrap_or_else(|| sniff(&first));
        let header: Vec<String> = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .from_reader(first.as_bytes())
            .records()
            .next()
            .and_then(|r| r.ok())
            .map(|r| r.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_owned()).collect())
            .unwrap_or_default();
        if header.iter().any(|h| h.contains('\u{fffd}')) {
            return Err(LakeError::Input(format!(
                "{}: the header is not valid {} text; give the right --encoding (utf-8, gbk, gb18030)",
                path.display(),
                encoding.name()
            )));
        }
        let text: Box<dyn Read + Send> = Box::new(text);
        let reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text);
        Ok(Self { name: file_name(path), reader, header, encoding, decoded, record: csv::ByteRecord::new() })
    }

    /// Reads the next record that is not a blank line: its row number, or why it is unreadable.
    fn next_record(&mut self) -> Option<Result<u64, BadRow>> {
        loop {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    let row = e.position().map(|p| p.line() + 1).unwrap_or(0);
                    let reason = e.to_string();
                    return Some(Err(BadRow { file: self.name.clone(), row, column: None, value: None, reason }));
                }
            }
            if self.record.len() == 1 && self.record.get(0).is_some_and(|c| c.trim_ascii().is_empty()) {
                continue; // a blank line
            }
            return Some(Ok(self.record.position().map(|p| p.line() + 1).unwrap_or(0)));
        }
    }

    /// The record as text, or the bad row naming the first cell that is not valid text.
    fn text(&self, row: u64) -> Result<&str, BadRow> {
        simdutf8::basic::from_utf8(self.record.as_slice()).map_err(|_| {
            let i = (0..self.record.len()).find(|i| std::str::from_utf8(&self.record[*i]).is_err()).unwrap_or(0);
            BadRow {
                file: self.name.clone(),
                row,
                column: self.header.get(i).cloned(),
                value: Some(String::from_utf8_lossy(&self.record[i]).chars().take(60).collect()),
                reason: format!("is not valid {} text; give the right --encoding", self.encoding.name()),
            }
        })
    }
}

impl Rows for CsvRows {
    fn name(&self) -> &str {
        &self.name
    }

    fn header(&self) -> &[String] {
        &self.header
    }

    fn encoding(&self) -> String {
        self.encoding.name().to_owned()
    }

    fn decodes(&self) -> bool {
        self.decoded
    }

    fn next_row(&mut self, cells: &mut Vec<String>) -> Option<Result<u64, BadRow>> {
        let row = match self.next_record()? {
            Ok(row) => row,
            Err(bad) => return Some(Err(bad)),
        };
        Some(self.text(row).map(|text| {
            fill(cells, (0..self.record.len()).map(|i| self.record.range(i).map(|r| &text[r]).unwrap_or("")));
            row
        }))
    }

    fn next_into(&mut self, chunk: &mut Chunk) -> Option<Result<u64, BadRow>> {
        let row = match self.next_record()? {
            Ok(row) => row,
            Err(bad) => return Some(Err(bad)),
        };
        Some(self.text(row).map(|text| {
            // One copy of the whole record; the cells are ranges of it.
            let base = chunk.text.len();
            chunk.rows.push(Ok((row, chunk.ends.len())));
            chunk.text.push_str(text);
            chunk.ends.extend((0..self.record.len()).filter_map(|i| self.record.range(i)).map(|r| base + r.end));
            row
        }))
    }
}
