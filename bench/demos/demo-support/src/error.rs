//! The one JSON error shape every demo answers:
//!
//! ```json
//! {"error": "account bob not found", "code": "account_not_found", "status": 404}
//! ```
//!
//! `error` is for people, `code` (snake_case) is for programs, `status` repeats the HTTP status.
//! A demo's own `thiserror` enum implements [`ApiError`] (its variant decides status and code, never its
//! message text) and then [`json_error!`](crate::json_error) gives it `IntoResponse`.
use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

/// The JSON body of every error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub code: String,
    pub status: u16,
}

impl ErrorBody {
    pub fn new(status: StatusCode, code: &str, error: impl Into<String>) -> Self {
        ErrorBody {
            error: error.into(),
            code: code.into(),
            status: status.as_u16(),
        }
    }

    /// True if `value` has exactly this shape: a string `error`, a snake_case `code` and a numeric `status`.
    pub fn matches(value: &serde_json::Value) -> bool {
        let code = value["code"].as_str().unwrap_or("");
        value["error"].is_string()
            && value["status"].is_u64()
            && !code.is_empty()
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }
}

impl IntoResponse for ErrorBody {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(code = %self.code, "{}", self.error);
        }
        (status, axum::Json(self)).into_response()
    }
}

/// An error a handler can return: its variant gives the HTTP status and the machine code; the message is
/// its `Display` (from `#[error("...")]`).
pub trait ApiError: std::fmt::Display {
    fn status_code(&self) -> (StatusCode, &'static str);

    fn to_body(&self) -> ErrorBody {
        let (status, code) = self.status_code();
        ErrorBody::new(status, code, self.to_string())
    }
}

/// `json_error!(MyError);` implements `IntoResponse` for a type that implements [`ApiError`].
#[macro_export]
macro_rules! json_error {
    ($ty:ty) => {
        impl $crate::__private::axum::response::IntoResponse for $ty {
            fn into_response(self) -> $crate::__private::axum::response::Response {
                $crate::__private::axum::response::IntoResponse::into_response(
                    $crate::error::ApiError::to_body(&self),
                )
            }
        }
    };
}

/// Fallback for unknown routes: 404 `no_such_route`.
pub async fn not_found() -> ErrorBody {
    ErrorBody::new(StatusCode::NOT_FOUND, "no_such_route", "no such route")
}

/// Fallback for a known route asked with another method: 405 `method_not_allowed`.
pub async fn method_not_allowed() -> ErrorBody {
    ErrorBody::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed",
    )
}

impl From<JsonRejection> for ErrorBody {
    fn from(rejection: JsonRejection) -> Self {
        let code = match &rejection {
            JsonRejection::JsonDataError(_) => "invalid_body",
            JsonRejection::JsonSyntaxError(_) => "malformed_json",
            JsonRejection::MissingJsonContentType(_) => "unsupported_media_type",
            JsonRejection::BytesRejection(_)
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                "payload_too_large"
            }
            JsonRejection::BytesRejection(_) => "unreadable_body",
            _ => "bad_request",
        };
        ErrorBody::new(rejection.status(), code, rejection.body_text())
    }
}

impl From<PathRejection> for ErrorBody {
    fn from(rejection: PathRejection) -> Self {
        let code = match &rejection {
            PathRejection::FailedToDeserializePathParams(_) => "invalid_path",
            _ => "path_params_missing",
        };
        ErrorBody::new(rejection.status(), code, rejection.body_text())
    }
}

impl From<QueryRejection> for ErrorBody {
    fn from(rejection: QueryRejection) -> Self {
        ErrorBody::new(rejection.status(), "invalid_query", rejection.body_text())
    }
}
