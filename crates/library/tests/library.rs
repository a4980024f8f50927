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
    let service = LibraryService::new(lake, store.clone()).with_secret(tongshu_sources::SecretKey::generate());
    Fixture { service, store, dir }
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
            job: None,
            position: None,
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
    // Inferred lengths leave headroom (a ladder step at least twice what the file had).
    assert_eq!(items, [("公民身份号码", "text", Some(50)), ("姓名", "text", Some(50)), ("火化日期", "date", None)]);
    let id_column = record.columns.iter().find(|c| c.name == "公民身份号码").unwrap();
    assert_eq!((id_column.nulls, id_column.distinct), (0, 2));
    assert_eq!(f.service.tables_of_entry(entry.id).await.unwrap()[0].name, "mzj_huohua");
    assert!(matches!(
        entry.body.update_cycle.freshness(record.updated_at, tongshu_core::now()),
        tongshu_core::catalog::Freshness::Fresh { .. }
    ));

    // The entry's item lengths now bound what the table takes.
    let long = format!("公民身份号码,姓名,火化日期\n371302195001011239,{},2024-07-01\n", "长".repeat(51));
    let err = f
        .service
        .ingest(&officer, f.req("mzj_huohua", "long.csv", &long, Mode::Append, false), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the item allows 50"), "{err}");
}

/// Issue 13 §1: the next file after the one that made the table has longer text.
#[tokio::test]
async fn the_next_files_longer_values_fit_and_a_declared_length_is_widened_by_an_edit() {
    let f = fixture().await;
    let officer = f.who("officer.mzj").await;
    let (_, record) =
        f.service.ingest(&officer, f.req("mzj_next", "first.csv", FUNERAL, Mode::Append, true), None).await.unwrap();
    // Four-character and foreign names, "N/A", a long address-like value: all fit.
    let next = "公民身份号码,姓名,火化日期\n\
        371302195001011239,山口盈文,2024-07-01\n\
        371302195001011240,N/A,2024-07-02\n\
        371302195001011241,Alexander Puschkin-Gontscharow,2024-07-03\n";
    let (_, after) =
        f.service.ingest(&officer, f.req("mzj_next", "next.csv", next, Mode::Append, false), None).await.unwrap();
    assert_eq!(after.rows, 5);
    // An upsert that makes a name longer.
    let mut up = f.req(
        "mzj_next",
        "up.csv",
        "公民身份号码,姓名,火化日期\n371302195001011234,张老汉·欧阳长名字,2024-05-01\n",
        Mode::Upsert,
        false,
    );
    up.keys = vec!["公民身份号码".into()];
    let (_, after) = f.service.ingest(&officer, up, None).await.unwrap();
    assert_eq!(after.rows, 5, "updated in place");

    // An officer declares a shorter length (an edit): it holds, and the refusal says which
    // item, the longest value and how to widen it; nothing is committed.
    let entry_id = record.entry_id.unwrap();
    let set_length = |len: u32| {
        let store = f.store.clone();
        async move {
            let mut body = store.get_entry(entry_id).await.unwrap().body;
            body.items.iter_mut().find(|i| i.name == "姓名").unwrap().length = Some(len);
            let uid = store.user_credentials("officer.mzj").await.unwrap().unwrap().0.id;
            store.update_entry(entry_id, uid, EntryStatus::Draft, EntryStatus::Draft, &body).await.unwrap();
        }
    };
    set_length(4).await;
    let version = f.service.lake().info("mzj_next").await.unwrap().version;
    let third = "公民身份号码,姓名,火化日期\n371302195001011242,欧阳长名字,2024-07-04\n371302195001011243,司马相如之,2024-07-05\n";
    let err =
        f.service.ingest(&officer, f.req("mzj_next", "third.csv", third, Mode::Append, false), None).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("\"姓名\"") && msg.contains("up to 5 characters") && msg.contains("allows 4"), "{msg}");
    assert!(msg.contains("widen"), "says how: {msg}");
    assert_eq!(f.service.lake().info("mzj_next").await.unwrap().version, version, "nothing committed");
    // Widening is an edit of the entry only: the table is not rewritten, and the same file ingests.
    set_length(10).await;
    assert_eq!(f.service.lake().info("mzj_next").await.unwrap().version, version, "the edit did not touch the table");
    let (_, after) =
        f.service.ingest(&officer, f.req("mzj_next", "third.csv", third, Mode::Append, false), None).await.unwrap();
    assert_eq!((after.rows, after.version as u64), (7, version + 1));
}

#[test]
fn inferred_lengths_climb_a_ladder() {
    use tongshu_library::length_with_headroom as l;
    assert_eq!(
        (l(1), l(3), l(25), l(26), l(50), l(120), l(1000), l(1001), l(6000)),
        (50, 50, 50, 100, 100, 255, 2000, 10_000, 1_000_000)
    );
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

/// Appends count only their own rows: null counts add up exactly and distinct estimates
/// merge, until the table has grown by a quarter and is counted whole again.
#[tokio::test]
async fn appends_update_column_figures_from_their_own_rows() {
    let f = fixture().await;
    let officer = f.who("officer.mzj").await;
    let rows = |from: u32, to: u32, district: &str| -> String {
        (from..to).map(|i| format!("{i},{},{district}\n", if i % 4 == 0 { "" } else { "某某" })).collect::<String>()
    };
    let header = "编号,姓名,区县\n";
    let first = format!("{header}{}{}", rows(0, 4, "兰山区"), rows(4, 8, "罗庄区"));
    f.service.ingest(&officer, f.req("mzj_fig", "a.csv", &first, Mode::Append, true), None).await.unwrap();
    let column = |r: &tongshu_store::TableRecord, name: &str| {
        let c = r.columns.iter().find(|c| c.name == name).unwrap().clone();
        (c.nulls, c.distinct, c.distinct_rows)
    };

    // One row more (8 → 9, under a quarter): merged from the new row alone.
    let (_, r) = f
        .service
        .ingest(
            &officer,
            f.req("mzj_fig", "b.csv", &format!("{header}{}", rows(8, 9, "河东区")), Mode::Append, false),
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.rows, 9);
    assert_eq!(column(&r, "姓名"), (3, 1, 8), "nulls add up exactly (rows 0, 4 and 8)");
    assert_eq!(column(&r, "编号"), (0, 9, 8), "a column unique in both parts adds up");
    assert_eq!(column(&r, "区县"), (0, 2, 8), "a repeating column keeps the larger estimate until the next count");

    // Two more (→ 11, a quarter over 8): the whole table is counted again.
    let (_, r) = f
        .service
        .ingest(
            &officer,
            f.req("mzj_fig", "c.csv", &format!("{header}{}", rows(9, 11, "河东区")), Mode::Append, false),
            None,
        )
        .await
        .unwrap();
    assert_eq!(column(&r, "区县"), (0, 3, 11));
    assert_eq!(column(&r, "姓名"), (3, 1, 11));

    // Any other mode counts the whole table.
    let (_, r) = f
        .service
        .ingest(
            &officer,
            f.req("mzj_fig", "d.csv", &format!("{header}{}", rows(0, 2, "费县")), Mode::Overwrite, false),
            None,
        )
        .await
        .unwrap();
    assert_eq!((r.rows, column(&r, "区县"), column(&r, "姓名")), (2, (0, 1, 2), (1, 1, 2)));
}

use tongshu_sources::testing::{env_url, exec as source_exec};

/// A department database feeds a library table: registered with a sealed password, pulled
/// incrementally by update time, then upserted by key.
async fn pull_story(url: &str, time_type: &str) {
    let f = fixture().await;
    let officer = f.who("officer.scjgj").await;
    let src_table = format!("licences_{}", std::process::id());
    source_exec(url, &format!("DROP TABLE IF EXISTS {src_table}")).await;
    source_exec(
        url,
        &format!(
            "CREATE TABLE {src_table} (licence_no VARCHAR(20) PRIMARY KEY, firm VARCHAR(100), capital DECIMAL(12,2), updated {time_type});
             INSERT INTO {src_table} VALUES ('L001', '临沂商城有限公司', 100.5, '2026-01-01 08:00:00'), ('L002', '兰山物流', 20, '2026-01-02 08:00:00')"
        ),
    )
    .await;
    let conn = tongshu_sources::Connection::from_url(url).unwrap();
    let mut new = tongshu_library::NewSource {
        name: "scj_licences".into(),
        org_id: None,
        kind: conn.kind.as_str().into(),
        host: conn.host.clone(),
        port: Some(conn.port),
        database: conn.database.clone(),
        username: conn.username.clone(),
        password: "not-the-password".into(),
        time_zone: None,
    };
    let err = f.service.add_source(&officer, new.clone()).await.unwrap_err().to_string();
    assert!(err.contains("cannot connect"), "a wrong password is found at once: {err}");
    new.password = conn.password.clone();
    let source = f.service.add_source(&officer, new).await.unwrap();
    let stored = f.store.get_source("scj_licences").await.unwrap();
    assert!(stored.password_sealed.starts_with("sm4gcm:") && !stored.password_sealed.contains(&conn.password));
    assert_eq!(source.org_id, officer.org_id);

    let spec = tongshu_library::PullSpec {
        name: "licences".into(),
        source: "scj_licences".into(),
        table: "scj_licences".into(),
        query: format!("SELECT licence_no, firm, capital, updated FROM {src_table}"),
        mode: Mode::Upsert,
        keys: vec!["licence_no".into()],
        incremental_column: Some("updated".into()),
        every_minutes: Some(60),
    };
    let bad = tongshu_library::PullSpec { query: "DELETE FROM x".into(), ..spec.clone() };
    assert!(f.service.add_pull(&officer, bad).await.is_err());
    let stranger = f.who("officer.gaj").await;
    assert!(matches!(f.service.add_pull(&stranger, spec.clone()).await, Err(LibraryError::Forbidden(_))));
    f.service.add_pull(&officer, spec).await.unwrap();

    let (report, record) = f.service.run_pull(&officer, "licences", Default::default()).await.unwrap();
    assert!(report.created);
    assert_eq!((record.rows, report.rows_read), (2, 2));
    let entry = f.store.get_entry(record.entry_id.unwrap()).await.unwrap();
    assert_eq!(entry.status, EntryStatus::Draft, "a new table gets a draft entry");
    let types: Vec<(&str, &str)> = record.columns.iter().map(|c| (c.name.as_str(), c.ty.as_str())).collect();
    assert_eq!(
        types,
        [("licence_no", "text"), ("firm", "text"), ("capital", "decimal(12,2)"), ("updated", "datetime")]
    );
    let mark = f.store.get_pull("licences").await.unwrap().high_water.unwrap();
    assert!(mark.starts_with("2026-01-02"), "{mark}");

    // One row changes, one arrives: the next pull reads only those two and upserts them.
    source_exec(
        url,
        &format!(
            "UPDATE {src_table} SET capital = 300, updated = '2026-02-01 09:00:00' WHERE licence_no = 'L001';
             INSERT INTO {src_table} VALUES ('L003', '河东农机', 5, '2026-02-02 10:00:00')"
        ),
    )
    .await;
    let (report, record) = f.service.run_pull(&officer, "licences", Default::default()).await.unwrap();
    assert_eq!((report.rows_read, report.rows_updated, report.rows_written), (2, 1, 1));
    assert_eq!(record.rows, 3);
    let result = f
        .service
        .lake()
        .sql("SELECT capital FROM scj_licences WHERE licence_no = 'L001'", &[], Default::default())
        .await
        .unwrap();
    // Money stays exact: the Delta column is decimal(12,2), not a double.
    let capital = tongshu_lake::arrow::util::display::array_value_to_string(result.batches[0].column(0), 0).unwrap();
    assert_eq!(capital, "300.00");
    assert!(matches!(
        result.batches[0].column(0).data_type(),
        tongshu_lake::arrow::datatypes::DataType::Decimal128(12, 2)
    ));
    let pull = f.store.get_pull("licences").await.unwrap();
    assert!(pull.high_water.as_deref().unwrap().starts_with("2026-02-02"));
    assert_eq!(pull.last_status.as_deref(), Some("succeeded"));

    // A pull that fails (the source table is gone) changes nothing and keeps the mark.
    source_exec(url, &format!("DROP TABLE {src_table}")).await;
    let err = f.service.run_pull(&officer, "licences", Default::default()).await.unwrap_err().to_string();
    assert!(err.contains(&src_table), "{err}");
    let after = f.store.get_pull("licences").await.unwrap();
    assert_eq!(after.last_status.as_deref(), Some("failed"));
    assert_eq!(after.high_water, pull.high_water);
    assert_eq!(f.service.lake().info("scj_licences").await.unwrap().version, 2);

    // The schedule starts the pull again once its hour has passed, as a job.
    let schedule = tongshu_library::Schedule {
        upkeep_every: None,
        vacuum_retention_hours: 168,
        tick: std::time::Duration::from_secs(60),
    };
    let now = tongshu_core::now();
    assert!(f.service.run_due(&schedule, now).await.unwrap().jobs.is_empty(), "ran a moment ago");
    let later = now + time::Duration::minutes(61);
    let jobs = f.service.run_due(&schedule, later).await.unwrap().jobs;
    assert_eq!(jobs.len(), 1);
    let job = f.service.wait_for_job(jobs[0], std::time::Duration::from_secs(30)).await.unwrap();
    assert_eq!((job.kind.as_str(), job.status.as_str()), ("pull", "failed"));
    assert!(job.error.unwrap().contains(&src_table));
}

#[tokio::test]
async fn scheduled_upkeep_compacts_every_table_once_per_period() {
    let f = fixture().await;
    let officer = f.who("officer.mzj").await;
    f.service.ingest(&officer, f.req("mzj_a", "a.csv", "编号\n1\n", Mode::Append, true), None).await.unwrap();
    for i in 2..5 {
        let csv = format!("编号\n{i}\n");
        f.service.ingest(&officer, f.req("mzj_a", "a.csv", &csv, Mode::Append, false), None).await.unwrap();
    }
    assert_eq!(f.store.get_table("mzj_a").await.unwrap().unwrap().files, 4);
    let schedule = tongshu_library::Schedule {
        upkeep_every: Some(std::time::Duration::from_secs(24 * 3600)),
        vacuum_retention_hours: 0,
        tick: std::time::Duration::from_secs(60),
    };
    let now = tongshu_core::now();
    f.service.run_due(&schedule, now).await.unwrap();
    assert_eq!(f.store.get_table("mzj_a").await.unwrap().unwrap().files, 4, "the first period only starts");
    f.service.run_due(&schedule, now + time::Duration::hours(25)).await.unwrap();
    let record = f.store.get_table("mzj_a").await.unwrap().unwrap();
    assert_eq!((record.files, record.rows), (1, 4), "compacted into one file, nothing lost");
    let version = record.version;
    f.service.run_due(&schedule, now + time::Duration::hours(26)).await.unwrap();
    assert_eq!(f.store.get_table("mzj_a").await.unwrap().unwrap().version, version, "not again within the period");
}

#[tokio::test]
async fn a_postgres_database_feeds_a_table_incrementally() {
    let Some(url) = env_url("TONGSHU_TEST_POSTGRES_URL") else { return };
    pull_story(&url, "TIMESTAMP").await;
}

#[tokio::test]
async fn a_mariadb_database_feeds_a_table_incrementally() {
    let Some(url) = env_url("TONGSHU_TEST_MYSQL_URL") else { return };
    pull_story(&url, "DATETIME").await;
}

#[tokio::test]
async fn long_ingests_run_as_jobs_whose_status_and_report_stay_readable() {
    let f = fixture().await;
    let officer = f.who("officer.mzj").await;
    let mut csv = String::from("编号,名称\n");
    for i in 0..50_000 {
        csv.push_str(&format!("{i},名称{i}\n"));
    }
    let req = f.req("mzj_big", "big.csv", &csv, Mode::Append, true);
    let file = req.file.clone();
    let job = f
        .service
        .submit(
            &officer,
            tongshu_library::JobSpec::Ingest { req: Box::new(req), org_id: None, entry_id: None, remove_file: true },
        )
        .await
        .unwrap();
    assert!(job.status == "queued" || job.status == "running");
    let done = f.service.wait_for_job(job.id, std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(done.status, "succeeded", "{:?}", done.error);
    assert_eq!(done.rows_done, 50_000);
    assert_eq!(done.report.as_ref().unwrap()["rows_written"], 50_000);
    assert!(!file.exists(), "the upload's temporary copy is removed");
    assert_eq!(f.service.jobs(&officer, 10).await.unwrap()[0].id, job.id);
    let other = f.who("officer.gaj").await;
    assert!(f.service.job(&other, job.id).await.is_err(), "other departments do not see the job");

    // A refused ingest: the job fails and its report names the bad row.
    let req = f.req("mzj_big", "bad.csv", "编号,名称\n1,a\nx,b\n", Mode::Append, false);
    let job = f
        .service
        .submit(
            &officer,
            tongshu_library::JobSpec::Ingest { req: Box::new(req), org_id: None, entry_id: None, remove_file: false },
        )
        .await
        .unwrap();
    let done = f.service.wait_for_job(job.id, std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(done.status, "failed");
    assert!(done.error.unwrap().contains("row 3"));
    assert_eq!(done.report.unwrap()["bad_row_samples"][0]["column"], "编号");
    assert_eq!(f.service.lake().info("mzj_big").await.unwrap().rows, 50_000, "nothing was added");
}

/// A second node of the same platform: its own service (own node name) on the same store
/// and library.
fn second_node(f: &Fixture) -> LibraryService {
    let lake = Library::open(f.dir.path().join("library").to_str().unwrap(), HashMap::new()).unwrap();
    LibraryService::new(lake, f.store.clone()).with_secret(tongshu_sources::SecretKey::generate())
}

#[tokio::test]
async fn a_stopped_nodes_jobs_are_finished_once_by_another_and_live_ones_are_left_alone() {
    let f = fixture().await;
    let officer = f.who("officer.mzj").await;
    f.service.ingest(&officer, f.req("mzj_jobs", "a.csv", "编号\n1\n", Mode::Append, true), None).await.unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // Jobs as a node files them (the request as `submit` records it), held by "dead" whose
    // lease ran out, and by "alive" whose lease holds.
    let file = f.dir.path().join("b.csv");
    std::fs::write(&file, "编号\n2\n3\n").unwrap();
    let request = serde_json::json!({"file": "b.csv", "path": file.display().to_string(), "mode": "append",
        "keys": [], "on_bad_rows": "reject", "create": false, "entry_id": null, "org_id": null, "remove_file": false});
    let add = |node: &'static str, lease: i64| {
        let (store, request) = (f.store.clone(), request.clone());
        async move {
            store
                .add_job("ingest", "mzj_jobs", "officer.mzj", officer_org(&store).await, &request, None, node, lease)
                .await
                .unwrap()
        }
    };
    let orphan = add("dead", now - 5).await;
    let alive = add("alive", now + 600).await;
    // Starting another node (and its schedule) does not fail the live node's job.
    let b = second_node(&f);
    let (taken_b, taken_a) = tokio::join!(b.adopt_orphaned_jobs(), f.service.adopt_orphaned_jobs());
    let (taken_b, taken_a) = (taken_b.unwrap(), taken_a.unwrap());
    let mut taken = [taken_a.clone(), taken_b.clone()].concat();
    taken.sort();
    assert_eq!(taken, [orphan.id], "the orphan is taken by exactly one node: {taken_a:?} {taken_b:?}");
    let done = b.wait_for_job(orphan.id, std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!((done.status.as_str(), done.attempts), ("succeeded", 2), "{:?}", done.error);
    assert_eq!(f.service.lake().info("mzj_jobs").await.unwrap().rows, 3, "its rows once");
    assert_eq!(f.store.get_job(alive.id).await.unwrap().status, "queued", "the live node's job is untouched");
    assert!(b.adopt_orphaned_jobs().await.unwrap().is_empty(), "nothing twice");

    // A job whose node committed and then stopped before recording it: done, not redone.
    let committed = add("dead", now - 5).await;
    let mut req = f.req("mzj_jobs", "c.csv", "编号\n4\n", Mode::Append, false);
    req.job = Some(committed.id);
    f.service.lake().ingest(req).await.unwrap();
    assert_eq!(b.adopt_orphaned_jobs().await.unwrap(), [committed.id]);
    let done = f.store.get_job(committed.id).await.unwrap();
    assert_eq!(done.status, "succeeded");
    assert_eq!(f.service.lake().info("mzj_jobs").await.unwrap().rows, 4, "not ingested twice");

    // A job whose file was on the stopped node: failed, saying so.
    let mut lost = request.clone();
    lost["path"] = serde_json::json!("/nonexistent/upload.csv");
    let lost = f.store.add_job("ingest", "mzj_jobs", "officer.mzj", officer.org_id, &lost, None, "dead", now - 5);
    let lost = lost.await.unwrap();
    b.adopt_orphaned_jobs().await.unwrap();
    let done = f.store.get_job(lost.id).await.unwrap();
    assert_eq!(done.status, "failed");
    assert!(done.error.unwrap().contains("not reachable from this node"));
}

async fn officer_org(store: &MetaStore) -> i64 {
    store.get_org_by_slug("mzj").await.unwrap().id
}

#[tokio::test]
async fn a_due_upkeep_runs_on_one_node_only() {
    let f = fixture().await;
    let officer = f.who("officer.mzj").await;
    f.service.ingest(&officer, f.req("mzj_u", "a.csv", "编号\n1\n", Mode::Append, true), None).await.unwrap();
    f.service.ingest(&officer, f.req("mzj_u", "a.csv", "编号\n2\n", Mode::Append, false), None).await.unwrap();
    let schedule = tongshu_library::Schedule {
        upkeep_every: Some(std::time::Duration::from_secs(3600)),
        vacuum_retention_hours: 0,
        tick: std::time::Duration::from_secs(60),
    };
    let now = tongshu_core::now();
    f.service.run_due(&schedule, now).await.unwrap();
    let before = f.store.get_table("mzj_u").await.unwrap().unwrap().version;
    let b = second_node(&f);
    let later = now + time::Duration::hours(2);
    let (x, y) = tokio::join!(f.service.run_due(&schedule, later), b.run_due(&schedule, later));
    let ran = [x.unwrap().upkeep.is_some(), y.unwrap().upkeep.is_some()];
    assert_eq!(ran.iter().filter(|r| **r).count(), 1, "one node runs the due upkeep: {ran:?}");
    let history = f.service.lake().history("mzj_u").await.unwrap();
    let compactions = history.iter().filter(|v| v.version as i64 > before && v.operation == "OPTIMIZE").count();
    assert_eq!(compactions, 1, "one compaction: {history:?}");
}
