//! axum's `Json`, `Path` and `Query`, with their rejections answered as the JSON [`ErrorBody`]:
//! invalid UTF-8 in a path parameter is 400 `invalid_path`, a body that is not `application/json` is 415,
//! one over the body limit 413, malformed JSON 400 and JSON of the wrong shape 422.
//! (axum's own extractors answer these in `text/plain`.)
use axum::{
    extract::{FromRequest, FromRequestParts},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::error::ErrorBody;

/// A JSON request body (extractor) or response body.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ErrorBody))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ErrorBody))]
pub struct Path<T>(pub T);

/// The query string.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ErrorBody))]
pub struct Query<T>(pub T);
