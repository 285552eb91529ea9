// Shared by the tests: the real gateway (HTTP on an ephemeral port, gRPC on another, both bound before
// they serve), spoken to over real HTTP and real gRPC.
#![allow(dead_code)]
use std::{path::PathBuf, time::Duration};

use api_gateway::proto::inventory_client::InventoryClient;
use demo_support::testing::{self, TestServer};
use serde_json::{json, Value};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;

/// Spans of this test process (the exporter is process-wide, installed by the first app).
pub fn spans_file() -> PathBuf {
    std::env::temp_dir().join(format!(
        "api-gateway-test-spans-{}.jsonl",
        std::process::id()
    ))
}

pub struct Gateway {
    pub server: TestServer,
    pub base: String,
    pub grpc: InventoryClient<Channel>,
    pub grpc_channel: Channel,
    stop_grpc: Option<oneshot::Sender<()>>,
    grpc_task: Option<JoinHandle<()>>,
}

pub async fn start() -> Gateway {
    let grpc_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc_addr = grpc_listener.local_addr().unwrap();
    let (stop_grpc, stopped) = oneshot::channel::<()>();
    let grpc_task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = api_gateway::serve_grpc(grpc_listener, shutdown).await {
            panic!("the gRPC server failed: {e}");
        }
    });
    let config = api_gateway::Config {
        grpc_addr,
        spans_file: Some(spans_file()),
    };
    let server = testing::start(api_gateway::app(config)).await;
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{grpc_addr}")).unwrap();
    let grpc_channel = endpoint
        .connect()
        .await
        .expect("the gRPC listener is bound already");
    Gateway {
        base: server.base.clone(),
        server,
        grpc: InventoryClient::new(grpc_channel.clone()),
        grpc_channel,
        stop_grpc: Some(stop_grpc),
        grpc_task: Some(grpc_task),
    }
}

impl Gateway {
    /// Stops the gRPC server (graceful: it closes its listener and its connections), the gateway runs on.
    pub async fn stop_grpc(&mut self) {
        let _ = self.stop_grpc.take().map(|tx| tx.send(()));
        let task = self.grpc_task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the gRPC server stops within 10 s")
            .unwrap();
    }
}

pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.expect("request completes");
    (r.status().as_u16(), r.json().await.expect("JSON body"))
}

pub async fn rest_get(base: &str, path: &str) -> (u16, Value) {
    send(reqwest::Client::new().get(format!("{base}{path}"))).await
}

pub async fn gql(base: &str, query: &str) -> Value {
    let body = json!({"query": query});
    let (status, answer) = send(
        reqwest::Client::new()
            .post(format!("{base}/graphql"))
            .json(&body),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer
}
