//! Range conditions (`>`, `>=`, `<`, `<=`) answered from memory: for a column of a cached
//! table version, its distinct values in the column's order and, per row, the rank of the
//! row's value. A condition becomes a range of ranks, and a row is tested with one lookup,
//! so a filtered page costs what it returns, not the table.

use std::cmp::Ordering;
use std::collections::HashMap;

use deltalake::arrow::record_batch::RecordBatch;

use crate::{ColumnType, Library, Op, Position, Result};

/// The rank of a null: outside every range.
const NULL_RANK: u32 = u32::MAX;

/// A value in the column's order.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Key {
    /// `text` (as an index keeps it) in the order of a column of type `ty`; `None` when the
    /// type has no order kept here (booleans, decimals) or the text does not parse.
    fn of(ty: ColumnType, text: &str) -> Option<Key> {
        match ty {
            ColumnType::Integer => text.parse().ok().map(Key::Int),
            ColumnType::Number => text.parse::<f64>().ok().filter(|f| !f.is_nan()).map(Key::Float),
            ColumnType::Text | ColumnType::Date | ColumnType::DateTime => Some(Key::Text(text.to_owned())),
            ColumnType::Boolean | ColumnType::Decimal { .. } => None,
        }
    }

    fn order(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Int(a), Key::Int(b)) => a.cmp(b),
            (Key::Float(a), Key::Float(b)) => a.total_cmp(b),
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }
}

/// Each row's value rank for one column of one table version.
pub(crate) struct Ranks {
    ty: ColumnType,
    /// The distinct values, ascending.
    sorted: Vec<Key>,
    /// Per data file, per row: the rank of its value in `sorted` ([`NULL_RANK`] for null).
    rows: Vec<Vec<u32>>,
}

impl Ranks {
    /// From a column's value index (value → positions `(file << 32) | row`) and the rows of
    /// each file. `None` when the column's values cannot be ordered here: then the caller
    /// scans, as DataFusion orders them.
    pub(crate) fn build(ty: ColumnType, index: &HashMap<String, Vec<u64>>, file_rows: &[u64]) -> Option<Ranks> {
        let mut keyed: Vec<(Key, &Vec<u64>)> = Vec::with_capacity(index.len());
        for (text, positions) in index {
            keyed.push((Key::of(ty, text)?, positions));
        }
        // Dates and times compare as text only when every value is written alike.
        if matches!(ty, ColumnType::Date | ColumnType::DateTime) {
            let mut lens = index.keys().map(String::len);
            let first = lens.next();
            if lens.any(|l| Some(l) != first) {
                return None;
            }
        }
        keyed.sort_by(|a, b| a.0.order(&b.0));
        let mut rows: Vec<Vec<u32>> = file_rows.iter().map(|&n| vec![NULL_RANK; n as usize]).collect();
        for (rank, (_, positions)) in keyed.iter().enumerate() {
            for &p in positions.iter() {
                let (file, row) = ((p >> 32) as usize, (p & 0xffff_ffff) as usize);
                *rows.get_mut(file)?.get_mut(row)? = rank as u32;
            }
        }
        Some(Ranks { ty, sorted: keyed.into_iter().map(|(k, _)| k).collect(), rows })
    }

    /// Bytes a column's ranks take for `rows` rows.
    pub(crate) fn bytes_for(rows: u64) -> u64 {
        rows * 4 + 64
    }

    /// The ranks `[lo, hi)` that `op value` admits (`value` as an index keeps it); `None`
    /// for an operator or value this cannot answer.
    pub(crate) fn bounds(&self, op: Op, value: &str) -> Option<(u32, u32)> {
        let v = Key::of(self.ty, value)?;
        let below = self.sorted.partition_point(|k| k.order(&v) == Ordering::Less) as u32;
        let up_to = self.sorted.partition_point(|k| k.order(&v) != Ordering::Greater) as u32;
        let all = self.sorted.len() as u32;
        Some(match op {
            Op::Gt => (up_to, all),
            Op::Gte => (below, all),
            Op::Lt => (0, below),
            Op::Lte => (0, up_to),
            _ => return None,
        })
    }

    /// Whether row `row` of file `file` has a value in `[lo, hi)`.
    pub(crate) fn admits(&self, file: usize, row: usize, (lo, hi): (u32, u32)) -> bool {
        self.rows.get(file).and_then(|r| r.get(row)).is_some_and(|&r| r >= lo && r < hi)
    }
}

/// Where a page in stored order starts: at a cursor's position, or after so many matching
/// rows (an offset).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start {
    At(Position),
    Offset(usize),
}

/// Collects a page while matching positions go by in stored order.
pub(crate) struct Walk {
    pub start: Start,
    pub version: u64,
    pub limit: usize,
    pub taken: Vec<u64>,
    pub next: Option<Position>,
    /// The file of the last position seen, the matches seen in it, and in all.
    pub file: usize,
    pub in_file: usize,
    pub seen: usize,
}

impl Walk {
    /// Takes in matching position `p`; `true` once the page is full and the next one's
    /// start is known.
    pub(crate) fn visit(&mut self, p: u64) -> bool {
        let file = (p >> 32) as usize;
        if file != self.file {
            (self.file, self.in_file) = (file, 0);
        }
        let (skip, seen) = (self.in_file, self.seen);
        self.in_file += 1;
        self.seen += 1;
        let before_start = match self.start {
            Start::At(from) => file == from.file && skip < from.skip,
            Start::Offset(n) => seen < n,
        };
        if before_start {
            return false;
        }
        if self.taken.len() == self.limit {
            self.next = Some(Position { version: self.version, file, skip });
            return true;
        }
        self.taken.push(p);
        false
    }
}

impl Library {
    /// A page of the rows, in stored order from `start`, that are among `matches` (every
    /// row when `None`) and whose values are in every range; where the next page starts
    /// (a cursor's `skip` counts the matching rows of its file before it, as for scans);
    /// and, with `count`, how many rows match in all.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn ranged_page(
        &self,
        snapshot: &crate::cache::Snapshot,
        names: &[String],
        matches: Option<&[u64]>,
        ranges: &[(std::sync::Arc<crate::ranges::Ranks>, (u32, u32))],
        start: Start,
        limit: usize,
        count: bool,
    ) -> Result<(Vec<RecordBatch>, Option<Position>, Option<u64>)> {
        let version = snapshot.table.version().unwrap_or(0);
        let admits = |p: u64| {
            let (file, row) = ((p >> 32) as usize, (p & 0xffff_ffff) as usize);
            ranges.iter().all(|(r, b)| r.admits(file, row, *b))
        };
        let first_file = match start {
            Start::At(p) => p.file,
            Start::Offset(_) => 0,
        };
        let mut walk = Walk {
            start,
            version,
            limit,
            taken: Vec::with_capacity(limit),
            next: None,
            file: usize::MAX,
            in_file: 0,
            seen: 0,
        };
        match matches {
            Some(m) => {
                let from = m.partition_point(|p| (p >> 32) < first_file as u64);
                for &p in &m[from..] {
                    if admits(p) && walk.visit(p) {
                        break;
                    }
                }
            }
            None => {
                'files: for (f, file) in snapshot.files.iter().enumerate().skip(first_file) {
                    for r in 0..file.rows {
                        let p = ((f as u64) << 32) | r;
                        if admits(p) && walk.visit(p) {
                            break 'files;
                        }
                    }
                }
            }
        }
        let total = count.then(|| match matches {
            Some(m) => m.iter().filter(|&&p| admits(p)).count() as u64,
            None => snapshot
                .files
                .iter()
                .enumerate()
                .map(|(f, file)| (0..file.rows).filter(|&r| admits(((f as u64) << 32) | r)).count() as u64)
                .sum::<u64>(),
        });
        let batches = self.read_positions(snapshot, names, &walk.taken).await?;
        Ok((batches, walk.next, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranks(ty: ColumnType, values: &[Option<&str>]) -> Ranks {
        let mut index: HashMap<String, Vec<u64>> = HashMap::new();
        for (row, v) in values.iter().enumerate() {
            if let Some(v) = v {
                index.entry((*v).to_owned()).or_default().push(row as u64);
            }
        }
        Ranks::build(ty, &index, &[values.len() as u64]).unwrap()
    }

    fn admitted(r: &Ranks, n: usize, op: Op, v: &str) -> Vec<usize> {
        let b = r.bounds(op, v).unwrap();
        (0..n).filter(|&row| r.admits(0, row, b)).collect()
    }

    #[test]
    fn ranges_follow_the_columns_order_and_never_admit_nulls() {
        // Numbers compare as numbers, not as text ("10" > "9").
        let r = ranks(ColumnType::Integer, &[Some("9"), Some("10"), None, Some("-3"), Some("10")]);
        assert_eq!(admitted(&r, 5, Op::Gt, "9"), [1, 4]);
        assert_eq!(admitted(&r, 5, Op::Gte, "9"), [0, 1, 4]);
        assert_eq!(admitted(&r, 5, Op::Lt, "10"), [0, 3]);
        assert_eq!(admitted(&r, 5, Op::Lte, "-4"), Vec::<usize>::new());
        assert_eq!(admitted(&r, 5, Op::Gte, "100"), Vec::<usize>::new());
        let d = ranks(ColumnType::Date, &[Some("2020-03-01"), Some("2019-12-31"), Some("2020-02-29")]);
        assert_eq!(admitted(&d, 3, Op::Gte, "2020-01-01"), [0, 2]);
        assert_eq!(admitted(&d, 3, Op::Lt, "2020-03-01"), [1, 2]);
        let t = ranks(ColumnType::Text, &[Some("兰山区"), Some("河东区"), Some("A")]);
        assert_eq!(admitted(&t, 3, Op::Gt, "B"), [0, 1], "text in byte order, as DataFusion compares it");
        let f = ranks(ColumnType::Number, &[Some("1.5"), Some("-0.25"), Some("1e3")]);
        assert_eq!(admitted(&f, 3, Op::Gt, "1"), [0, 2]);
        assert!(r.bounds(Op::Ne, "9").is_none() && r.bounds(Op::Gt, "nine").is_none());
    }

    #[test]
    fn columns_without_an_order_here_are_left_to_the_scan() {
        let mut index = HashMap::new();
        index.insert("12.50".to_owned(), vec![0]);
        assert!(Ranks::build(ColumnType::Decimal { precision: 10, scale: 2 }, &index, &[1]).is_none());
        // Dates written in two ways would not compare as text.
        let mut index = HashMap::new();
        index.insert("2020-01-01".to_owned(), vec![0]);
        index.insert("999-01-01".to_owned(), vec![1]);
        assert!(Ranks::build(ColumnType::Date, &index, &[2]).is_none());
    }
}
