// Shared by the integration tests: the real app on an ephemeral port, spoken to over real HTTP.
#![allow(dead_code)]
use demo_support::testing::{self, TestServer};
use serde_json::Value;
use tokio_util::task::TaskTracker;

pub async fn serve() -> TestServer {
    let app = ecommerce_api::app(TaskTracker::new()).await;
    testing::start(app.expect("the app starts")).await
}

pub async fn start() -> String {
    serve().await.base
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

/// Projections are eventually consistent (AllFrame applies them from a subscription task).
pub async fn eventually(url: String, pred: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = get(url.clone()).await.1;
        if pred(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("condition never held; last answer {last}");
}
