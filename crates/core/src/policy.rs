//! Roles and the one authorization policy. Every route of the web crate names an [`Action`];
//! whether a role may take it is decided here and nowhere else. Rules that depend on the
//! object (an officer edits only their own organization's entries) are [`Principal`] methods.

use serde::{Deserialize, Serialize};

/// What a user account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Big-data bureau staff who run the platform.
    PlatformAdmin,
    /// A department's data officer: publishes its catalog and answers requests for its data.
    DataOfficer,
    /// A department user who consumes other departments' data.
    Consumer,
    /// Reads logs and histories, changes nothing.
    Auditor,
    /// A registered member of the public (citizen, firm, developer).
    Public,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::PlatformAdmin, Role::DataOfficer, Role::Consumer, Role::Auditor, Role::Public];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::DataOfficer => "data_officer",
            Role::Consumer => "consumer",
            Role::Auditor => "auditor",
            Role::Public => "public",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "平台管理员",
            Role::DataOfficer => "部门数据管理员",
            Role::Consumer => "部门数据使用者",
            Role::Auditor => "审计员",
            Role::Public => "公众用户",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s || r.label() == s)
    }
}

/// Something a route lets a caller do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Open to everyone, signed in or not.
    Public,
    /// Any signed-in account: own profile, own API tokens, sign out.
    SignedIn,
    /// Create and edit draft entries, submit them (own organization).
    EditEntries,
    /// See the review queue, approve, return and delist entries.
    ReviewEntries,
    /// Read an entry's history and non-listed entries (own organization for officers).
    ReadHistory,
    /// Read and manage organizations and accounts.
    ManageAccounts,
    /// Read the organization and account lists.
    ReadAccounts,
    /// Run SQL over every library table (the console).
    QueryLibrary,
    /// Take part in the exchange between departments: request and answer shares, register
    /// apps, see grants and evidence (the service checks which ones).
    Exchange,
    /// Request, answer and grant shared data, register apps, post demands and objections
    /// (departments; the service checks whose records they are).
    Share,
    /// Export the whole evidence log (auditors, administrators).
    AuditEvidence,
    /// Keep the exchange's calendar, lists and quotas; assign demands (platform administrators).
    SuperviseExchange,
    /// Keep the open portal's search dictionary (synonyms) (platform administrators).
    ManagePortal,
    /// Call a data interface. Apps sign their calls and carry no session, so an anonymous
    /// caller reaches the handler, which checks the signature (or answers 401).
    CallInterface,
}

impl Action {
    pub const ALL: [Action; 14] = [
        Action::Public,
        Action::SignedIn,
        Action::EditEntries,
        Action::ReviewEntries,
        Action::ReadHistory,
        Action::ManageAccounts,
        Action::ReadAccounts,
        Action::QueryLibrary,
        Action::Exchange,
        Action::Share,
        Action::AuditEvidence,
        Action::SuperviseExchange,
        Action::ManagePortal,
        Action::CallInterface,
    ];
}

/// Whether `role` may take `action` at all. `None` is an anonymous caller.
pub fn allows(role: Option<Role>, action: Action) -> bool {
    use Action as A;
    use Role as R;
    match (role, action) {
        (_, A::Public) => true,
        (None, _) => false,
        (Some(_), A::SignedIn) => true,
        (Some(R::PlatformAdmin), _) => true,
        (Some(R::DataOfficer), A::EditEntries | A::ReadHistory | A::Exchange) => true,
        (Some(R::Consumer | R::Auditor), A::Exchange) => true,
        (Some(R::Auditor), A::AuditEvidence) => true,
        (Some(R::DataOfficer | R::Consumer), A::CallInterface | A::Share) => true,
        (Some(R::Auditor), A::ReadHistory | A::ReadAccounts) => true,
        _ => false,
    }
}

/// The caller of a request, as established by a session cookie or an API token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub org_id: i64,
}

impl Principal {
    pub fn can(&self, action: Action) -> bool {
        allows(Some(self.role), action)
    }

    /// Whether this caller may edit and submit the entries of `org_id`.
    pub fn may_edit_for(&self, org_id: i64) -> bool {
        match self.role {
            Role::PlatformAdmin => true,
            Role::DataOfficer => self.org_id == org_id,
            _ => false,
        }
    }

    /// Whether this caller may see entries of `org_id` that are not listed, and their history.
    pub fn may_read_unlisted_of(&self, org_id: i64) -> bool {
        match self.role {
            Role::PlatformAdmin | Role::Auditor => true,
            Role::DataOfficer => self.org_id == org_id,
            _ => false,
        }
    }
}

/// Whether `viewer` may see a listed entry with this open attribute. Government accounts
/// see the whole listed catalog (the sharing catalog); the public sees only entries that may
/// be opened.
pub fn may_see_listed(viewer: Option<&Principal>, open: crate::catalog::OpenType) -> bool {
    match viewer.map(|p| p.role) {
        Some(Role::PlatformAdmin | Role::DataOfficer | Role::Consumer | Role::Auditor) => true,
        None | Some(Role::Public) => open != crate::catalog::OpenType::NotOpen,
    }
}

/// Whether `viewer` sees only public entries when browsing the listed catalog.
pub fn is_public_viewer(viewer: Option<&Principal>) -> bool {
    matches!(viewer.map(|p| p.role), None | Some(Role::Public))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_callers_reach_only_public_actions() {
        for a in Action::ALL {
            assert_eq!(allows(None, a), a == Action::Public, "{a:?}");
        }
    }

    #[test]
    fn only_admins_review_and_manage_accounts() {
        for r in Role::ALL {
            assert_eq!(allows(Some(r), Action::ReviewEntries), r == Role::PlatformAdmin);
            assert_eq!(allows(Some(r), Action::ManageAccounts), r == Role::PlatformAdmin);
            assert_eq!(allows(Some(r), Action::ManagePortal), r == Role::PlatformAdmin);
        }
    }

    #[test]
    fn officers_edit_only_their_own_organization() {
        let p = Principal {
            user_id: 1,
            username: "o".into(),
            display_name: "o".into(),
            role: Role::DataOfficer,
            org_id: 7,
        };
        assert!(p.may_edit_for(7));
        assert!(!p.may_edit_for(8));
    }
}
