//! Rows read but not yet converted, as the two stages of the ingest hand them to each other.

use crate::source::BadRow;

/// Rows read but not yet converted: their cells in one flat buffer, so that handing a
/// batch's worth of rows to the converting thread costs a few allocations, not one per cell.
#[derive(Default)]
pub struct Chunk {
    pub(crate) text: String,
    /// End offset in `text` of each cell.
    pub(crate) ends: Vec<usize>,
    /// Per row: its number and the index in `ends` of its first cell, or a row that could
    /// not be read at all.
    pub(crate) rows: Vec<Result<(u64, usize), BadRow>>,
    /// Cells for [`Rows::next_into`](crate::source::Rows::next_into)'s default (and implementations that fall back to it).
    pub scratch: Vec<String>,
}

impl Chunk {
    /// Rows in the chunk (unreadable ones included).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Starts row number `row`: the cells pushed next are its.
    pub fn start_row(&mut self, row: u64) {
        self.rows.push(Ok((row, self.ends.len())));
    }

    /// Appends a cell to the row last started.
    pub fn push_cell(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }

    /// Numbers the rows from `first` on; the number after the last.
    pub fn renumber(&mut self, first: u64) -> u64 {
        let mut n = first;
        for (row, _) in self.rows.iter_mut().flatten() {
            *row = n;
            n += 1;
        }
        n
    }

    /// Appends row number `row` with these cells.
    pub fn push_row(&mut self, row: u64, cells: &[String]) {
        self.start_row(row);
        for c in cells {
            self.push_cell(c);
        }
    }

    /// Appends row number `row` whose cells are consecutive ranges of `text`, each ending at
    /// one of `ends` (offsets into `text`): one copy of the whole row.
    pub fn push_ranges(&mut self, row: u64, text: &str, ends: impl Iterator<Item = usize>) {
        let base = self.text.len();
        self.rows.push(Ok((row, self.ends.len())));
        self.text.push_str(text);
        self.ends.extend(ends.map(|end| base + end));
    }

    /// Appends row number `row` whose cells are the ranges of `text` between one-byte
    /// separators (COPY's tabs): cell `k` ends at `ends[k]`, the next begins a byte later.
    pub fn push_separated(&mut self, row: u64, text: &str, ends: &[usize]) {
        self.rows.push(Ok((row, self.ends.len())));
        let mut start = 0;
        for &end in ends {
            self.text.push_str(&text[start..end]);
            self.ends.push(self.text.len());
            start = end + 1;
        }
    }

    /// The cells of row `i` of the chunk (none for a row that could not be read).
    pub fn cells(&self, i: usize) -> impl Iterator<Item = &str> {
        let range = match &self.rows[i] {
            Err(_) => 0..0,
            Ok((_, first)) => {
                let next = self.rows[i + 1..].iter().find_map(|r| r.as_ref().ok()).map(|(_, next)| *next);
                *first..next.unwrap_or(self.ends.len())
            }
        };
        range.map(move |k| {
            let start = if k == 0 { 0 } else { self.ends[k - 1] };
            &self.text[start..self.ends[k]]
        })
    }

    /// Takes the last row out into a chunk of its own.
    pub(crate) fn split_last(&mut self) -> Chunk {
        let mut rest = Chunk::default();
        let Some(last) = self.rows.pop() else { return rest };
        match last {
            Err(bad) => rest.rows.push(Err(bad)),
            Ok((row, first)) => {
                let start = if first == 0 { 0 } else { self.ends[first - 1] };
                let cells: Vec<String> = (first..self.ends.len())
                    .map(|k| self.text[if k == first { start } else { self.ends[k - 1] }..self.ends[k]].to_owned())
                    .collect();
                self.text.truncate(start);
                self.ends.truncate(first);
                rest.push_row(row, &cells);
            }
        }
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::Chunk;
    use crate::source::BadRow;

    fn bad(row: u64) -> BadRow {
        BadRow { file: "f".into(), row, column: None, value: None, reason: "broken".into() }
    }

    #[test]
    fn chunks_give_back_each_rows_cells_around_unreadable_rows() {
        let mut c = Chunk::default();
        c.push_row(2, &["a".into(), "".into(), "丙".into()]);
        c.rows.push(Err(bad(3)));
        c.rows.push(Err(bad(4)));
        c.push_row(5, &["d".into()]);
        c.push_row(6, &[]);
        c.push_row(7, &["x".into(), "y".into()]);
        let rows: Vec<Vec<&str>> = (0..c.rows.len()).map(|i| c.cells(i).collect()).collect();
        assert_eq!(rows, [vec!["a", "", "丙"], vec![], vec![], vec!["d"], vec![], vec!["x", "y"]]);
    }
}
