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
    /// An expert who scores the IT projects assigned to them for review (评审专家).
    Expert,
    /// A third-party evaluation body that evaluates projects after acceptance (第三方评价机构).
    Evaluator,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::PlatformAdmin,
        Role::DataOfficer,
        Role::Consumer,
        Role::Auditor,
        Role::Public,
        Role::Expert,
        Role::Evaluator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::DataOfficer => "data_officer",
            Role::Consumer => "consumer",
            Role::Auditor => "auditor",
            Role::Public => "public",
            Role::Expert => "expert",
            Role::Evaluator => "evaluator",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "平台管理员",
            Role::DataOfficer => "部门数据管理员",
            Role::Consumer => "部门数据使用者",
            Role::Auditor => "审计员",
            Role::Public => "公众用户",
            Role::Expert => "评审专家",
            Role::Evaluator => "第三方评价机构",
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
    /// Take part in IT project management: departments propose and report, experts score,
    /// evaluators evaluate, auditors read (the service checks which projects).
    Projects,
    /// Propose and report a department's projects and keep its systems: steps, data
    /// registration, milestones, payments, system facts, tickets (data officers, the
    /// bureau; the service checks whose).
    ProposeProjects,
    /// Review, approve and supervise IT projects and the system inventory (the bureau).
    ManageProjects,
}

impl Action {
    pub const ALL: [Action; 17] = [
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
        Action::Projects,
        Action::ProposeProjects,
        Action::ManageProjects,
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
        (Some(R::DataOfficer | R::Auditor | R::Expert | R::Evaluator), A::Projects) => true,
        (Some(R::DataOfficer), A::ProposeProjects) => true,
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

    /// Whether this caller runs the platform (a platform administrator): the whole library,
    /// every job and pull, every organization's records.
    pub fn runs_the_platform(&self) -> bool {
        self.role == Role::PlatformAdmin
    }

    /// Whether this caller answers for the data of `org_id`: decides its share requests,
    /// changes its grants, fulfils its duties, answers objections to its data.
    pub fn answers_for(&self, org_id: i64) -> bool {
        match self.role {
            Role::PlatformAdmin => true,
            Role::DataOfficer => self.org_id == org_id,
            _ => false,
        }
    }

    /// Whether this caller answers for some department's data at all (the requests to
    /// answer are listed for it).
    pub fn answers_requests(&self) -> bool {
        matches!(self.role, Role::PlatformAdmin | Role::DataOfficer)
    }

    /// Whether this caller sees all of the exchange: every request, grant, list entry,
    /// evidence record and usage figure (administrators and auditors); others see their
    /// own organization's, as consumer or provider.
    pub fn sees_all_of_the_exchange(&self) -> bool {
        matches!(self.role, Role::PlatformAdmin | Role::Auditor)
    }

    /// Whether this caller may see the exchange records of `org_id` (as consumer or
    /// provider of them).
    pub fn sees_exchange_of(&self, org_id: i64) -> bool {
        self.sees_all_of_the_exchange() || (self.is_government() && self.org_id == org_id)
    }

    /// Whether this caller keeps the exchange's rules: calendar, lists, quotas, views, mask
    /// rules, demand assignment (platform administrators).
    pub fn supervises_the_exchange(&self) -> bool {
        self.role == Role::PlatformAdmin
    }

    /// Whether this caller acts for a department in the exchange: files requests, demands
    /// and objections, registers apps (not auditors, who change nothing, nor the public).
    pub fn acts_for_a_department(&self) -> bool {
        matches!(self.role, Role::PlatformAdmin | Role::DataOfficer | Role::Consumer)
    }

    /// Whether this caller is a government account (not the public, nor the experts and
    /// evaluation bodies from outside that the projects plane invites).
    pub fn is_government(&self) -> bool {
        matches!(self.role, Role::PlatformAdmin | Role::DataOfficer | Role::Consumer | Role::Auditor)
    }

    /// Whether this caller proposes and reports the IT projects of `org_id`.
    pub fn proposes_for(&self, org_id: i64) -> bool {
        match self.role {
            Role::PlatformAdmin => true,
            Role::DataOfficer => self.org_id == org_id,
            _ => false,
        }
    }

    /// Whether this caller reviews, approves and supervises IT projects and keeps the
    /// system inventory (the bureau).
    pub fn manages_projects(&self) -> bool {
        self.role == Role::PlatformAdmin
    }

    /// Whether this caller reads every project and system (the bureau, auditors, the
    /// evaluation body); departments read their own, experts those assigned to them.
    pub fn reads_all_projects(&self) -> bool {
        matches!(self.role, Role::PlatformAdmin | Role::Auditor | Role::Evaluator)
    }

    /// Whether this caller scores projects it is assigned to review.
    pub fn scores_projects(&self) -> bool {
        self.role == Role::Expert
    }

    /// Whether this caller records third-party and on-site evaluations.
    pub fn evaluates_projects(&self) -> bool {
        matches!(self.role, Role::PlatformAdmin | Role::Evaluator)
    }

    /// Which evidence records this caller may read: all of them, or those of its own
    /// organization's calls and of calls on its organization's tables.
    pub fn evidence_scope(&self) -> EvidenceScope {
        if self.sees_all_of_the_exchange() { EvidenceScope::All } else { EvidenceScope::Organization(self.org_id) }
    }
}

/// Which evidence records a caller may read ([`Principal::evidence_scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceScope {
    All,
    /// The organization's own calls and the calls on its tables.
    Organization(i64),
}

/// Whether `viewer` may see a listed entry with this open attribute. Government accounts
/// see the whole listed catalog (the sharing catalog); the public sees only entries that may
/// be opened.
pub fn may_see_listed(viewer: Option<&Principal>, open: crate::catalog::OpenType) -> bool {
    match viewer.map(|p| p.role) {
        Some(Role::PlatformAdmin | Role::DataOfficer | Role::Consumer | Role::Auditor) => true,
        None | Some(Role::Public | Role::Expert | Role::Evaluator) => open != crate::catalog::OpenType::NotOpen,
    }
}

/// Whether `viewer` sees only public entries when browsing the listed catalog.
pub fn is_public_viewer(viewer: Option<&Principal>) -> bool {
    matches!(viewer.map(|p| p.role), None | Some(Role::Public | Role::Expert | Role::Evaluator))
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

    /// The intended role × action table, spelled out (not computed from `allows`): a change
    /// of the policy must change this table too.
    #[test]
    fn the_role_action_table_is_the_intended_one() {
        use Action as A;
        // Columns: platform_admin, data_officer, consumer, auditor, public, expert, evaluator.
        let table: [(Action, [bool; 7]); 17] = [
            (A::Public, [true, true, true, true, true, true, true]),
            (A::SignedIn, [true, true, true, true, true, true, true]),
            (A::EditEntries, [true, true, false, false, false, false, false]),
            (A::ReviewEntries, [true, false, false, false, false, false, false]),
            (A::ReadHistory, [true, true, false, true, false, false, false]),
            (A::ManageAccounts, [true, false, false, false, false, false, false]),
            (A::ReadAccounts, [true, false, false, true, false, false, false]),
            (A::QueryLibrary, [true, false, false, false, false, false, false]),
            (A::Exchange, [true, true, true, true, false, false, false]),
            (A::Share, [true, true, true, false, false, false, false]),
            (A::AuditEvidence, [true, false, false, true, false, false, false]),
            (A::SuperviseExchange, [true, false, false, false, false, false, false]),
            (A::ManagePortal, [true, false, false, false, false, false, false]),
            (A::CallInterface, [true, true, true, false, false, false, false]),
            (A::Projects, [true, true, false, true, false, true, true]),
            (A::ProposeProjects, [true, true, false, false, false, false, false]),
            (A::ManageProjects, [true, false, false, false, false, false, false]),
        ];
        assert_eq!(table.len(), Action::ALL.len(), "every action has its row");
        for (action, allowed) in table {
            for (role, yes) in Role::ALL.into_iter().zip(allowed) {
                assert_eq!(allows(Some(role), action), yes, "{role:?} × {action:?}");
            }
            assert_eq!(allows(None, action), action == A::Public, "anonymous × {action:?}");
        }
    }

    /// The object rules, spelled out per role for the caller's own organization (7) and
    /// another (8).
    #[test]
    fn the_object_rules_are_the_intended_ones() {
        let who = |role| Principal { user_id: 1, username: "u".into(), display_name: "u".into(), role, org_id: 7 };
        // (role, edits own, edits other, answers own, answers other, sees all, sees own,
        //  supervises, acts for a department)
        let table = [
            (Role::PlatformAdmin, [true, true, true, true, true, true, true, true]),
            (Role::DataOfficer, [true, false, true, false, false, true, false, true]),
            (Role::Consumer, [false, false, false, false, false, true, false, true]),
            (Role::Auditor, [false, false, false, false, true, true, false, false]),
            (Role::Public, [false, false, false, false, false, false, false, false]),
            (Role::Expert, [false, false, false, false, false, false, false, false]),
            (Role::Evaluator, [false, false, false, false, false, false, false, false]),
        ];
        for (role, want) in table {
            let p = who(role);
            let got = [
                p.may_edit_for(7),
                p.may_edit_for(8),
                p.answers_for(7),
                p.answers_for(8),
                p.sees_all_of_the_exchange(),
                p.sees_exchange_of(7),
                p.supervises_the_exchange(),
                p.acts_for_a_department(),
            ];
            assert_eq!(got, want, "{role:?}");
            assert_eq!(p.sees_exchange_of(8), want[4], "{role:?} sees another organization's only if it sees all");
            let scope = if want[4] { EvidenceScope::All } else { EvidenceScope::Organization(7) };
            assert_eq!(p.evidence_scope(), scope, "{role:?}");
        }
    }

    /// The projects plane's object rules: (proposes own, proposes other, manages, reads
    /// all, scores, evaluates).
    #[test]
    fn the_project_rules_are_the_intended_ones() {
        let who = |role| Principal { user_id: 1, username: "u".into(), display_name: "u".into(), role, org_id: 7 };
        let table = [
            (Role::PlatformAdmin, [true, true, true, true, false, true]),
            (Role::DataOfficer, [true, false, false, false, false, false]),
            (Role::Consumer, [false, false, false, false, false, false]),
            (Role::Auditor, [false, false, false, true, false, false]),
            (Role::Public, [false, false, false, false, false, false]),
            (Role::Expert, [false, false, false, false, true, false]),
            (Role::Evaluator, [false, false, false, true, false, true]),
        ];
        for (role, want) in table {
            let p = who(role);
            let got = [
                p.proposes_for(7),
                p.proposes_for(8),
                p.manages_projects(),
                p.reads_all_projects(),
                p.scores_projects(),
                p.evaluates_projects(),
            ];
            assert_eq!(got, want, "{role:?}");
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
