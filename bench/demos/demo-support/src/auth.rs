//! Signed-in users for the demos with accounts (feature `auth`): tokens signed by [`jwt::JwtConfig`] and
//! validated by AllFrame's `JwtValidator`, both for one issuer and audience, and a [`User`] extractor for
//! `Authorization: Bearer <token>`; [`Login`] is the demos' sign-in body.
//!
//! AllFrame's `JwtValidator` checks `iss` and `aud` only when a token has them: give the claims type `iss`,
//! `aud` and `exp` fields that are not `Option`s and they are required.
use std::sync::Arc;
use std::time::Duration;

use allframe_core::auth::{extract_bearer_token, AuthError, JwtConfig as Validation, JwtValidator};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::{header::AUTHORIZATION, request::Parts, HeaderMap, StatusCode};
use serde::{de::DeserializeOwned, Deserialize};

use crate::error::ApiError;
use crate::jwt::{self, JwtError};

/// The secret from `JWT_SECRET`; an `Err` says how to generate one (there is no fallback).
pub fn secret_from_env() -> Result<String, JwtError> {
    std::env::var(jwt::SECRET_VAR).map_err(|_| JwtError::MissingSecret)
}

/// The body of `POST /login`, `{"username": ..., "password": ...}` (unknown fields refused).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

impl Login {
    /// True if this is `name` with the demos' password for it, `<name>-password`.
    pub fn is(&self, name: &str) -> bool {
        self.username == name && self.password == format!("{name}-password")
    }
}

/// Why a request's token was refused (401), or a token could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("expected Authorization: Bearer <token>")]
    NotBearer,
    #[error("{0}")]
    Rejected(#[from] AuthError),
    #[error(transparent)]
    Jwt(#[from] JwtError),
}

impl ApiError for TokenError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            TokenError::Rejected(AuthError::TokenExpired) => {
                (StatusCode::UNAUTHORIZED, "expired_token")
            }
            TokenError::NotBearer | TokenError::Rejected(_) => {
                (StatusCode::UNAUTHORIZED, "invalid_token")
            }
            TokenError::Jwt(e) => e.status_code(),
        }
    }
}

crate::json_error!(TokenError);

/// Signs and validates the tokens of one app (its issuer and audience); cheap to clone.
pub struct Auth<C>(Arc<Keys<C>>);

struct Keys<C> {
    signing: jwt::JwtConfig,
    validator: JwtValidator<C>,
}

impl<C> Clone for Auth<C> {
    fn clone(&self) -> Self {
        Auth(self.0.clone())
    }
}

impl<C: Clone + Send + Sync + DeserializeOwned + 'static> Auth<C> {
    /// `Err` if `secret` is shorter than 32 bytes.
    pub fn new(secret: &str, issuer: &str, audience: &str) -> Result<Self, JwtError> {
        let signing = jwt::JwtConfig::new(secret.as_bytes())?
            .with_issuer(issuer)
            .with_audience(audience);
        let validation = Validation::hs256(secret)
            .with_issuer(issuer)
            .with_audience(audience);
        let validator = JwtValidator::new(validation);
        Ok(Auth(Arc::new(Keys { signing, validator })))
    }

    /// A token for `sub` with `role`, valid for `ttl` from now.
    pub fn mint(&self, sub: &str, role: &str, ttl: Duration) -> Result<String, TokenError> {
        Ok(self.0.signing.mint(sub, role, ttl)?)
    }

    /// The claims of `token`, checked by AllFrame's `JwtValidator`.
    pub fn validate(&self, token: &str) -> Result<C, AuthError> {
        self.0.validator.validate(token)
    }

    /// The claims of the `Authorization: Bearer` header; `None` without an Authorization header.
    pub fn user(&self, headers: &HeaderMap) -> Result<Option<C>, TokenError> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Ok(None);
        };
        let token = value.to_str().ok().and_then(extract_bearer_token);
        Ok(Some(self.validate(token.ok_or(TokenError::NotBearer)?)?))
    }
}

/// The caller (extractor): `User(None)` without an Authorization header; a bad or expired token is a 401.
/// The app's state gives the [`Auth`] (`#[derive(FromRef)]` on a state with an `Auth<C>` field).
pub struct User<C>(pub Option<C>);

impl<S, C> FromRequestParts<S> for User<C>
where
    S: Send + Sync,
    Auth<C>: FromRef<S>,
    C: Clone + Send + Sync + DeserializeOwned + 'static,
{
    type Rejection = TokenError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, TokenError> {
        Auth::<C>::from_ref(state).user(&parts.headers).map(User)
    }
}
