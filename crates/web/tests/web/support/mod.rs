//! `spawn_app`: a fresh store (SQLite or PostgreSQL) with the demo city, served on port 0.

use std::net::SocketAddr;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tongshu_accounts::Accounts;
use tongshu_store::MetaStore;
use tongshu_web::{AppState, WebSettings};

pub struct TestApp {
    pub addr: SocketAddr,
    pub store: MetaStore,
    pub library: tongshu_library::LibraryService,
    pub dir: std::path::PathBuf,
    /// The platform's secret key (sealed app secrets): every node of a platform has it.
    secret: tongshu_sources::SecretKey,
    _dir: tempfile::TempDir,
}

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Starts the app on SQLite.
pub async fn spawn_app() -> TestApp {
    spawn_on(Backend::Sqlite).await.expect("sqlite is always available")
}

/// Starts the app on `backend`; `None` when PostgreSQL is not configured (outside CI).
pub async fn spawn_on(backend: Backend) -> Option<TestApp> {
    let d = WebSettings::default();
    spawn_with(backend, d.public_rate_per_minute, d.key_rate_per_minute).await
}

/// Starts the app on SQLite with a public API rate limit of `per_minute` per address.
pub async fn spawn_limited(per_minute: u32) -> TestApp {
    spawn_with(Backend::Sqlite, per_minute, 0).await.expect("sqlite is always available")
}

/// Starts the app on SQLite with limits per address and per API key.
pub async fn spawn_keyed(per_address: u32, per_key: u32) -> TestApp {
    spawn_with(Backend::Sqlite, per_address, per_key).await.expect("sqlite is always available")
}

async fn spawn_with(backend: Backend, public_rate_per_minute: u32, key_rate_per_minute: u32) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let store = match backend {
        Backend::Sqlite => tongshu_store::testing::sqlite_store(dir.path()).await.unwrap(),
        Backend::Postgres => tongshu_store::testing::postgres_store().await?,
    };
    tongshu_demo::seed(&store).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let settings = WebSettings {
        demo: true,
        upload_max_bytes: 1 << 20,
        upload_dir: dir.path().join("uploads"),
        public_rate_per_minute,
        key_rate_per_minute,
        ..WebSettings::default()
    };
    let lake = tongshu_lake::Library::open(dir.path().join("library").to_str().unwrap(), Default::default()).unwrap();
    let secret = tongshu_sources::SecretKey::generate();
    let library = tongshu_library::LibraryService::new(lake, store.clone()).with_secret(secret.clone());
    let state = AppState::new(store.clone(), Accounts::new(store.clone()), library.clone(), settings);
    state.exchange.ensure_seeded().await.unwrap();
    tokio::spawn(tongshu_web::serve(listener, state, std::future::pending()));
    Some(TestApp { addr, store, library, dir: dir.path().to_owned(), secret, _dir: dir })
}

impl TestApp {
    /// Starts another server of the same platform (same store, same library): a second
    /// node. Returns its address.
    pub async fn second_node(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let settings = WebSettings {
            demo: true,
            upload_max_bytes: 1 << 20,
            upload_dir: self.dir.join("uploads-2"),
            ..WebSettings::default()
        };
        // Its own library service and caches; the pool holds no state of its own.
        let lake = tongshu_lake::Library::open(self.dir.join("library").to_str().unwrap(), Default::default()).unwrap();
        let library = tongshu_library::LibraryService::new(lake, self.store.clone()).with_secret(self.secret.clone());
        let state = AppState::new(self.store.clone(), Accounts::new(self.store.clone()), library, settings);
        tokio::spawn(tongshu_web::serve(listener, state, std::future::pending()));
        addr
    }
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn client() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A signed-in API session: the client holds the cookie, `csrf` goes in X-CSRF-Token.
pub struct Session {
    pub client: Client,
    pub csrf: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> Session {
        let client = client();
        let r = client
            .post(self.url("/api/v1/session"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "sign-in of {username}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["user"]["username"], username);
        Session { client, csrf: body["csrf_token"].as_str().unwrap().to_owned() }
    }

    pub async fn org_id(&self, slug: &str) -> i64 {
        self.store.get_org_by_slug(slug).await.unwrap().id
    }
}

impl Session {
    pub async fn get(&self, app: &TestApp, path: &str) -> (StatusCode, Value) {
        let r = self.client.get(app.url(path)).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send(
        &self,
        app: &TestApp,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, app.url(path)).header("x-csrf-token", &self.csrf);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(app, reqwest::Method::POST, path, Some(body)).await
    }
}

/// A complete, valid entry for the JSON API.
pub fn entry(name: &str) -> Value {
    json!({
        "class": "3", "item": "02", "category": "009",
        "name": name,
        "summary": "全市重点人员管控信息，用于跨部门协同。",
        "format": "database",
        "items": [
            {"name": "姓名", "data_type": "text", "length": 50},
            {"name": "公民身份号码", "data_type": "text", "length": 18, "element_code": "DE00002"},
            {"name": "登记日期", "data_type": "date"}
        ],
        "sharing_type": "conditional",
        "sharing_condition": "仅限履行法定职责的部门",
        "sharing_methods": ["interface"],
        "open_type": "open",
        "update_cycle": "monthly",
        "grading": "general",
        "keywords": ["测试"]
    })
}
