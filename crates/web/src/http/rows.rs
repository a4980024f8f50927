//! The row query language every row answer speaks (the open row API, data interfaces,
//! views) and the one Arrow → JSON writer behind every JSON answer carrying rows (those,
//! CKAN's `datastore_search` and the SQL console).
//!
//! Parameters (query string):
//! - `select=a,b` columns (default: all); `q=` text any text column contains;
//! - filters on any column: `col=v` (repeat for any of several), `col__in=a,b`,
//!   `col__ne=`, `col__gt=`, `col__gte=`, `col__lt=`, `col__lte=`, `col__contains=`,
//!   `col__isnull=true|false`;
//! - paging: without `sort`, pages follow the table's stored order with a keyset cursor
//!   (`cursor=` from the previous answer's `next_cursor`) whose cost does not grow with
//!   depth, and the table version is pinned so paging sees one consistent table; with
//!   `sort=a,-b` pages use `offset`;
//! - `limit` (1–10000, default 100), `total=exact|none` (default exact; without filters
//!   it comes from the Delta log, no scan), `format=json|csv`.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tongshu_lake::arrow::json::WriterBuilder;
use tongshu_lake::arrow::record_batch::RecordBatch;
use tongshu_lake::{Condition, Op, Position, RowQuery};

use crate::AppState;
use crate::http::error::ApiError;
use crate::http::extract::bad_param;

/// Most rows one page returns.
pub const MAX_LIMIT: usize = 10_000;
/// The deepest offset a sorted page may start at (deeper pages use the cursor).
pub const MAX_OFFSET: usize = 100_000_000;
/// How long a cursor may still read a version of a table after it was replaced (public
/// reads; providers that publish their history have no such limit).
pub const CURSOR_PIN: std::time::Duration = std::time::Duration::from_secs(10 * 60);
const RESERVED: [&str; 8] = ["select", "sort", "limit", "offset", "cursor", "total", "format", "q"];

fn encode_cursor(p: Position) -> String {
    format!("{}-{}-{}", p.version, p.file, p.skip)
}

fn decode_cursor(s: &str) -> Result<Position, ApiError> {
    let parts: Vec<u64> =
        s.split('-').map(|p| p.parse::<u64>()).collect::<Result<_, _>>().map_err(|_| {
            bad_param("cursor", format!("{s:?} is not a cursor; use next_cursor from the previous page"))
        })?;
    match parts[..] {
        [version, file, skip] => Ok(Position { version, file: file as usize, skip: skip as usize }),
        _ => Err(bad_param("cursor", format!("{s:?} is not a cursor; use next_cursor from the previous page"))),
    }
}

/// The parsed query string.
pub(crate) struct Params {
    pub query: RowQuery,
    pub format: String,
}

pub(crate) fn parse(table: &str, raw: Option<&str>) -> Result<Params, ApiError> {
    let mut q = RowQuery { table: table.to_owned(), limit: 100, total: true, ..Default::default() };
    let mut format = "json".to_owned();
    let mut cursor = None;
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let (k, v) = (k.into_owned(), v.into_owned());
        match k.as_str() {
            "select" => q.columns = Some(v.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect()),
            "sort" => {
                q.sort = v
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| match c.strip_prefix('-') {
                        Some(c) => (c.to_owned(), true),
                        None => (c.to_owned(), false),
                    })
                    .collect()
            }
            "limit" => {
                q.limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| bad_param("limit", format!("must be 1 to {MAX_LIMIT}")))?
            }
            "offset" => {
                q.offset = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_OFFSET)
                    .ok_or_else(|| bad_param("offset", format!("must be a whole number from 0 to {MAX_OFFSET}")))?
            }
            "cursor" => cursor = Some(decode_cursor(&v)?),
            "total" => {
                q.total = match v.as_str() {
                    "exact" | "true" => true,
                    "none" | "false" => false,
                    other => return Err(bad_param("total", format!("{other:?}: use exact or none"))),
                }
            }
            "format" => format = v,
            "q" => q.text = Some(v),
            _ => {
                let (column, op) = match k.rsplit_once("__") {
                    Some((c, op)) if op == "in" || Op::parse(op).is_some() => (c.to_owned(), Some(op.to_owned())),
                    _ => (k.clone(), None),
                };
                if column.is_empty() || RESERVED.contains(&column.as_str()) {
                    return Err(bad_param(&k, "not a filter"));
                }
                match op.as_deref() {
                    None => match q.equals.iter_mut().find(|(c, _)| *c == column) {
                        Some((_, values)) => values.push(v),
                        None => q.equals.push((column, vec![v])),
                    },
                    Some("in") => q.equals.push((column, v.split(',').map(str::to_owned).collect())),
                    Some(op) => q.conditions.push(Condition { column, op: Op::parse(op).expect("checked"), value: v }),
                }
            }
        }
    }
    if !matches!(format.as_str(), "json" | "csv") {
        return Err(bad_param("format", format!("{format:?}: use json or csv")));
    }
    if let Some(twice) = q.columns.as_deref().and_then(tongshu_lake::repeated) {
        return Err(bad_param("select", format!("{twice:?} is named twice; name each column once")));
    }
    if cursor.is_some() && (!q.sort.is_empty() || q.offset > 0) {
        return Err(bad_param("cursor", "a cursor pages in stored order: drop sort and offset"));
    }
    // Stored-order keyset paging whenever no order or offset is asked for.
    if q.sort.is_empty() && q.offset == 0 {
        q.after = Some(cursor.unwrap_or(Position { version: u64::MAX, file: 0, skip: 0 }));
    }
    Ok(Params { query: q, format })
}

/// Pins the first page of stored-order paging to the table's current version: the one its
/// record in the store names (the portal keeps public ones in memory), so no page reads the
/// Delta log to learn it.
pub(crate) async fn pin_first_page(state: &AppState, query: &mut RowQuery) -> Result<(), ApiError> {
    if query.after.is_some_and(|p| p.version == u64::MAX) {
        let version = match state.portal.table_version(&query.table) {
            Some(v) => v,
            None => state.library.current_version(&query.table).await?,
        };
        query.after = Some(Position { version, file: 0, skip: 0 });
    }
    Ok(())
}

/// Rows of `batches` as a JSON array of objects (nulls written out).
pub fn json_rows(batches: &[RecordBatch]) -> Result<Value, ApiError> {
    serde_json::from_str(&json_rows_text(batches)?).map_err(ApiError::internal)
}

/// Rows of `batches` as JSON objects, one per row.
pub fn json_objects(batches: &[RecordBatch]) -> Result<Vec<serde_json::Map<String, Value>>, ApiError> {
    serde_json::from_str(&json_rows_text(batches)?).map_err(ApiError::internal)
}

/// Rows of `batches` as lists of values in the order of `columns`.
pub fn json_lists(batches: &[RecordBatch], columns: &[&str]) -> Result<Vec<Vec<Value>>, ApiError> {
    Ok(json_objects(batches)?
        .into_iter()
        .map(|mut o| columns.iter().map(|c| o.remove(*c).unwrap_or(Value::Null)).collect())
        .collect())
}

/// Rows of `batches` as the text of a JSON array of objects, written once by Arrow's writer:
/// the one writer behind every JSON answer that carries rows (the row APIs, data
/// interfaces, CKAN's `datastore_search`, the SQL console). Nulls are written out, and
/// decimals travel as exact text.
pub fn json_rows_text(batches: &[RecordBatch]) -> Result<String, ApiError> {
    let mut w = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, tongshu_lake::arrow::json::writer::JsonArray>(Vec::new());
    for b in batches {
        w.write(&exact_decimals(b)?).map_err(ApiError::internal)?;
    }
    w.finish().map_err(ApiError::internal)?;
    let bytes = w.into_inner();
    if bytes.is_empty() {
        return Ok("[]".into());
    }
    String::from_utf8(bytes).map_err(ApiError::internal)
}

/// `batch` with its decimal columns as text (`"1234.50"`): a JSON number would be read back
/// as a double, losing digits of money, so decimals travel as strings.
fn exact_decimals(batch: &RecordBatch) -> Result<RecordBatch, ApiError> {
    use tongshu_lake::arrow::datatypes::{DataType, Field, Schema};
    if !batch.schema().fields().iter().any(|f| matches!(f.data_type(), DataType::Decimal128(..))) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        if matches!(f.data_type(), DataType::Decimal128(..)) {
            columns.push(tongshu_lake::arrow::compute::cast(c, &DataType::Utf8).map_err(ApiError::internal)?);
            fields.push(Field::new(f.name(), DataType::Utf8, true));
        } else {
            columns.push(c.clone());
            fields.push(f.as_ref().clone());
        }
    }
    RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns).map_err(ApiError::internal)
}

/// A page as JSON or CSV, with the number of rows and bytes it carries.
pub(crate) fn render_page(
    name: &str,
    dataset: &str,
    page: &tongshu_lake::RowPage,
    query: &RowQuery,
    format: &str,
) -> Result<(Response, usize, usize), ApiError> {
    let n: usize = page.batches.iter().map(|b| b.num_rows()).sum();
    if format == "csv" {
        let mut w = tongshu_lake::arrow::csv::WriterBuilder::new().with_header(true).build(Vec::new());
        for b in &page.batches {
            w.write(b).map_err(ApiError::internal)?;
        }
        let body = w.into_inner();
        let bytes = body.len();
        let mut resp = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned())], body).into_response();
        if let Some(Ok(v)) = page.next.map(|n| encode_cursor(n).parse()) {
            resp.headers_mut().insert("x-next-cursor", v);
        }
        if let Some(total) = page.total {
            resp.headers_mut().insert("x-total-count", total.into());
        }
        return Ok((resp, n, bytes));
    }
    let next_cursor = page.next.map(encode_cursor);
    let next_offset = (query.after.is_none() && n == query.limit).then(|| query.offset.saturating_add(query.limit));
    let fields: Vec<Value> = page.fields.iter().map(|(n, t)| json!({"name": n, "type": t.to_string()})).collect();
    // The rows go in as Arrow wrote them: not parsed and written again.
    let text = format!(
        r#"{{"table":{},"dataset":{},"fields":{},"rows":{},"total":{},"next_cursor":{},"next_offset":{}}}"#,
        json!(name),
        json!(dataset),
        Value::Array(fields),
        json_rows_text(&page.batches)?,
        json!(page.total),
        json!(next_cursor),
        json!(next_offset),
    );
    let len = text.len();
    Ok((([(header::CONTENT_TYPE, "application/json")], text).into_response(), n, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_sorts_and_cursors_parse_from_the_query_string() {
        let p = parse("t", Some("%E5%8C%BA%E5%8E%BF=a&%E5%8C%BA%E5%8E%BF=b&n__gte=3&x__in=1,2&limit=5&select=a,b"))
            .unwrap();
        assert_eq!(
            p.query.equals,
            vec![("区县".to_owned(), vec!["a".into(), "b".into()]), ("x".into(), vec!["1".into(), "2".into()])]
        );
        assert_eq!(p.query.conditions, vec![Condition { column: "n".into(), op: Op::Gte, value: "3".into() }]);
        assert_eq!((p.query.limit, p.query.columns.clone()), (5, Some(vec!["a".into(), "b".into()])));
        assert!(p.query.after.is_some(), "no sort: stored-order keyset paging");
        let p = parse("t", Some("sort=-n,a&offset=10")).unwrap();
        assert_eq!(
            (p.query.sort, p.query.offset, p.query.after),
            (vec![("n".into(), true), ("a".into(), false)], 10, None)
        );
        let c = encode_cursor(Position { version: 3, file: 2, skip: 17 });
        assert_eq!(decode_cursor(&c).unwrap(), Position { version: 3, file: 2, skip: 17 });
        for bad in [
            "limit=0",
            "limit=10001",
            "cursor=x",
            "cursor=1-2",
            "total=maybe",
            "format=xml",
            "sort=a&cursor=1-2-3",
            "limit__gt=1",
            "sort=a&offset=18446744073709551615",
            "offset=100000001",
            "select=a,a",
            "select=a,b,a",
        ] {
            assert!(parse("t", Some(bad)).is_err(), "{bad}");
        }
    }
}
