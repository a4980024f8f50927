//! External tables against a real PostgreSQL and a real MariaDB (`scripts/test` starts
//! both): registered by an administrator, read in place by SQL over the library and joined
//! with a library table, with filters and projections in the SQL the source receives, under
//! the statement's row limit and read-only; bad registrations refused with nothing kept.

use std::time::Duration;

use tongshu_core::policy::{Principal, Role};
use tongshu_external::ExternalTables;
use tongshu_lake::arrow::util::pretty::pretty_format_batches;
use tongshu_lake::{IngestRequest, QueryLimits};
use tongshu_library::{LibraryService, NewSource};
use tongshu_sources::testing::{env_url, exec};

fn admin(org_id: i64) -> Principal {
    Principal {
        user_id: 1, username: "admin".into(), display_name: "管理员".into(), role: Role::PlatformAdmin, org_id
    }
}

fn source_of(name: &str, url: &str, org_id: i64) -> NewSource {
    let u = url::Url::parse(url).unwrap();
    NewSource {
        name: name.into(),
        org_id: Some(org_id),
        kind: if url.starts_with("postgres") { "postgres" } else { "mysql" }.into(),
        host: u.host_str().unwrap().into(),
        port: u.port(),
        database: u.path().trim_start_matches('/').into(),
        username: u.username().into(),
        password: u.password().unwrap_or_default().into(),
        time_zone: None,
    }
}

async fn text(lake: &tongshu_lake::Library, sql: &str, max_rows: usize) -> (String, bool) {
    let limits = QueryLimits { max_rows, timeout: Duration::from_secs(30) };
    let r = lake.sql(sql, &[], limits).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    (pretty_format_batches(&r.batches).unwrap().to_string(), r.truncated)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_tables_are_read_in_place_joined_with_library_tables_and_filtered_at_the_source() {
    let (Some(pg), Some(my)) = (env_url("TONGSHU_TEST_POSTGRES_URL"), env_url("TONGSHU_TEST_MYSQL_URL")) else {
        return;
    };
    let tag = format!("ext_{}", std::process::id());
    exec(&pg, &format!("DROP TABLE IF EXISTS {tag}_firms; CREATE TABLE {tag}_firms (id int PRIMARY KEY, name text, district text, capital numeric(12,2)); INSERT INTO {tag}_firms SELECT g, '企业' || g, CASE WHEN g % 2 = 0 THEN '兰山区' ELSE '罗庄区' END, g * 100.5 FROM generate_series(1, 300) g")).await;
    exec(&my, &format!("DROP TABLE IF EXISTS {tag}_permits; CREATE TABLE {tag}_permits (firm_id INT PRIMARY KEY, permit VARCHAR(40)) DEFAULT CHARSET = utf8mb4; INSERT INTO {tag}_permits SELECT seq, CONCAT('许可-', seq) FROM seq_1_to_300 WHERE seq % 3 = 0")).await;

    let dir = tempfile::tempdir().unwrap();
    let store = tongshu_store::testing::sqlite_store(dir.path()).await.unwrap();
    let org = store
        .insert_org(&tongshu_core::org::Organization {
            id: 0,
            parent_id: None,
            kind: tongshu_core::org::OrgKind::Department,
            name: "市场监管局".into(),
            slug: "scj".into(),
            district_code: "371300".into(),
            credit_code: None,
        })
        .await
        .unwrap();
    let lake = tongshu_lake::Library::open(dir.path().join("lib").to_str().unwrap(), Default::default()).unwrap();
    let library = LibraryService::new(lake.clone(), store.clone()).with_secret(tongshu_sources::SecretKey::generate());
    let who = admin(org.id);
    library.add_source(&who, source_of("scj_pg", &pg, org.id)).await.unwrap();
    library.add_source(&who, source_of("scj_my", &my, org.id)).await.unwrap();
    let ext = ExternalTables::new(store.clone(), library.clone());
    let lake = ext.attach(lake);

    // A library table to join with.
    let file = dir.path().join("scores.csv");
    std::fs::write(&file, "firm_id,score\n2,90\n4,75\n6,60\n").unwrap();
    lake.ingest(IngestRequest { create: true, ..IngestRequest::new("scores", file, "test") }).await.unwrap();

    // Bad registrations: nothing is kept.
    let clerk = Principal { role: Role::DataOfficer, ..admin(org.id) };
    assert!(
        ext.add(&clerk, "firms", "scj_pg", &format!("public.{tag}_firms"))
            .await
            .unwrap_err()
            .to_string()
            .contains("administrators")
    );
    let err = ext.add(&who, "firms", "scj_pg", "public.nosuch").await.unwrap_err().to_string();
    assert!(err.contains("nosuch"), "{err}");
    let err = ext.add(&who, "scores", "scj_pg", &format!("public.{tag}_firms")).await.unwrap_err().to_string();
    assert!(err.contains("is a library table"), "{err}");
    let err = ext.add(&who, "firms", "scj_pg", "public.x; DROP TABLE y").await.unwrap_err().to_string();
    assert!(err.contains("schema.table"), "{err}");
    assert!(ext.list().await.unwrap().is_empty());

    ext.add(&who, "firms", "scj_pg", &format!("public.{tag}_firms")).await.unwrap();
    ext.add(&who, "permits", "scj_my", &format!("{tag}_permits")).await.unwrap();
    assert_eq!(ext.list().await.unwrap().len(), 2);

    // In place, joined with a library table and with each other.
    let (out, _) = text(
        &lake,
        "SELECT f.name, f.district, s.score, p.permit FROM firms f JOIN scores s ON s.firm_id = f.id \
         LEFT JOIN permits p ON p.firm_id = f.id ORDER BY f.id",
        100,
    )
    .await;
    assert!(out.contains("企业2") && out.contains("| 90") && out.contains("许可-6"), "{out}");
    assert_eq!(out.lines().filter(|l| l.contains("企业")).count(), 3, "{out}");

    // The source sees the change at once: nothing was copied.
    exec(&pg, &format!("UPDATE {tag}_firms SET name = '改名企业' WHERE id = 2")).await;
    let (out, _) = text(&lake, "SELECT name FROM firms WHERE id = 2", 10).await;
    assert!(out.contains("改名企业"), "{out}");

    // Filters and projections go to the source: the scan's SQL names them.
    let (plan, _) = text(&lake, "EXPLAIN SELECT name FROM firms WHERE district = '兰山区' AND id > 250", 100).await;
    assert!(plan.contains("SqlExec sql=SELECT"), "{plan}");
    assert!(
        plan.contains("WHERE") && plan.contains("'兰山区'") && plan.contains("> 250") && !plan.contains("capital"),
        "{plan}"
    );
    let (plan, _) = text(&lake, "EXPLAIN SELECT permit FROM permits WHERE firm_id = 9", 100).await;
    assert!(plan.contains("WHERE") && plan.contains("firm_id"), "{plan}");

    // The statement's row limit holds, and statements stay read-only.
    let (_, truncated) = text(&lake, "SELECT * FROM firms", 50).await;
    assert!(truncated);
    let limits = QueryLimits { max_rows: 10, timeout: Duration::from_secs(10) };
    assert!(lake.sql("DELETE FROM firms", &[], limits).await.is_err());
    assert!(lake.sql("INSERT INTO permits VALUES (1, 'x')", &[], limits).await.is_err());

    // Removed: the name is unknown again.
    ext.remove(&who, "permits").await.unwrap();
    let err = lake.sql("SELECT * FROM permits", &[], limits).await.unwrap_err().to_string();
    assert!(err.contains("permits"), "{err}");
    exec(&pg, &format!("DROP TABLE {tag}_firms")).await;
    exec(&my, &format!("DROP TABLE {tag}_permits")).await;
}
