//! Extractors that turn bad requests into clear JSON errors naming the field at fault.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use tongshu_core::FieldErrors;

use crate::http::error::{ApiError, ErrorCode, field_error};

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

/// The client's address (loopback when the server runs without connection info, as in
/// tests that drive the router directly).
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(a)| a.ip());
        Ok(ClientIp(ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))))
    }
}

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

    async fn parse(query: &str) -> Result<Wants, crate::http::error::ApiError> {
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
