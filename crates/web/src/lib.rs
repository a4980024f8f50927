//! HTTP for Tongshu: the JSON API under `/api/v1` with its OpenAPI document, the
//! server-rendered pages in Simplified Chinese, embedded assets, health and metrics.
//!
//! Only this crate knows HTTP, HTML and JSON wire shapes. Every route is listed in
//! [`routes::POLICY`] with the [`Action`](tongshu_core::policy::Action) it needs; one
//! middleware enforces that table on every request, so a route without a policy cannot be
//! reached at all.

mod api;
mod assets;
mod caller;
mod error;
mod extract;
mod metrics;
mod pages;
mod ratelimit;
pub mod routes;
mod templates;

use std::net::SocketAddr;
use std::sync::Arc;

use tongshu_accounts::Accounts;
use tongshu_catalog::Catalog;
use tongshu_library::LibraryService;
use tongshu_store::MetaStore;

pub use api::openapi::openapi_json;
pub use caller::SESSION_COOKIE;
pub use error::ErrorCode;

/// Web settings that come from the typed configuration.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Mark cookies `Secure` (when served over HTTPS, usually behind a proxy).
    pub secure_cookies: bool,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The demo city is loaded: the sign-in page hints at the demo accounts.
    pub demo: bool,
    /// The largest file the ingest upload accepts, in bytes.
    pub upload_max_bytes: u64,
    /// Where uploads and exports are staged.
    pub upload_dir: std::path::PathBuf,
    /// Requests a minute each client address may make to the public data APIs (CKAN
    /// actions, downloads, DCAT) without an API key; 0: no limit.
    pub public_rate_per_minute: u32,
    /// Requests a minute each API key may make to them, unless the key has its own rate.
    pub key_rate_per_minute: u32,
    /// Where users reach the site (`scheme://host[:port]`, no trailing slash): absolute
    /// links are built from it, never from the request's Host header.
    pub public_url: String,
    /// The city the platform serves (names, districts, site titles); Linyi by default.
    pub city: tongshu_core::city::City,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            max_body_bytes: 2 * 1024 * 1024,
            demo: false,
            upload_max_bytes: 20 << 30,
            upload_dir: std::env::temp_dir().join("tongshu-uploads"),
            public_rate_per_minute: 600,
            key_rate_per_minute: 6000,
            public_url: "http://127.0.0.1:8080".into(),
            city: tongshu_core::city::City::linyi(),
        }
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: MetaStore,
    pub accounts: Accounts,
    pub catalog: Catalog,
    pub library: LibraryService,
    pub portal: tongshu_portal::Portal,
    pub exchange: tongshu_exchange::Exchange,
    pub settings: Arc<WebSettings>,
    limiter: Arc<ratelimit::Limiter>,
    metrics: Arc<metrics::Metrics>,
    templates: Arc<templates::Templates>,
}

impl AppState {
    pub fn new(store: MetaStore, accounts: Accounts, library: LibraryService, settings: WebSettings) -> Self {
        let templates = Arc::new(templates::Templates::new(&settings.city));
        Self {
            catalog: Catalog::new(store.clone()),
            // An in-memory index: creating it fails only if tantivy itself is broken.
            portal: tongshu_portal::Portal::new(store.clone(), library.clone())
                .expect("an in-memory search index")
                .with_city(settings.city.clone()),
            exchange: tongshu_exchange::Exchange::new(
                store.clone(),
                library.clone(),
                // Without a configured key (tests), app secrets are sealed under a key of this run.
                library.secret_key().cloned().unwrap_or_else(tongshu_sources::SecretKey::generate),
                tongshu_exchange::ExchangeSettings::default(),
            ),
            library,
            store,
            accounts,
            limiter: Arc::new(ratelimit::Limiter::new(settings.public_rate_per_minute)),
            settings: Arc::new(settings),
            metrics: Arc::new(metrics::Metrics::default()),
            templates,
        }
    }
}

/// The whole application as a router (tests drive it with `oneshot` or over a socket).
pub fn app(state: AppState) -> axum::Router {
    routes::router(state)
}

/// Serves the application on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
