//! The metadata store suite: every case runs against SQLite and against PostgreSQL.

use tongshu_core::catalog::{EntryInput, EntryStatus, ItemInput, ValidEntry};
use tongshu_core::org::{OrgKind, Organization};
use tongshu_core::policy::Role;
use tongshu_store::{Dimension, EntryFilter, MetaStore, NewUser, StoreError, testing};

// IT projects and the system inventory (issue 16).
#[path = "suite/projects.rs"]
mod projects;
use projects::*;

macro_rules! store_suite {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $case() {
                let dir = tempfile::tempdir().unwrap();
                let store = tongshu_store::testing::sqlite_store(dir.path()).await.unwrap();
                super::$case(store).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $case() {
                let Some(store) = tongshu_store::testing::postgres_store().await else { return };
                super::$case(store).await;
            })*
        }
    };
}

store_suite!(
    organizations_are_stored_and_slugs_are_unique,
    users_sessions_and_tokens,
    entries_get_sequential_codes_per_classification,
    explicit_codes_and_duplicate_names_are_conflicts,
    lifecycle_transitions_are_guarded_and_recorded,
    editing_records_changed_fields_and_reallocates_code_on_reclassification,
    listing_filters_and_counts,
    migrations_and_meta_are_idempotent,
    library_tables_are_recorded_and_linked,
    portal_posts_and_usage_counts,
    exchange_requests_grants_lists_and_metering,
    job_leases_and_schedule_slots_go_to_one_node,
    a_group_of_call_records_uses_their_nonces_once,
    channel_pipelines_are_leased_to_one_runner_and_fail_closed,
    a_project_moves_only_from_where_it_stands_and_fails_closed,
    systems_import_all_or_none_and_tickets_close_once,
);

/// A call record as the exchange's writer makes it.
fn tongshu_exchange_call() -> tongshu_core::evidence::EvidenceFields {
    tongshu_core::evidence::EvidenceFields {
        at: "2026-12-01T08:00:00Z".into(),
        kind: "call".into(),
        subject: "table:t".into(),
        ..Default::default()
    }
}

async fn a_group_of_call_records_uses_their_nonces_once(store: MetaStore) {
    // A group of call records uses the signed calls' nonces in its transaction: a nonce
    // used before, or twice in the group, makes a replay, written as refused.
    let call = |detail: &str| tongshu_core::evidence::EvidenceFields {
        status: 200,
        rows_out: 5,
        detail: detail.into(),
        ..tongshu_exchange_call()
    };
    let head = store.evidence_head().await.unwrap().0;
    let n = |s: &str| Some((7, s.to_owned()));
    use tongshu_store::Written::{Replay, Stale, Stands};
    let (written, stamp) = store
        .append_calls(&[
            (call("a"), n("k1"), None),
            (call("b"), n("k2"), None),
            (call("c"), n("k1"), None),
            (call("d"), None, None),
        ])
        .await
        .unwrap();
    assert_eq!(written, [Stands, Stands, Replay, Stands]);
    assert_eq!(stamp, store.stamp().await.unwrap(), "the counters as they stand");
    assert_eq!(
        store.append_calls(&[(call("e"), n("k2"), None)]).await.unwrap().0,
        [Replay],
        "used by the group before"
    );
    // A call computed at counters that moved since is not written at all, nor its nonce
    // used; one computed at the counters as they stand is.
    let moved = tongshu_store::Stamp { exchange: stamp.exchange - 1, ..stamp };
    let (written, _) =
        store.append_calls(&[(call("stale"), n("k3"), Some(moved)), (call("f"), None, Some(stamp))]).await.unwrap();
    assert_eq!(written, [Stale, Stands]);
    assert_eq!(store.append_calls(&[(call("g"), n("k3"), Some(stamp))]).await.unwrap().0, [Stands], "k3 was not used");
    let page = store.evidence_page(head, 10).await.unwrap();
    let seen: Vec<(i64, i64, &str)> =
        page.iter().map(|r| (r.fields.status, r.fields.rows_out, r.fields.detail.as_str())).collect();
    let replay = "nonce used before (replay)";
    assert_eq!(
        seen,
        [(200, 5, "a"), (200, 5, "b"), (401, 0, replay), (200, 5, "d"), (401, 0, replay), (200, 5, "f"), (200, 5, "g")]
    );
    assert!(page.windows(2).all(|w| w[1].prev_hash == w[0].hash && w[1].seq == w[0].seq + 1), "one chain");
}

/// Two nodes on one store: an expired job goes to one of them, a live one to neither, a
/// scheduled slot to the first claim.
async fn job_leases_and_schedule_slots_go_to_one_node(store: MetaStore) {
    let org = store
        .insert_org(&Organization {
            id: 0,
            parent_id: None,
            kind: OrgKind::Department,
            name: "局".into(),
            slug: "ju".into(),
            district_code: "371300".into(),
            credit_code: None,
        })
        .await
        .unwrap();
    let req = serde_json::json!({"pull": "p"});
    let expired = store.add_job("pull", "t", "u", org.id, &req, None, "dead", 100).await.unwrap();
    let live = store.add_job("pull", "t", "u", org.id, &req, None, "alive", 10_000).await.unwrap();
    let (a, b) = tokio::join!(store.claim_expired_jobs("a", 1000, 1030), store.claim_expired_jobs("b", 1000, 1030));
    let mut ids: Vec<i64> = a.unwrap().into_iter().chain(b.unwrap()).map(|j| j.id).collect();
    ids.sort();
    assert_eq!(ids, [expired.id], "the expired job to one node, the live one to none");
    let taken = store.get_job(expired.id).await.unwrap();
    assert_eq!(taken.attempts, 2);
    assert!(matches!(taken.node.as_deref(), Some("a" | "b")));
    assert_eq!(store.get_job(live.id).await.unwrap().node.as_deref(), Some("alive"));
    // The holder renews its leases; nothing expires while it does.
    assert_eq!(store.renew_job_leases("alive", 20_000).await.unwrap(), 1);
    assert!(store.claim_expired_jobs("a", 15_000, 15_030).await.unwrap().iter().all(|j| j.id != live.id));

    let (x, y) = tokio::join!(store.claim_slot("pull:p:0", "a"), store.claim_slot("pull:p:0", "b"));
    assert_eq!([x.unwrap(), y.unwrap()].iter().filter(|c| **c).count(), 1, "one claim of a slot wins");
    assert!(store.claim_slot("pull:p:60", "b").await.unwrap(), "the next due time is a new slot");
}

fn org(slug: &str, kind: OrgKind, parent: Option<i64>) -> Organization {
    Organization {
        id: 0,
        parent_id: parent,
        kind,
        name: format!("机构{slug}"),
        slug: slug.into(),
        district_code: "371300".into(),
        credit_code: None,
    }
}

fn body(name: &str, class: &str, item: &str, category: &str) -> ValidEntry {
    EntryInput {
        class: class.into(),
        item: item.into(),
        category: category.into(),
        name: name.into(),
        summary: "摘要".into(),
        format: "database".into(),
        items: vec![ItemInput {
            name: "姓名".into(),
            data_type: "text".into(),
            length: Some(50),
            ..Default::default()
        }],
        sharing_type: "unconditional".into(),
        sharing_methods: vec!["interface".into()],
        open_type: "open".into(),
        update_cycle: "monthly".into(),
        grading: "general".into(),
        ..Default::default()
    }
    .validate()
    .unwrap()
}

async fn setup(store: &MetaStore) -> (Organization, i64) {
    let city = store.insert_org(&org("city", OrgKind::City, None)).await.unwrap();
    let dept = store.insert_org(&org("dept", OrgKind::Department, Some(city.id))).await.unwrap();
    let user = store
        .insert_user(&NewUser {
            username: "officer".into(),
            display_name: "数据员".into(),
            password_hash: "hash".into(),
            role: Role::DataOfficer,
            org_id: dept.id,
        })
        .await
        .unwrap();
    (dept, user.id)
}

async fn organizations_are_stored_and_slugs_are_unique(store: MetaStore) {
    let city = store.insert_org(&org("city", OrgKind::City, None)).await.unwrap();
    let dept = store.insert_org(&org("dept", OrgKind::Department, Some(city.id))).await.unwrap();
    assert_eq!(store.get_org(dept.id).await.unwrap().parent_id, Some(city.id));
    assert_eq!(store.get_org_by_slug("dept").await.unwrap().id, dept.id);
    let all = store.list_orgs().await.unwrap();
    assert_eq!(all.iter().map(|o| o.slug.as_str()).collect::<Vec<_>>(), ["city", "dept"]);
    let dup = store.insert_org(&org("dept", OrgKind::Department, None)).await;
    assert!(matches!(dup, Err(StoreError::Conflict(m)) if m.contains("dept")));
    assert!(matches!(store.get_org(9999).await, Err(StoreError::NotFound(_))));
}

async fn users_sessions_and_tokens(store: MetaStore) {
    let (_, user_id) = setup(&store).await;
    let (user, hash) = store.user_credentials("officer").await.unwrap().unwrap();
    assert_eq!((user.id, hash.as_str(), user.role), (user_id, "hash", Role::DataOfficer));
    assert!(store.user_credentials("nobody").await.unwrap().is_none());
    let dup = NewUser {
        username: "officer".into(),
        display_name: "x".into(),
        password_hash: "h".into(),
        role: Role::Public,
        org_id: user.org_id,
    };
    assert!(matches!(store.insert_user(&dup).await, Err(StoreError::Conflict(_))));

    let later = tongshu_core::now() + time::Duration::hours(1);
    store.create_session("s1", user_id, "csrf1", later).await.unwrap();
    store.create_session("old", user_id, "csrf2", tongshu_core::now() - time::Duration::hours(1)).await.unwrap();
    let s = store.session("s1").await.unwrap().unwrap();
    assert_eq!((s.principal.user_id, s.csrf_token.as_str()), (user_id, "csrf1"));
    assert!(store.session("old").await.unwrap().is_none(), "expired sessions are not live");
    store.delete_session("s1").await.unwrap();
    assert!(store.session("s1").await.unwrap().is_none());

    let new = tongshu_store::NewToken {
        name: "etl".into(),
        token_hash: "th".into(),
        prefix: "ts_abcd".into(),
        description: Some("nightly sync".into()),
        rate_per_minute: Some(30),
    };
    let t = store.insert_token(user_id, &new).await.unwrap();
    assert_eq!((t.description.as_deref(), t.rate_per_minute), (Some("nightly sync"), Some(30)));
    let owner = store.token_owner("th").await.unwrap().unwrap();
    assert_eq!((owner.principal.user_id, owner.token_id, owner.rate_per_minute), (user_id, t.id, Some(30)));
    assert!(store.list_tokens(user_id).await.unwrap()[0].last_used_at.is_some());
    assert!(matches!(store.revoke_token(user_id + 1, t.id).await, Err(StoreError::NotFound(_))));
    store.revoke_token(user_id, t.id).await.unwrap();
    assert!(store.token_owner("th").await.unwrap().is_none(), "revoked tokens do not authenticate");
}

async fn entries_get_sequential_codes_per_classification(store: MetaStore) {
    let (dept, uid) = setup(&store).await;
    let a = store.insert_entry(dept.id, "371300", uid, &body("甲", "3", "01", "001"), None).await.unwrap();
    let b = store.insert_entry(dept.id, "371300", uid, &body("乙", "3", "01", "001"), None).await.unwrap();
    let c = store.insert_entry(dept.id, "371300", uid, &body("丙", "1", "02", "003"), None).await.unwrap();
    assert_eq!(a.code.as_str(), "3 01 001/000001");
    assert_eq!(b.code.as_str(), "3 01 001/000002");
    assert_eq!(c.code.as_str(), "1 02 003/000001");
    assert_eq!(a.status, EntryStatus::Draft);
    assert_eq!(store.get_entry_by_code(&b.code).await.unwrap().id, b.id);
    assert_eq!(store.get_entry(a.id).await.unwrap().body, body("甲", "3", "01", "001"));
}

async fn explicit_codes_and_duplicate_names_are_conflicts(store: MetaStore) {
    let (dept, uid) = setup(&store).await;
    let a = store.insert_entry(dept.id, "371300", uid, &body("甲", "3", "01", "001"), Some(42)).await.unwrap();
    assert_eq!(a.code.as_str(), "3 01 001/000042");
    let taken = store.insert_entry(dept.id, "371300", uid, &body("乙", "3", "01", "001"), Some(42)).await;
    assert!(matches!(taken, Err(StoreError::Conflict(m)) if m.contains("3 01 001/000042")));
    let same_name = store.insert_entry(dept.id, "371300", uid, &body("甲", "3", "01", "002"), None).await;
    assert!(matches!(same_name, Err(StoreError::Conflict(m)) if m.contains("甲")));
    let page = store.list_entries(&EntryFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(page.total, 1, "a refused entry leaves nothing behind");
    let next = store.insert_entry(dept.id, "371300", uid, &body("丙", "3", "01", "001"), None).await.unwrap();
    assert_eq!(next.code.as_str(), "3 01 001/000043");
}

async fn lifecycle_transitions_are_guarded_and_recorded(store: MetaStore) {
    use EntryStatus::*;
    let (dept, uid) = setup(&store).await;
    let e = store.insert_entry(dept.id, "371300", uid, &body("甲", "3", "01", "001"), None).await.unwrap();
    let wrong = store.transition_entry(e.id, uid, "approve", Submitted, Listed, None).await;
    assert!(matches!(wrong, Err(StoreError::Conflict(_))), "a draft cannot be approved");
    store.transition_entry(e.id, uid, "submit", Draft, Submitted, None).await.unwrap();
    let r = store.transition_entry(e.id, uid, "return", Submitted, Returned, Some("补充摘要")).await.unwrap();
    assert_eq!(r.review_comment.as_deref(), Some("补充摘要"));
    store.transition_entry(e.id, uid, "submit", Returned, Submitted, None).await.unwrap();
    let listed = store.transition_entry(e.id, uid, "approve", Submitted, Listed, None).await.unwrap();
    assert!(listed.listed_at.is_some());
    assert_eq!(listed.body.publish_date, Some(tongshu_core::now().date()), "listing sets the publish date");
    store.transition_entry(e.id, uid, "delist", Listed, Delisted, Some("数据停止更新")).await.unwrap();
    let missing = store.transition_entry(9999, uid, "submit", Draft, Submitted, None).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))));

    let h = store.entry_history(e.id).await.unwrap();
    let steps: Vec<(&str, Option<EntryStatus>, EntryStatus)> =
        h.iter().map(|s| (s.action.as_str(), s.from_status, s.to_status)).collect();
    assert_eq!(
        steps,
        [
            ("create", None, Draft),
            ("submit", Some(Draft), Submitted),
            ("return", Some(Submitted), Returned),
            ("submit", Some(Returned), Submitted),
            ("approve", Some(Submitted), Listed),
            ("delist", Some(Listed), Delisted),
        ]
    );
    assert_eq!(h[2].comment.as_deref(), Some("补充摘要"));
    assert_eq!(h[0].username, "officer");
    assert!(h[4].changes.iter().any(|c| c.field == "publish_date"));
}

async fn editing_records_changed_fields_and_reallocates_code_on_reclassification(store: MetaStore) {
    let (dept, uid) = setup(&store).await;
    let e = store.insert_entry(dept.id, "371300", uid, &body("甲", "3", "01", "001"), None).await.unwrap();
    let mut changed = body("甲", "3", "02", "001");
    changed.summary = "新的摘要".into();
    let edited = store.update_entry(e.id, uid, EntryStatus::Draft, EntryStatus::Draft, &changed).await.unwrap();
    assert_eq!(edited.code.as_str(), "3 02 001/000001");
    assert_eq!(edited.body.summary, "新的摘要");
    let h = store.entry_history(e.id).await.unwrap();
    let fields: Vec<&str> = h[1].changes.iter().map(|c| c.field.as_str()).collect();
    assert!(
        fields.contains(&"summary") && fields.contains(&"classification") && fields.contains(&"code"),
        "{fields:?}"
    );
    assert!(!fields.contains(&"name"));
    let stale = store.update_entry(e.id, uid, EntryStatus::Submitted, EntryStatus::Draft, &changed).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))));
}

async fn listing_filters_and_counts(store: MetaStore) {
    let (dept, uid) = setup(&store).await;
    let other = store.insert_org(&org("county", OrgKind::Department, None)).await.unwrap();
    for (i, name) in ["人口信息", "法人信息", "社保信息_100%"].iter().enumerate() {
        let e = store.insert_entry(dept.id, "371300", uid, &body(name, "3", "01", "001"), None).await.unwrap();
        if i < 2 {
            store
                .transition_entry(e.id, uid, "submit", EntryStatus::Draft, EntryStatus::Submitted, None)
                .await
                .unwrap();
            store
                .transition_entry(e.id, uid, "approve", EntryStatus::Submitted, EntryStatus::Listed, None)
                .await
                .unwrap();
        }
    }
    let e = store.insert_entry(other.id, "371302", uid, &body("县人口", "1", "01", "001"), None).await.unwrap();
    store.transition_entry(e.id, uid, "submit", EntryStatus::Draft, EntryStatus::Submitted, None).await.unwrap();
    store.transition_entry(e.id, uid, "approve", EntryStatus::Submitted, EntryStatus::Listed, None).await.unwrap();

    let listed = |f: EntryFilter| {
        let store = store.clone();
        async move {
            let page =
                store.list_entries(&EntryFilter { statuses: vec![EntryStatus::Listed], limit: 50, ..f }).await.unwrap();
            let mut names: Vec<String> = page.entries.into_iter().map(|e| e.body.name).collect();
            names.sort();
            (page.total, names)
        }
    };
    assert_eq!(listed(EntryFilter::default()).await.0, 3);
    assert_eq!(listed(EntryFilter { district_code: Some("371302".into()), ..Default::default() }).await.1, ["县人口"]);
    assert_eq!(listed(EntryFilter { org_id: Some(dept.id), ..Default::default() }).await.0, 2);
    assert_eq!(listed(EntryFilter { classification: Some("1 01".into()), ..Default::default() }).await.1, ["县人口"]);
    assert_eq!(listed(EntryFilter { text: Some("人口".into()), ..Default::default() }).await.0, 2);
    // LIKE wildcards in the search text are taken literally.
    let all =
        store.list_entries(&EntryFilter { text: Some("_100%".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.total, 1);

    let by_org = store.entry_counts(Dimension::Organization, EntryStatus::Listed, false).await.unwrap();
    assert_eq!(by_org, [(dept.id.to_string(), 2), (other.id.to_string(), 1)]);
    let by_class = store.entry_counts(Dimension::Class, EntryStatus::Listed, false).await.unwrap();
    assert_eq!(by_class, [("3".to_string(), 2), ("1".to_string(), 1)]);
    let by_district = store.entry_counts(Dimension::District, EntryStatus::Listed, false).await.unwrap();
    assert_eq!(by_district, [("371300".to_string(), 2), ("371302".to_string(), 1)]);

    let paged = store
        .list_entries(&EntryFilter { statuses: vec![EntryStatus::Listed], limit: 2, offset: 2, ..Default::default() })
        .await
        .unwrap();
    assert_eq!((paged.total, paged.entries.len()), (3, 1));
}

async fn migrations_and_meta_are_idempotent(store: MetaStore) {
    store.migrate().await.unwrap();
    assert!(store.meta_set_once("demo", "1").await.unwrap());
    assert!(!store.meta_set_once("demo", "2").await.unwrap());
    assert_eq!(store.meta_get("demo").await.unwrap().as_deref(), Some("1"));
    assert_eq!(store.meta_get("other").await.unwrap(), None);
    let _ = testing::POSTGRES_ENV;
}

async fn library_tables_are_recorded_and_linked(store: MetaStore) {
    let (dept, uid) = setup(&store).await;
    let e = store.insert_entry(dept.id, "371300", uid, &body("人口", "3", "01", "001"), None).await.unwrap();
    let mut t = tongshu_store::TableRecord {
        name: "renkou".into(),
        entry_id: Some(e.id),
        uri: "file:///x/renkou/".into(),
        version: 1,
        rows: 3,
        bytes: 100,
        files: 1,
        public_history: false,
        columns: vec![tongshu_store::ColumnStats {
            name: "姓名".into(),
            ty: "text".into(),
            nulls: 0,
            distinct: 3,
            distinct_rows: 3,
        }],
        updated_at: tongshu_core::now(),
    };
    store.put_table(&t).await.unwrap();
    t.entry_id = None;
    t.version = 2;
    t.rows = 5;
    store.put_table(&t).await.unwrap();
    let got = store.get_table("renkou").await.unwrap().unwrap();
    assert_eq!((got.version, got.rows, got.entry_id), (2, 5, Some(e.id)), "an update keeps the link");
    assert_eq!(got.columns[0].name, "姓名");
    assert_eq!(store.tables_of_entry(e.id).await.unwrap().len(), 1);
    assert_eq!(store.list_tables().await.unwrap().len(), 1);
    assert!(store.get_table("nope").await.unwrap().is_none());
    t.name = "orphan".into();
    t.entry_id = Some(9999);
    assert!(matches!(store.put_table(&t).await, Err(StoreError::NotFound(_))));
}

async fn portal_posts_and_usage_counts(store: MetaStore) {
    use tongshu_store::{InteractionFilter, InteractionKind as K, InteractionStatus as S, NewInteraction, UsageKind};
    let (dept, uid) = setup(&store).await;
    let new = |title: &str| NewInteraction {
        user_id: uid,
        dataset: Some("gaj-1".into()),
        org_id: Some(dept.id),
        title: title.into(),
        body: "正文".into(),
        rating: Some(4),
        link: None,
    };
    let a = store.insert_interaction(K::Comment, S::Pending, &new("好")).await.unwrap();
    let b = store.insert_interaction(K::Request, S::Pending, &new("要数据")).await.unwrap();
    assert_eq!(
        (a.kind, a.status, a.rating, a.org_name.as_deref()),
        (K::Comment, S::Pending, Some(4), Some(dept.name.as_str()))
    );
    let until = tongshu_core::now() + time::Duration::days(3);
    let answered = store.answer_interaction(b.id, S::Answered, Some("已开放"), "officer", Some(until)).await.unwrap();
    assert_eq!((answered.status, answered.answer.as_deref()), (S::Answered, Some("已开放")));
    assert!(answered.answered_at.is_some() && answered.expires_at.is_some());
    let f = |kind, statuses: Vec<S>| InteractionFilter { kind: Some(kind), statuses, ..Default::default() };
    assert_eq!(store.list_interactions(&f(K::Request, vec![S::Answered])).await.unwrap().len(), 1);
    assert!(store.list_interactions(&f(K::Comment, vec![S::Published])).await.unwrap().is_empty());
    let mine = InteractionFilter { user_id: Some(uid), ..Default::default() };
    let ids: Vec<i64> = store.list_interactions(&mine).await.unwrap().iter().map(|p| p.id).collect();
    assert_eq!(ids, [b.id, a.id], "newest first");
    assert!(matches!(
        store.answer_interaction(999_999, S::Hidden, None, "x", None).await,
        Err(StoreError::NotFound(_))
    ));

    store.count_usage("gaj-1", UsageKind::Download, 0, 1).await.unwrap();
    store.count_usage("gaj-1", UsageKind::Download, 0, 2).await.unwrap();
    store.count_usage("gaj-1", UsageKind::Call, 7, 5).await.unwrap();
    store.count_usage("gaj-2", UsageKind::Call, 7, 1).await.unwrap();
    let totals = store.usage_by_dataset().await.unwrap();
    assert_eq!(totals.len(), 2);
    assert_eq!((totals[0].0.as_str(), totals[0].1.downloads, totals[0].1.calls), ("gaj-1", 3, 5));
    let days = store.usage_by_day("2000-01-01", Some(7)).await.unwrap();
    assert_eq!((days.len(), days[0].downloads, days[0].calls), (1, 0, 6), "one token's calls of today");
}

async fn exchange_requests_grants_lists_and_metering(store: MetaStore) {
    use tongshu_core::evidence::EvidenceFields;
    use tongshu_core::sharing::{GrantStatus, RequestStatus, ScopeCondition};
    use tongshu_store::{NewGrant, NewObjection, NewShareRequest, RequestFilter};
    let (dept, uid) = setup(&store).await;
    let other = store.insert_org(&org("other", OrgKind::Department, None)).await.unwrap();
    let e = store.insert_entry(dept.id, "371300", uid, &body("甲", "3", "01", "001"), None).await.unwrap();
    let now = tongshu_core::now();
    let ev = |kind: &str| EvidenceFields {
        at: "2026-11-29T00:00:00Z".into(),
        kind: kind.into(),
        subject: "table:t".into(),
        ..Default::default()
    };
    let req = NewShareRequest {
        entry_id: e.id,
        provider_org_id: dept.id,
        consumer_org_id: other.id,
        user_id: uid,
        app_id: None,
        purpose: "核验".into(),
        legal_basis: None,
        items: vec!["姓名".into()],
        row_filter: vec![],
        valid_from: now,
        valid_to: now + time::Duration::days(30),
        consuming_system: None,
        due_on: "2026-12-11".into(),
    };
    let id = store.insert_share_request(&req, ev("request")).await.unwrap();
    let pending =
        RequestFilter { provider_org_id: Some(dept.id), status: Some(RequestStatus::Pending), ..Default::default() };
    assert_eq!(store.share_requests(&pending).await.unwrap().len(), 1);
    let overdue = RequestFilter { due_before: Some("2026-12-12".into()), ..Default::default() };
    assert_eq!(store.share_requests(&overdue).await.unwrap()[0].id, id);
    let grant = NewGrant {
        request_id: Some(id),
        entry_id: e.id,
        consumer_org_id: other.id,
        app_id: None,
        items: req.items.clone(),
        clear_items: vec![],
        row_filter: vec![ScopeCondition { column: "姓名".into(), op: "eq".into(), value: "张三".into() }],
        verify_items: Some(vec!["姓名".into()]),
        valid_from: req.valid_from,
        valid_to: req.valid_to,
    };
    let gid = store.answer_share_request(id, uid, "同意", true, Some(&grant), ev("grant")).await.unwrap().unwrap();
    assert!(matches!(
        store.answer_share_request(id, uid, "x", true, None, ev("grant")).await,
        Err(StoreError::Conflict(_))
    ));
    let r = store.share_request(id).await.unwrap();
    assert_eq!((r.status, r.on_time, r.grant_id), (RequestStatus::Granted, Some(true), Some(gid)));
    assert_eq!(r.items, ["姓名"]);
    // Lists and scopes come back typed, exactly as given.
    let g = store.grant(gid).await.unwrap();
    assert_eq!(
        (g.status, &g.row_filter, &g.verify_items),
        (GrantStatus::Active, &grant.row_filter, &grant.verify_items)
    );
    assert_eq!(store.grants_for(other.id, e.id).await.unwrap().len(), 1);
    assert_eq!(store.grants_list(None, Some(dept.id)).await.unwrap().len(), 1);
    let mut g = store.grant(gid).await.unwrap();
    g.status = GrantStatus::Revoked;
    store.change_grant(gid, uid, "revoked", &g, ev("grant")).await.unwrap();
    assert!(store.grants_for(other.id, e.id).await.unwrap().is_empty());
    assert_eq!(store.grant_history(gid).await.unwrap().len(), 2);

    // Calendar, rules, apps (nonces: `a_group_of_call_records_uses_their_nonces_once`).
    store.set_calendar_day("2026-10-01", Some("holiday"), "国庆节").await.unwrap();
    store.set_calendar_day("2026-10-01", Some("workday"), "改").await.unwrap();
    assert_eq!(store.calendar_days().await.unwrap(), [("2026-10-01".into(), "workday".into(), "改".into())]);
    let app = store.create_exchange_app(other.id, "系统", "tsa_x", "sealed", uid).await.unwrap();
    assert_eq!(store.exchange_app_by_key("tsa_x").await.unwrap().unwrap().id, app.id);
    store.set_app_quota(app.id, Some(5), None).await.unwrap();
    assert_eq!(store.exchange_app(app.id).await.unwrap().per_minute, Some(5));

    // One admission decides the app, the nonce and both windows; a change of an app (or a
    // grant, or the negative list) moves the exchange's counter.
    let before = store.stamp().await.unwrap();
    store.set_app_quota(app.id, Some(2), Some(3)).await.unwrap();
    let after = store.stamp().await.unwrap();
    assert!(after.exchange > before.exchange && after.catalog == before.catalog, "{before:?} {after:?}");
    let admit = |minute: &'static str| {
        let store = store.clone();
        async move {
            let a = tongshu_store::Admission {
                app: Some(app.id),
                caller: "tsa_x",
                subject: "table:t",
                day: ("d:1", 100, i64::MAX),
                minute: (minute, 100, i64::MAX),
            };
            store.admit_call(&a).await.unwrap()
        }
    };
    use tongshu_store::Verdict::*;
    let first = admit("m:1").await;
    assert_eq!((first.verdict, first.day_limit, first.minute_limit), (Admitted, 3, 2), "the app's own quotas");
    assert_eq!(first.stamp, after);
    assert_eq!(admit("m:1").await.verdict, Admitted);
    assert_eq!(admit("m:1").await.verdict, MinuteFull, "two a minute");
    assert_eq!(admit("m:2").await.verdict, Admitted, "the minute refused gave its day count back");
    assert_eq!(admit("m:3").await.verdict, DayFull, "three a day");
    let user = tongshu_store::Admission {
        app: None,
        caller: "user:1",
        subject: "table:t",
        day: ("d:1", 1, i64::MAX),
        minute: ("m:1", 0, i64::MAX),
    };
    assert_eq!(store.admit_call(&user).await.unwrap().verdict, Admitted);
    assert_eq!(store.admit_call(&user).await.unwrap().verdict, DayFull, "the defaults hold for a user");
    let unlimited = tongshu_store::Admission { day: ("d:1", 0, i64::MAX), ..user.clone() };
    for _ in 0..3 {
        assert_eq!(store.admit_call(&unlimited).await.unwrap().verdict, Admitted, "no limit, nothing counted");
    }

    store.revoke_exchange_app(app.id).await.unwrap();
    assert_eq!(admit("m:4").await.verdict, NoApp, "revoked");

    // The lists and objections.
    let d = store.insert_demand(other.id, uid, "需求", "说明").await.unwrap();
    let d = store.update_demand(d.id, &["open"], "assigned", Some(dept.id), None, None, None).await.unwrap();
    assert_eq!((d.status.as_str(), d.provider_org_id), ("assigned", Some(dept.id)));
    assert!(store.update_demand(d.id, &["open"], "assigned", None, None, None, None).await.is_err());
    store.insert_responsibility(dept.id, "职责", "说明", "2026-12-31", None, uid).await.unwrap();
    assert_eq!(store.responsibilities().await.unwrap().len(), 1);
    store.put_negative(e.id, "依据", uid).await.unwrap();
    assert!(matches!(store.put_negative(e.id, "依据", uid).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.negative_basis(e.id).await.unwrap().as_deref(), Some("依据"));
    let o = NewObjection {
        table_name: "t".into(),
        entry_id: e.id,
        provider_org_id: dept.id,
        org_id: other.id,
        user_id: uid,
        record: "r".into(),
        item: None,
        expected: None,
        evidence: "证据".into(),
        due_on: "2026-12-04".into(),
    };
    let o = store.insert_objection(&o).await.unwrap();
    assert_eq!(store.open_objections("t").await.unwrap(), 1);
    store.answer_objection(o.id, "corrected", "已改", uid, Some(2), true).await.unwrap();
    assert_eq!(store.open_objections("t").await.unwrap(), 0);
    assert_eq!(store.objections(Some(other.id)).await.unwrap()[0].fixed_version, Some(2));

    // Metering from the evidence log.
    for status in [200, 200, 403] {
        let f = EvidenceFields { status, rows_out: 3, duration_ms: 7, org_id: Some(other.id), ..ev("call") };
        store.append_evidence(&f).await.unwrap();
    }
    let usage = store.usage_rows("2026-11-01").await.unwrap();
    assert_eq!(usage.len(), 1);
    assert_eq!((usage[0].calls, usage[0].rows_out, usage[0].errors, usage[0].day.as_str()), (3, 9, 1, "2026-11-29"));
    assert_eq!(store.call_durations("2026-11-01", 10).await.unwrap().len(), 3);
    let among = |subjects: Vec<&str>| tongshu_store::EvidenceFilter {
        subjects: Some(subjects.into_iter().map(str::to_owned).collect()),
        limit: 100,
        ..Default::default()
    };
    let t = store.evidence_search(&among(vec!["table:t", "table:u"])).await.unwrap();
    assert_eq!(t.len(), 5, "the decision, the revocation and three calls");
    assert!(t.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    assert!(store.evidence_search(&among(vec![])).await.unwrap().is_empty());
    let (seq, _) = store.evidence_head().await.unwrap();
    assert_eq!(seq, 6, "request, grant, revocation and three calls");
    let before_4 = tongshu_store::EvidenceFilter { before_seq: Some(4), limit: 100, ..Default::default() };
    let older: Vec<i64> = store.evidence_search(&before_4).await.unwrap().iter().map(|r| r.seq).collect();
    assert_eq!(older, [3, 2, 1], "paging back: the records before 4, newest first");

    // A stored scope, list or status that does not decode is an error wherever the record
    // is read, never "no scope" (every row) or "no items".
    for (column, text) in [("row_filter", "{not json"), ("items", "姓名"), ("clear_items", ""), ("status", "Active")]
    {
        let fresh = store.create_grant(&grant, Some(uid), ev("grant")).await.unwrap();
        let sql = format!("UPDATE grants SET {column} = '{text}' WHERE id = {fresh}");
        tongshu_store::testing::execute(&store, &sql).await.unwrap();
        let err = store.grant(fresh).await.unwrap_err();
        assert!(matches!(&err, StoreError::Corrupt(m) if m.contains(&format!("grant {fresh}, {column}"))), "{err}");
        // (A status that is not 'active' is not a live grant at all.)
        assert!(column == "status" || store.grants_for(other.id, e.id).await.is_err(), "{column}");
        assert!(store.grants_list(Some(other.id), None).await.is_err(), "{column}");
        let repair = format!(
            "UPDATE grants SET row_filter = NULL, items = '[]', clear_items = '[]', status = 'revoked' WHERE id = {fresh}"
        );
        tongshu_store::testing::execute(&store, &repair).await.unwrap();
    }
}

async fn channel_pipelines_are_leased_to_one_runner_and_fail_closed(store: MetaStore) {
    use tongshu_store::{ChannelTable, ChannelTableStatus, PipelineReport};
    let org = store
        .insert_org(&Organization {
            id: 0,
            parent_id: None,
            kind: OrgKind::Department,
            name: "市场监管局".into(),
            slug: "scj".into(),
            district_code: "371300".into(),
            credit_code: None,
        })
        .await
        .unwrap();
    let src = store
        .add_source("scj_db", org.id, "postgres", "10.0.0.5", 5432, "scj", "cdc", "sealed", "admin", "+08:00")
        .await
        .unwrap();
    let tables = vec![ChannelTable { source: "public.firms".into(), target: "scj_firms".into(), keys: vec![] }];
    let p = store.add_pipeline("scj", src.id, &tables, 500, 20_000, "admin").await.unwrap();
    assert_eq!((p.state.as_str(), p.tables.clone(), p.paused.clone()), ("new", tables.clone(), None));
    assert!(matches!(store.add_pipeline("scj", src.id, &[], 500, 1, "admin").await, Err(StoreError::Conflict(_))));
    let err = store.add_pipeline("other", src.id, &tables, 500, 1, "admin").await.unwrap_err();
    assert!(err.to_string().contains("already fed by pipeline \"scj\""), "{err}");

    // One runner holds the lease; another takes it only once it has expired.
    let (a, b) =
        tokio::join!(store.lease_pipeline("scj", "a", 1000, 1030), store.lease_pipeline("scj", "b", 1000, 1030));
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|x| **x).count(), 1);
    let holder = store.get_pipeline("scj").await.unwrap().node.unwrap();
    let other = if holder == "a" { "b" } else { "a" };
    assert!(store.lease_pipeline("scj", &holder, 1020, 1050).await.unwrap(), "the holder renews");
    assert!(!store.lease_pipeline("scj", other, 1040, 1070).await.unwrap());
    let report = PipelineReport {
        state: "streaming".into(),
        message: String::new(),
        tables: vec![ChannelTableStatus {
            target: "scj_firms".into(),
            position: Some(42),
            snapshot_rows: 7,
            snapshot_sessions: 1,
            changes: 3,
        }],
        confirmed: Some(42),
        lag_ms: Some(250),
        log_bytes: Some(4096),
    };
    assert!(!store.report_pipeline("scj", other, &report).await.unwrap(), "only the holder reports");
    assert!(store.report_pipeline("scj", &holder, &report).await.unwrap());
    assert!(store.lease_pipeline("scj", other, 1051, 1081).await.unwrap(), "an expired lease is taken over");
    // The new holder shows as starting at once; the positions last reported stay.
    let got = store.get_pipeline("scj").await.unwrap();
    assert_eq!(
        (got.state.as_str(), got.confirmed, got.table_status.clone()),
        ("starting", Some(42), report.tables.clone())
    );
    assert!(store.lease_pipeline("scj", other, 1060, 1090).await.unwrap());
    assert!(store.report_pipeline("scj", other, &report).await.unwrap());
    assert!(store.lease_pipeline("scj", other, 1070, 1100).await.unwrap(), "the holder renews");
    assert_eq!(store.get_pipeline("scj").await.unwrap().state, "streaming", "a renewal keeps the state");
    assert_eq!(got.log_bytes, Some(4096));
    // A report without a new measurement of the source's log keeps the last one.
    let quiet = PipelineReport { log_bytes: None, ..report.clone() };
    assert!(store.report_pipeline("scj", other, &quiet).await.unwrap());
    assert_eq!(store.get_pipeline("scj").await.unwrap().log_bytes, Some(4096));
    store.release_pipeline("scj", other).await.unwrap();

    // Measurements for the charts: a day is kept, oldest first.
    use tongshu_store::ChannelSample;
    for (at, changes) in [(1000, 0), (100_000, 10), (100_010, 25)] {
        let s = ChannelSample { at, lag_ms: Some(at / 100), changes, log_bytes: None };
        store.add_channel_sample("scj", &s).await.unwrap();
    }
    let got = store.channel_samples("scj", 0).await.unwrap();
    assert_eq!(got.iter().map(|s| (s.at, s.changes)).collect::<Vec<_>>(), vec![(100_000, 10), (100_010, 25)]);
    assert_eq!(store.channel_samples("scj", 100_005).await.unwrap().len(), 1);

    // An operator's request for a new snapshot stays until the runner clears it.
    assert!(!store.get_pipeline("scj").await.unwrap().resnapshot);
    store.set_pipeline_resnapshot("scj", true).await.unwrap();
    assert!(store.get_pipeline("scj").await.unwrap().resnapshot);
    store.set_pipeline_resnapshot("scj", false).await.unwrap();
    assert!(matches!(store.set_pipeline_resnapshot("nosuch", true).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.get_pipeline("scj").await.unwrap().node, None);

    store.set_pipeline_paused("scj", Some("held by an operator"), false).await.unwrap();
    assert_eq!(store.get_pipeline("scj").await.unwrap().paused.as_deref(), Some("held by an operator"));
    store.set_pipeline_paused("scj", None, true).await.unwrap();
    let got = store.get_pipeline("scj").await.unwrap();
    assert!(got.paused.is_none() && got.accept_schema);

    // A table list that does not decode is an error, never "no tables".
    tongshu_store::testing::execute(&store, "UPDATE channel_pipelines SET tables = '{oops' WHERE name = 'scj'")
        .await
        .unwrap();
    assert!(matches!(store.get_pipeline("scj").await, Err(StoreError::Corrupt(_))));
    assert!(matches!(store.list_pipelines().await, Err(StoreError::Corrupt(_))));
    store.remove_pipeline("scj").await.unwrap();
    assert!(matches!(store.get_pipeline("scj").await, Err(StoreError::NotFound(_))));
    assert!(store.channel_samples("scj", 0).await.unwrap().is_empty(), "its measurements go with it");
}
