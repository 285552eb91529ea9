// Shared by the tests: the real app (HTTP on an ephemeral port, gRPC on a free port), spoken to over real
// HTTP and real gRPC.
#![allow(dead_code)]
use std::{path::PathBuf, time::Duration};

use api_gateway::proto::inventory_client::InventoryClient;
use serde_json::{json, Value};
use tonic::transport::Channel;

/// Spans of this test process (the exporter is process-wide, installed by the first app).
pub fn spans_file() -> PathBuf {
    std::env::temp_dir().join(format!("api-gateway-test-spans-{}.jsonl", std::process::id()))
}

pub struct Gateway {
    pub base: String,
    pub grpc: InventoryClient<Channel>,
    pub grpc_channel: Channel,
}

pub async fn start() -> Gateway {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let grpc_addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let config = api_gateway::Config { grpc_addr, spans_file: Some(spans_file()) };
    tokio::spawn(api_gateway::serve(listener, config));
    for _ in 0..100 {
        if let Ok(channel) =
            tonic::transport::Endpoint::from_shared(format!("http://{grpc_addr}")).unwrap().connect().await
        {
            return Gateway { base, grpc: InventoryClient::new(channel.clone()), grpc_channel: channel };
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the gRPC server never came up on {grpc_addr}");
}

pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.expect("request completes");
    (r.status().as_u16(), r.json().await.expect("JSON body"))
}

pub async fn rest_get(base: &str, path: &str) -> (u16, Value) {
    send(reqwest::Client::new().get(format!("{base}{path}"))).await
}

pub async fn gql(base: &str, query: &str) -> Value {
    let (status, answer) =
        send(reqwest::Client::new().post(format!("{base}/graphql")).json(&json!({"query": query}))).await;
    assert_eq!(status, 200, "{answer}");
    answer
}
