//! Static assets embedded in the binary: government intranets have no internet, so no CDN.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

use crate::http::error::{ApiError, ErrorCode};

const FILES: &[(&str, &str, &str)] = &[
    ("style.css", "text/css; charset=utf-8", include_str!("../../assets/style.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../assets/app.js")),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, ..)| *name == file) {
        Some((_, mime, body)) => {
            ([(CONTENT_TYPE, *mime), (CACHE_CONTROL, "public, max-age=3600")], *body).into_response()
        }
        None => ApiError::new(ErrorCode::NotFound, format!("asset {file:?} not found")).into_response(),
    }
}
