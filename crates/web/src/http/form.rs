//! A posted HTML form's fields (repeated names kept), read as people type them: full-width
//! digits and punctuation, thousands separators, lists split by commas, 、 or new lines,
//! AHP judgements as fractions (`1/3`). Every value that cannot be read is named with its
//! field; the form is refused whole, never half-read.

use tongshu_core::FieldErrors;

use crate::http::error::{ApiError, ErrorCode};

/// The fields of one posted form and the problems found reading them.
#[derive(Debug, Default)]
pub struct Posted {
    fields: Vec<(String, String)>,
    errors: FieldErrors,
}

/// Full-width digits, signs, separators and spaces as their ASCII forms (ＩＭＥ input).
fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '０'..='９' | '．' | '－' | '＋' | '，' | '／' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

/// A number as typed: full-width or not, with `,` or space thousands separators.
fn plain_number(s: &str) -> String {
    half_width(s).chars().filter(|c| !matches!(c, ',' | ' ' | '_')).collect()
}

impl Posted {
    pub fn parse(body: &[u8]) -> Self {
        Self { fields: form_urlencoded::parse(body).into_owned().collect(), errors: FieldErrors::default() }
    }

    /// The first value of `name`, trimmed ("" when absent).
    pub fn text(&self, name: &str) -> String {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default()
    }

    /// The first value of `name` when it is not blank.
    pub fn opt(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|v| !v.is_empty())
    }

    /// Every non-blank value of `name` (checkbox groups, multiple selects).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// Fields named `prefix.key`, by key.
    pub fn prefixed(&self, prefix: &str) -> Vec<(String, String)> {
        self.fields
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.strip_prefix('.')?.to_owned(), v.trim().to_owned())))
            .collect()
    }

    /// The values of `name`, each split into a list at commas, 、, semicolons or new lines.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.all(name)
            .iter()
            .flat_map(|v| {
                v.split(['\n', '\r', ',', '，', '、', ';', '；']).map(str::trim).map(str::to_owned).collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// An optional whole number; a value that is not one is named.
    pub fn int(&mut self, name: &str) -> Option<i64> {
        let v = self.opt(name)?;
        match plain_number(&v).parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.errors.add(name, format!("“{v}”不是整数"));
                None
            }
        }
    }

    /// A required whole number.
    pub fn required_int(&mut self, name: &str) -> i64 {
        if self.opt(name).is_none() {
            self.errors.add(name, "必填");
            return 0;
        }
        self.int(name).unwrap_or(0)
    }

    /// An optional number (a fraction such as `1/3` allowed).
    pub fn number(&mut self, name: &str) -> Option<f64> {
        let v = self.opt(name)?;
        let n = read_number(&v);
        if n.is_none() {
            self.errors.add(name, format!("“{v}”不是数"));
        }
        n
    }

    /// Ids from every value of `name` (each may list several).
    pub fn ids(&mut self, name: &str) -> Vec<i64> {
        let mut out = Vec::new();
        for v in self.list(name) {
            match plain_number(&v).parse::<i64>() {
                Ok(n) => out.push(n),
                Err(_) => self.errors.add(name, format!("“{v}”不是编号")),
            }
        }
        out
    }

    /// A matrix typed as one row per line, numbers split by spaces, commas or tabs.
    pub fn matrix(&mut self, name: &str) -> Option<Vec<Vec<f64>>> {
        let text = self.opt(name)?;
        let mut rows = Vec::new();
        for (i, line) in half_width(&text).lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
            let mut row = Vec::new();
            for cell in line.split([' ', '\t', ',']).filter(|c| !c.is_empty()) {
                match read_number(cell) {
                    Some(n) => row.push(n),
                    None => {
                        self.errors.add(format!("{name}[{i}]"), format!("第 {} 行的“{cell}”不是数", i + 1));
                        return None;
                    }
                }
            }
            rows.push(row);
        }
        Some(rows)
    }

    /// Refuses the form if any value could not be read.
    pub fn finish(&mut self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let e = std::mem::take(&mut self.errors);
        Err(ApiError::fields(ErrorCode::InvalidFields, e.to_string(), e))
    }
}

/// A decimal or a fraction `a/b`, finite.
fn read_number(v: &str) -> Option<f64> {
    let v = plain_number(v);
    let n = match v.split_once('/') {
        Some((a, b)) => a.parse::<f64>().ok()? / b.parse::<f64>().ok()?,
        None => v.parse::<f64>().ok()?,
    };
    n.is_finite().then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(pairs: &[(&str, &str)]) -> Posted {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        Posted::parse(body.as_bytes())
    }

    #[test]
    fn numbers_are_read_as_typed_and_the_bad_ones_named() {
        let mut p = posted(&[("a", "１２，３４５"), ("b", "3 200 000"), ("c", "N/A"), ("d", "1/3"), ("e", "１／０")]);
        assert_eq!(p.int("a"), Some(12345));
        assert_eq!(p.int("b"), Some(3_200_000));
        assert_eq!(p.int("c"), None);
        assert!((p.number("d").unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(p.number("e"), None, "1/0 is not a number");
        assert_eq!(p.int("missing"), None);
        let e = p.finish().unwrap_err();
        let fields: Vec<_> = e.fields.unwrap().0.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["c", "e"]);
    }

    #[test]
    fn lists_and_ids_split_at_any_separator() {
        let mut p = posted(&[("ids", "3、４, 5\n6"), ("ids", "7"), ("names", "网站；OA系统 ,,"), ("bad", "1、x")]);
        assert_eq!(p.ids("ids"), [3, 4, 5, 6, 7]);
        assert_eq!(p.list("names"), ["网站", "OA系统"]);
        assert!(p.finish().is_ok());
        assert_eq!(p.ids("bad"), [1]);
        assert!(p.finish().is_err());
    }

    #[test]
    fn a_matrix_is_rows_of_numbers_and_a_bad_cell_is_named_by_row() {
        let mut p = posted(&[("m", "1 3 5\n1/3, 1, 2\n\n1/5 1/2 1"), ("bad", "1 2\n2 x")]);
        let m = p.matrix("m").unwrap();
        assert_eq!(m.len(), 3);
        assert!((m[2][1] - 0.5).abs() < 1e-12);
        assert_eq!(p.matrix("bad"), None);
        let e = p.finish().unwrap_err();
        assert_eq!(e.fields.unwrap().0[0].field, "bad[1]");
    }

    #[test]
    fn prefixed_fields_come_by_key() {
        let p = posted(&[("sheet.necessity", " 80 "), ("sheetx.no", "1"), ("sheet.", "2")]);
        assert_eq!(p.prefixed("sheet"), [("necessity".to_owned(), "80".to_owned()), (String::new(), "2".to_owned())]);
    }
}
