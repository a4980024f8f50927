//! The JSON API under `/api/v1`: thin handlers that parse, call one service function and
//! answer. Wire types that differ from the domain types live here.

pub mod auth;
pub mod catalog;
pub mod library;
pub mod openapi;
pub mod ops;
pub mod orgs;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use tongshu_core::FieldErrors;

use crate::error::{ApiError, ErrorCode, field_error};

/// Query parameters; a malformed one is a 400 naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|e| {
            let field = e.path().to_string();
            let msg = e.into_inner().to_string();
            let mut f = FieldErrors::default();
            f.add(field.clone(), msg.clone());
            ApiError::fields(ErrorCode::BadRequest, format!("bad query parameter {field}: {msg}"), f)
        })
    }
}

/// Parses a numeric id from a path segment.
pub fn parse_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
        let mut e = field_error("id", format!("{s:?} is not a valid id"));
        e.code = ErrorCode::BadRequest;
        e
    })
}

/// Checks paging parameters: `limit` 1..=max (default `default`), `offset` ≥ 0.
pub fn paging(limit: Option<i64>, offset: Option<i64>, default: i64, max: i64) -> Result<(i64, i64), ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        let mut e = field_error("limit", format!("must be between 1 and {max}"));
        e.code = ErrorCode::BadRequest;
        return Err(e);
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        let mut e = field_error("offset", "must not be negative");
        e.code = ErrorCode::BadRequest;
        return Err(e);
    }
    Ok((limit, offset))
}
