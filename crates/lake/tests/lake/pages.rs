//! Equality pages in stored order: the value indexes give the scan's rows.

use super::*;

/// Walks every page of `q` in stored order from its first page, `limit` rows a page.
async fn walk(lib: &Library, mut q: RowQuery, version: u64) -> (Vec<String>, usize, Option<u64>) {
    q.after = Some(tongshu_lake::Position { version, file: 0, skip: 0 });
    let (mut all, mut pages, mut total) = (Vec::new(), 0, None);
    loop {
        let page = lib.rows(&q).await.unwrap();
        pages += 1;
        total = total.or(page.total);
        all.extend(lines(&page.batches));
        match page.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
        assert!(pages < 1000);
    }
    (all, pages, total)
}

#[tokio::test]
async fn equality_pages_in_stored_order_read_only_the_rows_they_return_across_files_and_versions() {
    let f = fixture();
    // Three appends: three data files, one value spread over all of them.
    let districts = ["兰山区", "罗庄区", "河东区"];
    for part in 0..3 {
        let mut csv = String::from("编号,区县,姓名\n");
        for i in 0..700 {
            let n = part * 700 + i;
            csv.push_str(&format!("{n},{},{}\n", districts[n % 3], if n % 7 == 0 { "王伟" } else { "李娜" }));
        }
        let file = f.file(&format!("p{part}.csv"), csv.as_bytes());
        if part == 0 {
            f.create("people", &file).await;
        } else {
            f.lib.ingest(f.req("people", &file, Mode::Append)).await.unwrap();
        }
    }
    let version = f.lib.info("people").await.unwrap().version;
    let base = RowQuery { table: "people".into(), limit: 50, total: true, ..Default::default() };
    let by = |eq: Vec<(&str, Vec<&str>)>| RowQuery {
        equals: eq.into_iter().map(|(c, v)| (c.to_owned(), v.into_iter().map(str::to_owned).collect())).collect(),
        ..base.clone()
    };
    // Stored order is the files' order (by name), so compare as sets, and the order with
    // the scanning path's.
    let expect = |pred: &dyn Fn(usize) -> bool| -> Vec<String> {
        let mut v: Vec<String> = (0..2100)
            .filter(|n| pred(*n))
            .map(|n| format!("{n}|{}|{}", districts[n % 3], if n % 7 == 0 { "王伟" } else { "李娜" }))
            .collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let scanned = |q: RowQuery| {
        let mut q = q;
        q.conditions =
            vec![tongshu_lake::Condition { column: "编号".into(), op: tongshu_lake::Op::Gte, value: "0".into() }];
        q
    };
    // One value: every matching row once, in stored order, over the three files.
    let (rows, pages, total) = walk(&f.lib, by(vec![("区县", vec!["河东区"])]), version).await;
    let (scan, _, _) = walk(&f.lib, scanned(by(vec![("区县", vec!["河东区"])])), version).await;
    assert!(rows == scan, "the index gives the scan's rows in the scan's order");
    assert!(sorted(rows) == expect(&|n| n % 3 == 2));
    assert_eq!((pages, total), (14, Some(700)), "700 rows in pages of 50, and no empty last page");
    // Alternatives of one column, and two columns together.
    let (rows, _, total) = walk(&f.lib, by(vec![("区县", vec!["兰山区", "河东区"])]), version).await;
    assert!(sorted(rows) == expect(&|n| n % 3 != 1) && total == Some(1400));
    let (rows, _, total) = walk(&f.lib, by(vec![("区县", vec!["罗庄区"]), ("姓名", vec!["王伟"])]), version).await;
    assert_eq!(rows.len() as u64, total.unwrap());
    assert_eq!(sorted(rows), expect(&|n| n % 3 == 1 && n % 7 == 0));
    // A typed column: the number 7 finds "7", whichever way it is written.
    let (rows, _, _) = walk(&f.lib, by(vec![("编号", vec![" 7 "])]), version).await;
    assert_eq!(rows, ["7|罗庄区|王伟"]);
    // No match: one empty page; a value that is not there in another version either.
    let (rows, pages, total) = walk(&f.lib, by(vec![("区县", vec!["费县"])]), version).await;
    assert_eq!((rows.len(), pages, total), (0, 1, Some(0)));

    // An earlier version pages over what it held then.
    let (rows, _, _) = walk(&f.lib, by(vec![("区县", vec!["河东区"])]), version - 1).await;
    assert_eq!(rows.len(), (0..1400).filter(|n| n % 3 == 2).count(), "the third file came later");

    // Dropped and created again under the same name: the same version number is new data.
    f.lib.drop_table("people").await.unwrap();
    f.create("people", &f.file("again.csv", "编号,区县,姓名\n1,河东区,赵六\n".as_bytes())).await;
    let again = f.lib.info("people").await.unwrap().version;
    assert!(again < version, "a version number the cache holds for the dropped table");
    let (rows, _, _) = walk(&f.lib, by(vec![("区县", vec!["河东区"])]), again).await;
    assert_eq!(rows, ["1|河东区|赵六"], "not the cached version of the dropped table");
}

#[tokio::test]
async fn a_page_reads_the_latest_version_whichever_node_wrote_it() {
    let f = fixture();
    let csv = |from: usize, n: usize| {
        let mut s = String::from("编号,区县\n");
        for i in from..from + n {
            s.push_str(&format!("{i},{}\n", if i % 2 == 0 { "兰山区" } else { "罗庄区" }));
        }
        s
    };
    f.create("shared", &f.file("a.csv", csv(0, 100).as_bytes())).await;
    // Another node: a library of its own over the same directory.
    let other = Library::open(f.dir.path().join("library").to_str().unwrap(), Default::default()).unwrap();
    let q = RowQuery { table: "shared".into(), limit: 1000, total: true, ..Default::default() };
    let eq = RowQuery { equals: vec![("区县".into(), vec!["兰山区".into()])], ..q.clone() };
    assert_eq!(f.lib.rows(&q).await.unwrap().total, Some(100));
    assert_eq!(f.lib.rows(&eq).await.unwrap().total, Some(50));

    // The other node appends: this node's next pages (first, deep, filtered) see it.
    let more = f.file("b.csv", csv(100, 60).as_bytes());
    other.ingest(f.req("shared", &more, Mode::Append)).await.unwrap();
    assert_eq!(f.lib.rows(&q).await.unwrap().total, Some(160));
    assert_eq!(f.lib.rows(&eq).await.unwrap().total, Some(80));
    let deep = RowQuery { offset: 150, ..q.clone() };
    assert_eq!(lines(&f.lib.rows(&deep).await.unwrap().batches).len(), 10);

    // The other node drops the table and makes a new one of the same name: read afresh.
    other.drop_table("shared").await.unwrap();
    let other_req =
        IngestRequest { create: true, ..f.req("shared", &f.file("c.csv", csv(500, 3).as_bytes()), Mode::Append) };
    other.ingest(other_req).await.unwrap();
    let page = f.lib.rows(&q).await.unwrap();
    assert_eq!(page.total, Some(3));
    assert!(lines(&page.batches)[0].starts_with("500|"), "{:?}", lines(&page.batches));
    assert_eq!(f.lib.rows(&eq).await.unwrap().total, Some(2));
}
