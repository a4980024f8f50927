//! The typed parts of sharing records: a grant's or request's row scope and the statuses
//! of grants and share requests. The store decodes them when it reads a record; text that
//! does not decode is an error there, never an empty scope (which would mean every row).

use serde::{Deserialize, Serialize};

/// One condition of a row scope: `column op value`, ops `eq`, `in` (comma-separated), `ne`,
/// `gt`, `gte`, `lt`, `lte`, `contains`, `isnull`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScopeCondition {
    pub column: String,
    pub op: String,
    pub value: String,
}

/// Where a grant stands. A revoked grant stays revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum GrantStatus {
    Active,
    Revoked,
}

/// Where a share request stands: pending until the provider grants or refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    Pending,
    Granted,
    Refused,
}

macro_rules! wire_names {
    ($t:ty { $($v:ident => $s:literal),* $(,)? }) => {
        impl $t {
            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }

            /// The status named `s`, `None` for any other text.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_names!(GrantStatus { Active => "active", Revoked => "revoked" });
wire_names!(RequestStatus { Pending => "pending", Granted => "granted", Refused => "refused" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_what_they_write_and_nothing_else() {
        for s in [GrantStatus::Active, GrantStatus::Revoked] {
            assert_eq!(GrantStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in [RequestStatus::Pending, RequestStatus::Granted, RequestStatus::Refused] {
            assert_eq!(RequestStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(GrantStatus::parse("Active"), None);
        assert_eq!(RequestStatus::parse(""), None);
    }
}
