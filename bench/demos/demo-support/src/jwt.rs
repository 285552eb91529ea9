//! HS256 JWTs for the demos that sign users in, with no fallback secret.
//!
//! `JWT_SECRET` must be set to at least 32 bytes (generate one with `openssl rand -hex 32`); every token
//! carries `sub`, `role`, `iat`, `exp`, `iss` and `aud`, and [`JwtConfig::verify`] requires and checks
//! `exp`, `iss` and `aud` (no leeway).
//!
//! ```no_run
//! use demo_support::jwt::JwtConfig;
//! # fn main() -> Result<(), demo_support::jwt::JwtError> {
//! let jwt = JwtConfig::from_env()?.with_issuer("cms-demo").with_audience("cms-api");
//! let token = jwt.mint("ada", "editor", std::time::Duration::from_secs(3600))?;
//! assert_eq!(jwt.verify(&token)?.role, "editor");
//! # Ok(())
//! # }
//! ```
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{header::AUTHORIZATION, HeaderMap, StatusCode};
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The environment variable holding the signing secret.
pub const SECRET_VAR: &str = "JWT_SECRET";
/// The shortest secret accepted, in bytes (HS256's key size).
pub const MIN_SECRET_LEN: usize = 32;
/// Issuer and audience used unless a demo sets its own with `with_issuer` / `with_audience`.
pub const DEFAULT_ISSUER: &str = "allframe-demo";
pub const DEFAULT_AUDIENCE: &str = "allframe-demo-api";

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("{SECRET_VAR} is not set; generate one, e.g. {SECRET_VAR}=$(openssl rand -hex 32)")]
    MissingSecret,
    #[error(
        "{SECRET_VAR} is {0} bytes, shorter than {MIN_SECRET_LEN}; generate one, e.g. {SECRET_VAR}=$(openssl rand -hex 32)"
    )]
    ShortSecret(usize),
    #[error("missing bearer token")]
    MissingToken,
    #[error("token expired")]
    Expired,
    #[error("invalid token: {0}")]
    Invalid(jsonwebtoken::errors::Error),
    #[error("could not sign token: {0}")]
    Signing(jsonwebtoken::errors::Error),
}

impl ApiError for JwtError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            JwtError::MissingToken => (StatusCode::UNAUTHORIZED, "missing_token"),
            JwtError::Expired => (StatusCode::UNAUTHORIZED, "expired_token"),
            JwtError::Invalid(_) => (StatusCode::UNAUTHORIZED, "invalid_token"),
            JwtError::MissingSecret | JwtError::ShortSecret(_) | JwtError::Signing(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "jwt_misconfigured")
            }
        }
    }
}

crate::json_error!(JwtError);

/// The claims of a demo token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

#[derive(Clone)]
pub struct JwtConfig {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl JwtConfig {
    /// Reads the secret from `JWT_SECRET`; an `Err` says what is wrong and how to generate one.
    pub fn from_env() -> Result<Self, JwtError> {
        let secret = std::env::var(SECRET_VAR).map_err(|_| JwtError::MissingSecret)?;
        Self::new(secret.as_bytes())
    }

    pub fn new(secret: &[u8]) -> Result<Self, JwtError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(JwtError::ShortSecret(secret.len()));
        }
        Ok(JwtConfig {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: DEFAULT_ISSUER.into(),
            audience: DEFAULT_AUDIENCE.into(),
        })
    }

    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.issuer = issuer.into();
        self
    }

    pub fn with_audience(mut self, audience: &str) -> Self {
        self.audience = audience.into();
        self
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// A token for `sub` with `role`, valid for `ttl` from now.
    pub fn mint(&self, sub: &str, role: &str, ttl: Duration) -> Result<String, JwtError> {
        self.mint_expiring_at(sub, role, now().saturating_add(ttl.as_secs()))
    }

    /// A token expiring at `exp` (seconds since the Unix epoch); tests use a past `exp`.
    pub fn mint_expiring_at(&self, sub: &str, role: &str, exp: u64) -> Result<String, JwtError> {
        let claims = Claims {
            sub: sub.into(),
            role: role.into(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now(),
            exp,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(JwtError::Signing)
    }

    /// The claims of a token signed with this secret, for this issuer and audience, not expired.
    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), ErrorKind::ExpiredSignature) => Err(JwtError::Expired),
            Err(e) => Err(JwtError::Invalid(e)),
        }
    }

    /// Verifies the `Authorization: Bearer <token>` header.
    pub fn verify_header(&self, headers: &HeaderMap) -> Result<Claims, JwtError> {
        self.verify(bearer(headers)?)
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(headers: &HeaderMap) -> Result<&str, JwtError> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|t| !t.is_empty())
        .ok_or(JwtError::MissingToken)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn short_or_missing_secret_is_refused_with_a_hint() {
        let err = JwtConfig::new(b"secret").unwrap_err();
        assert!(err.to_string().contains("openssl rand -hex 32"), "{err}");
        assert!(JwtError::MissingSecret.to_string().contains("JWT_SECRET"));
    }

    #[test]
    fn tokens_are_checked_for_signature_issuer_audience_and_expiry() {
        let jwt = JwtConfig::new(SECRET).unwrap().with_issuer("a");
        let token = jwt.mint("ada", "editor", Duration::from_secs(60)).unwrap();
        assert_eq!(jwt.verify(&token).unwrap().sub, "ada");
        let other_issuer = jwt.clone().with_issuer("b");
        assert!(matches!(
            other_issuer.verify(&token),
            Err(JwtError::Invalid(_))
        ));
        let other_audience = jwt.clone().with_audience("b");
        assert!(matches!(
            other_audience.verify(&token),
            Err(JwtError::Invalid(_))
        ));
        let forged = JwtConfig::new(b"another secret of at least 32 bytes!").unwrap();
        assert!(matches!(forged.verify(&token), Err(JwtError::Invalid(_))));
        let expired = jwt.mint_expiring_at("ada", "editor", now() - 10).unwrap();
        assert!(matches!(jwt.verify(&expired), Err(JwtError::Expired)));
        // A token without `exp` is refused.
        let no_exp = jsonwebtoken::encode(
            &Header::default(),
            &serde_json::json!({"sub": "ada", "role": "editor", "iss": "a", "aud": DEFAULT_AUDIENCE}),
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(matches!(jwt.verify(&no_exp), Err(JwtError::Invalid(_))));
    }
}
