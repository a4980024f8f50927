//! The evidence log against tampering, on SQLite and PostgreSQL: editing, deleting,
//! reordering or truncating records is found by `audit_verify`, which names the first
//! broken record.

use tongshu_core::evidence::EvidenceFields;
use tongshu_store::{MetaStore, testing};

async fn stores() -> Vec<(MetaStore, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = vec![(testing::sqlite_store(dir.path()).await.unwrap(), Some(dir))];
    if let Some(pg) = testing::postgres_store().await {
        out.push((pg, None));
    }
    out
}

async fn five(store: &MetaStore) {
    for i in 1..=5 {
        let f = EvidenceFields {
            at: format!("2026-11-29T08:00:0{i}Z"),
            kind: "call".into(),
            org_id: Some(i),
            subject: "table:t".into(),
            request_hash: "h".into(),
            rows_out: i * 10,
            status: 200,
            ..Default::default()
        };
        store.append_evidence(&f).await.unwrap();
    }
}

async fn broken_at(store: &MetaStore) -> Option<i64> {
    tongshu_exchange::audit_verify(store, &[]).await.unwrap().err().map(|b| b.seq)
}

#[tokio::test]
async fn tampering_with_the_evidence_log_is_detected() {
    let cases: &[(&str, &[&str], i64)] = &[
        ("edit", &["UPDATE evidence SET rows_out = 999 WHERE seq = 3"], 3),
        ("delete", &["DELETE FROM evidence WHERE seq = 2"], 2),
        (
            "reorder",
            &[
                "UPDATE evidence SET seq = 100 WHERE seq = 2",
                "UPDATE evidence SET seq = 2 WHERE seq = 4",
                "UPDATE evidence SET seq = 4 WHERE seq = 100",
            ],
            2,
        ),
        ("truncate", &["DELETE FROM evidence WHERE seq = 5"], 5),
        ("rehash the tail", &["UPDATE evidence SET detail = 'x', hash = prev_hash WHERE seq = 4"], 4),
    ];
    for (what, sql, expected) in cases {
        for (store, _dir) in stores().await {
            five(&store).await;
            let ok = tongshu_exchange::audit_verify(&store, &[]).await.unwrap().unwrap();
            assert_eq!(ok.records, 5);
            for s in *sql {
                testing::execute(&store, s).await.unwrap();
            }
            assert_eq!(broken_at(&store).await, Some(*expected), "{what} on {:?}", store.backend());
        }
    }
}

#[tokio::test]
async fn anchors_catch_a_rewritten_history() {
    for (store, _dir) in stores().await {
        five(&store).await;
        assert!(store.anchor_evidence("2026-11-29").await.unwrap());
        assert!(!store.anchor_evidence("2026-11-29").await.unwrap(), "one anchor a day");
        // Rewrite record 3's content and recompute every hash from there, head included.
        testing::execute(&store, "UPDATE evidence SET rows_out = 0 WHERE seq = 3").await.unwrap();
        let mut prev = store.evidence_page(1, 1).await.unwrap()[0].hash.clone();
        for r in store.evidence_page(2, 10).await.unwrap() {
            let hash = tongshu_core::evidence::chain_hash(r.seq, &r.fields, &prev);
            let sql = format!("UPDATE evidence SET prev_hash = '{prev}', hash = '{hash}' WHERE seq = {}", r.seq);
            testing::execute(&store, &sql).await.unwrap();
            prev = hash;
        }
        testing::execute(&store, &format!("UPDATE evidence_head SET hash = '{prev}'")).await.unwrap();
        assert_eq!(broken_at(&store).await, Some(5), "the anchor of the day names the last record it covered");
    }
}

#[tokio::test]
async fn the_anchor_file_outside_the_store_catches_a_rewritten_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = testing::sqlite_store(dir.path()).await.unwrap();
    five(&store).await;
    let file = dir.path().join("anchors.txt");
    let lake = tongshu_lake::Library::open(dir.path().join("lib").to_str().unwrap(), Default::default()).unwrap();
    let mut ex = tongshu_exchange::Exchange::new(
        store.clone(),
        tongshu_library::LibraryService::new(lake, store.clone()),
        tongshu_sources::SecretKey::generate(),
        Default::default(),
    );
    ex.set_anchor_file(file.clone());
    assert!(ex.anchor("2026-11-29").await.unwrap());
    let anchors = tongshu_exchange::read_anchor_file(&file);
    assert_eq!(anchors.len(), 1);
    // Someone with the database rewrites a record, its successors, the head and the stored
    // anchors; the file still holds the truth.
    testing::execute(&store, "DELETE FROM evidence_anchors").await.unwrap();
    testing::execute(&store, "UPDATE evidence SET rows_out = 0 WHERE seq = 5").await.unwrap();
    let r = store.evidence_page(4, 1).await.unwrap().remove(0);
    let hash = tongshu_core::evidence::chain_hash(5, &r.fields, &r.prev_hash);
    testing::execute(&store, &format!("UPDATE evidence SET hash = '{hash}' WHERE seq = 5")).await.unwrap();
    testing::execute(&store, &format!("UPDATE evidence_head SET hash = '{hash}'")).await.unwrap();
    assert!(tongshu_exchange::audit_verify(&store, &[]).await.unwrap().is_ok(), "the store alone is fooled");
    let e = tongshu_exchange::audit_verify(&store, &anchors).await.unwrap().unwrap_err();
    assert_eq!(e.seq, 5, "{e}");
}

/// What a test interface fails with.
#[derive(Debug)]
struct Failed(u16, String);

impl From<tongshu_exchange::ExchangeError> for Failed {
    fn from(e: tongshu_exchange::ExchangeError) -> Self {
        Failed(500, e.to_string())
    }
}

impl tongshu_exchange::CallFailure for Failed {
    fn status(&self) -> u16 {
        self.0
    }
    fn message(&self) -> String {
        self.1.clone()
    }
}

#[tokio::test]
async fn a_call_is_released_only_once_its_evidence_is_written() {
    for (store, _dir) in stores().await {
        let dir = tempfile::tempdir().unwrap();
        let lake = tongshu_lake::Library::open(dir.path().join("lib").to_str().unwrap(), Default::default()).unwrap();
        let library = tongshu_library::LibraryService::new(lake, store.clone());
        let ex = tongshu_exchange::Exchange::new(
            store.clone(),
            library,
            tongshu_sources::SecretKey::generate(),
            Default::default(),
        );
        let user = tongshu_core::policy::Principal {
            user_id: 1,
            username: "u".into(),
            display_name: "u".into(),
            role: tongshu_core::policy::Role::Consumer,
            org_id: 7,
        };
        let req = || tongshu_exchange::CallRequest {
            subject: "table:t",
            method: "GET",
            path: "/t",
            query: "",
            body: b"",
            signed: None,
            user: Some(&user),
            repeatable: true,
        };
        let work = |_| async {
            Ok::<_, Failed>(tongshu_exchange::Delivered { answer: "rows", status: 200, rows: 3, bytes: 4 })
        };
        assert_eq!(ex.call(req(), work).await.unwrap(), "rows");
        let (seq, _) = store.evidence_head().await.unwrap();
        assert_eq!(seq, 1, "the call's record is written");
        // An unsigned call without a user: refused, and recorded too.
        let anonymous = tongshu_exchange::CallRequest { user: None, ..req() };
        let e = ex.call(anonymous, work).await.unwrap_err();
        assert!(e.1.contains("sign the call"), "{e:?}");
        assert_eq!(store.evidence_head().await.unwrap().0, 2);
        // Many calls at once are committed in groups; each gets its own record, and the
        // chain still verifies.
        let many: Vec<_> = (0..50).map(|_| ex.call(req(), work)).collect();
        for r in futures::future::join_all(many).await {
            assert_eq!(r.unwrap(), "rows");
        }
        assert_eq!(store.evidence_head().await.unwrap().0, 52, "one record per call");
        assert!(tongshu_exchange::audit_verify(&store, &[]).await.unwrap().is_ok(), "the chain verifies");
        // The log cannot take the record: the answer is withheld.
        testing::execute(&store, "DROP TABLE evidence_head").await.unwrap();
        let e = ex.call(req(), work).await.unwrap_err();
        assert_eq!(e.0, 500, "{e:?}");
    }
}
