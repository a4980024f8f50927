//! The closed set of API error codes, each with its HTTP status, and the error type that
//! handlers return. 5xx details are logged, never shown to the caller.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tongshu_accounts::AccountError;
use tongshu_catalog::CatalogError;
use tongshu_core::{FieldError, FieldErrors};
use tongshu_store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    InvalidFields,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    Internal,
    Unavailable,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::InvalidFields => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
}

/// An error answer of the JSON API.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub fields: Option<FieldErrors>,
    /// Seconds to wait, for 429 answers.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), fields: None, retry_after: None }
    }

    pub fn fields(code: ErrorCode, message: impl Into<String>, fields: FieldErrors) -> Self {
        Self { code, message: message.into(), fields: Some(fields), retry_after: None }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "internal error");
        Self::new(ErrorCode::Internal, "internal error, see the server log")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { code: self.code, message: self.message, fields: self.fields.map(|f| f.0) };
        let mut resp = (self.code.status(), axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Invalid(f) => ApiError::fields(ErrorCode::InvalidFields, format!("invalid entry: {f}"), f),
            CatalogError::NotFound(what) => ApiError::new(ErrorCode::NotFound, format!("{what} not found")),
            CatalogError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            CatalogError::Forbidden(m) => ApiError::new(ErrorCode::Forbidden, m),
            CatalogError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::new(ErrorCode::NotFound, format!("{what} not found")),
            StoreError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            e => ApiError::internal(e),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::BadCredentials => ApiError::new(ErrorCode::Unauthorized, e.to_string()),
            AccountError::Throttled(secs) => {
                ApiError { retry_after: Some(secs), ..ApiError::new(ErrorCode::TooManyRequests, e.to_string()) }
            }
            AccountError::WeakPassword => field_error("password", e.to_string()),
            AccountError::BadUsername => field_error("username", e.to_string()),
            AccountError::LookalikeUsername(_) => ApiError::new(ErrorCode::Conflict, e.to_string()),
            AccountError::Store(s) => s.into(),
            AccountError::Hash(_) => ApiError::internal(e),
            AccountError::NoSuchOrganization(_) => field_error("org_id", e.to_string()),
        }
    }
}

impl From<tongshu_portal::PortalError> for ApiError {
    fn from(e: tongshu_portal::PortalError) -> Self {
        use tongshu_portal::PortalError as P;
        match e {
            P::NotFound(m) => ApiError::new(ErrorCode::NotFound, format!("{m} not found")),
            P::Forbidden(m) => ApiError::new(ErrorCode::Forbidden, m),
            P::Invalid(m) => ApiError::new(ErrorCode::BadRequest, m),
            P::Fields(f) => ApiError::fields(ErrorCode::InvalidFields, format!("invalid input: {f}"), f),
            P::Store(e) => e.into(),
            e => ApiError::internal(e),
        }
    }
}

pub fn field_error(field: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    let mut f = FieldErrors::default();
    f.add(field, message.clone());
    ApiError::fields(ErrorCode::InvalidFields, format!("{field}: {message}"), f)
}

impl From<tongshu_library::LibraryError> for ApiError {
    fn from(e: tongshu_library::LibraryError) -> Self {
        use tongshu_lake::LakeError as L;
        match e {
            tongshu_library::LibraryError::Forbidden(m) => ApiError::new(ErrorCode::Forbidden, m),
            tongshu_library::LibraryError::Catalog(e) => e.into(),
            tongshu_library::LibraryError::Store(e) => e.into(),
            tongshu_library::LibraryError::Lake(L::NoSuchTable(t)) => {
                ApiError::new(ErrorCode::NotFound, format!("table {t:?} not found"))
            }
            tongshu_library::LibraryError::Lake(L::TableExists(t)) => {
                ApiError::new(ErrorCode::Conflict, format!("table {t:?} already exists"))
            }
            tongshu_library::LibraryError::Lake(
                e @ (L::Input(_) | L::BadName(_) | L::Rejected(_) | L::Query(_) | L::Timeout(_)),
            ) => ApiError::new(ErrorCode::BadRequest, e.to_string()),
            tongshu_library::LibraryError::Lake(e) => ApiError::internal(e),
        }
    }
}

impl From<tongshu_projects::ProjectsError> for ApiError {
    fn from(e: tongshu_projects::ProjectsError) -> Self {
        use tongshu_projects::ProjectsError as E;
        match e {
            E::Invalid(f) => ApiError::fields(ErrorCode::InvalidFields, f.to_string(), f),
            E::Forbidden(m) => ApiError::new(ErrorCode::Forbidden, m),
            E::NotFound(m) => ApiError::new(ErrorCode::NotFound, format!("{m} not found")),
            E::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            E::Input(m) => ApiError::new(ErrorCode::BadRequest, m),
            E::Store(e) => e.into(),
            E::Io(e) => ApiError::internal(e),
        }
    }
}

impl From<tongshu_exchange::ExchangeError> for ApiError {
    fn from(e: tongshu_exchange::ExchangeError) -> Self {
        use tongshu_exchange::ExchangeError as E;
        match e {
            E::NotFound(m) => ApiError::new(ErrorCode::NotFound, format!("{m} not found")),
            E::Forbidden(m) => ApiError::new(ErrorCode::Forbidden, m),
            E::Unauthorized(m) => ApiError::new(ErrorCode::Unauthorized, m),
            E::Invalid { field, message } => field_error(&field, message),
            E::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
            E::TooManyRequests(m, wait) => {
                let mut e = ApiError::new(ErrorCode::TooManyRequests, format!("quota exceeded: {m}"));
                e.retry_after = Some(wait.max(1));
                e
            }
            E::Store(e) => e.into(),
            E::Library(e) => e.into(),
            E::Lake(e) => tongshu_library::LibraryError::Lake(e).into(),
            E::Internal(m) => ApiError::internal(m),
        }
    }
}
