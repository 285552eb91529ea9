// Shared by the integration tests: the real app on an ephemeral port, spoken to over real HTTP.
#![allow(dead_code)]
use banking_system::Config;
use demo_support::testing::{self, TestServer};
use serde_json::Value;
use tokio_util::task::TaskTracker;

/// A fraud limit of 1,000.00, the partner bank answering after 1.5 s, the credit step giving up
/// after 300 ms.
pub fn config(db: &str) -> Config {
    Config {
        db: db.into(),
        fraud_limit_cents: 100_000,
        ..Config::from_env()
    }
}

pub async fn serve(config: Config) -> TestServer {
    let app = banking_system::app(config, TaskTracker::new()).await;
    testing::start(app.expect("the app starts")).await
}

pub async fn start_with(config: Config) -> String {
    serve(config).await.base
}

pub async fn start() -> String {
    start_with(config(":memory:")).await
}

pub async fn get(url: String) -> (u16, Value) {
    let r = reqwest::get(url).await.expect("request completes");
    (r.status().as_u16(), r.json().await.expect("JSON body"))
}

pub async fn post(url: String, body: Value) -> (u16, Value) {
    let client = reqwest::Client::new();
    let r = client
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("request completes");
    (r.status().as_u16(), r.json().await.expect("JSON body"))
}

pub async fn balance(base: &str, account: &str) -> i64 {
    let account = get(format!("{base}/accounts/{account}")).await.1;
    account["balance_cents"].as_i64().unwrap()
}

pub fn types(events: &Value) -> Vec<&str> {
    let events = events.as_array().unwrap();
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}
