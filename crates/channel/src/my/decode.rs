//! Reading MySQL/MariaDB binlog rows: table maps (names, types, ENUM and SET labels) and
//! each value as the text the library parses.

use mysql_async::Value;
use mysql_async::binlog::events::{OptionalMetadataField, TableMapEvent};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType as MyType;
use tongshu_lake::ColumnType;
use tongshu_sources::Kind;

use crate::{ChannelError, Result};

/// The library type of a binlog column (as a table map describes it).
fn type_of(ty: MyType, meta: &[u8]) -> ColumnType {
    use MyType::*;
    match ty {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG | MYSQL_TYPE_LONGLONG
        | MYSQL_TYPE_YEAR => ColumnType::Integer,
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => ColumnType::Number,
        MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_DECIMAL => {
            let (p, s) = (meta.first().copied().unwrap_or(0) as u32, meta.get(1).copied().unwrap_or(0) as u32);
            tongshu_sources::column_type(Kind::Mysql, "DECIMAL", Some((p, s)))
        }
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => ColumnType::Date,
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 | MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => {
            ColumnType::DateTime
        }
        _ => ColumnType::Text,
    }
}

/// A table map as the pipeline reads it: column names, types, and the names of the
/// values of ENUM and SET columns.
pub(super) struct MapInfo {
    pub(super) live: usize,
    pub(super) columns: Vec<(String, MyType, ColumnType)>,
    /// Per column (by position in the map): the ENUM or SET values.
    pub(super) labels: Vec<Option<Vec<String>>>,
}

pub(super) fn read_map(tme: &TableMapEvent<'_>, live: usize, target: &str) -> Result<MapInfo> {
    let n = tme.columns_count() as usize;
    let mut names = Vec::new();
    let mut enums: Vec<Vec<String>> = Vec::new();
    let mut sets: Vec<Vec<String>> = Vec::new();
    for field in tme.iter_optional_meta() {
        let field = field.map_err(|e| ChannelError::Source(format!("table map of {target}: {e}")))?;
        match field {
            OptionalMetadataField::ColumnName(cn) => {
                for name in cn.iter_names() {
                    let name = name.map_err(|e| ChannelError::Source(format!("table map of {target}: {e}")))?;
                    names.push(name.name().into_owned());
                }
            }
            OptionalMetadataField::EnumStrValue(v) => {
                for values in v.iter_values() {
                    let values = values.map_err(|e| ChannelError::Source(format!("table map of {target}: {e}")))?;
                    enums.push(values.values().iter().map(|x| x.value().into_owned()).collect());
                }
            }
            OptionalMetadataField::SetStrValue(v) => {
                for values in v.iter_values() {
                    let values = values.map_err(|e| ChannelError::Source(format!("table map of {target}: {e}")))?;
                    sets.push(values.values().iter().map(|x| x.value().into_owned()).collect());
                }
            }
            _ => {}
        }
    }
    if names.len() != n {
        return Err(ChannelError::Source(format!(
            "the binlog's table map of {target} has no column names: set binlog_row_metadata = FULL on the source"
        )));
    }
    let (mut enums, mut sets) = (enums.into_iter(), sets.into_iter());
    let mut columns = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for (i, name) in names.into_iter().enumerate() {
        let ty =
            tme.get_column_type(i).ok().flatten().ok_or_else(|| {
                ChannelError::Source(format!("table map of {target}: column {name:?} has no known type"))
            })?;
        labels.push(match ty {
            MyType::MYSQL_TYPE_ENUM => enums.next(),
            MyType::MYSQL_TYPE_SET => sets.next(),
            _ => None,
        });
        let meta = tme.get_column_metadata(i).unwrap_or(&[]);
        columns.push((name, ty, type_of(ty, meta)));
    }
    Ok(MapInfo { live, columns, labels })
}

/// Text of character data in MySQL character set `charset` (by its collation id); what
/// does not decode stops the pipeline, naming the column.
fn decode_text(bytes: &[u8], charset: u16, table: &str, column: &str) -> Result<String> {
    let bad = || ChannelError::Paused {
        table: table.to_owned(),
        column: column.to_owned(),
        change: format!("holds a value that does not decode in its character set (collation {charset})"),
    };
    let decoder = match charset {
        24 | 28 | 86 | 87 => Some(encoding_rs::GBK),
        248..=250 => Some(encoding_rs::GB18030),
        8 | 15 | 31 | 47 | 48 | 49 | 94 => Some(encoding_rs::WINDOWS_1252),
        _ => None,
    };
    match decoder {
        Some(enc) => {
            enc.decode_without_bom_handling_and_without_replacement(bytes).map(|s| s.into_owned()).ok_or_else(bad)
        }
        None => std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| bad()),
    }
}

fn two(n: u8) -> String {
    format!("{n:02}")
}

/// A binlog value as text the library parses: numbers as written, DATE as `YYYY-MM-DD`,
/// DATETIME in the source's zone, TIMESTAMP as the UTC instant it is, ENUM and SET by
/// their labels, character data decoded from its character set.
pub(super) fn text_of(
    value: &BinlogValue<'_>,
    col: &mysql_async::Column,
    map: &MapInfo,
    at: usize,
    table: &str,
    zone: &str,
) -> Result<Option<String>> {
    let name = &map.columns[at].0;
    let ty = map.columns[at].2;
    let unsupported = |what: &str| ChannelError::Paused {
        table: table.to_owned(),
        column: name.clone(),
        change: format!("holds {what}, which the channel does not carry"),
    };
    let v = match value {
        BinlogValue::Value(v) => v,
        BinlogValue::Jsonb(_) => return Err(unsupported("a binary JSON value (MySQL's JSON type)")),
        BinlogValue::JsonDiff(_) => {
            return Err(unsupported("a partial JSON update (set binlog_row_value_options = '' on the source)"));
        }
    };
    Ok(Some(match v {
        Value::NULL => return Ok(None),
        Value::Int(i) => match &map.labels[at] {
            Some(labels) if col.column_type() == MyType::MYSQL_TYPE_ENUM => {
                // 1-based; 0 is the empty "error" value MySQL stores for a bad label.
                usize::try_from(*i)
                    .ok()
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| labels.get(i))
                    .cloned()
                    .unwrap_or_default()
            }
            _ => i.to_string(),
        },
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Date(y, mo, d, h, mi, s, us) => {
            let date = format!("{y:04}-{}-{}", two(*mo), two(*d));
            if ty == ColumnType::Date {
                date
            } else {
                let mut t = format!("{date} {}:{}:{}", two(*h), two(*mi), two(*s));
                if *us > 0 {
                    t.push_str(&format!(".{us:06}"));
                }
                tongshu_sources::with_zone(&t, zone).unwrap_or(t)
            }
        }
        Value::Time(neg, d, h, mi, s, us) => {
            let hours = *d as u64 * 24 + *h as u64;
            let mut t = format!("{}{hours:02}:{}:{}", if *neg { "-" } else { "" }, two(*mi), two(*s));
            if *us > 0 {
                t.push_str(&format!(".{us:06}"));
            }
            t
        }
        Value::Bytes(b) => match col.column_type() {
            MyType::MYSQL_TYPE_TIMESTAMP2 | MyType::MYSQL_TYPE_TIMESTAMP => {
                // Seconds since the epoch, with a fraction.
                let text = std::str::from_utf8(b).map_err(|_| unsupported("an unreadable TIMESTAMP"))?;
                let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
                let secs: i64 = secs.parse().map_err(|_| unsupported("an unreadable TIMESTAMP"))?;
                let at = time::OffsetDateTime::from_unix_timestamp(secs)
                    .map_err(|_| unsupported("a TIMESTAMP out of range"))?;
                let base = at
                    .format(&time::format_description::well_known::Rfc3339)
                    .map_err(|_| unsupported("a TIMESTAMP out of range"))?;
                match frac {
                    "" => base,
                    f => format!("{}.{f}Z", base.trim_end_matches('Z')),
                }
            }
            MyType::MYSQL_TYPE_SET => {
                let mut bits = 0u64;
                for (i, byte) in b.iter().enumerate().take(8) {
                    bits |= (*byte as u64) << (8 * i);
                }
                let labels = map.labels[at].as_deref().unwrap_or_default();
                labels
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| bits & (1 << i) != 0)
                    .map(|(_, l)| l.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            }
            MyType::MYSQL_TYPE_NEWDECIMAL | MyType::MYSQL_TYPE_YEAR => String::from_utf8_lossy(b).into_owned(),
            _ => decode_text(b, col.character_set(), table, name)?,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_text_decodes_and_bad_bytes_fail_closed() {
        let (gbk, _, _) = encoding_rs::GBK.encode("临沂市兰山区");
        assert_eq!(decode_text(&gbk, 28, "t", "c").unwrap(), "临沂市兰山区");
        assert!(decode_text(&[0xff, 0xfe, 0x00], 45, "t", "c").is_err());
        assert_eq!(decode_text("Müller".as_bytes(), 45, "t", "c").unwrap(), "Müller");
    }
}
