use super::*;
use proptest::prelude::*;

pub(crate) fn sample_input() -> EntryInput {
    EntryInput {
        class: "3".into(),
        item: "01".into(),
        category: "001".into(),
        name: "户籍人口基本信息".into(),
        summary: "全市户籍人口的基本信息".into(),
        format: "数据库".into(),
        items: vec![ItemInput {
            name: "公民身份号码".into(),
            data_type: "字符型".into(),
            length: Some(18),
            ..Default::default()
        }],
        sharing_type: "conditional".into(),
        sharing_condition: Some("仅用于政务服务身份核验".into()),
        sharing_methods: vec!["interface".into()],
        open_type: "not_open".into(),
        update_cycle: "daily".into(),
        grading: "important".into(),
        ..Default::default()
    }
}

#[test]
fn a_complete_entry_validates_and_round_trips_through_its_input() {
    let valid = sample_input().validate().unwrap();
    assert_eq!(valid.classification.code(), "3 01 001");
    assert_eq!(valid.to_input().validate().unwrap(), valid);
}

#[test]
fn conditional_sharing_without_condition_names_the_field() {
    let mut input = sample_input();
    input.sharing_condition = None;
    let errs = input.validate().unwrap_err();
    assert_eq!(errs.get("sharing_condition"), Some("conditional sharing needs the condition text"));
}

#[test]
fn not_shared_needs_legal_basis_and_cannot_be_open() {
    let mut input = sample_input();
    input.sharing_type = "不予共享".into();
    input.open_type = "open".into();
    let errs = input.validate().unwrap_err();
    assert!(errs.get("sharing_legal_basis").is_some());
    assert!(errs.get("open_type").is_some());
}

#[test]
fn every_problem_is_reported_at_once_under_its_field() {
    let input = EntryInput {
        class: "9".into(),
        items: vec![ItemInput { name: "x".into(), data_type: "text".into(), ..Default::default() }],
        related_codes: vec!["nonsense".into()],
        ..Default::default()
    };
    let errs = input.validate().unwrap_err();
    for field in [
        "class",
        "name",
        "summary",
        "format",
        "items[0].length",
        "sharing_type",
        "open_type",
        "update_cycle",
        "grading",
        "related_codes[0]",
    ] {
        assert!(errs.get(field).is_some(), "no error for {field}: {errs}");
    }
}

#[test]
fn lifecycle_allows_only_the_documented_steps() {
    use EntryStatus::*;
    assert_eq!(Draft.after(Transition::Submit), Some(Submitted));
    assert_eq!(Submitted.after(Transition::Approve), Some(Listed));
    assert_eq!(Submitted.after(Transition::Return), Some(Returned));
    assert_eq!(Returned.after(Transition::Submit), Some(Submitted));
    assert_eq!(Returned.after(Transition::Edit), Some(Draft));
    assert_eq!(Listed.after(Transition::Delist), Some(Delisted));
    assert_eq!(Draft.after(Transition::Approve), None);
    assert_eq!(Listed.after(Transition::Edit), None);
    assert_eq!(Delisted.after(Transition::Approve), None);
}

#[test]
fn a_monthly_table_fed_40_days_ago_is_overdue() {
    let now = time::macros::datetime!(2026-11-28 12:00 UTC);
    let last = now - time::Duration::days(40);
    assert_eq!(UpdateCycle::Monthly.freshness(last, now), Freshness::Overdue { days_since: 40, allowed_days: 32 });
    assert_eq!(UpdateCycle::Quarterly.freshness(last, now), Freshness::Fresh { days_since: 40 });
    assert!(matches!(UpdateCycle::Daily.freshness(now - time::Duration::days(3), now), Freshness::Overdue { .. }));
}

#[test]
fn wire_values_are_the_same_in_json_and_in_input() {
    // Regression: serde once wrote `date_time` and `real_time` while input took `datetime`.
    for v in DataType::ALL {
        assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
    }
    for v in UpdateCycle::ALL {
        assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
    }
    let valid = sample_input().validate().unwrap();
    let json = serde_json::to_value(valid.to_input()).unwrap();
    let back: EntryInput = serde_json::from_value(json).unwrap();
    assert_eq!(back.validate().unwrap(), valid);
}

proptest! {
    #[test]
    fn resource_codes_round_trip(class in 1u8..=3, item in 0u32..100, cat in 0u32..1000,
                                 sub in proptest::option::of("[0-9]{1,6}"), seq in 0u32..1_000_000) {
        let c = Classification::parse(&class.to_string(), &format!("{item:02}"), &format!("{cat:03}"),
                                      sub.as_deref()).unwrap();
        let code = ResourceCode::new(&c, seq);
        prop_assert_eq!(ResourceCode::parse(code.as_str()).unwrap(), code);
    }

    #[test]
    fn resource_code_parser_never_panics(s in "\\PC{0,30}") {
        let _ = ResourceCode::parse(&s);
    }
}

#[test]
fn a_real_time_table_is_fresh_by_its_feeds_lag_not_by_days() {
    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(100);
    let last = now - time::Duration::days(10);
    let live = |lag| Some(FeedLag { live: true, lag_seconds: Some(lag) });
    assert!(matches!(UpdateCycle::RealTime.freshness_fed(last, live(2), now), Freshness::Fresh { .. }));
    assert_eq!(
        UpdateCycle::RealTime.freshness_fed(last, live(301), now),
        Freshness::Behind { lag_seconds: Some(301), allowed_seconds: 300 }
    );
    let stopped = Some(FeedLag { live: false, lag_seconds: Some(1) });
    assert_eq!(
        UpdateCycle::RealTime.freshness_fed(now, stopped, now),
        Freshness::Behind { lag_seconds: None, allowed_seconds: 300 }
    );
    // Without a feed, and for other cycles, days count.
    assert!(matches!(UpdateCycle::RealTime.freshness_fed(last, None, now), Freshness::Overdue { .. }));
    assert!(matches!(UpdateCycle::Monthly.freshness_fed(last, stopped, now), Freshness::Fresh { .. }));
}
