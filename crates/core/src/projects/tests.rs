use super::*;

fn proposal() -> GateFacts {
    GateFacts {
        documents: vec!["proposal".into()],
        name: "城市大脑一期".into(),
        purpose: "汇聚各部门系统".into(),
        budget: 12_000_000,
        funding_source: "市级财政".into(),
        pass_mark: 60.0,
        ..Default::default()
    }
}

#[test]
fn every_step_moves_along_the_lifecycle_only() {
    use Stage::*;
    use Transition::*;
    let path = [
        (Proposal, Submit, Review),
        (Review, CloseReview, Approval),
        (Approval, Approve, Construction),
        (Construction, Complete, Acceptance),
        (Acceptance, Accept, Operation),
        (Operation, StartEvaluation, Evaluation),
        (Evaluation, Rectify, Rectification),
        (Rectification, Fixed, Operation),
        (Operation, Retire, Retired),
    ];
    for (from, t, to) in path {
        assert_eq!(from.after(t), Some(to), "{from:?} {t:?}");
    }
    // Nothing leaves the end states; nothing skips approval.
    for t in Transition::ALL {
        assert_eq!(Retired.after(t), None);
        assert_eq!(Rejected.after(t), None);
    }
    assert_eq!(Proposal.after(Approve), None);
    assert_eq!(Review.after(Approve), None);
    assert_eq!(Construction.after(Accept), None);
    for s in Stage::ALL {
        assert_eq!(Stage::parse(s.as_str()), Some(s));
        assert_eq!(Stage::parse(s.label()), Some(s));
    }
    assert_eq!(Stage::parse("approved"), None);
}

#[test]
fn a_proposal_needs_its_fields_and_its_document() {
    assert_eq!(check_gate(Stage::Proposal, Transition::Submit, &proposal()), Ok(Stage::Review));
    let e = check_gate(
        Stage::Proposal,
        Transition::Submit,
        &GateFacts { budget: 0, name: " ".into(), documents: vec![], ..proposal() },
    )
    .unwrap_err();
    for field in ["name", "budget", "documents.proposal"] {
        assert!(e.get(field).is_some(), "{field}: {e}");
    }
    let e = check_gate(Stage::Proposal, Transition::Accept, &proposal()).unwrap_err();
    assert!(e.get("transition").is_some());
}

#[test]
fn the_review_closes_only_when_every_expert_scored_above_the_mark() {
    let f = GateFacts {
        documents: vec!["review_opinion".into()],
        experts_assigned: 3,
        experts_scored: 2,
        review_score: Some(75.0),
        ..proposal()
    };
    assert!(
        check_gate(Stage::Review, Transition::CloseReview, &f)
            .unwrap_err()
            .get("experts")
            .unwrap()
            .contains("1 位尚未评分")
    );
    let f = GateFacts { experts_scored: 3, review_score: Some(55.0), ..f };
    assert!(check_gate(Stage::Review, Transition::CloseReview, &f).unwrap_err().get("review_score").is_some());
    let f = GateFacts { review_score: Some(75.0), ..f };
    assert_eq!(check_gate(Stage::Review, Transition::CloseReview, &f), Ok(Stage::Approval));
    let f = GateFacts { experts_assigned: 0, experts_scored: 0, review_score: None, ..f };
    assert!(check_gate(Stage::Review, Transition::CloseReview, &f).unwrap_err().get("experts").is_some());
}

#[test]
fn approval_is_gated_by_the_data_sharing_review_and_reuse() {
    let f = GateFacts { documents: vec!["approval".into()], ..proposal() };
    let e = check_gate(Stage::Approval, Transition::Approve, &f).unwrap_err();
    assert!(e.get("data_sharing.produces").is_some() && e.get("data_sharing.consumes").is_some(), "{e}");
    let f = GateFacts { produces: 2, consumption_declared: true, similar_systems: 1, ..f };
    assert!(
        check_gate(Stage::Approval, Transition::Approve, &f)
            .unwrap_err()
            .get("reuse_reason")
            .unwrap()
            .contains("1 个功能相近")
    );
    let f = GateFacts { reuse_reason: true, ..f };
    assert_eq!(check_gate(Stage::Approval, Transition::Approve, &f), Ok(Stage::Construction));
    let f = GateFacts { documents: vec![], ..f };
    assert!(check_gate(Stage::Approval, Transition::Approve, &f).unwrap_err().get("documents.approval").is_some());
}

#[test]
fn acceptance_refuses_promised_data_that_was_never_shared() {
    let f = GateFacts {
        documents: vec!["acceptance".into()],
        checklist_open: vec!["archive".into()],
        promised_not_shared: vec!["企业登记信息".into()],
        ..proposal()
    };
    let e = check_gate(Stage::Acceptance, Transition::Accept, &f).unwrap_err();
    assert!(e.get("checklist.archive").unwrap().contains("档案验收"));
    assert!(e.get("checklist.effectiveness").unwrap().contains("企业登记信息"));
    let f = GateFacts { checklist_open: vec![], promised_not_shared: vec![], ..f };
    assert_eq!(check_gate(Stage::Acceptance, Transition::Accept, &f), Ok(Stage::Operation));
}

#[test]
fn returning_rejecting_and_rectifying_need_a_reason_and_retiring_its_checklist() {
    for (from, t) in [
        (Stage::Review, Transition::Return),
        (Stage::Approval, Transition::Reject),
        (Stage::Operation, Transition::Rectify),
    ] {
        assert!(check_gate(from, t, &proposal()).unwrap_err().get("comment").is_some());
        assert!(check_gate(from, t, &GateFacts { comment: "重复建设".into(), ..proposal() }).is_ok());
    }
    let f = GateFacts {
        documents: vec!["decommission".into()],
        decommission_open: vec!["grants_revoked".into()],
        ..proposal()
    };
    assert!(
        check_gate(Stage::Operation, Transition::Retire, &f).unwrap_err().get("decommission.grants_revoked").is_some()
    );
}

#[test]
fn spreadsheet_words_for_kinds_statuses_and_levels_are_understood() {
    assert_eq!(SystemKind::parse("微信公众号"), Some(SystemKind::Wechat));
    assert_eq!(SystemKind::parse(" 公众号 "), Some(SystemKind::Wechat));
    assert_eq!(SystemKind::parse("门户网站"), Some(SystemKind::Website));
    assert_eq!(SystemKind::parse("OA"), Some(SystemKind::Oa));
    assert_eq!(SystemKind::parse("手机APP"), Some(SystemKind::App));
    assert_eq!(SystemKind::parse("N/A"), None);
    assert_eq!(SystemStatus::parse("使用中"), Some(SystemStatus::InUse));
    assert_eq!(SystemStatus::parse("已停用"), Some(SystemStatus::Stopped));
    assert_eq!(SystemStatus::parse("?"), None);
    assert_eq!(parse_security_level("等保三级"), Some(3));
    assert_eq!(parse_security_level("２级"), Some(2));
    assert_eq!(parse_security_level("六级"), None);
}
