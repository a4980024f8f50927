//! The store suite's cases for IT projects and the system inventory (issue 16).

use tongshu_core::org::{OrgKind, Organization};
use tongshu_store::{MetaStore, StoreError};

async fn dept(store: &MetaStore, slug: &str) -> Organization {
    store
        .insert_org(&Organization {
            id: 0,
            parent_id: None,
            kind: OrgKind::Department,
            name: format!("部门{slug}"),
            slug: slug.into(),
            district_code: "371300".into(),
            credit_code: None,
        })
        .await
        .unwrap()
}

pub async fn a_project_moves_only_from_where_it_stands_and_fails_closed(store: MetaStore) {
    use tongshu_core::projects::Stage;
    use tongshu_store::NewProject;
    let org = dept(&store, "xm").await;
    let new = NewProject {
        code: "XM-2026-0001".into(),
        name: "城市大脑".into(),
        org_id: org.id,
        year: 2026,
        purpose: "整合".into(),
        budget: 1_000_000,
        funding_source: "财政".into(),
        builds: vec!["城市大脑中枢".into()],
        reuses: vec![],
        created_by: "officer".into(),
    };
    let p = store.insert_project(&new).await.unwrap();
    assert_eq!((p.stage, p.consumes.clone()), (Stage::Proposal, None));
    assert!(matches!(store.insert_project(&new).await, Err(StoreError::Conflict(_))));
    // Two reviewers move it at once: one wins, and the history has one step.
    let (a, b) = tokio::join!(
        store.move_project(p.id, Stage::Proposal, Stage::Review, "submit", "a", "", Some("2026-12-31")),
        store.move_project(p.id, Stage::Proposal, Stage::Review, "submit", "b", "", Some("2026-12-31"))
    );
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|x| **x).count(), 1);
    let events = store.project_events(p.id).await.unwrap();
    assert_eq!(events.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["create", "submit"]);
    assert_eq!(store.get_project(p.id).await.unwrap().stage_due.as_deref(), Some("2026-12-31"));
    // A proposal is edited only as a proposal.
    assert_eq!(p.builds, ["城市大脑中枢"]);
    assert!(matches!(store.update_proposal(p.id, &new).await, Err(StoreError::Conflict(_))));
    // The registration is replaced whole; a milestone's old plan is kept when re-baselined.
    store.set_project_data(p.id, &[], &[], "无").await.unwrap();
    assert_eq!(store.get_project(p.id).await.unwrap().consumes, Some(vec![]));
    let m = store.add_milestone(p.id, "上线", "2026-06-30", 500).await.unwrap();
    store.rebaseline(m.id, "2026-09-30", 600, "延期", "admin").await.unwrap();
    let m = store.get_milestone(m.id).await.unwrap();
    assert_eq!((m.planned_on.as_str(), m.planned_cost, m.baseline), ("2026-09-30", 600, 1));
    let old = store.baselines(m.id).await.unwrap();
    assert_eq!((old[0].planned_on.as_str(), old[0].planned_cost, old[0].reason.as_str()), ("2026-06-30", 500, "延期"));
    // Stored values that do not decode are errors, never a default.
    tongshu_store::testing::execute(&store, &format!("UPDATE projects SET stage = 'approved' WHERE id = {}", p.id))
        .await
        .unwrap();
    assert!(matches!(store.get_project(p.id).await, Err(StoreError::Corrupt(_))));
    tongshu_store::testing::execute(
        &store,
        &format!("UPDATE projects SET stage = 'review', checklist = '[' WHERE id = {}", p.id),
    )
    .await
    .unwrap();
    assert!(matches!(store.list_projects(None).await, Err(StoreError::Corrupt(_))));
}

pub async fn systems_import_all_or_none_and_tickets_close_once(store: MetaStore) {
    use tongshu_core::projects::zombie::{Finding, Severity};
    use tongshu_core::projects::{SystemKind, SystemStatus};
    use tongshu_store::NewSystem;
    let org = dept(&store, "xt").await;
    let sys = |name: &str| NewSystem {
        name: name.into(),
        kind: Some(SystemKind::Website),
        org_id: org.id,
        ..Default::default()
    };
    let added = store.insert_systems(&[sys("门户"), sys("邮箱")]).await.unwrap();
    assert_eq!(added.len(), 2);
    // One name already there: none of the batch is recorded, and the error names it.
    let err = store.insert_systems(&[sys("办公"), sys("门户")]).await.unwrap_err();
    assert!(err.to_string().contains("门户"), "{err}");
    assert_eq!(store.list_systems(Some(org.id)).await.unwrap().len(), 2);
    let id = added[0].id;
    let findings = vec![Finding { rule: "silent".into(), severity: Severity::Zombie, evidence: "x".into() }];
    let (t, new) = store.open_ticket(id, Severity::Zombie, &findings, "2027-01-01").await.unwrap();
    assert!(new);
    let (again, new) = store.open_ticket(id, Severity::Zombie, &findings, "2027-01-01").await.unwrap();
    assert!(!new && again.id == t.id, "one open ticket per system");
    assert_eq!(store.get_system(id).await.unwrap().status, SystemStatus::Rectifying);
    let (a, b) = tokio::join!(
        store.close_ticket(t.id, "stopped", "", None, "a"),
        store.close_ticket(t.id, "fixed", "", None, "b")
    );
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|x| **x).count(), 1, "closed once");
    let status = store.get_system(id).await.unwrap().status;
    assert!(matches!(status, SystemStatus::Stopped | SystemStatus::InUse));
    // Probes are kept once per system, URL and second.
    let probe = tongshu_store::ProbeRecord {
        system_id: id,
        url: "http://x/".into(),
        at: 100,
        ok: 1,
        status: Some(200),
        ms: 5,
        page_hash: None,
    };
    store.add_probe(&probe).await.unwrap();
    store.add_probe(&probe).await.unwrap();
    assert_eq!(store.probes_since(id, 0).await.unwrap().len(), 1);
    tongshu_store::testing::execute(&store, &format!("UPDATE info_systems SET kind = 'spaceship' WHERE id = {id}"))
        .await
        .unwrap();
    assert!(matches!(store.get_system(id).await, Err(StoreError::Corrupt(_))));
}
