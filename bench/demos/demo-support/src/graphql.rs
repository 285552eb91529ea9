//! GraphQL endpoints over async-graphql (feature `graphql`; AllFrame's GraphQL adapters serve nothing):
//! [`receive`] reads a JSON or multipart request from a body already read under the app's body limit
//! (async-graphql-axum's own `GraphQLRequest` reads a body of any length and writes multipart files to
//! disk), [`graphiql`] and [`sdl`] serve AllFrame's GraphiQL page and the schema, [`error`] gives a GraphQL
//! error the REST error's `code`. With feature `graphql-ws`, [`Upgrade`] and [`serve_ws`] serve
//! subscriptions over WebSocket, closing a socket that sends no `connection_init` in time with 4408.
use allframe_core::router::{graphiql_html, GraphiQLConfig};
use async_graphql::http::MultipartOptions;
use async_graphql::{ErrorExtensions, ParseRequestError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header::CONTENT_TYPE, HeaderMap, StatusCode};
use axum::response::Html;
use axum::routing::{get, MethodRouter};

use crate::error::ApiError;

/// Why a GraphQL request could not be read: 413 over the body limit, else 400.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("{0}")]
    Body(#[from] BytesRejection),
    #[error("{0}")]
    Parse(#[from] ParseRequestError),
}

impl ApiError for RequestError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            RequestError::Body(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (r.status(), "payload_too_large")
            }
            RequestError::Body(r) => (r.status(), "unreadable_body"),
            RequestError::Parse(_) => (StatusCode::BAD_REQUEST, "invalid_graphql_request"),
        }
    }
}

crate::json_error!(RequestError);

/// True if the request is `multipart/form-data` (a GraphQL upload).
pub fn is_multipart(headers: &HeaderMap) -> bool {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    content_type.is_some_and(|t| t.starts_with("multipart/"))
}

/// A GraphQL request from `body` (JSON, or multipart with at most `max_files` files).
pub async fn receive(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    max_files: usize,
) -> Result<async_graphql::Request, RequestError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let body = body?;
    let options = MultipartOptions::default()
        .max_file_size(body.len())
        .max_num_files(max_files);
    let request = async_graphql::http::receive_body(content_type, body.as_ref(), options).await;
    Ok(request?)
}

/// `GET`: AllFrame's GraphiQL page titled `title` for the endpoint `/graphql` (and subscriptions at
/// `subscriptions`).
pub fn graphiql<S: Clone + Send + Sync + 'static>(
    title: &str,
    subscriptions: Option<&str>,
) -> MethodRouter<S> {
    let mut config = GraphiQLConfig::new().endpoint_url("/graphql");
    if let Some(url) = subscriptions {
        config = config.subscription_url(url);
    }
    let page = graphiql_html(&config, title);
    get(move || std::future::ready(Html(page.clone())))
}

/// `GET`: the schema's SDL.
pub fn sdl<S: Clone + Send + Sync + 'static>(sdl: String) -> MethodRouter<S> {
    get(move || std::future::ready(sdl.clone()))
}

/// `e` as a GraphQL error: its message, and its REST error code in `extensions.code`.
pub fn error(e: impl ApiError) -> async_graphql::Error {
    let code = e.status_code().1;
    async_graphql::Error::new(e.to_string()).extend_with(|_, ext| ext.set("code", code))
}

#[cfg(feature = "graphql-ws")]
pub use ws::*;

#[cfg(feature = "graphql-ws")]
mod ws {
    use std::future::Future;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use async_graphql::futures_util::{SinkExt, StreamExt};
    use async_graphql::{http::ALL_WEBSOCKET_PROTOCOLS, Data, Executor};
    use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
    use axum::extract::ws::rejection::WebSocketUpgradeRejection;
    use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
    use axum::extract::FromRequestParts;
    use axum::http::{request::Parts, StatusCode};
    use axum::response::Response;

    use crate::error::ApiError;

    /// Why a request is not a GraphQL WebSocket upgrade.
    #[derive(Debug, thiserror::Error)]
    pub enum UpgradeError {
        #[error("expected Sec-WebSocket-Protocol graphql-transport-ws or graphql-ws")]
        Protocol,
        #[error("{0}")]
        NotUpgrade(#[from] WebSocketUpgradeRejection),
    }

    impl ApiError for UpgradeError {
        fn status_code(&self) -> (StatusCode, &'static str) {
            match self {
                UpgradeError::Protocol => (StatusCode::BAD_REQUEST, "websocket_protocol"),
                UpgradeError::NotUpgrade(r) => (r.status(), "not_a_websocket_upgrade"),
            }
        }
    }

    crate::json_error!(UpgradeError);

    /// A WebSocket upgrade speaking graphql-transport-ws or graphql-ws (extractor). Client messages are
    /// small GraphQL operations: 64 KiB at most (axum's default is 64 MiB).
    pub struct Upgrade {
        upgrade: WebSocketUpgrade,
        protocol: GraphQLProtocol,
    }

    impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
        type Rejection = UpgradeError;

        async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, UpgradeError> {
            let protocol = GraphQLProtocol::from_request_parts(parts, state).await;
            let protocol = protocol.map_err(|_| UpgradeError::Protocol)?;
            let upgrade = WebSocketUpgrade::from_request_parts(parts, state).await?;
            let upgrade = upgrade
                .protocols(ALL_WEBSOCKET_PROTOCOLS)
                .max_message_size(64 << 10);
            Ok(Upgrade { upgrade, protocol })
        }
    }

    impl Upgrade {
        /// Answers the upgrade; `serve` then runs with the socket and its protocol.
        pub fn on_upgrade<F, Fut>(self, serve: F) -> Response
        where
            F: FnOnce(WebSocket, GraphQLProtocol) -> Fut + Send + 'static,
            Fut: Future<Output = ()> + Send + 'static,
        {
            let protocol = self.protocol;
            self.upgrade
                .on_upgrade(move |socket| serve(socket, protocol))
        }
    }

    /// Serves `executor` (a schema) on `socket` until it closes, `on_init` answering the client's
    /// `connection_init` payload. A socket with no `connection_init` within `init_timeout` is closed with
    /// 4408, as graphql-transport-ws says.
    pub async fn serve_ws<E, F, R>(
        socket: WebSocket,
        executor: E,
        protocol: GraphQLProtocol,
        init_timeout: Duration,
        on_init: F,
    ) where
        E: Executor,
        F: FnOnce(serde_json::Value) -> R + Send + 'static,
        R: Future<Output = async_graphql::Result<Data>> + Send + 'static,
    {
        let initialised = Arc::new(AtomicBool::new(false));
        let seen = initialised.clone();
        let on_init = move |payload| {
            seen.store(true, Ordering::SeqCst);
            on_init(payload)
        };
        let (mut sink, stream) = socket.split();
        let served = GraphQLWebSocket::new_with_pair(&mut sink, stream, executor, protocol)
            .on_connection_init(on_init)
            .serve();
        let deadline = async {
            tokio::time::sleep(init_timeout).await;
            if initialised.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
        };
        let timed_out = tokio::select! {
            _ = served => false,
            _ = deadline => true,
        };
        if timed_out {
            let reason = "Connection initialisation timeout".into();
            let frame = CloseFrame { code: 4408, reason };
            let _ = sink.send(Message::Close(Some(frame))).await;
        }
    }
}
