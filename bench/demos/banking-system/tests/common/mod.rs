// Shared by the integration tests: the real app on an ephemeral port, spoken to over real HTTP.
#![allow(dead_code)]
use std::time::Duration;

use banking_system::Config;
use serde_json::Value;

/// A fraud limit of 1,000.00, the partner bank answering after 1.5 s, the credit step giving up after 300 ms.
pub fn config(db: &str) -> Config {
    let (partner_delay, credit_timeout) = (Duration::from_millis(1500), Duration::from_millis(300));
    Config { db: db.into(), fraud_limit_cents: 100_000, partner_delay, credit_timeout }
}

pub async fn start_with(config: Config) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = banking_system::app(config).await.expect("the app starts");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

pub async fn start() -> String {
    start_with(config(":memory:")).await
}

pub async fn get(url: String) -> (u16, Value) {
    let r = reqwest::get(url).await.expect("request completes");
    (r.status().as_u16(), r.json().await.expect("JSON body"))
}

pub async fn post(url: String, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new().post(url).json(&body).send().await.expect("request completes");
    (r.status().as_u16(), r.json().await.expect("JSON body"))
}

pub async fn balance(base: &str, account: &str) -> i64 {
    get(format!("{base}/accounts/{account}")).await.1["balance_cents"].as_i64().unwrap()
}

pub fn types(events: &Value) -> Vec<&str> {
    events.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect()
}
