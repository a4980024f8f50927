//! The resource library over HTTP: upload → background job → report, exports, the SQL
//! console, and who may do what.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{TestApp, spawn_app};

const CSV: &str =
    "公民身份号码,姓名,火化日期\n371302195001011234,张老汉,2024-05-01\n371311194802022345,李大娘,2024-06-11\n";

async fn upload(app: &TestApp, s: &crate::support::Session, path: &str, body: &'static [u8]) -> (StatusCode, Value) {
    let r = s
        .client
        .post(app.url(path))
        .header("x-csrf-token", &s.csrf)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn finished(app: &TestApp, s: &crate::support::Session, id: i64) -> Value {
    for _ in 0..300 {
        let (status, job) = s.get(app, &format!("/api/v1/jobs/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        if job["status"] == "succeeded" || job["status"] == "failed" {
            return job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("job {id} did not end");
}

#[tokio::test]
async fn an_officer_uploads_a_file_and_follows_the_job_to_its_report() {
    let app = spawn_app().await;
    let officer = app.sign_in("officer.mzj", tongshu_demo::OFFICER_PASSWORD).await;
    let path = "/api/v1/library/tables/mzj_huohua/ingest?filename=%E7%81%AB%E5%8C%96.csv&create=true";
    let (status, job) = upload(&app, &officer, path, CSV.as_bytes()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = finished(&app, &officer, job["id"].as_i64().unwrap()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["report"]["rows_written"], 2);
    assert_eq!(job["report"]["created"], true);

    // A file with a bad date: the job fails, its report names row, column and value, and
    // the table keeps its rows.
    let bad = "公民身份号码,姓名,火化日期\n371302195001011239,王某,2024-13-45\n";
    let (_, job) = upload(&app, &officer, "/api/v1/library/tables/mzj_huohua/ingest", bad.as_bytes()).await;
    let job = finished(&app, &officer, job["id"].as_i64().unwrap()).await;
    assert_eq!(job["status"], "failed");
    let sample = &job["report"]["bad_row_samples"][0];
    assert_eq!((sample["row"].as_i64(), sample["column"].as_str()), (Some(2), Some("火化日期")));
    assert_eq!(sample["value"], "2024-13-45");
    let (_, tables) = officer.get(&app, "/api/v1/library/tables").await;
    assert_eq!(tables[0]["name"], "mzj_huohua");
    assert_eq!(tables[0]["rows"], 2);

    // The pages show the table, the job and its bad row.
    let page = officer.client.get(app.url("/library")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("mzj_huohua") && page.contains("失败"), "{page}");
    let job_page =
        officer.client.get(app.url(&format!("/jobs/{}", job["id"]))).send().await.unwrap().text().await.unwrap();
    assert!(job_page.contains("2024-13-45") && job_page.contains("导入失败"), "{job_page}");

    // Exports: CSV with BOM, XLSX.
    let r = officer
        .client
        .get(app.url("/api/v1/library/tables/mzj_huohua/export?format=csv&bom=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF") && String::from_utf8_lossy(&bytes).contains("张老汉"));
    let r = officer.client.get(app.url("/api/v1/library/tables/mzj_huohua/export?format=xlsx")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"PK"), "an XLSX is a zip");

    // Another department may neither export nor feed the table.
    let other = app.sign_in("officer.gaj", tongshu_demo::OFFICER_PASSWORD).await;
    let (status, _) = other.get(&app, "/api/v1/library/tables/mzj_huohua/export").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, err) = upload(&app, &other, "/api/v1/library/tables/mzj_huohua/ingest", CSV.as_bytes()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "refused before a job is accepted: {err}");
    assert!(err["message"].as_str().unwrap().contains("临沂市民政局"), "{err}");
    let (status, _) = other.get(&app, &format!("/api/v1/jobs/{}", job["id"])).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "other departments do not see the job");
}

#[tokio::test]
async fn uploads_are_checked_before_any_job_starts() {
    let app = spawn_app().await;
    let officer = app.sign_in("officer.mzj", tongshu_demo::OFFICER_PASSWORD).await;
    let cases: [(&str, &'static [u8], StatusCode); 5] = [
        ("/api/v1/library/tables/Bad-Name/ingest?create=true", CSV.as_bytes(), StatusCode::BAD_REQUEST),
        ("/api/v1/library/tables/t/ingest?mode=merge", CSV.as_bytes(), StatusCode::BAD_REQUEST),
        ("/api/v1/library/tables/t/ingest?encoding=latin1", CSV.as_bytes(), StatusCode::BAD_REQUEST),
        ("/api/v1/library/tables/t/ingest?create=true", b"", StatusCode::BAD_REQUEST),
        ("/api/v1/library/tables/t/ingest?create=true", &[b'a'; 2 << 20], StatusCode::PAYLOAD_TOO_LARGE),
    ];
    for (path, body, want) in cases {
        let (status, err) = upload(&app, &officer, path, body).await;
        assert_eq!(status, want, "{path}: {err}");
        assert!(err["message"].is_string());
    }
    let left = std::fs::read_dir(app.dir.join("uploads")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "refused uploads leave no files behind");
    // A body with neither a file name nor a format is sniffed: NDJSON is not one column.
    let ndjson = "{\"编号\": 1, \"名称\": \"甲\"}\n{\"编号\": 2, \"名称\": \"乙\"}\n";
    let (status, job) =
        upload(&app, &officer, "/api/v1/library/tables/mzj_lines/ingest?create=true", ndjson.as_bytes()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    finished(&app, &officer, job["id"].as_i64().unwrap()).await;
    let info = app.store.get_table("mzj_lines").await.unwrap().unwrap();
    let mut names: Vec<&str> = info.columns.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!((names, info.rows), (vec!["名称", "编号"], 2), "two columns, not one");
    // Without the CSRF header a cookie session cannot upload.
    let r = officer.client.post(app.url("/api/v1/library/tables/t/ingest")).body(CSV).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn administrators_query_the_library_in_sql_and_officers_cannot() {
    let app = spawn_app().await;
    let officer = app.sign_in("officer.mzj", tongshu_demo::OFFICER_PASSWORD).await;
    let (_, job) = upload(&app, &officer, "/api/v1/library/tables/mzj_huohua/ingest?create=true", CSV.as_bytes()).await;
    finished(&app, &officer, job["id"].as_i64().unwrap()).await;
    let (status, _) = officer.post(&app, "/api/v1/library/sql", serde_json::json!({"sql": "SELECT 1"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let admin = app.sign_in("admin", "Admin@2026").await;
    let (status, answer) = admin
        .post(
            &app,
            "/api/v1/library/sql",
            serde_json::json!({"sql": "SELECT \"姓名\" FROM mzj_huohua ORDER BY 1", "max_rows": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["columns"], serde_json::json!(["姓名"]));
    assert_eq!(answer["rows"].as_array().unwrap().len(), 1);
    assert_eq!(answer["truncated"], true);
    let (status, err) =
        admin.post(&app, "/api/v1/library/sql", serde_json::json!({"sql": "DROP TABLE mzj_huohua"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, err) = admin.post(&app, "/api/v1/library/sql", serde_json::json!({"sql": "SELECT * FROM nope"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["message"].as_str().unwrap().contains("nope"), "{err}");

    // The console page runs the same, with errors shown in the page.
    let form = [("_csrf", admin.csrf.as_str()), ("sql", "SELECT COUNT(*) AS n FROM mzj_huohua")];
    let page = admin.client.post(app.url("/sql")).form(&form).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<th scope=\"col\">n</th>") && html.contains("<td>2</td>"), "{html}");
    let form = [("_csrf", admin.csrf.as_str()), ("sql", "DELETE FROM mzj_huohua")];
    let page = admin.client.post(app.url("/sql")).form(&form).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
}
