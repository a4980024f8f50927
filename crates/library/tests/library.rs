//! The library service on the demo city: who may feed which table, and what is recorded.

use std::collections::HashMap;

use tongshu_core::catalog::EntryStatus;
use tongshu_core::policy::Principal;
use tongshu_lake::{BadRowPolicy, IngestRequest, Library, Mode};
use tongshu_library::{LibraryError, LibraryService};
use tongshu_store::MetaStore;

struct Fixture {
    dir: tempfile::TempDir,
    store: MetaStore,
    service: LibraryService,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = tongshu_store::testing::sqlite_store(dir.path()).await.unwrap();
    tongshu_demo::seed(&store).await.unwrap();
    let lake = Library::open(dir.path().join("library").to_str().unwrap(), HashMap::new()).unwrap();
    Fixture { service: LibraryService::new(lake, store.clone()), store, dir }
}

impl Fixture {
    async fn who(&self, username: &str) -> Principal {
        self.store.user_credentials(username).await.unwrap().unwrap().0.principal()
    }

    fn req(&self, table: &str, name: &str, csv: &str, mode: Mode, create: bool) -> IngestRequest {
        let file = self.dir.path().join(name);
        std::fs::write(&file, csv).unwrap();
        IngestRequest {
            table: table.into(),
            file,
            source: Default::default(),
            mode,
            keys: vec![],
            on_bad_rows: BadRowPolicy::Reject,
            create,
            max_lengths: HashMap::new(),
            user: String::new(),
            progress: Default::default(),
            rows: None,
        }
    }
}

const FUNERAL: &str =
    "公民身份号码,姓名,火化日期\n371302195001011234,张老汉,2024-05-01\n371311194802022345,李大娘,2024-06-11\n";

#[tokio::test]
async fn an_officer_creates_a_table_and_a_draft_entry_describing_it() {
    let f = fixture().await;
    let officer = f.who("officer.mzj").await;
    let (report, record) = f
        .service
        .ingest(&officer, f.req("mzj_huohua", "殡葬火化记录.csv", FUNERAL, Mode::Append, true), None)
        .await
        .unwrap();
    assert!(report.created);
    assert_eq!((record.rows, record.version), (2, 1));
    let entry = f.store.get_entry(record.entry_id.unwrap()).await.unwrap();
    assert_eq!(entry.status, EntryStatus::Draft);
    assert_eq!(entry.org_name, "临沂市民政局");
    assert_eq!(entry.body.name, "殡葬火化记录", "named after the file");
    let items: Vec<(&str, &str, Option<u32>)> =
        entry.body.items.iter().map(|i| (i.name.as_str(), i.data_type.as_str(), i.length)).collect();
    assert_eq!(items, [("公民身份号码", "text", Some(18)), ("姓名", "text", Some(3)), ("火化日期", "date", None)]);
    let id_column = record.columns.iter().find(|c| c.name == "公民身份号码").unwrap();
    assert_eq!((id_column.nulls, id_column.distinct), (0, 2));
    assert_eq!(f.service.tables_of_entry(entry.id).await.unwrap()[0].name, "mzj_huohua");
    assert!(matches!(
        entry.body.update_cycle.freshness(record.updated_at, tongshu_core::now()),
        tongshu_core::catalog::Freshness::Fresh { .. }
    ));

    // The entry's item lengths now bound what the table takes.
    let long = "公民身份号码,姓名,火化日期\n371302195001011239,欧阳长名字,2024-07-01\n";
    let err =
        f.service.ingest(&officer, f.req("mzj_huohua", "long.csv", long, Mode::Append, false), None).await.unwrap_err();
    assert!(err.to_string().contains("the item allows 3"), "{err}");
}

#[tokio::test]
async fn only_the_owning_department_and_administrators_feed_a_table() {
    let f = fixture().await;
    let officer = f.who("officer.mzj").await;
    f.service.ingest(&officer, f.req("mzj_huohua", "a.csv", FUNERAL, Mode::Append, true), None).await.unwrap();
    let more = "公民身份号码,姓名,火化日期\n371312193003033456,王大爷,2024-08-01\n";

    let other = f.who("officer.gaj").await;
    let err =
        f.service.ingest(&other, f.req("mzj_huohua", "b.csv", more, Mode::Append, false), None).await.unwrap_err();
    assert!(matches!(err, LibraryError::Forbidden(_)), "{err}");
    let consumer = f.who("consumer.ybj").await;
    assert!(matches!(
        f.service.ingest(&consumer, f.req("x_new", "c.csv", more, Mode::Append, true), None).await,
        Err(LibraryError::Forbidden(_))
    ));
    let mzj = f.store.get_org_by_slug("mzj").await.unwrap().id;
    assert!(
        matches!(
            f.service.ingest(&other, f.req("y_new", "d.csv", more, Mode::Append, true), Some(mzj)).await,
            Err(LibraryError::Forbidden(_))
        ),
        "officers create tables only for their own organization"
    );
    assert_eq!(f.service.lake().info("mzj_huohua").await.unwrap().rows, 2, "refused ingests change nothing");

    let admin = f.who("admin").await;
    let (_, record) =
        f.service.ingest(&admin, f.req("mzj_huohua", "e.csv", more, Mode::Append, false), None).await.unwrap();
    assert_eq!(record.rows, 3);
    assert_eq!(f.service.list().await.unwrap().len(), 1);
}
