//! Extractors that turn bad requests into clear JSON errors naming the field at fault.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use tongshu_core::FieldErrors;

use crate::error::{ApiError, ErrorCode};

/// A JSON body. Wrong content type → 415; too large → 413; malformed or mistyped → 400
/// with the path of the offending field (`items[0].length`).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                let m = m.trim();
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "request body must be application/json"));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(body_error)?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(v) => Ok(ApiJson(v)),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let field = if path == "." { "body".to_owned() } else { path };
                let mut fields = FieldErrors::default();
                let msg = inner.to_string();
                fields.add(field.clone(), msg.clone());
                Err(ApiError::fields(ErrorCode::BadRequest, format!("malformed JSON at {field}: {msg}"), fields))
            }
        }
    }
}

/// Maps a failure to read the body to 413 (too large) or 400.
pub fn body_error(e: axum::extract::rejection::BytesRejection) -> ApiError {
    let too_large = e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE;
    if too_large {
        ApiError::new(ErrorCode::PayloadTooLarge, "request body is too large")
    } else {
        ApiError::new(ErrorCode::BadRequest, format!("could not read the request body: {e}"))
    }
}

/// An optional JSON body: absent when the request has no body and no content type.
impl<S: Send + Sync, T: DeserializeOwned> axum::extract::OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let empty = req.headers().get(CONTENT_TYPE).is_none()
            && req.headers().get(axum::http::header::CONTENT_LENGTH).is_none_or(|v| v.as_bytes() == b"0");
        if empty {
            return Ok(None);
        }
        <ApiJson<T> as FromRequest<S>>::from_request(req, state).await.map(Some)
    }
}
