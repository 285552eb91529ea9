// Shared by the integration tests: the real app on an ephemeral port, spoken to over real HTTP and WebSocket.
#![allow(dead_code)]
use std::time::Duration;

use demo_support::jwt::JwtConfig;
use demo_support::testing::{self, TestServer};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

pub const SECRET: &str = "integration-test-secret-0123456789abcdef";

pub fn config() -> chat_app::Config {
    chat_app::Config {
        jwt_secret: SECRET.into(),
        init_timeout: Duration::from_millis(500),
        live_buffer: 1024,
    }
}

/// The real app (under demo-support's layers, as `main` serves it) on an ephemeral port.
pub async fn start_with(config: chat_app::Config) -> TestServer {
    testing::start(chat_app::app(config).await.expect("a valid config")).await
}

pub async fn start() -> TestServer {
    start_with(config()).await
}

/// The token minter of the app's secret, issuer and audience (for forged and expired tokens).
pub fn tokens() -> JwtConfig {
    JwtConfig::new(SECRET.as_bytes())
        .unwrap()
        .with_issuer(chat_app::ISSUER)
        .with_audience(chat_app::AUDIENCE)
}

pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.expect("request completes");
    (r.status().as_u16(), r.json().await.expect("JSON body"))
}

pub async fn token(base: &str, user: &str) -> String {
    let body = json!({"username": user, "password": format!("{user}-password")});
    let (status, answer) = send(
        reqwest::Client::new()
            .post(format!("{base}/login"))
            .json(&body),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer["token"].as_str().unwrap().to_string()
}

/// A GraphQL query or mutation over HTTP, signed in with `token` (or anonymous with "").
pub async fn gql(base: &str, token: &str, query: &str) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&json!({"query": query}));
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    let (status, answer) = send(req).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A graphql-transport-ws connection, not yet initialised.
pub async fn open(base: &str) -> Ws {
    let url = format!("{}/graphql/ws", base.replace("http", "ws"));
    let mut req = url.into_client_request().unwrap();
    let protocol = "graphql-transport-ws".parse().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", protocol);
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("WebSocket upgrade");
    ws
}

/// Like `connect`, with a 4 KiB receive buffer, so that a reader that does not read is soon behind.
pub async fn connect_small(base: &str, payload: Value) -> Ws {
    let url = format!("{}/graphql/ws", base.replace("http", "ws"));
    let mut req = url.into_client_request().unwrap();
    let protocol = "graphql-transport-ws".parse().unwrap();
    req.headers_mut().insert("sec-websocket-protocol", protocol);
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let addr = base.trim_start_matches("http://").parse().unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream)
        .await
        .expect("upgrade");
    let init = json!({"type": "connection_init", "payload": payload});
    ws.send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    ws
}

/// A graphql-transport-ws connection; `connection_init` carries `payload`.
pub async fn connect(base: &str, payload: Value) -> Ws {
    let mut ws = open(base).await;
    let init = json!({"type": "connection_init", "payload": payload});
    ws.send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    ws
}

/// The next protocol message (text frames as JSON; a close frame as {"type": "close"}), within 5 s.
pub async fn next(ws: &mut Ws) -> Value {
    let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a frame within 5 s");
    match frame {
        Some(Ok(Message::Text(text))) => serde_json::from_str(&text).unwrap(),
        Some(Ok(Message::Close(frame))) => {
            let code = frame.as_ref().map(|f| u16::from(f.code));
            json!({"type": "close", "code": code, "reason": frame.map(|f| f.reason.to_string())})
        }
        None | Some(Err(_)) => json!({"type": "close"}),
        Some(Ok(other)) => json!({"type": "other", "frame": other.to_string()}),
    }
}

/// The next protocol message if one arrives within `ms`.
pub async fn try_next(ws: &mut Ws, ms: u64) -> Option<Value> {
    let frame = tokio::time::timeout(Duration::from_millis(ms), ws.next())
        .await
        .ok()??
        .ok()?;
    if let Message::Text(text) = frame {
        serde_json::from_str(&text).ok()
    } else {
        None
    }
}

pub async fn subscribe(ws: &mut Ws, id: &str, query: &str) {
    let msg = json!({"id": id, "type": "subscribe", "payload": {"query": query}});
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
}

pub async fn online(base: &str) -> Value {
    gql(base, "", "{ online }").await["data"]["online"].clone()
}

/// Presence and the channel directory are updated asynchronously: poll until `pred` holds.
pub async fn eventually(base: &str, query: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = gql(base, "", query).await;
        if pred(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition never held; last answer {last}");
}
