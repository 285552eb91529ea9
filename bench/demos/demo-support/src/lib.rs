//! What the five AllFrame demos share, so that each demo's `src/` holds only its own scenario:
//!
//! - [`error`]: the one JSON error shape, `{"error": "...", "code": "...", "status": 4xx}`;
//! - [`extract`]: `Json`, `Path` and `Query` extractors whose rejections answer that shape;
//! - [`jwt`]: HS256 tokens from `JWT_SECRET` (no fallback), `exp`/`iss`/`aud` required and checked;
//! - [`serve`]: bind, print `listening on http://ADDR`, serve with tracing, one body limit and graceful
//!   shutdown;
//! - [`openapi::document`]: an operation's real statuses and path parameters in AllFrame's OpenAPI
//!   document;
//! - [`tasks::Busy`]: writes that finish even when the future that started them is dropped;
//! - [`locks::KeyedLocks`]: one async lock per aggregate, for check-then-append;
//! - `testing` (feature `testing`): the real app on an ephemeral port, a malformed-input sweep, RSS, and
//!   the `DEMO_REPORT_DIR` reports.
#[cfg(feature = "apidoc")]
pub mod apidoc;
#[cfg(feature = "auth")]
pub mod auth;
pub mod error;
pub mod extract;
#[cfg(feature = "graphql")]
pub mod graphql;
pub mod jwt;
pub mod locks;
pub mod openapi;
pub mod startup;
pub mod tasks;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "upload")]
pub mod upload;

use axum::{
    body::Body,
    extract::{DefaultBodyLimit, Request},
    http::{header::CONTENT_LENGTH, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};
use tower_http::trace::TraceLayer;

use crate::error::ErrorBody;

#[doc(hidden)]
pub mod __private {
    pub use axum;
}

/// The largest request body any route reads, in bytes.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The listen address: the first argument, else `DEMO_ADDR`, else `127.0.0.1:8080`.
pub fn addr() -> String {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var("DEMO_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:8080".into())
}

/// The layers every demo runs under: JSON 404/405 fallbacks, one body limit for every route (a declared
/// `content-length` over it is refused at once with 413; a longer streamed body fails when read, which the
/// [`extract::Json`] extractor answers with 413), and a `TraceLayer` (`RUST_LOG=tower_http=debug` shows it).
pub fn layers(router: Router, body_limit: usize) -> Router {
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(move |req, next| {
            limit_body(req, next, body_limit)
        }))
        .layer(TraceLayer::new_for_http())
}

async fn limit_body(req: Request, next: Next, limit: usize) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        let message = format!("request body is larger than {limit} bytes");
        return ErrorBody::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
            .into_response();
    }
    let req = req.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
    next.run(req).await
}

/// Serves `router` on `addr` under [`layers`] with [`BODY_LIMIT`]: prints one line
/// `listening on http://ADDR` once it accepts connections, and returns after SIGTERM or Ctrl-C once the
/// open requests are answered.
pub async fn serve(router: Router, addr: &str) -> std::io::Result<()> {
    serve_with_limit(router, addr, BODY_LIMIT).await
}

pub async fn serve_with_limit(
    router: Router,
    addr: &str,
    body_limit: usize,
) -> std::io::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .try_init();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, layers(router, body_limit))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

// For the saga demos (banking-system, ecommerce-api): checked money, event-store helpers for command
// handlers, and the saga runner.
#[cfg(feature = "cqrs")]
pub mod events;
pub mod money;
#[cfg(feature = "cqrs")]
pub mod saga;
