//! The resource library suite: real Delta tables in a temporary directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use deltalake::arrow::util::display::array_value_to_string;
use tongshu_lake::{
    BadRowPolicy, IngestRequest, LakeError, Library, Mode, QueryLimits, RowQuery, SourceOptions, encoding_named,
};

struct Fixture {
    dir: tempfile::TempDir,
    lib: Library,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let lib = Library::open(dir.path().join("library").to_str().unwrap(), HashMap::new()).unwrap();
    Fixture { dir, lib }
}

impl Fixture {
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn req(&self, table: &str, file: &Path, mode: Mode) -> IngestRequest {
        IngestRequest {
            table: table.into(),
            file: file.to_owned(),
            source: Default::default(),
            mode,
            keys: vec![],
            on_bad_rows: BadRowPolicy::Reject,
            create: false,
            max_lengths: HashMap::new(),
            user: "tester".into(),
            progress: Default::default(),
            rows: None,
            job: None,
            position: None,
        }
    }

    async fn create(&self, table: &str, file: &Path) -> tongshu_lake::IngestReport {
        self.lib.ingest(IngestRequest { create: true, ..self.req(table, file, Mode::Append) }).await.unwrap()
    }

    /// The rows of a query as strings, one line per row, columns joined by `|`.
    async fn rows(&self, sql: &str) -> Vec<String> {
        self.rows_at(sql, &[]).await
    }

    async fn rows_at(&self, sql: &str, versions: &[(String, u64)]) -> Vec<String> {
        let r = self.lib.sql(sql, versions, QueryLimits::default()).await.unwrap();
        lines(&r.batches)
    }
}

/// Rows as strings, one line per row, columns joined by `|`.
fn lines(batches: &[deltalake::arrow::record_batch::RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let cells: Vec<String> = b.columns().iter().map(|c| array_value_to_string(c, i).unwrap()).collect();
            out.push(cells.join("|"));
        }
    }
    out
}

const PEOPLE: &str = "身份证号,姓名,年龄,工资,出生日期,登记时间,在职\n\
371302199001011234,张三,34,8500.5,1990-01-01,2024-03-01 08:30:00,是\n\
371311198502022345,李四,39,12000,1985/2/2,2024-03-02 09:00:00,否\n\
371312200003033456,王五,,6000.25,20000303,2024-03-03T10:00:00+08:00,是\n";

#[tokio::test]
async fn time_travel_and_restore() {
    let f = fixture();
    let v1 = f.file("v1.csv", "id,x\n1,a\n".as_bytes());
    f.create("tt", &v1).await;
    let v2 = f.file("v2.csv", "id,x\n2,b\n".as_bytes());
    f.lib.ingest(f.req("tt", &v2, Mode::Append)).await.unwrap();
    let v3 = f.file("v3.csv", "id,x\n3,c\n".as_bytes());
    f.lib.ingest(f.req("tt", &v3, Mode::Overwrite)).await.unwrap();
    assert_eq!(f.rows("SELECT id FROM tt").await, ["3"]);
    assert_eq!(f.rows_at("SELECT id FROM tt ORDER BY id", &[("tt".into(), 2)]).await, ["1", "2"]);
    assert_eq!(f.rows_at("SELECT id FROM tt", &[("tt".into(), 1)]).await, ["1"]);
    let v = f.lib.restore("tt", 2).await.unwrap();
    assert_eq!(v, 4);
    assert_eq!(f.rows("SELECT id FROM tt ORDER BY id").await, ["1", "2"]);
    assert!(f.lib.restore("tt", 9).await.is_err());
}

#[tokio::test]
async fn pages_of_rows_are_filtered_sorted_and_counted_without_sql_text() {
    let f = fixture();
    f.create("people", &f.file("people.csv", PEOPLE.as_bytes())).await;
    let q = |edit: &dyn Fn(&mut RowQuery)| {
        let mut q = RowQuery { table: "people".into(), limit: 10, total: true, ..Default::default() };
        edit(&mut q);
        q
    };
    let page = f.lib.rows(&q(&|_| {})).await.unwrap();
    assert_eq!((page.total, page.fields.len()), (Some(3), 7));
    let page = f
        .lib
        .rows(&q(&|q| {
            q.columns = Some(vec!["姓名".into(), "年龄".into()]);
            q.equals = vec![("在职".into(), vec!["是".into()])];
            q.sort = vec![("姓名".into(), true)];
        }))
        .await
        .unwrap();
    assert_eq!(page.total, Some(2));
    assert_eq!(lines(&page.batches), ["王五|", "张三|34"]);
    let page = f.lib.rows(&q(&|q| q.equals = vec![("年龄".into(), vec!["34".into(), "39".into()])])).await.unwrap();
    assert_eq!(page.total, Some(2), "values of one filter are alternatives");
    let page = f.lib.rows(&q(&|q| q.text = Some("李".into()))).await.unwrap();
    assert_eq!((page.total, lines(&page.batches)[0].starts_with("371311")), (Some(1), true));
    let page = f
        .lib
        .rows(&q(&|q| {
            q.sort = vec![("年龄".into(), false)];
            q.offset = 1;
            q.limit = 1;
            q.columns = Some(vec!["年龄".into()]);
        }))
        .await
        .unwrap();
    assert_eq!(lines(&page.batches), ["39"], "nulls last, then paged");
    let page = f
        .lib
        .rows(&q(&|q| {
            q.columns = Some(vec!["在职".into()]);
            q.distinct = true;
        }))
        .await
        .unwrap();
    assert_eq!(page.total, Some(2));
    // Bad names and values are refused by name; a value that looks like SQL is only a value.
    for (edit, expected) in [
        (&(|q: &mut RowQuery| q.columns = Some(vec!["nope".into()])) as &dyn Fn(&mut RowQuery), "\"nope\""),
        (&|q: &mut RowQuery| q.equals = vec![("年龄".into(), vec!["1 OR 1=1".into()])], "年龄"),
        (&|q: &mut RowQuery| q.sort = vec![("姓名; DROP TABLE people".into(), false)], "DROP"),
    ] {
        let err = f.lib.rows(&q(edit)).await.unwrap_err();
        assert!(matches!(err, LakeError::Input(_)) && err.to_string().contains(expected), "{err}");
    }
    let page = f.lib.rows(&q(&|q| q.equals = vec![("姓名".into(), vec!["' OR '1'='1".into()])])).await.unwrap();
    assert_eq!(page.total, Some(0));
    assert_eq!(f.lib.info("people").await.unwrap().rows, 3);
}

#[tokio::test]
async fn sql_is_read_only_and_limited() {
    let f = fixture();
    let mut csv = String::from("n\n");
    for i in 0..100 {
        csv.push_str(&format!("{i}\n"));
    }
    let file = f.file("n.csv", csv.as_bytes());
    f.create("nums", &file).await;
    let r = f.lib.sql("SELECT n FROM nums", &[], QueryLimits { max_rows: 10, ..Default::default() }).await.unwrap();
    assert!(r.truncated);
    assert_eq!(r.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 10);
    for stmt in [
        "DROP TABLE nums",
        "INSERT INTO nums VALUES (1)",
        "CREATE TABLE x AS SELECT 1",
        "SET datafusion.execution.batch_size = 1",
        "EXPLAIN ANALYZE INSERT INTO nums VALUES (1)",
    ] {
        assert!(f.lib.sql(stmt, &[], QueryLimits::default()).await.is_err(), "{stmt} must be refused");
    }
    assert_eq!(f.rows("SELECT COUNT(*) FROM nums").await, ["100"]);
    for stmt in ["EXPLAIN SELECT SUM(n) FROM nums", "EXPLAIN ANALYZE SELECT SUM(n) FROM nums"] {
        let plan = f.rows(stmt).await.join("\n");
        assert!(plan.contains("nums") || plan.contains("Aggregate"), "{stmt}: {plan}");
    }
    let err = f.lib.sql("SELECT * FROM nope", &[], QueryLimits::default()).await.unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[tokio::test]
async fn bad_files_and_names_get_clear_errors() {
    let f = fixture();
    let empty = f.file("empty.csv", b"");
    let err = f.lib.ingest(IngestRequest { create: true, ..f.req("e", &empty, Mode::Append) }).await.unwrap_err();
    assert!(err.to_string().contains("empty.csv") && err.to_string().contains("empty"), "{err}");
    assert!(!f.lib.exists("e").await.unwrap(), "no table is left behind");
    let missing = f.lib.ingest(f.req("e", Path::new("/no/such.csv"), Mode::Append)).await.unwrap_err();
    assert!(missing.to_string().contains("/no/such.csv"));
    let ok = f.file("ok.csv", "a,b\n1,2\n".as_bytes());
    assert!(matches!(f.lib.ingest(f.req("absent", &ok, Mode::Append)).await, Err(LakeError::NoSuchTable(_))));
    assert!(matches!(
        f.lib.ingest(IngestRequest { create: true, ..f.req("Bad-Name", &ok, Mode::Append) }).await,
        Err(LakeError::BadName(_))
    ));
    f.create("ab", &ok).await;
    let extra = f.file("extra.csv", "a,b,c\n1,2,3\n".as_bytes());
    let err = f.lib.ingest(f.req("ab", &extra, Mode::Append)).await.unwrap_err();
    assert!(err.to_string().contains("\"c\""), "unknown columns are named: {err}");
    let dup = f.file("dup.csv", "a,a\n1,2\n".as_bytes());
    let err = f.lib.ingest(f.req("ab", &dup, Mode::Append)).await.unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
    assert_eq!(f.lib.list().await.unwrap(), ["ab"]);
}

#[tokio::test]
async fn compaction_and_vacuum_keep_the_rows() {
    let f = fixture();
    let first = f.file("p0.csv", "id,区划\n0,371302\n".as_bytes());
    f.create("parts", &first).await;
    for i in 1..6 {
        let part = f.file(&format!("p{i}.csv"), format!("id,区划\n{i},37131{i}\n").as_bytes());
        f.lib.ingest(f.req("parts", &part, Mode::Append)).await.unwrap();
    }
    assert_eq!(f.lib.info("parts").await.unwrap().files, 6);
    let r = f.lib.compact("parts", &[]).await.unwrap();
    assert_eq!((r.files_removed, r.files_added), (6, 1));
    let info = f.lib.info("parts").await.unwrap();
    assert_eq!((info.files, info.rows, info.version), (1, 6, r.version));
    assert!(f.lib.compact("parts", &["nope".into()]).await.unwrap_err().to_string().contains("nope"));
    let z = f.lib.compact("parts", &["id".into()]).await.unwrap();
    assert!(z.version >= r.version);

    let planned = f.lib.vacuum("parts", 0, true).await.unwrap();
    assert!(planned.len() >= 6, "{planned:?}");
    assert_eq!(f.lib.info("parts").await.unwrap().rows, 6, "a dry run deletes nothing");
    let deleted = f.lib.vacuum("parts", 0, false).await.unwrap();
    assert_eq!(deleted.len(), planned.len());
    assert_eq!(f.rows("SELECT COUNT(*) FROM parts").await, ["6"]);
    assert!(f.lib.vacuum("parts", 168, false).await.unwrap().is_empty(), "nothing more to remove");
}

/// An S3-compatible server for the S3 test: `scripts/test` starts one (moto) and sets
/// `TONGSHU_TEST_S3_ENDPOINT`; outside CI the test is skipped when it is not set.
fn s3_endpoint() -> Option<String> {
    match std::env::var("TONGSHU_TEST_S3_ENDPOINT") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var_os("CI").is_some() => panic!("TONGSHU_TEST_S3_ENDPOINT must be set under CI"),
        _ => None,
    }
}

#[tokio::test]
async fn an_s3_library_holds_tables_like_a_local_one() {
    let Some(endpoint) = s3_endpoint() else { return };
    let options: HashMap<String, String> = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "tongshu"),
        ("AWS_SECRET_ACCESS_KEY", "tongshu-secret"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_S3_ALLOW_UNSAFE_RENAME", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let root = format!("s3://tongshu-test/run-{}-{}", std::process::id(), rand_suffix());
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture { lib: Library::open(&root, options).unwrap(), dir };
    let file = f.file("people.csv", PEOPLE.as_bytes());
    f.create("people", &file).await;
    f.lib.ingest(f.req("people", &file, Mode::Append)).await.unwrap();
    let info = f.lib.info("people").await.unwrap();
    assert!(info.uri.starts_with("s3://tongshu-test/run-"), "{}", info.uri);
    assert_eq!((info.version, info.rows), (2, 6));
    assert_eq!(f.rows("SELECT COUNT(*), SUM(\"工资\") FROM people").await, ["6|53001.5"]);
    assert_eq!(f.rows_at("SELECT COUNT(*) FROM people", &[("people".into(), 1)]).await, ["3"]);
    let added = f.lib.added_figures("people", 2).await.unwrap().expect("an append");
    assert_eq!(added.rows, 3, "only the appended rows are scanned");

    // A table whose first ingest is refused is removed from the bucket again.
    let ragged = f.file("ragged.csv", "a,b\n1,2\n3\n".as_bytes());
    assert!(f.lib.ingest(IngestRequest { create: true, ..f.req("ragged", &ragged, Mode::Append) }).await.is_err());
    assert_eq!(f.lib.list().await.unwrap(), ["people"]);
    f.lib.drop_table("people").await.unwrap();
    assert!(f.lib.list().await.unwrap().is_empty());
    files_are_kept_beside_the_tables(&f.lib).await;
}

/// Files kept beside the tables (a project's documents) come back as they went in, from
/// another `Library` on the same root too (another node), and are not tables.
async fn files_are_kept_beside_the_tables(lib: &Library) {
    assert_eq!(lib.get_file("projects/ab/abc").await.unwrap(), None);
    lib.put_file("projects/ab/abc", "申报书 v1".as_bytes().to_vec()).await.unwrap();
    let other = Library::open(lib.root().as_str(), lib.storage_options().clone()).unwrap();
    assert_eq!(other.get_file("projects/ab/abc").await.unwrap().as_deref(), Some("申报书 v1".as_bytes()));
    assert!(lib.list().await.unwrap().iter().all(|t| !t.contains("files")));
    for bad in ["../x", "/etc/passwd", "a//b", "a/../b", "", "a b"] {
        assert!(lib.put_file(bad, vec![1]).await.is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn a_local_library_keeps_files_beside_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let lib = Library::open(dir.path().to_str().unwrap(), Default::default()).unwrap();
    files_are_kept_beside_the_tables(&lib).await;
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64
}

// Ingest of every kind of file, and the formats read and written.
#[path = "lake/formats.rs"]
mod formats;
#[path = "lake/ingest.rs"]
mod ingest;
// Pages in stored order with equality filters (the value indexes of `cache`).
#[path = "lake/pages.rs"]
mod pages;

/// Range conditions and offsets answered from the version's in-memory indexes give the rows
/// a scan gives, in stored order, across files, pages and cursors; nulls never match a range.
#[tokio::test]
async fn range_filters_and_deep_offsets_page_from_memory_as_a_scan_would() {
    use tongshu_lake::{Condition, Op, Position};
    let f = fixture();
    let states = ["存续", "在业", "注销", "", "吊销"];
    for part in 0..3 {
        let mut csv = String::from("编号,状态,办理日期,金额\n");
        for i in part * 400..(part + 1) * 400 {
            let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let date = if i % 17 == 0 {
                String::new()
            } else {
                format!("2020-{:02}-{:02}", 1 + (h >> 8) % 12, 1 + (h >> 16) % 28)
            };
            csv.push_str(&format!("{i},{},{date},{}.{}\n", states[(h >> 24) as usize % 5], (h >> 32) % 100, i % 10));
        }
        let file = f.file(&format!("firms{part}.csv"), csv.as_bytes());
        if part == 0 {
            f.create("firms", &file).await;
        } else {
            f.lib.ingest(f.req("firms", &file, Mode::Append)).await.unwrap();
        }
    }
    let version = f.lib.info("firms").await.unwrap().version;
    let cond = |column: &str, op: Op, value: &str| Condition { column: column.into(), op, value: value.into() };
    type Equals = Vec<(String, Vec<String>)>;
    let cases: Vec<(&str, Equals, Vec<Condition>)> = vec![
        ("TRUE", vec![], vec![]),
        ("\"状态\" = '存续'", vec![("状态".into(), vec!["存续".into()])], vec![]),
        (
            "\"办理日期\" >= '2020-03-01' AND \"办理日期\" < '2020-06-01'",
            vec![],
            vec![cond("办理日期", Op::Gte, "2020-03-01"), cond("办理日期", Op::Lt, "2020-06-01")],
        ),
        (
            "\"状态\" IN ('存续', '注销') AND \"金额\" <= 50.5 AND \"编号\" > 99",
            vec![("状态".into(), vec!["存续".into(), "注销".into()])],
            vec![cond("金额", Op::Lte, "50.5"), cond("编号", Op::Gt, "99")],
        ),
        ("\"编号\" < 9", vec![], vec![cond("编号", Op::Lt, "9")]),
    ];
    for (sql, equals, conditions) in cases {
        let query = |after: Option<Position>, offset: usize, limit: usize| RowQuery {
            table: "firms".into(),
            columns: Some(vec!["编号".into()]),
            equals: equals.clone(),
            conditions: conditions.clone(),
            limit,
            offset,
            total: true,
            after,
            ..Default::default()
        };
        let mut expected = f.rows(&format!("SELECT \"编号\" FROM firms WHERE {sql}")).await;
        expected.sort();
        // Every page by cursor, in stored order: each row once.
        let (mut ids, mut at, mut pages) = (Vec::new(), Some(Position { version, file: 0, skip: 0 }), 0);
        while let Some(from) = at {
            let page = f.lib.rows(&query(Some(from), 0, 37)).await.unwrap();
            if pages == 0 {
                assert_eq!(page.total, Some(expected.len() as u64), "{sql}: the total");
            }
            ids.extend(lines(&page.batches));
            at = page.next;
            pages += 1;
            assert!(pages < 100, "{sql}: the cursor moves on");
        }
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, expected, "{sql}: the rows a scan finds, once each");
        // An offset without a sort lands where the cursor pages put that row.
        for offset in [1, 36, 37, 250, ids.len().saturating_sub(3), ids.len() + 5] {
            let page = f.lib.rows(&query(None, offset, 20)).await.unwrap();
            let want: Vec<String> = ids.iter().skip(offset).take(20).cloned().collect();
            assert_eq!(lines(&page.batches), want, "{sql}: offset {offset}");
            assert_eq!(page.total, Some(expected.len() as u64));
        }
    }
    // A range on a value that does not parse is refused by name, as before.
    let bad = RowQuery {
        table: "firms".into(),
        conditions: vec![cond("办理日期", Op::Gt, "下个月")],
        after: Some(Position { version, file: 0, skip: 0 }),
        limit: 5,
        ..Default::default()
    };
    assert!(f.lib.rows(&bad).await.unwrap_err().to_string().contains("办理日期"));
}
