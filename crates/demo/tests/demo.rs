//! The demo tables: valid identifiers, linked to their entries, and insured people who died.

use tongshu_core::ids::IdNumber;
use tongshu_lake::{Library, QueryLimits};
use tongshu_library::LibraryService;

#[tokio::test]
async fn demo_tables_are_consistent_linked_and_loaded_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = tongshu_store::testing::sqlite_store(dir.path()).await.unwrap();
    tongshu_demo::seed(&store).await.unwrap();
    let lake = Library::open(dir.path().join("library").to_str().unwrap(), Default::default()).unwrap();
    let library = LibraryService::new(lake.clone(), store.clone());
    let report = tongshu_demo::seed_tables(&store, &library, 600).await.unwrap();
    assert!(report.seeded);
    assert!(report.tables >= 14, "{report:?}");

    let records = store.list_tables().await.unwrap();
    assert_eq!(records.len(), report.tables);
    for r in &records {
        let entry = store.get_entry(r.entry_id.expect("every demo table has its entry")).await.unwrap();
        let items: Vec<&str> = entry.body.items.iter().map(|i| i.name.as_str()).collect();
        let columns: Vec<&str> = r.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(items, columns, "table {} matches the items of {}", r.name, entry.body.name);
    }

    let rows = |sql: &'static str| {
        let lake = lake.clone();
        async move {
            let r = lake.sql(sql, &[], QueryLimits::default()).await.unwrap();
            let mut out = Vec::new();
            for b in &r.batches {
                for i in 0..b.num_rows() {
                    out.push(tongshu_lake::arrow::util::display::array_value_to_string(b.column(0), i).unwrap());
                }
            }
            out
        }
    };
    let info = lake.info("gaj_huji_renkou").await.unwrap();
    let types: Vec<(&str, &str)> = info.columns.iter().map(|c| (c.name.as_str(), c.ty.as_str())).collect();
    assert!(
        types.contains(&("联系电话", "text")) && types.contains(&("出生日期", "date")),
        "types follow the items: {types:?}"
    );
    let ids = rows("SELECT \"公民身份号码\" FROM gaj_huji_renkou").await;
    assert_eq!(ids.len(), 600);
    assert!(ids.iter().all(|id| IdNumber::parse(id).is_ok()), "every ID number is valid");
    let insured_dead = rows(
        "SELECT COUNT(*) FROM ybj_yibao_canbao y JOIN mzj_binzang_huohua m ON y.\"公民身份号码\" = m.\"公民身份号码\"",
    )
    .await;
    let n: u64 = insured_dead[0].parse().unwrap();
    assert!(n > 0, "some insured people are in fact dead");
    let codes = rows("SELECT \"统一社会信用代码\" FROM scjgj_shichang_zhuti").await;
    assert!(codes.iter().all(|c| tongshu_core::ids::CreditCode::parse(c).is_ok()));

    let again = tongshu_demo::seed_tables(&store, &library, 600).await.unwrap();
    assert!(!again.seeded);
}

#[tokio::test]
async fn more_entries_are_listed_across_departments_and_mostly_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = tongshu_store::testing::sqlite_store(dir.path()).await.unwrap();
    tongshu_demo::seed(&store).await.unwrap();
    let listed = |store: tongshu_store::MetaStore| async move {
        let f = tongshu_store::EntryFilter {
            statuses: vec![tongshu_core::catalog::EntryStatus::Listed],
            limit: 1,
            ..Default::default()
        };
        store.list_entries(&f).await.unwrap().total
    };
    let before = listed(store.clone()).await;
    assert_eq!(tongshu_demo::seed_more_entries(&store, 60).await.unwrap(), 60);
    assert_eq!(listed(store.clone()).await, before + 60);
    let f = tongshu_store::EntryFilter { public_only: true, limit: 1000, ..Default::default() };
    let public = store.list_entries(&f).await.unwrap().entries;
    let new: Vec<_> = public.iter().filter(|e| e.body.name.contains('（')).collect();
    assert!(new.len() > 30, "most of the new entries are open: {}", new.len());
    let orgs: std::collections::HashSet<i64> = new.iter().map(|e| e.org_id).collect();
    assert!(orgs.len() > 20, "spread over departments");
}
