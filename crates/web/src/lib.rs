//! HTTP for Tongshu: the JSON API under `/api/v1` with its OpenAPI document, the
//! server-rendered pages in Simplified Chinese, embedded assets, health and metrics.
//!
//! Only this crate knows HTTP, HTML and JSON wire shapes. It is cut by plane: [`http`] is
//! the shared layer (caller, errors, extractors, limits, rendering, wording, the row
//! language) and imports no plane; `catalog`, `library`, `portal`, `exchange` and
//! `accounts` each hold their plane's API handlers, pages and route table; `ops` has health,
//! metrics, assets and the OpenAPI document. Every route is listed in its plane's table with
//! the [`Action`](tongshu_core::policy::Action) it needs ([`routes::policy`]); one
//! middleware enforces that table on every request, so a route without a policy cannot be
//! reached at all.

mod accounts;
mod catalog;
mod exchange;
mod http;
mod library;
mod openapi;
mod ops;
mod portal;
mod projects;
pub mod routes;

use std::net::SocketAddr;
use std::sync::Arc;

use tongshu_accounts::Accounts;
use tongshu_catalog::Catalog;
use tongshu_library::LibraryService;
use tongshu_store::MetaStore;

pub use http::caller::SESSION_COOKIE;
pub use http::error::ErrorCode;
pub use openapi::openapi_json;

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
    pub accounts: Accounts,
    pub catalog: Catalog,
    pub library: LibraryService,
    pub portal: tongshu_portal::Portal,
    pub exchange: tongshu_exchange::Exchange,
    pub projects: tongshu_projects::ProjectsService,
    pub settings: Arc<WebSettings>,
    limiter: Arc<http::ratelimit::Limiter>,
    metrics: Arc<http::metrics::Metrics>,
    templates: Arc<http::templates::Templates>,
}

impl AppState {
    pub fn new(store: MetaStore, accounts: Accounts, library: LibraryService, settings: WebSettings) -> Self {
        let templates = Arc::new(http::templates::Templates::new(&settings.city));
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
            // Documents are kept in the library's storage, which every node shares.
            projects: tongshu_projects::ProjectsService::new(
                store.clone(),
                library.lake().clone(),
                tongshu_projects::Settings::default(),
            ),
            library,
            accounts,
            limiter: Arc::new(http::ratelimit::Limiter::new(settings.public_rate_per_minute)),
            settings: Arc::new(settings),
            metrics: Arc::new(http::metrics::Metrics::default()),
            templates,
        }
    }
}

impl AppState {
    /// The site's base URL for absolute links: the configured public address, never the
    /// request's Host or forwarded headers (which any caller can set).
    pub(crate) fn base_url(&self) -> String {
        self.settings.public_url.trim_end_matches('/').to_owned()
    }

    pub(crate) fn limiter(&self) -> &http::ratelimit::Limiter {
        &self.limiter
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

#[cfg(test)]
mod layout {
    //! The crate's layout rules, read from its own sources: the shared layer imports no
    //! plane, planes do not import each other, and only the composition root and the error
    //! mapping name the store.

    use std::path::{Path, PathBuf};

    const PLANES: [&str; 5] = ["accounts", "catalog", "exchange", "library", "portal"];
    /// What sits above the shared layer: the planes and the modules that assemble them.
    const ABOVE: [&str; 8] = ["accounts", "catalog", "exchange", "library", "portal", "ops", "openapi", "routes"];

    fn sources(dir: &Path) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                out.extend(sources(&path));
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path, text));
            }
        }
        out
    }

    fn src() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
    }

    fn names(text: &str, module: &str) -> bool {
        text.contains(&format!("crate::{module}::")) || text.contains(&format!("crate::{module};"))
    }

    #[test]
    fn the_shared_layer_imports_no_plane() {
        let files = sources(&src().join("http"));
        assert!(files.len() > 10, "the shared layer is where it should be");
        for (path, text) in files {
            for m in ABOVE {
                assert!(!names(&text, m), "{} (shared layer) uses crate::{m}", path.display());
            }
        }
    }

    #[test]
    fn planes_do_not_import_each_other() {
        for plane in PLANES {
            for (path, text) in sources(&src().join(plane)) {
                for other in PLANES.iter().filter(|p| **p != plane) {
                    assert!(!names(&text, other), "{} ({plane}) uses crate::{other}", path.display());
                }
            }
        }
    }

    #[test]
    fn handlers_reach_services_not_the_store() {
        let allowed = [src().join("lib.rs"), src().join("http").join("error.rs")];
        for (path, text) in sources(&src()) {
            if !allowed.contains(&path) {
                assert!(!text.contains("tongshu_store"), "{} names tongshu_store", path.display());
                assert!(!text.contains("state.store"), "{} reaches the store", path.display());
            }
        }
    }
}
