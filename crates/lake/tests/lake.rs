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
async fn a_new_table_takes_its_types_from_the_whole_file() {
    let f = fixture();
    let file = f.file("people.csv", PEOPLE.as_bytes());
    let r = f.create("people", &file).await;
    assert!(r.created);
    assert_eq!((r.version, r.rows_written, r.bad_rows), (1, 3, 0));
    let info = f.lib.info("people").await.unwrap();
    let figures = f.lib.column_figures("people", true).await.unwrap();
    let age = figures.iter().find(|c| c.name == "年龄").unwrap();
    assert_eq!((age.nulls, age.distinct, age.max_len), (1, 2, None));
    let name = figures.iter().find(|c| c.name == "姓名").unwrap();
    assert_eq!((name.nulls, name.distinct, name.max_len), (0, 3, Some(2)));
    let distinct: Vec<(&str, u64)> = figures.iter().map(|c| (c.name.as_str(), c.distinct)).collect();
    assert_eq!(
        distinct,
        [("身份证号", 3), ("姓名", 3), ("年龄", 2), ("工资", 3), ("出生日期", 3), ("登记时间", 3), ("在职", 2)],
        "every type is counted in its own kind"
    );
    let types: Vec<(&str, &str)> = info.columns.iter().map(|c| (c.name.as_str(), c.ty.as_str())).collect();
    assert_eq!(
        types,
        [
            ("身份证号", "text"),
            ("姓名", "text"),
            ("年龄", "integer"),
            ("工资", "number"),
            ("出生日期", "date"),
            ("登记时间", "datetime"),
            ("在职", "boolean")
        ]
    );
    assert_eq!(info.rows, 3);
    assert!(info.uri.starts_with("file://") && info.uri.ends_with("/people/"));
    let rows = f.rows("SELECT \"姓名\", \"出生日期\", \"登记时间\" FROM people ORDER BY \"姓名\"").await;
    assert_eq!(rows[0], "张三|1990-01-01|2024-03-01T00:30:00Z", "naive times are Beijing time");
    assert!(rows.contains(&"王五|2000-03-03|2024-03-03T02:00:00Z".to_string()));
}

#[tokio::test]
async fn a_stray_value_late_in_the_file_makes_text_with_a_note_never_a_late_failure() {
    let f = fixture();
    let mut csv = String::from("编号,数量\n");
    for i in 0..20_000 {
        csv.push_str(&format!("{i},{i}\n"));
    }
    csv.push_str("20000,N/A\n");
    let file = f.file("late.csv", csv.as_bytes());
    let r = f.create("late", &file).await;
    assert_eq!(r.rows_written, 20_001);
    let info = f.lib.info("late").await.unwrap();
    assert_eq!(info.columns[0].ty, "integer");
    assert_eq!(info.columns[1].ty, "text");
    assert!(
        r.notes.iter().any(|n| n.contains("数量") && n.contains("row 20002") && n.contains("N/A")),
        "{:?}",
        r.notes
    );
}

/// A new table's types are guessed from the first rows (so its file is read once) and
/// every later value confirms them; when one does not, the types come from the whole file.
#[tokio::test]
async fn types_guessed_from_the_first_rows_are_confirmed_by_every_later_row() {
    let f = fixture();
    let n = tongshu_lake::GUESS_ROWS + 20_000;
    let late = n - 10;
    let mut csv = String::from("编号,数量,区号,备注,补充\n");
    for i in 0..n {
        let amount = if i == late { "N/A".to_owned() } else { i.to_string() };
        let code = if i == late { "0539".to_owned() } else { (100 + i % 800).to_string() };
        let (remark, extra) = if i >= n - 1000 { ("备注", i.to_string()) } else { ("", String::new()) };
        csv.push_str(&format!("{i},{amount},{code},{remark},{extra}\n"));
    }
    let file = f.file("guess.csv", csv.as_bytes());
    let r = f.create("guess", &file).await;
    assert_eq!((r.rows_written, r.bad_rows), (n, 0));
    let types: Vec<(String, String)> =
        f.lib.info("guess").await.unwrap().columns.into_iter().map(|c| (c.name, c.ty)).collect();
    let types: Vec<(&str, &str)> = types.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(
        types,
        [("编号", "integer"), ("数量", "text"), ("区号", "text"), ("备注", "text"), ("补充", "integer")],
        "a late stray value, a late leading zero and columns empty at first all count"
    );
    assert!(
        r.notes.iter().any(|x| x.contains("数量") && x.contains(&format!("row {}", late + 2)) && x.contains("N/A")),
        "{:?}",
        r.notes
    );
    assert_eq!(f.rows(&format!("SELECT \"区号\" FROM guess WHERE \"编号\" = {late}")).await, ["0539"]);

    // When the first rows tell the truth, the file is read once and nothing is said about it.
    let mut csv = String::from("编号,名称\n");
    for i in 0..n {
        csv.push_str(&format!("{i},单位{i}\n"));
    }
    let r = f.create("honest", &f.file("honest.csv", csv.as_bytes())).await;
    assert_eq!(r.rows_written, n);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    assert_eq!(f.lib.info("honest").await.unwrap().columns[0].ty, "integer");
}

#[tokio::test]
async fn encodings_are_detected_or_given() {
    let f = fixture();
    let text = "区划,名称\n371302,兰山区\n371311,罗庄区\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(text);
    let rare = text.replace("罗庄区", "罗庄区𠀀");
    let (gb18030, _, _) = encoding_rs::GB18030.encode(&rare);
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(text.as_bytes());
    for (name, bytes) in [
        ("utf8.csv", text.as_bytes().to_vec()),
        ("bom.csv", bom),
        ("gbk.csv", gbk.into_owned()),
        ("gb18030.csv", gb18030.into_owned()),
    ] {
        let table = name.trim_end_matches(".csv").replace('8', "x");
        let file = f.file(name, &bytes);
        let r = f.create(&table, &file).await;
        assert_eq!(r.rows_written, 2, "{name}");
        let rows = f.rows(&format!("SELECT \"名称\" FROM {table} ORDER BY \"区划\"")).await;
        assert_eq!(rows[0], "兰山区", "{name} ({})", r.encoding);
        assert!(rows[1].starts_with("罗庄区"), "{name}");
    }
    // A GBK file read as UTF-8 is refused, naming the row and column.
    let (gbk, _, _) = encoding_rs::GBK.encode("区划,名称\n371302,兰山区\n");
    let file = f.file("wrong.csv", &gbk);
    f.lib
        .ingest(IngestRequest {
            create: true,
            ..f.req("wrong", &f.file("ok.csv", "区划,名称\n1,a\n".as_bytes()), Mode::Append)
        })
        .await
        .unwrap();
    let req = IngestRequest {
        source: SourceOptions { encoding: encoding_named("utf-8"), ..Default::default() },
        ..f.req("wrong", &file, Mode::Append)
    };
    let err = f.lib.ingest(req).await.unwrap_err().to_string();
    assert!(err.contains("header") && err.contains("--encoding"), "{err}");
    // A UTF-8 file with a GBK row after the part encodings are detected from: the row and
    // its cell are named.
    let mut mixed = ("区划,名称\n".to_owned() + &"371311,罗庄区\n".repeat(5000)).into_bytes();
    mixed.extend_from_slice(&encoding_rs::GBK.encode("371302,兰山区\n").0);
    let err = f.lib.ingest(f.req("wrong", &f.file("mixed.csv", &mixed), Mode::Append)).await.unwrap_err().to_string();
    assert!(err.contains("row 5002, column \"名称\"") && err.contains("--encoding"), "{err}");
}

#[tokio::test]
async fn delimiters_and_quoting() {
    let f = fixture();
    let tsv = f.file("a.tsv", "名称\t地址\n\"临沂\t商城\"\t\"兰山区, 通达路\"\n第二\t\"多行\n地址\"\n".as_bytes());
    assert_eq!(f.create("tsv", &tsv).await.rows_written, 2);
    let rows = f.rows("SELECT \"名称\", \"地址\" FROM tsv ORDER BY \"名称\"").await;
    assert_eq!(rows, ["临沂\t商城|兰山区, 通达路", "第二|多行\n地址"]);
    let semi = f.file("b.csv", "a;b\n1;2\n".as_bytes());
    f.create("semi", &semi).await;
    assert_eq!(f.rows("SELECT a + b FROM semi").await, ["3"]);
    let pipe = f.file("c.csv", "a|b\n1|2\n".as_bytes());
    let req = IngestRequest {
        create: true,
        source: SourceOptions { delimiter: Some(b'|'), ..Default::default() },
        ..f.req("pipe", &pipe, Mode::Append)
    };
    f.lib.ingest(req).await.unwrap();
    assert_eq!(f.rows("SELECT b FROM pipe").await, ["2"]);
}

#[tokio::test]
async fn every_mode_makes_one_version() {
    let f = fixture();
    let base = f.file("base.csv", "id,名称,数量\n1,甲,10\n2,乙,20\n3,丙,30\n".as_bytes());
    f.create("t", &base).await;

    let more = f.file("more.csv", "id,名称,数量\n4,丁,40\n".as_bytes());
    let r = f.lib.ingest(f.req("t", &more, Mode::Append)).await.unwrap();
    assert_eq!((r.version, r.rows_written), (2, 1));

    let change = f.file("change.csv", "id,名称,数量\n2,乙改,21\n5,戊,50\n".as_bytes());
    let r = f.lib.ingest(IngestRequest { keys: vec!["id".into()], ..f.req("t", &change, Mode::Upsert) }).await.unwrap();
    assert_eq!((r.version, r.rows_written, r.rows_updated), (3, 1, 1));
    assert_eq!(f.rows("SELECT id, \"名称\" FROM t ORDER BY id").await, ["1|甲", "2|乙改", "3|丙", "4|丁", "5|戊"]);

    let gone = f.file("gone.csv", "id\n1\n3\n".as_bytes());
    let r = f.lib.ingest(IngestRequest { keys: vec!["id".into()], ..f.req("t", &gone, Mode::Delete) }).await.unwrap();
    assert_eq!((r.version, r.rows_deleted), (4, 2));
    assert!(r.notes.iter().all(|n| !n.contains("not in the file")), "a delete reads only its keys: {:?}", r.notes);
    assert_eq!(f.rows("SELECT id FROM t ORDER BY id").await, ["2", "4", "5"]);

    let fresh = f.file("fresh.csv", "id,名称,数量\n9,新,90\n".as_bytes());
    let r = f.lib.ingest(f.req("t", &fresh, Mode::Overwrite)).await.unwrap();
    assert_eq!(r.version, 5);
    assert_eq!(f.rows("SELECT id, \"数量\" FROM t").await, ["9|90"]);

    let history = f.lib.history("t").await.unwrap();
    assert_eq!(history.iter().map(|h| h.version).collect::<Vec<_>>(), [5, 4, 3, 2, 1, 0]);
    assert_eq!(history[0].user.as_deref(), Some("tester"));
    assert!(history[0].source.as_deref().unwrap().ends_with("fresh.csv"));
    assert!(history[0].operation.to_uppercase().contains("WRITE"), "{}", history[0].operation);
    assert!(history[2].operation.to_uppercase().contains("MERGE"), "{}", history[2].operation);

    // An append of a file without some columns says so (they are left empty).
    let partial = f.file("partial.csv", "id\n10\n".as_bytes());
    let r = f.lib.ingest(f.req("t", &partial, Mode::Append)).await.unwrap();
    assert!(r.notes.iter().any(|n| n.contains("\"数量\" is not in the file")), "{:?}", r.notes);

    let no_key = f.lib.ingest(f.req("t", &fresh, Mode::Upsert)).await.unwrap_err();
    assert!(no_key.to_string().contains("key"), "{no_key}");
    let bad_key = f
        .lib
        .ingest(IngestRequest { keys: vec!["编号".into()], ..f.req("t", &fresh, Mode::Upsert) })
        .await
        .unwrap_err();
    assert!(bad_key.to_string().contains("编号"), "{bad_key}");
}

#[tokio::test]
async fn bad_rows_are_refused_or_quarantined_and_named() {
    let f = fixture();
    let base = f.file("base.csv", "id,名称,数量\n1,甲,10\n".as_bytes());
    f.create("t", &base).await;
    let bad = f.file("bad.csv", "id,名称,数量\n2,乙,20\n3,丙,三十\n4,丁\n5,戊,50\n".as_bytes());

    let err = f.lib.ingest(f.req("t", &bad, Mode::Append)).await.unwrap_err();
    let LakeError::Rejected(report) = &err else { panic!("{err}") };
    assert_eq!(report.bad_rows, 2);
    let first = &report.bad_row_samples[0];
    assert_eq!(
        (first.file.as_str(), first.row, first.column.as_deref(), first.value.as_deref()),
        ("bad.csv", 3, Some("数量"), Some("三十"))
    );
    assert!(first.reason.contains("not a whole number"), "{}", first.reason);
    assert_eq!(report.bad_row_samples[1].row, 4);
    assert!(report.bad_row_samples[1].reason.contains("has 2 fields, the header has 3"));
    let info = f.lib.info("t").await.unwrap();
    assert_eq!((info.version, info.rows), (1, 1), "a refused ingest leaves the table unchanged");

    let r = f
        .lib
        .ingest(IngestRequest { on_bad_rows: BadRowPolicy::Quarantine, ..f.req("t", &bad, Mode::Append) })
        .await
        .unwrap();
    assert_eq!((r.rows_read, r.rows_written, r.bad_rows), (4, 2, 2));
    assert_eq!(f.rows("SELECT id FROM t ORDER BY id").await, ["1", "2", "5"]);
    // Quarantine with every row bad: nothing committed, not an empty version, and an
    // overwrite does not empty the table.
    let version = f.lib.info("t").await.unwrap().version;
    let all_bad = f.file(
        "all_bad.csv",
        "id,名称,数量
7,甲,七
8,乙,N/A
"
        .as_bytes(),
    );
    for mode in [Mode::Append, Mode::Overwrite] {
        let err = f
            .lib
            .ingest(IngestRequest { on_bad_rows: BadRowPolicy::Quarantine, ..f.req("t", &all_bad, mode) })
            .await
            .unwrap_err();
        let LakeError::Rejected(report) = &err else { panic!("{err}") };
        assert_eq!((report.bad_rows, report.rows_taken), (2, 0));
        assert_eq!(f.lib.info("t").await.unwrap().version, version, "{mode:?}: no version");
    }
    assert_eq!(f.rows("SELECT id FROM t ORDER BY id").await, ["1", "2", "5"]);

    // Text longer than the catalog item allows.
    let long = f.file("long.csv", "id,名称,数量\n6,超长的名称,60\n".as_bytes());
    let req =
        IngestRequest { max_lengths: HashMap::from([("名称".to_owned(), 3)]), ..f.req("t", &long, Mode::Append) };
    let err = f.lib.ingest(req).await.unwrap_err();
    assert!(err.to_string().contains("5 characters long, the item allows 3"), "{err}");
}

#[tokio::test]
async fn a_failure_late_in_a_large_file_leaves_the_previous_version_intact() {
    let f = fixture();
    let base = f.file("base.csv", "id,值\n0,0\n".as_bytes());
    f.create("big", &base).await;
    let mut csv = String::from("id,值\n");
    for i in 1..=50_000 {
        csv.push_str(&format!("{i},{}\n", i * 2));
    }
    csv.push_str("50001,oops\n");
    let file = f.file("big.csv", csv.as_bytes());
    let err = f.lib.ingest(f.req("big", &file, Mode::Append)).await.unwrap_err();
    assert!(matches!(err, LakeError::Rejected(_)), "{err}");
    let info = f.lib.info("big").await.unwrap();
    assert_eq!((info.version, info.rows), (1, 1));
    assert_eq!(f.rows("SELECT COUNT(*) FROM big").await, ["1"]);
    // The same happens for an overwrite: the old rows are still there.
    let err = f.lib.ingest(f.req("big", &file, Mode::Overwrite)).await.unwrap_err();
    assert!(matches!(err, LakeError::Rejected(_)));
    assert_eq!(f.rows("SELECT COUNT(*) FROM big").await, ["1"]);
}

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

/// Other Delta readers open Tongshu's tables unchanged: the Python `deltalake` package.
#[tokio::test]
async fn the_python_deltalake_package_reads_tongshu_tables() {
    let probe = std::process::Command::new("python3").args(["-c", "import deltalake"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have the Python deltalake package (scripts/test installs it)"
        );
        eprintln!("skipping: python3 -c 'import deltalake' failed");
        return;
    }
    let f = fixture();
    let file = f.file("people.csv", PEOPLE.as_bytes());
    f.create("people", &file).await;
    let more = f.file("more.csv", "身份证号,姓名\n371321197001014567,赵六\n".as_bytes());
    f.lib.ingest(f.req("people", &more, Mode::Append)).await.unwrap();
    let info = f.lib.info("people").await.unwrap();
    let script = r#"
import os, sys, deltalake
t = deltalake.DeltaTable(sys.argv[1])
tbl = t.to_pyarrow_table()
names = sorted(tbl.column("姓名").to_pylist())
print(t.version(), tbl.num_rows, ",".join(names), str(tbl.schema.field("出生日期").type), flush=True)
# The package's threads can abort the interpreter at exit; the answer is already out.
os._exit(0)
"#;
    let out = std::process::Command::new("python3").args(["-c", script, &info.uri]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(line, format!("{} 4 张三,李四,王五,赵六 date32[day]", info.version));
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

#[tokio::test]
async fn exports_round_trip_through_every_format() {
    let f = fixture();
    let file = f.file("people.csv", PEOPLE.as_bytes());
    f.create("people", &file).await;
    let all = "SELECT * FROM people ORDER BY \"身份证号\"";

    // CSV with a BOM re-ingests into an identical table (the BOM is detected and dropped).
    let (n, csv) = f.lib.export(all, &[], tongshu_lake::ExportFormat::Csv { bom: true }, Vec::new()).await.unwrap();
    assert_eq!(n, 3);
    assert!(csv.starts_with(b"\xEF\xBB\xBF\xE8\xBA\xAB"), "BOM, then the header");
    let back = f.file("back.csv", &csv);
    f.create("people_back", &back).await;
    assert_eq!(
        f.rows("SELECT \"姓名\", \"出生日期\", \"工资\" FROM people_back ORDER BY \"身份证号\"").await,
        f.rows("SELECT \"姓名\", \"出生日期\", \"工资\" FROM people ORDER BY \"身份证号\"").await
    );

    let (_, json) = f.lib.export(all, &[], tongshu_lake::ExportFormat::Json, Vec::new()).await.unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(parsed[0]["姓名"], "张三");
    assert_eq!(parsed.as_array().unwrap().len(), 3);

    let (_, nd) = f.lib.export(all, &[], tongshu_lake::ExportFormat::Ndjson, Vec::new()).await.unwrap();
    // A whole table by name (no SQL), at an earlier version too, writes the same rows.
    let (n, by_name) =
        f.lib.export_table("people", None, tongshu_lake::ExportFormat::Ndjson, Vec::new()).await.unwrap();
    assert_eq!((n, by_name.len()), (3, nd.len()));
    let (n, _) = f
        .lib
        .export_table("people", Some(0), tongshu_lake::ExportFormat::Csv { bom: false }, Vec::new())
        .await
        .unwrap();
    assert_eq!(n, 0, "version 0 is the empty table as created, before its first file");
    assert!(f.lib.export_table("people", Some(9), tongshu_lake::ExportFormat::Json, Vec::new()).await.is_err());
    assert!(f.lib.export_table("People\"; x", None, tongshu_lake::ExportFormat::Json, Vec::new()).await.is_err());
    assert_eq!(String::from_utf8(nd).unwrap().lines().count(), 3);

    let path = f.dir.path().join("out.parquet");
    let out = std::fs::File::create(&path).unwrap();
    f.lib.export(all, &[], tongshu_lake::ExportFormat::Parquet, out).await.unwrap();
    let reader =
        deltalake::parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
    use deltalake::parquet::file::reader::FileReader;
    assert_eq!(reader.metadata().file_metadata().num_rows(), 3);

    assert!(f.lib.export("DROP TABLE people", &[], tongshu_lake::ExportFormat::Json, Vec::new()).await.is_err());
}

#[tokio::test]
async fn json_ndjson_spreadsheets_and_parquet_are_read_like_csv() {
    let f = fixture();
    // NDJSON: keys from every line, a broken line is a bad row named by its line number.
    let nd = f.file(
        "a.ndjson",
        "{\"编号\": 1, \"名称\": \"甲\", \"金额\": 1.5}\n\n{\"编号\": 2, \"名称\": \"乙\", \"备注\": \"新增\"}\n"
            .as_bytes(),
    );
    let r = f.create("nd", &nd).await;
    assert_eq!(r.rows_written, 2);
    assert_eq!(
        f.rows("SELECT \"编号\", \"名称\", \"金额\", \"备注\" FROM nd ORDER BY \"编号\"").await,
        ["1|甲|1.5|", "2|乙||新增"]
    );
    let broken = f.file("b.ndjson", "{\"编号\": 3, \"名称\": \"丙\"}\n{\"编号\": 4, \"名称\"\n[1,2]\n".as_bytes());
    let err = f.lib.ingest(f.req("nd", &broken, Mode::Append)).await.unwrap_err();
    let LakeError::Rejected(report) = err else { panic!() };
    assert_eq!(report.bad_row_samples.iter().map(|b| b.row).collect::<Vec<_>>(), [2, 3]);
    assert!(report.bad_row_samples[0].reason.contains("not valid JSON"));

    // A JSON array of objects.
    let json = f.file(
        "c.json",
        "[{\"区划\": \"371302\", \"人口\": 1200000}, {\"区划\": \"371311\", \"人口\": 700000}]".as_bytes(),
    );
    f.create("js", &json).await;
    assert_eq!(f.rows("SELECT SUM(\"人口\") FROM js").await, ["1900000"]);
    assert_eq!(f.lib.info("js").await.unwrap().columns[1].ty, "integer");
    let not_array = f.file("d.json", "{\"a\": 1}".as_bytes());
    let err = f.lib.ingest(IngestRequest { create: true, ..f.req("nj", &not_array, Mode::Append) }).await.unwrap_err();
    assert!(err.to_string().contains("array of objects"), "{err}");

    // XLSX: a named sheet, Excel dates and whole numbers.
    let path = f.dir.path().join("e.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("说明").unwrap();
    sheet.write(0, 0, "本表为示例").unwrap();
    let sheet = book.add_worksheet().set_name("数据").unwrap();
    for (c, h) in ["统一社会信用代码", "企业名称", "成立日期", "员工数"].iter().enumerate() {
        sheet.write(0, c as u16, *h).unwrap();
    }
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2019, 6, 1).unwrap();
    let fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    sheet.write(1, 0, "91371300MA3C000018").unwrap();
    sheet.write(1, 1, "临沂商城物流有限公司").unwrap();
    sheet.write_datetime_with_format(1, 2, &date, &fmt).unwrap();
    sheet.write(1, 3, 120).unwrap();
    sheet.write(2, 0, "91371302MA3D000027").unwrap();
    sheet.write(2, 1, "兰山区农机合作社").unwrap();
    sheet.write(2, 3, 8.0).unwrap();
    book.save(&path).unwrap();
    let req = IngestRequest {
        create: true,
        source: SourceOptions { sheet: Some("数据".into()), ..Default::default() },
        ..f.req("xl", &path, Mode::Append)
    };
    f.lib.ingest(req).await.unwrap();
    assert_eq!(f.rows("SELECT \"成立日期\", \"员工数\" FROM xl ORDER BY \"员工数\"").await, ["|8", "2019-06-01|120"]);
    let types: Vec<String> = f.lib.info("xl").await.unwrap().columns.into_iter().map(|c| c.ty).collect();
    assert_eq!(types, ["text", "text", "date", "integer"]);
    let req = IngestRequest {
        source: SourceOptions { sheet: Some("无此表".into()), ..Default::default() },
        ..f.req("xl", &path, Mode::Append)
    };
    assert!(f.lib.ingest(req).await.unwrap_err().to_string().contains("无此表"));
    let bytes = std::fs::read(&path).unwrap();
    let truncated = f.file("t.xlsx", &bytes[..bytes.len() / 2]);
    let err = f.lib.ingest(f.req("xl", &truncated, Mode::Append)).await.unwrap_err();
    assert!(err.to_string().contains("t.xlsx") && err.to_string().contains("not a readable spreadsheet"), "{err}");
    assert_eq!(f.lib.info("xl").await.unwrap().version, 1, "a bad file changes nothing");

    // Parquet written by an export comes back unchanged.
    let pq = f.dir.path().join("f.parquet");
    f.lib
        .export("SELECT * FROM xl", &[], tongshu_lake::ExportFormat::Parquet, std::fs::File::create(&pq).unwrap())
        .await
        .unwrap();
    f.lib.ingest(f.req("xl", &pq, Mode::Append)).await.unwrap();
    assert_eq!(f.rows("SELECT COUNT(*), COUNT(DISTINCT \"统一社会信用代码\") FROM xl").await, ["4|2"]);

    // Every sheet at once needs the same columns on each; the error names the odd sheet.
    let req = IngestRequest {
        source: SourceOptions { sheet: Some("*".into()), ..Default::default() },
        ..f.req("xl", &path, Mode::Append)
    };
    let err = f.lib.ingest(req).await.unwrap_err().to_string();
    assert!(err.contains("\"数据\"") && err.contains("same columns"), "{err}");

    // XLSX export: numbers stay numbers, and the workbook reads back into the same rows.
    let xlsx = f.dir.path().join("back.xlsx");
    let (n, _) = f
        .lib
        .export(
            "SELECT * FROM xl ORDER BY \"员工数\"",
            &[],
            tongshu_lake::ExportFormat::Xlsx,
            std::fs::File::create(&xlsx).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(n, 4);
    f.lib.ingest(IngestRequest { create: true, ..f.req("xl_back", &xlsx, Mode::Append) }).await.unwrap();
    let all = "SELECT \"统一社会信用代码\", \"成立日期\", \"员工数\" FROM {} ORDER BY 1, 3";
    assert_eq!(f.rows(&all.replace("{}", "xl_back")).await, f.rows(&all.replace("{}", "xl")).await);
}

#[tokio::test]
async fn xls_workbooks_are_read_one_sheet_or_every_sheet() {
    let f = fixture();
    let xls = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/people.xls");
    f.lib.ingest(IngestRequest { create: true, ..f.req("xls_first", &xls, Mode::Append) }).await.unwrap();
    assert_eq!(f.rows("SELECT \"姓名\" FROM xls_first ORDER BY 1").await, ["张三", "李四"]);
    let types: Vec<String> = f.lib.info("xls_first").await.unwrap().columns.into_iter().map(|c| c.ty).collect();
    assert_eq!(types, ["text", "text", "date", "integer"], "ID numbers stay text, Excel dates become dates");
    let every = IngestRequest {
        create: true,
        source: SourceOptions { sheet: Some("*".into()), ..Default::default() },
        ..f.req("xls_all", &xls, Mode::Append)
    };
    f.lib.ingest(every).await.unwrap();
    assert_eq!(f.rows("SELECT COUNT(*), MAX(\"出生日期\") FROM xls_all").await, ["3|2000-01-01"]);
    let one = IngestRequest {
        create: true,
        source: SourceOptions { sheet: Some("人口续".into()), ..Default::default() },
        ..f.req("xls_second", &xls, Mode::Append)
    };
    f.lib.ingest(one).await.unwrap();
    assert_eq!(f.rows("SELECT \"公民身份号码\" FROM xls_second").await, ["371312200001010011"]);
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
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64
}

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
