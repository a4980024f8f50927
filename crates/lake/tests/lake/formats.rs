//! Other formats in and out: exports, JSON, spreadsheets, Parquet, and other Delta readers.

use super::*;

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
