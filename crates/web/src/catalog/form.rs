//! The catalog entry form: parsing a posted form into an [`EntryInput`], and the values a
//! re-rendered form shows. Blank item rows are dropped before validation, so the row
//! numbers in error messages match the rows shown again.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};
use tongshu_core::FieldErrors;
use tongshu_core::catalog::{EntryInput, ItemInput};

/// Item rows shown beyond the filled ones, for adding items without script.
const SPARE_ROWS: usize = 3;
const MAX_ROWS: usize = 500;

#[derive(Debug, Default, Clone, Serialize)]
pub struct ItemRow {
    pub name: String,
    pub data_type: String,
    pub length: String,
    pub description: String,
    pub element_code: String,
}

/// A posted entry form.
pub struct EntryForm {
    pub input: EntryInput,
    /// Problems found while reading the form (e.g. a length that is not a number).
    pub errors: FieldErrors,
    pub org_id: Option<i64>,
    pub code: Option<String>,
    fields: Map<String, Value>,
    rows: Vec<ItemRow>,
}

fn split_list(s: &str, seps: &[char]) -> Vec<String> {
    s.split(|c: char| seps.contains(&c)).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl EntryForm {
    pub fn parse(body: &[u8]) -> Self {
        let mut fields = Map::new();
        let mut methods = Vec::new();
        let mut rows: BTreeMap<usize, ItemRow> = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            let v = v.into_owned();
            if k == "sharing_methods" {
                methods.push(v);
                continue;
            }
            if let Some(rest) = k.strip_prefix("items[") {
                let Some((idx, attr)) = rest.split_once("].") else {
                    continue;
                };
                let Ok(idx) = idx.parse::<usize>() else {
                    continue;
                };
                if idx >= MAX_ROWS {
                    continue;
                }
                let row = rows.entry(idx).or_default();
                match attr {
                    "name" => row.name = v,
                    "data_type" => row.data_type = v,
                    "length" => row.length = v,
                    "description" => row.description = v,
                    "element_code" => row.element_code = v,
                    _ => {}
                }
                continue;
            }
            fields.insert(k.into_owned(), Value::String(v));
        }
        fields.insert("sharing_methods".into(), json!(methods));
        let rows: Vec<ItemRow> = rows
            .into_values()
            .filter(|r| {
                ![&r.name, &r.data_type, &r.length, &r.description, &r.element_code].iter().all(|s| s.trim().is_empty())
            })
            .collect();

        let get = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let opt = |k: &str| Some(get(k)).filter(|s| !s.trim().is_empty());
        let mut errors = FieldErrors::default();
        let items = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let length = match r.length.trim() {
                    "" => None,
                    s => match s.parse::<u32>() {
                        Ok(n) => Some(n),
                        Err(_) => {
                            errors.add(format!("items[{i}].length"), "must be a whole number");
                            None
                        }
                    },
                };
                ItemInput {
                    name: r.name.clone(),
                    data_type: r.data_type.clone(),
                    length,
                    description: r.description.clone(),
                    element_code: Some(r.element_code.clone()).filter(|s| !s.trim().is_empty()),
                }
            })
            .collect();
        let org_id = match opt("org_id") {
            None => None,
            Some(s) => match s.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.add("org_id", "must be a whole number");
                    None
                }
            },
        };
        let input = EntryInput {
            class: get("class"),
            item: get("item"),
            category: get("category"),
            sub_category: opt("sub_category"),
            name: get("name"),
            summary: get("summary"),
            format: get("format"),
            format_detail: opt("format_detail"),
            items,
            sharing_type: get("sharing_type"),
            sharing_condition: opt("sharing_condition"),
            sharing_legal_basis: opt("sharing_legal_basis"),
            sharing_methods: methods,
            open_type: get("open_type"),
            open_condition: opt("open_condition"),
            update_cycle: get("update_cycle"),
            grading: get("grading"),
            publish_date: opt("publish_date"),
            related_codes: split_list(&get("related_codes"), &[';', '；', '\n']),
            keywords: split_list(&get("keywords"), &[',', '，', '、', ';', '；']),
        };
        Self { input, errors, org_id, code: opt("code"), fields, rows }
    }

    /// The form as it was posted, for showing it again with errors.
    pub fn view(&self) -> (Map<String, Value>, Vec<ItemRow>) {
        (self.fields.clone(), with_spares(self.rows.clone()))
    }
}

fn with_spares(mut rows: Vec<ItemRow>) -> Vec<ItemRow> {
    rows.extend(std::iter::repeat_with(ItemRow::default).take(SPARE_ROWS));
    rows
}

/// The form showing an existing entry's values.
pub fn view_of(input: &EntryInput) -> (Map<String, Value>, Vec<ItemRow>) {
    let mut fields = Map::new();
    let mut put = |k: &str, v: &str| {
        fields.insert(k.into(), Value::String(v.to_owned()));
    };
    put("class", &input.class);
    put("item", &input.item);
    put("category", &input.category);
    put("sub_category", input.sub_category.as_deref().unwrap_or(""));
    put("name", &input.name);
    put("summary", &input.summary);
    put("format", &input.format);
    put("format_detail", input.format_detail.as_deref().unwrap_or(""));
    put("sharing_type", &input.sharing_type);
    put("sharing_condition", input.sharing_condition.as_deref().unwrap_or(""));
    put("sharing_legal_basis", input.sharing_legal_basis.as_deref().unwrap_or(""));
    put("open_type", &input.open_type);
    put("open_condition", input.open_condition.as_deref().unwrap_or(""));
    put("update_cycle", &input.update_cycle);
    put("grading", &input.grading);
    put("publish_date", input.publish_date.as_deref().unwrap_or(""));
    put("related_codes", &input.related_codes.join("；"));
    put("keywords", &input.keywords.join("，"));
    fields.insert("sharing_methods".into(), json!(input.sharing_methods));
    let rows = input
        .items
        .iter()
        .map(|i| ItemRow {
            name: i.name.clone(),
            data_type: i.data_type.clone(),
            length: i.length.map(|l| l.to_string()).unwrap_or_default(),
            description: i.description.clone(),
            element_code: i.element_code.clone().unwrap_or_default(),
        })
        .collect();
    (fields, with_spares(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_rows_are_dropped_and_bad_lengths_reported_at_their_shown_row() {
        let body = "name=x&items[0].name=&items[1].name=%E5%A7%93%E5%90%8D&items[1].length=abc&items[2].name=&sharing_methods=interface&sharing_methods=database&keywords=a%EF%BC%8Cb";
        let f = EntryForm::parse(body.as_bytes());
        assert_eq!(f.input.items.len(), 1);
        assert_eq!(f.input.items[0].name, "姓名");
        assert_eq!(f.errors.get("items[0].length"), Some("must be a whole number"));
        assert_eq!(f.input.sharing_methods, ["interface", "database"]);
        assert_eq!(f.input.keywords, ["a", "b"]);
        assert_eq!(f.view().1.len(), 1 + SPARE_ROWS);
    }
}
