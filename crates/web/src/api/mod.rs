//! The JSON API under `/api/v1`: thin handlers that parse, call one service function and
//! answer. Wire types that differ from the domain types live here.

pub mod auth;
pub mod catalog;
pub mod ckan;
pub mod dcat;
pub mod exchange;
pub mod interfaces;
pub mod library;
pub mod openapi;
pub mod ops;
pub mod orgs;
pub mod portal;
pub mod rows;
pub mod sharing;

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
            let msg = e.inner().to_string();
            // A missing field is reported at the root (`.`): name the field itself.
            let field = match e.path().to_string().as_str() {
                "." => msg
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next())
                    .unwrap_or("query")
                    .to_owned(),
                path => path.to_owned(),
            };
            let mut f = FieldErrors::default();
            f.add(field.clone(), msg.clone());
            ApiError::fields(ErrorCode::BadRequest, format!("bad query parameter {field}: {msg}"), f)
        })
    }
}

/// A 400 naming the parameter (query, path or body field) that is wrong.
pub fn bad_param(field: &str, message: impl Into<String>) -> ApiError {
    let mut e = field_error(field, message);
    e.code = ErrorCode::BadRequest;
    e
}

/// Parses a numeric id from a path segment.
pub fn parse_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| bad_param("id", format!("{s:?} is not a valid id")))
}

/// Checks paging parameters: `limit` 1..=max (default `default`), `offset` ≥ 0.
pub fn paging(limit: Option<i64>, offset: Option<i64>, default: i64, max: i64) -> Result<(i64, i64), ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(bad_param("limit", format!("must be between 1 and {max}")));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(bad_param("offset", "must not be negative"));
    }
    Ok((limit, offset))
}

#[cfg(test)]
mod tests {
    use axum::extract::FromRequestParts;

    use super::ApiQuery;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)] // read only through Debug
    struct Wants {
        name: String,
        limit: Option<u32>,
    }

    async fn parse(query: &str) -> Result<Wants, crate::error::ApiError> {
        let (mut parts, ()) = axum::http::Request::get(format!("/x?{query}")).body(()).unwrap().into_parts();
        ApiQuery::<Wants>::from_request_parts(&mut parts, &()).await.map(|q| q.0)
    }

    #[tokio::test]
    async fn bad_query_parameters_are_named_in_words() {
        let e = parse("limit=1").await.unwrap_err();
        assert_eq!(e.message, "bad query parameter name: missing field `name`");
        let e = parse("name=x&limit=many").await.unwrap_err();
        assert!(e.message.starts_with("bad query parameter limit: "), "{}", e.message);
        assert!(parse("name=x").await.is_ok());
    }
}
