//! One image from a `multipart/form-data` body (feature `upload`): the first field of a given name, read
//! under the app's body limit, its type sniffed from its first bytes (PNG, JPEG or GIF; a declared
//! content type must agree), every failure a typed error with a JSON answer.
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::http::StatusCode;

use crate::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    NotMultipart(#[from] MultipartRejection),
    #[error("{0}")]
    Unreadable(#[from] MultipartError),
    #[error("no multipart field named `{0}`")]
    NoField(&'static str),
    #[error("only PNG, JPEG or GIF images")]
    NotAnImage,
}

impl ApiError for UploadError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            UploadError::NotMultipart(r) => (r.status(), "invalid_upload"),
            UploadError::Unreadable(e) => (e.status(), "invalid_upload"),
            UploadError::NoField(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_upload"),
            UploadError::NotAnImage => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_an_image"),
        }
    }
}

crate::json_error!(UploadError);

/// An uploaded image: its sniffed media type and its bytes.
#[derive(Clone, Debug)]
pub struct Image {
    pub content_type: &'static str,
    pub bytes: Bytes,
}

/// The media type of an image, from its first bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let signatures: [(&[u8], &str); 3] = [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF8", "image/gif"),
    ];
    let found = signatures
        .into_iter()
        .find(|(magic, _)| bytes.starts_with(magic));
    found.map(|(_, mime)| mime)
}

/// The image in the first field named `name` of `multipart` (a handler's `Result<Multipart, _>`
/// argument, so that the caller can refuse the request before the body is read).
pub async fn image(
    multipart: Result<Multipart, MultipartRejection>,
    name: &'static str,
) -> Result<Image, UploadError> {
    let mut multipart = multipart?;
    while let Some(field) = multipart.next_field().await? {
        if field.name() != Some(name) {
            continue;
        }
        let declared = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await?;
        let sniffed = sniff(&bytes).filter(|m| declared.as_deref().is_none_or(|d| d == *m));
        let content_type = sniffed.ok_or(UploadError::NotAnImage)?;
        return Ok(Image {
            content_type,
            bytes,
        });
    }
    Err(UploadError::NoField(name))
}
