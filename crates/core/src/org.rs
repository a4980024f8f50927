//! The organization tree: the city, its districts, departments, enterprises and other bodies.

use serde::{Deserialize, Serialize};

/// What kind of body an organization is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// The prefecture-level city government.
    City,
    /// A district or county government.
    District,
    /// A government department (of the city or of a district).
    Department,
    /// An enterprise that publishes or consumes data (utilities, banks).
    Enterprise,
    /// Any other body (public institutions, research bodies).
    Other,
}

impl OrgKind {
    pub const ALL: [OrgKind; 5] =
        [OrgKind::City, OrgKind::District, OrgKind::Department, OrgKind::Enterprise, OrgKind::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::City => "city",
            OrgKind::District => "district",
            OrgKind::Department => "department",
            OrgKind::Enterprise => "enterprise",
            OrgKind::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OrgKind::City => "市",
            OrgKind::District => "区县",
            OrgKind::Department => "部门",
            OrgKind::Enterprise => "企业",
            OrgKind::Other => "其他单位",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One organization. `district_code` is the GB/T 2260 code of the area it belongs to
/// (`371300` for city-level bodies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub kind: OrgKind,
    pub name: String,
    /// Short ASCII name, stable, used in URLs and slugs (e.g. `linyi-gaj`).
    pub slug: String,
    pub district_code: String,
    /// Unified social credit code, when the body has one.
    pub credit_code: Option<String>,
}
