//! The catalog's core metadata (《政务信息资源目录编制指南（试行）》) and its validation.
//!
//! [`EntryInput`] is what a data officer types; [`EntryInput::validate`] turns it into a
//! [`ValidEntry`] or per-field errors. The lifecycle of an entry is [`EntryStatus`] with its
//! allowed transitions.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::FieldErrors;

/// 信息资源分类: class (1 digit) / item (2) / category (3) / sub-category (0-6 digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Classification {
    /// 类: 1 基础信息资源, 2 主题信息资源, 3 部门信息资源
    pub class: String,
    /// 项: 2 digits
    pub item: String,
    /// 目: 3 digits
    pub category: String,
    /// 细目: optional, up to 6 digits
    #[serde(default)]
    pub sub: Option<String>,
}

impl Classification {
    pub fn parse(class: &str, item: &str, category: &str, sub: Option<&str>) -> Result<Self, String> {
        let digits = |s: &str, n: usize, what: &str| {
            if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
                Ok(s.to_owned())
            } else {
                Err(format!("{what} must be {n} digits"))
            }
        };
        let class = class.trim();
        if !matches!(class, "1" | "2" | "3") {
            return Err("class must be 1 (基础), 2 (主题) or 3 (部门)".into());
        }
        let item = digits(item.trim(), 2, "item")?;
        let category = digits(category.trim(), 3, "category")?;
        let sub = match sub.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) if s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit()) => Some(s.to_owned()),
            Some(_) => return Err("sub-category must be at most 6 digits".into()),
        };
        Ok(Self { class: class.to_owned(), item, category, sub })
    }

    /// The classification code as printed in catalogs, e.g. `3 01 001` or `3 01 001 02`.
    pub fn code(&self) -> String {
        match &self.sub {
            Some(sub) => format!("{} {} {} {}", self.class, self.item, self.category, sub),
            None => format!("{} {} {}", self.class, self.item, self.category),
        }
    }

    pub fn class_label(&self) -> &'static str {
        match self.class.as_str() {
            "1" => "基础信息资源",
            "2" => "主题信息资源",
            _ => "部门信息资源",
        }
    }
}

/// 信息资源代码: classification code + `/` + a sequence number, e.g. `3 01 001/000123`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceCode(String);

impl ResourceCode {
    pub fn new(classification: &Classification, sequence: u32) -> Self {
        Self(format!("{}/{:06}", classification.code(), sequence))
    }

    /// Accepts the printed form with single spaces between the classification parts.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (class, seq) = s.split_once('/').ok_or("resource code must contain '/'")?;
        let parts: Vec<&str> = class.split_whitespace().collect();
        let classification = match parts.as_slice() {
            [c, i, k] => Classification::parse(c, i, k, None)?,
            [c, i, k, sub] => Classification::parse(c, i, k, Some(sub))?,
            _ => return Err("resource code must start with class, item and category".into()),
        };
        if seq.is_empty() || seq.len() > 9 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err("sequence number after '/' must be 1 to 9 digits".into());
        }
        let n: u32 = seq.parse().map_err(|_| "sequence number is too large")?;
        Ok(Self::new(&classification, n))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ResourceCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Closed vocabularies of the catalog. Each has a stable ASCII wire value and a Chinese label.
macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal / $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $wire)] $variant),+ }

        // By hand: the derive does not see the wire values through the macro, and would
        // document the Rust names instead.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($wire),+]))
                    .description(Some(concat!($($wire, " (", $label, ") "),+).trim_end()))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses the wire value or the Chinese label.
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| v.as_str() == s || v.label() == s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Vocabulary for $name {
            fn all() -> &'static [Self] { Self::ALL }
            fn parse(s: &str) -> Option<Self> { Self::parse(s) }
            fn as_str(self) -> &'static str { self.as_str() }
            fn label(self) -> &'static str { self.label() }
        }
    };
}

/// What every closed vocabulary offers (forms list the choices with it).
pub trait Vocabulary: Copy + 'static {
    fn all() -> &'static [Self];
    fn parse(s: &str) -> Option<Self>;
    fn as_str(self) -> &'static str;
    fn label(self) -> &'static str;
}

vocabulary!(
    /// 信息资源格式
    ResourceFormat {
        ElectronicFile = "electronic_file" / "电子文件",
        Spreadsheet = "spreadsheet" / "电子表格",
        Database = "database" / "数据库",
        Image = "image" / "图形图像",
        Streaming = "streaming" / "流媒体",
        SelfDescribing = "self_describing" / "自描述格式",
        Service = "service" / "服务接口",
    }
);

vocabulary!(
    /// 信息项数据类型 (the catalog guide's C/N/D/T/B/BY types)
    DataType {
        Text = "text" / "字符型",
        Number = "number" / "数值型",
        Integer = "integer" / "整数型",
        Date = "date" / "日期型",
        DateTime = "datetime" / "日期时间型",
        Boolean = "boolean" / "布尔型",
        Binary = "binary" / "二进制",
    }
);

vocabulary!(
    /// 共享类型
    SharingType {
        Unconditional = "unconditional" / "无条件共享",
        Conditional = "conditional" / "有条件共享",
        NotShared = "not_shared" / "不予共享",
    }
);

vocabulary!(
    /// 共享方式
    SharingMethod {
        Database = "database" / "数据库",
        FileDownload = "file_download" / "文件下载",
        Interface = "interface" / "接口",
    }
);

vocabulary!(
    /// 开放属性
    OpenType {
        Open = "open" / "无条件开放",
        Conditional = "conditional" / "有条件开放",
        NotOpen = "not_open" / "不予开放",
    }
);

vocabulary!(
    /// 更新周期
    UpdateCycle {
        RealTime = "realtime" / "实时",
        Daily = "daily" / "每日",
        Weekly = "weekly" / "每周",
        Monthly = "monthly" / "每月",
        Quarterly = "quarterly" / "每季度",
        Yearly = "yearly" / "每年",
    }
);

vocabulary!(
    /// 数据分级 (GB/T 43697-2024)
    Grading {
        General = "general" / "一般",
        Important = "important" / "重要",
        Core = "core" / "核心",
    }
);

vocabulary!(
    /// Where an entry is in its lifecycle.
    EntryStatus {
        Draft = "draft" / "草稿",
        Submitted = "submitted" / "待审核",
        Listed = "listed" / "已上架",
        Returned = "returned" / "已退回",
        Delisted = "delisted" / "已下架",
    }
);

pub use freshness::{FeedLag, Freshness, REALTIME_ALLOWED_LAG_SECONDS};

/// A lifecycle step a user can take on an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Edit,
    Submit,
    Approve,
    Return,
    Delist,
}

impl EntryStatus {
    /// The status after `t`, or `None` when `t` is not allowed from `self`.
    pub fn after(self, t: Transition) -> Option<EntryStatus> {
        use EntryStatus::*;
        match (self, t) {
            (Draft, Transition::Edit) => Some(Draft),
            // Editing a returned entry makes it a draft again, to be resubmitted.
            (Returned, Transition::Edit) => Some(Draft),
            (Draft | Returned, Transition::Submit) => Some(Submitted),
            (Submitted, Transition::Approve) => Some(Listed),
            (Submitted, Transition::Return) => Some(Returned),
            (Listed, Transition::Delist) => Some(Delisted),
            // A delisted entry can be revised and submitted again.
            (Delisted, Transition::Edit) => Some(Draft),
            _ => None,
        }
    }
}

/// One information item (信息项) as typed by a user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemInput {
    #[serde(default)]
    pub name: String,
    /// Wire value or Chinese label of [`DataType`].
    #[serde(default)]
    pub data_type: String,
    #[serde(default)]
    pub length: Option<u32>,
    #[serde(default)]
    pub description: String,
    /// Code of the standard data element this item is normalized against.
    #[serde(default)]
    pub element_code: Option<String>,
}

/// A catalog entry as a data officer submits it, before validation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    #[serde(default)]
    pub class: String,
    #[serde(default)]
    pub item: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub sub_category: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub format: String,
    /// Free text about the concrete format, e.g. `xlsx` or `MySQL table`.
    #[serde(default)]
    pub format_detail: Option<String>,
    #[serde(default)]
    pub items: Vec<ItemInput>,
    #[serde(default)]
    pub sharing_type: String,
    #[serde(default)]
    pub sharing_condition: Option<String>,
    #[serde(default)]
    pub sharing_legal_basis: Option<String>,
    #[serde(default)]
    pub sharing_methods: Vec<String>,
    #[serde(default)]
    pub open_type: String,
    #[serde(default)]
    pub open_condition: Option<String>,
    #[serde(default)]
    pub update_cycle: String,
    #[serde(default)]
    pub grading: String,
    /// `YYYY-MM-DD`; set to the listing day when left empty.
    #[serde(default)]
    pub publish_date: Option<String>,
    #[serde(default)]
    pub related_codes: Vec<String>,
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// A validated information item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Item {
    pub name: String,
    pub data_type: DataType,
    pub length: Option<u32>,
    pub description: String,
    pub element_code: Option<String>,
}

/// 共享属性
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sharing {
    #[serde(rename = "type")]
    pub kind: SharingType,
    pub condition: Option<String>,
    pub legal_basis: Option<String>,
    pub methods: Vec<SharingMethod>,
}

/// 开放属性
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Openness {
    #[serde(rename = "type")]
    pub kind: OpenType,
    pub condition: Option<String>,
}

/// Everything of an entry that its author decides, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidEntry {
    pub classification: Classification,
    pub name: String,
    pub summary: String,
    pub format: ResourceFormat,
    pub format_detail: Option<String>,
    pub items: Vec<Item>,
    pub sharing: Sharing,
    pub open: Openness,
    pub update_cycle: UpdateCycle,
    pub grading: Grading,
    #[serde(with = "opt_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub publish_date: Option<time::Date>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub related_codes: Vec<ResourceCode>,
    pub keywords: Vec<String>,
}

impl<'de> Deserialize<'de> for ResourceCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ResourceCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Limits of the catalog's text fields, in characters.
pub const MAX_NAME: usize = 200;
pub const MAX_SUMMARY: usize = 4000;
pub const MAX_ITEMS: usize = 500;
pub const MAX_KEYWORDS: usize = 20;
pub const MAX_KEYWORD: usize = 32;
pub const MAX_CONDITION: usize = 1000;

impl EntryInput {
    /// Checks every field and reports every problem at once, each under its field name.
    pub fn validate(&self) -> Result<ValidEntry, FieldErrors> {
        let mut errs = FieldErrors::default();

        let classification =
            match Classification::parse(&self.class, &self.item, &self.category, self.sub_category.as_deref()) {
                Ok(c) => Some(c),
                Err(msg) => {
                    let field = if msg.starts_with("class") {
                        "class"
                    } else if msg.starts_with("item") {
                        "item"
                    } else if msg.starts_with("category") {
                        "category"
                    } else {
                        "sub_category"
                    };
                    errs.add(field, msg);
                    None
                }
            };

        let name = required_text(&mut errs, "name", &self.name, MAX_NAME);
        let summary = required_text(&mut errs, "summary", &self.summary, MAX_SUMMARY);
        let format = vocab::<ResourceFormat>(&mut errs, "format", &self.format);
        let format_detail = optional_text(&mut errs, "format_detail", &self.format_detail, 100);

        let mut items = Vec::new();
        if self.items.is_empty() {
            errs.add("items", "at least one information item is required");
        }
        if self.items.len() > MAX_ITEMS {
            errs.add("items", format!("at most {MAX_ITEMS} information items are allowed"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, it) in self.items.iter().enumerate() {
            let f = |name: &str| format!("items[{i}].{name}");
            let name = required_text(&mut errs, &f("name"), &it.name, 100);
            if !name.is_empty() && !seen.insert(name.clone()) {
                errs.add(f("name"), format!("item name {name:?} is used twice"));
            }
            let data_type = vocab::<DataType>(&mut errs, &f("data_type"), &it.data_type);
            if let Some(len) = it.length {
                if len == 0 || len > 1_000_000 {
                    errs.add(f("length"), "length must be between 1 and 1000000");
                }
            } else if data_type == Some(DataType::Text) {
                errs.add(f("length"), "a text item needs a length");
            }
            let element_code = optional_text(&mut errs, &f("element_code"), &it.element_code, 64);
            if let Some(data_type) = data_type {
                items.push(Item {
                    name,
                    data_type,
                    length: it.length,
                    description: it.description.trim().to_owned(),
                    element_code,
                });
            }
        }

        let sharing_type = vocab::<SharingType>(&mut errs, "sharing_type", &self.sharing_type);
        let sharing_condition = optional_text(&mut errs, "sharing_condition", &self.sharing_condition, MAX_CONDITION);
        let sharing_legal_basis =
            optional_text(&mut errs, "sharing_legal_basis", &self.sharing_legal_basis, MAX_CONDITION);
        let mut methods = Vec::new();
        for (i, m) in self.sharing_methods.iter().enumerate() {
            match SharingMethod::parse(m) {
                Some(m) if !methods.contains(&m) => methods.push(m),
                Some(_) => {}
                None => errs.add(format!("sharing_methods[{i}]"), unknown::<SharingMethod>(m)),
            }
        }
        match sharing_type {
            Some(SharingType::Conditional) if sharing_condition.is_none() => {
                errs.add("sharing_condition", "conditional sharing needs the condition text")
            }
            Some(SharingType::NotShared) if sharing_legal_basis.is_none() => {
                errs.add("sharing_legal_basis", "not-shared data needs its legal basis")
            }
            Some(SharingType::Unconditional | SharingType::Conditional) if methods.is_empty() => {
                errs.add("sharing_methods", "choose at least one sharing method")
            }
            _ => {}
        }

        let open_type = vocab::<OpenType>(&mut errs, "open_type", &self.open_type);
        let open_condition = optional_text(&mut errs, "open_condition", &self.open_condition, MAX_CONDITION);
        if open_type == Some(OpenType::Conditional) && open_condition.is_none() {
            errs.add("open_condition", "conditional opening needs the condition text");
        }
        if sharing_type == Some(SharingType::NotShared)
            && matches!(open_type, Some(OpenType::Open | OpenType::Conditional))
        {
            errs.add("open_type", "data that is not shared between departments cannot be opened to the public");
        }

        let update_cycle = vocab::<UpdateCycle>(&mut errs, "update_cycle", &self.update_cycle);
        let grading = vocab::<Grading>(&mut errs, "grading", &self.grading);
        if grading == Some(Grading::Core) && matches!(open_type, Some(OpenType::Open | OpenType::Conditional)) {
            errs.add("open_type", "core (核心) data cannot be opened to the public");
        }

        let publish_date = match self.publish_date.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => match time::Date::parse(s, DATE_FORMAT) {
                Ok(d) => Some(d),
                Err(_) => {
                    errs.add("publish_date", "publish date must be YYYY-MM-DD");
                    None
                }
            },
        };

        let mut related_codes = Vec::new();
        for (i, c) in self.related_codes.iter().enumerate() {
            if c.trim().is_empty() {
                continue;
            }
            match ResourceCode::parse(c) {
                Ok(code) => related_codes.push(code),
                Err(msg) => errs.add(format!("related_codes[{i}]"), msg),
            }
        }

        let mut keywords: Vec<String> = Vec::new();
        for (i, k) in self.keywords.iter().enumerate() {
            let k = k.trim();
            if k.is_empty() || keywords.iter().any(|x| x == k) {
                continue;
            }
            if k.chars().count() > MAX_KEYWORD {
                errs.add(format!("keywords[{i}]"), format!("a keyword has at most {MAX_KEYWORD} characters"));
            }
            keywords.push(k.to_owned());
        }
        if keywords.len() > MAX_KEYWORDS {
            errs.add("keywords", format!("at most {MAX_KEYWORDS} keywords are allowed"));
        }

        match (classification, format, sharing_type, open_type, update_cycle, grading) {
            (Some(classification), Some(format), Some(kind), Some(open_kind), Some(update_cycle), Some(grading))
                if errs.is_empty() =>
            {
                Ok(ValidEntry {
                    classification,
                    name,
                    summary,
                    format,
                    format_detail,
                    items,
                    sharing: Sharing { kind, condition: sharing_condition, legal_basis: sharing_legal_basis, methods },
                    open: Openness { kind: open_kind, condition: open_condition },
                    update_cycle,
                    grading,
                    publish_date,
                    related_codes,
                    keywords,
                })
            }
            _ => Err(errs),
        }
    }
}

impl ValidEntry {
    /// The input that validates back to this entry (for editing forms).
    pub fn to_input(&self) -> EntryInput {
        EntryInput {
            class: self.classification.class.clone(),
            item: self.classification.item.clone(),
            category: self.classification.category.clone(),
            sub_category: self.classification.sub.clone(),
            name: self.name.clone(),
            summary: self.summary.clone(),
            format: self.format.as_str().into(),
            format_detail: self.format_detail.clone(),
            items: self
                .items
                .iter()
                .map(|it| ItemInput {
                    name: it.name.clone(),
                    data_type: it.data_type.as_str().into(),
                    length: it.length,
                    description: it.description.clone(),
                    element_code: it.element_code.clone(),
                })
                .collect(),
            sharing_type: self.sharing.kind.as_str().into(),
            sharing_condition: self.sharing.condition.clone(),
            sharing_legal_basis: self.sharing.legal_basis.clone(),
            sharing_methods: self.sharing.methods.iter().map(|m| m.as_str().into()).collect(),
            open_type: self.open.kind.as_str().into(),
            open_condition: self.open.condition.clone(),
            update_cycle: self.update_cycle.as_str().into(),
            grading: self.grading.as_str().into(),
            publish_date: self.publish_date.map(|d| d.format(DATE_FORMAT).unwrap_or_default()),
            related_codes: self.related_codes.iter().map(|c| c.to_string()).collect(),
            keywords: self.keywords.clone(),
        }
    }
}

/// A stored catalog entry: what its author decided plus what the platform keeps about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogEntry {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "3 01 001/000123"))]
    pub code: ResourceCode,
    pub status: EntryStatus,
    pub org_id: i64,
    pub org_name: String,
    /// The unified social credit code of the provider (提供方代码), when it has one.
    pub org_credit_code: Option<String>,
    pub district_code: String,
    #[serde(flatten)]
    pub body: ValidEntry,
    pub review_comment: Option<String>,
    pub created_by: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub listed_at: Option<time::OffsetDateTime>,
}

/// One step in an entry's history: who did what, when, and which fields changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryRecord {
    pub id: i64,
    pub entry_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: time::OffsetDateTime,
    pub user_id: i64,
    pub username: String,
    pub action: String,
    pub from_status: Option<EntryStatus>,
    pub to_status: EntryStatus,
    pub comment: Option<String>,
    pub changes: Vec<FieldChange>,
}

/// A top-level field whose value changed in an edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub field: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// The fields that differ between two versions of an entry (`before` is `None` on creation).
pub fn diff(before: Option<&ValidEntry>, after: &ValidEntry) -> Vec<FieldChange> {
    let as_map = |e: &ValidEntry| match serde_json::to_value(e) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let before = before.map(as_map).unwrap_or_default();
    let after = as_map(after);
    after
        .into_iter()
        .filter_map(|(field, a)| {
            let b = before.get(&field).cloned().unwrap_or(serde_json::Value::Null);
            (a != b).then_some(FieldChange { field, before: b, after: a })
        })
        .collect()
}

pub const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

mod opt_date {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<time::Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&d.format(super::DATE_FORMAT).map_err(serde::ser::Error::custom)?),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<time::Date>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| time::Date::parse(&s, super::DATE_FORMAT).map_err(serde::de::Error::custom))
            .transpose()
    }
}

fn required_text(errs: &mut FieldErrors, field: &str, value: &str, max: usize) -> String {
    let v = value.trim();
    if v.is_empty() {
        errs.add(field, "is required");
    } else if v.chars().count() > max {
        errs.add(field, format!("must be at most {max} characters"));
    }
    v.to_owned()
}

fn optional_text(errs: &mut FieldErrors, field: &str, value: &Option<String>, max: usize) -> Option<String> {
    let v = value.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    if v.chars().count() > max {
        errs.add(field, format!("must be at most {max} characters"));
    }
    Some(v.to_owned())
}

fn vocab<T: Vocabulary>(errs: &mut FieldErrors, field: &str, value: &str) -> Option<T> {
    if value.trim().is_empty() {
        errs.add(field, "is required");
        return None;
    }
    let parsed = T::parse(value);
    if parsed.is_none() {
        errs.add(field, unknown::<T>(value));
    }
    parsed
}

fn unknown<T: Vocabulary>(value: &str) -> String {
    let known: Vec<&str> = T::all().iter().map(|v| v.as_str()).collect();
    format!("{:?} is not one of {}", value.trim(), known.join(", "))
}

mod freshness;
#[cfg(test)]
mod tests;
