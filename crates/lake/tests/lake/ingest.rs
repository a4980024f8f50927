//! Ingest: types from the whole file, encodings, delimiters, modes, bad rows and late failures.

use super::*;

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
