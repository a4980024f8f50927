//! Column types of library tables, and how text cells become typed values.
//!
//! Inference looks at every value of a column before choosing its type, so a stray value
//! late in a file never fails an ingest halfway: the column falls back to text with a note.

use std::fmt;

/// The type of a library column (the Delta type in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// string
    Text,
    /// long
    Integer,
    /// double
    Number,
    /// date
    Date,
    /// timestamp (UTC; values without an offset are Beijing time)
    DateTime,
    /// boolean
    Boolean,
    /// decimal(precision, scale): exact, for money (from a database's DECIMAL/NUMERIC)
    Decimal { precision: u8, scale: u8 },
}

/// The widest decimal the library keeps (Delta's and Arrow's 128-bit decimals).
pub const MAX_DECIMAL_PRECISION: u8 = 38;

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Number => "number",
            ColumnType::Date => "date",
            ColumnType::DateTime => "datetime",
            ColumnType::Boolean => "boolean",
            ColumnType::Decimal { .. } => "decimal",
        }
    }

    /// A decimal type, when `precision` and `scale` fit one (1..=38, scale at most precision).
    pub fn decimal(precision: u32, scale: u32) -> Option<Self> {
        (1..=u32::from(MAX_DECIMAL_PRECISION)).contains(&precision).then_some(())?;
        (scale <= precision).then_some(Self::Decimal { precision: precision as u8, scale: scale as u8 })
    }

    /// Whether values are numbers (integers, doubles, decimals).
    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Integer | ColumnType::Number | ColumnType::Decimal { .. })
    }

    /// The library type for a catalog item's data type.
    pub fn from_item(t: tongshu_core::catalog::DataType) -> Self {
        use tongshu_core::catalog::DataType as D;
        match t {
            D::Text | D::Binary => ColumnType::Text,
            D::Number => ColumnType::Number,
            D::Integer => ColumnType::Integer,
            D::Date => ColumnType::Date,
            D::DateTime => ColumnType::DateTime,
            D::Boolean => ColumnType::Boolean,
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Decimal { precision, scale } => write!(f, "decimal({precision},{scale})"),
            t => f.write_str(t.as_str()),
        }
    }
}

/// A parsed cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// Text: the cell itself, taken as is (parsing only checks it, so text is never copied
    /// twice).
    Text,
    Integer(i64),
    Number(f64),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00Z.
    DateTime(i64),
    Boolean(bool),
    /// The unscaled value of a decimal (`12.50` at scale 2 is 1250).
    Decimal(i128),
}

const BEIJING: time::UtcOffset = match time::UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => time::UtcOffset::UTC,
};

/// Parses one cell as `ty`. Empty cells are null. `max_len` limits text, in characters.
pub fn parse(cell: &str, ty: ColumnType, max_len: Option<u32>) -> Result<Value, String> {
    let s = trim(cell);
    if s.is_empty() {
        return Ok(Value::Null);
    }
    match ty {
        ColumnType::Text => {
            if let Some(max) = max_len
                // Characters are never more than bytes: count only when it may matter.
                && cell.len() > max as usize
            {
                let n = cell.chars().count();
                if n > max as usize {
                    return Err(format!("is {n} characters long, the item allows {max}"));
                }
            }
            Ok(Value::Text)
        }
        ColumnType::Integer => s.parse::<i64>().map(Value::Integer).map_err(|_| "is not a whole number".into()),
        ColumnType::Number => match s.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Value::Number(n)),
            _ => Err("is not a number".into()),
        },
        ColumnType::Date => {
            parse_date(s).map(|d| Value::Date(days(d))).ok_or_else(|| "is not a date (YYYY-MM-DD)".into())
        }
        ColumnType::DateTime => parse_datetime(s)
            .map(|t| Value::DateTime((t.unix_timestamp_nanos() / 1000) as i64))
            .ok_or_else(|| "is not a date and time (YYYY-MM-DD HH:MM:SS)".into()),
        ColumnType::Boolean => parse_bool(s).map(Value::Boolean).ok_or_else(|| "is not true or false".into()),
        ColumnType::Decimal { precision, scale } => parse_decimal(s, precision, scale).map(Value::Decimal),
    }
}

/// An exact decimal: `-1234.50`, `+7`, `.5`, full-width digits too. More decimals than the
/// column keeps are refused unless they are zeros (nothing is rounded away), and so are more
/// digits than the precision allows.
pub fn parse_decimal(s: &str, precision: u8, scale: u8) -> Result<i128, String> {
    let ascii: String;
    let s = if s.is_ascii() {
        s
    } else {
        ascii = s
            .chars()
            .map(|c| match c {
                '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
                '．' => '.',
                '－' => '-',
                '＋' => '+',
                c => c,
            })
            .collect();
        &ascii
    };
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !(digits(int) || digits(frac)) || !(int.is_empty() || digits(int)) || !(frac.is_empty() || digits(frac)) {
        return Err("is not a decimal number".into());
    }
    let frac_kept = frac.trim_end_matches('0');
    if frac_kept.len() > scale as usize {
        return Err(format!(
            "has {} decimal places, the column keeps {scale} (nothing is rounded: round it at the source)",
            frac_kept.len()
        ));
    }
    let int = int.trim_start_matches('0');
    if int.len() > (precision - scale) as usize {
        return Err(format!("has {} digits before the point, more than decimal({precision},{scale}) holds", int.len()));
    }
    let mut n: i128 = 0;
    for b in int.bytes().chain(frac_kept.bytes()).chain(std::iter::repeat_n(b'0', scale as usize - frac_kept.len())) {
        n = n * 10 + i128::from(b - b'0');
    }
    Ok(if negative { -n } else { n })
}

/// A decimal's text: the unscaled value `n` at `scale` (`1250`, 2 → `12.50`).
pub fn format_decimal(n: i128, scale: u8) -> String {
    let digits = n.unsigned_abs().to_string();
    let scale = scale as usize;
    let sign = if n < 0 { "-" } else { "" };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// `cell` without surrounding whitespace; cheap for the common cell that starts and ends
/// with a visible ASCII character.
fn trim(cell: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(|b| (0x21..0x7f).contains(b));
    let b = cell.as_bytes();
    if b.is_empty() || visible(b.first()) && visible(b.last()) { cell } else { cell.trim() }
}

/// Whether an all-digits-looking value is an identifier rather than a quantity: ID numbers,
/// mobile numbers and codes with leading zeros, which as numbers would lose digits or zeros.
/// `s` is trimmed and not empty.
pub fn looks_like_identifier(s: &str) -> bool {
    if s.len() < 11 && !s.starts_with('0') {
        return false; // the common quantity: too short for a mobile or ID number, no leading zero
    }
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let mobile = s.len() == 11 && digits == 11 && s.starts_with('1') && matches!(s.as_bytes()[1], b'3'..=b'9');
    s.len() > 1 && s.starts_with('0') && !s.starts_with("0.") || digits > 15 || mobile
}

/// Whether a cell that parsed as `ty` keeps a column inferred as `ty` at that type (numbers
/// that look like identifiers make a column text).
pub fn fits_inferred(ty: ColumnType, cell: &str) -> bool {
    let s = trim(cell);
    !ty.is_numeric() || s.is_empty() || !looks_like_identifier(s)
}

fn days(d: time::Date) -> i32 {
    /// The Julian day number of 1970-01-01.
    const EPOCH: i32 = 2_440_588;
    d.to_julian_day() - EPOCH
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "是" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "否" | "0" => Some(false),
        _ => None,
    }
}

/// `2024-03-05`, `2024/3/5`, `20240305`, `2024年3月5日`.
fn parse_date(s: &str) -> Option<time::Date> {
    if let Some(date) = parse_iso_date(s) {
        return Some(date);
    }
    let (y, m, d) = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        (s[..4].parse().ok()?, s[4..6].parse().ok()?, s[6..].parse().ok()?)
    } else {
        let t = s.replace(['年', '月'], "-").replace('日', "");
        let mut parts = t.split(['-', '/', '.']);
        let y: i32 = parts.next()?.parse().ok()?;
        let m: u8 = parts.next()?.parse().ok()?;
        let d: u8 = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        (y, m, d)
    };
    if !(1..=9999).contains(&y) {
        return None;
    }
    time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

/// The common `YYYY-MM-DD` without allocating; `None` for anything else (which the general
/// parser then tries).
fn parse_iso_date(s: &str) -> Option<time::Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if y == 0 {
        return None;
    }
    time::Date::from_calendar_date(y as i32, time::Month::try_from(m as u8).ok()?, d as u8).ok()
}

/// `2024-03-05 08:30:00`, `2024-03-05T08:30`, with optional fraction and `Z`/`+08:00`.
/// Without an offset the time is Beijing time.
fn parse_datetime(s: &str) -> Option<time::OffsetDateTime> {
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    let (date, rest) = s.split_once([' ', 'T'])?;
    let date = parse_date(date)?;
    let rest = rest.trim();
    let mut hms = rest.split(':');
    let h: u8 = hms.next()?.parse().ok()?;
    let mi: u8 = hms.next()?.parse().ok()?;
    let (sec, micro) = match hms.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let micro = if frac.is_empty() {
                0
            } else {
                let digits: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
                digits.parse().ok()?
            };
            (whole.parse().ok()?, micro)
        }
    };
    if hms.next().is_some() {
        return None;
    }
    let t = time::Time::from_hms_micro(h, mi, sec, micro).ok()?;
    Some(time::PrimitiveDateTime::new(date, t).assume_offset(BEIJING))
}

/// Watches every value of a column and says which type fits them all.
#[derive(Debug, Clone)]
pub struct Inference {
    candidates: [bool; 5],
    first_misfit: [Option<(u64, String)>; 5],
    seen: u64,
}

const ORDER: [ColumnType; 5] =
    [ColumnType::Integer, ColumnType::Number, ColumnType::Date, ColumnType::DateTime, ColumnType::Boolean];

impl Default for Inference {
    fn default() -> Self {
        Self { candidates: [true; 5], first_misfit: Default::default(), seen: 0 }
    }
}

impl Inference {
    /// Looks at the cell of data row `row`.
    pub fn observe(&mut self, row: u64, cell: &str) {
        let s = trim(cell);
        if s.is_empty() {
            return;
        }
        self.seen += 1;
        if !self.candidates.contains(&true) {
            return; // text already, whatever comes
        }
        // Identifiers (ID numbers, phone numbers, codes with leading zeros) are text even
        // when they are all digits: as numbers they would lose digits or their zeros.
        let identifier = (self.candidates[0] || self.candidates[1]) && looks_like_identifier(s);
        for (i, ty) in ORDER.iter().enumerate() {
            let numeric = matches!(ty, ColumnType::Integer | ColumnType::Number);
            if self.candidates[i] && numeric && identifier {
                self.candidates[i] = false;
                self.first_misfit[i] = Some((row, s.chars().take(40).collect()));
                continue;
            }
            if self.candidates[i] && parse(s, *ty, None).is_err() {
                self.candidates[i] = false;
                self.first_misfit[i] = Some((row, s.chars().take(40).collect()));
            }
        }
    }

    /// How many non-empty values were seen.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The most specific type every value fits, and a note when a column that looked typed
    /// had to fall back to text.
    pub fn decide(&self, column: &str) -> (ColumnType, Option<String>) {
        if self.seen == 0 {
            return (ColumnType::Text, Some(format!("column {column:?} is empty; it is text")));
        }
        if let Some(i) = self.candidates.iter().position(|c| *c) {
            return (ORDER[i], None);
        }
        // Integer and number misfits tell the most: a numeric column spoiled by a stray value.
        let note = self.first_misfit[1]
            .as_ref()
            .map(|(row, v)| format!("column {column:?} is text: row {row} has {v:?}, which is not a number"));
        (ColumnType::Text, note.filter(|_| self.mostly_numeric()))
    }

    fn mostly_numeric(&self) -> bool {
        // The number candidate fell late (after the first few values) — worth telling.
        self.first_misfit[1].as_ref().is_some_and(|(row, _)| *row > 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cells_parse_to_their_types() {
        assert_eq!(parse("42", ColumnType::Integer, None), Ok(Value::Integer(42)));
        assert_eq!(parse(" ", ColumnType::Integer, None), Ok(Value::Null));
        assert_eq!(parse("1970-01-02", ColumnType::Date, None), Ok(Value::Date(1)));
        assert_eq!(parse("1970年1月2日", ColumnType::Date, None), Ok(Value::Date(1)));
        assert_eq!(parse("19700102", ColumnType::Date, None), Ok(Value::Date(1)));
        assert_eq!(parse("1970-01-01 08:00:01", ColumnType::DateTime, None), Ok(Value::DateTime(1_000_000)));
        assert_eq!(parse("1970-01-01T00:00:01Z", ColumnType::DateTime, None), Ok(Value::DateTime(1_000_000)));
        assert_eq!(parse("是", ColumnType::Boolean, None), Ok(Value::Boolean(true)));
        assert!(parse("2023-02-30", ColumnType::Date, None).is_err());
        assert!(parse("abc", ColumnType::Number, None).is_err());
        assert!(parse("NaN", ColumnType::Number, None).is_err());
        assert_eq!(parse("张三丰", ColumnType::Text, Some(2)), Err("is 3 characters long, the item allows 2".into()));
    }

    #[test]
    fn inference_looks_at_the_whole_column() {
        let mut inf = Inference::default();
        for (i, v) in ["1", "2", "", "3"].iter().enumerate() {
            inf.observe(i as u64 + 1, v);
        }
        assert_eq!(inf.decide("n").0, ColumnType::Integer);
        inf.observe(5, "2.5");
        assert_eq!(inf.decide("n").0, ColumnType::Number);
        inf.observe(9_999_999, "N/A");
        let (ty, note) = inf.decide("n");
        assert_eq!(ty, ColumnType::Text);
        assert!(note.unwrap().contains("row 9999999"), "the stray value is named");
        let mut ids = Inference::default();
        ids.observe(1, "371302199001011234");
        assert_eq!(ids.decide("id").0, ColumnType::Text, "18-digit ID numbers stay text");
        let mut mobiles = Inference::default();
        mobiles.observe(1, "13812345678");
        assert_eq!(mobiles.decide("m").0, ColumnType::Text, "mobile numbers stay text");
        let mut zeros = Inference::default();
        zeros.observe(1, "0539");
        zeros.observe(2, "0.5");
        assert_eq!(zeros.decide("z").0, ColumnType::Text, "leading zeros are kept");
        let mut dates = Inference::default();
        dates.observe(1, "2024-01-01");
        dates.observe(2, "2024/2/3");
        assert_eq!(dates.decide("d").0, ColumnType::Date);
    }

    proptest! {
        #[test]
        fn integers_round_trip(n in any::<i64>()) {
            prop_assert_eq!(parse(&n.to_string(), ColumnType::Integer, None), Ok(Value::Integer(n)));
        }

        #[test]
        fn dates_round_trip(d in 0i32..2_900_000) {
            let date = time::Date::from_julian_day(d + 1_721_426).unwrap();
            let text = format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day());
            prop_assume!(date.year() >= 1);
            prop_assert_eq!(parse(&text, ColumnType::Date, None), Ok(Value::Date(days(date))));
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,30}") {
            for ty in [ColumnType::Text, ColumnType::Integer, ColumnType::Number, ColumnType::Date, ColumnType::DateTime, ColumnType::Boolean, ColumnType::Decimal { precision: 14, scale: 2 }, ColumnType::Decimal { precision: 38, scale: 38 }] {
                let _ = parse(&s, ty, Some(10));
            }
        }

        #[test]
        fn decimals_round_trip_exactly(n in -(10i128.pow(18))..10i128.pow(18), scale in 0u8..=18) {
            let text = format_decimal(n, scale);
            prop_assert_eq!(parse_decimal(&text, 38, scale), Ok(n));
            // Trailing zeros and a leading plus are the same value.
            let plus = if n >= 0 { "+" } else { "" };
            prop_assert_eq!(parse_decimal(&format!("{plus}{text}{}", if scale > 0 { "00" } else { "" }), 38, scale), Ok(n));
        }
    }

    #[test]
    fn decimals_keep_every_digit_and_refuse_what_they_cannot_hold() {
        let money = |s: &str| parse_decimal(s, 14, 2);
        assert_eq!(money("1234.5"), Ok(123_450));
        assert_eq!(money("-0.07"), Ok(-7));
        assert_eq!(money("１２３．４５"), Ok(12_345), "full-width digits");
        assert_eq!(money("999999999999.99"), Ok(99_999_999_999_999));
        assert_eq!(money("12.300"), Ok(1230), "zeros beyond the scale lose nothing");
        assert!(money("12.345").unwrap_err().contains("3 decimal places"));
        assert!(money("1000000000000").unwrap_err().contains("13 digits"));
        for bad in ["", ".", "-", "1e5", "1.2.3", "N/A", "12,5"] {
            assert!(money(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_decimal(5, 2), "0.05");
        assert_eq!(format_decimal(-123_450, 2), "-1234.50");
        assert_eq!(ColumnType::decimal(14, 2).unwrap().to_string(), "decimal(14,2)");
        assert!(ColumnType::decimal(39, 2).is_none() && ColumnType::decimal(4, 5).is_none());
    }
}
