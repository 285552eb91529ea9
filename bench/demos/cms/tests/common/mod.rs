// Shared by the integration tests: the real app on an ephemeral port, spoken to over real HTTP.
#![allow(dead_code)]
use demo_support::jwt::JwtConfig;
use demo_support::testing::{self, TestServer};
use serde_json::{json, Value};

pub const SECRET: &str = "integration-test-secret-0123456789abcdef";

pub const LIMIT: usize = 64 * 1024;

pub fn config() -> cms::Config {
    cms::Config {
        jwt_secret: SECRET.into(),
        max_upload_bytes: LIMIT,
    }
}

/// The real app on an ephemeral port, under demo-support's layers with its body limit (as `main` serves it).
pub async fn start() -> TestServer {
    let app = cms::app(config()).await.expect("a valid config");
    testing::start_with_limit(app, LIMIT).await
}

/// The token minter of the app's secret, issuer and audience (for forged and expired tokens).
pub fn tokens() -> JwtConfig {
    JwtConfig::new(SECRET.as_bytes())
        .unwrap()
        .with_issuer(cms::ISSUER)
        .with_audience(cms::AUDIENCE)
}

pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.expect("request completes");
    (r.status().as_u16(), r.json().await.expect("JSON body"))
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

pub async fn token(base: &str, user: &str) -> String {
    let body = json!({"username": user, "password": format!("{user}-password")});
    let (status, answer) = send(client().post(format!("{base}/login")).json(&body)).await;
    assert_eq!(status, 200, "{answer}");
    answer["token"].as_str().unwrap().to_string()
}

/// GET/POST/PUT as a signed-in user (token) or anonymously ("").
pub fn call(method: &str, url: String, token: &str) -> reqwest::RequestBuilder {
    let req = client().request(method.parse().unwrap(), url);
    if token.is_empty() {
        req
    } else {
        req.bearer_auth(token)
    }
}

pub async fn create(base: &str, token: &str, title: &str) -> String {
    let (status, a) = send(
        call("POST", format!("{base}/articles"), token)
            .json(&json!({"title": title, "body": "text"})),
    )
    .await;
    assert_eq!(status, 201, "{a}");
    a["id"].as_str().unwrap().to_string()
}

pub async fn gql(base: &str, token: &str, query: &str) -> Value {
    let (status, answer) =
        send(call("POST", format!("{base}/graphql"), token).json(&json!({"query": query}))).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The article index is a projection, so lists are eventually consistent.
pub async fn eventually_listed(base: &str, token: &str, id: &str, status: &str) -> Value {
    for _ in 0..100 {
        let list = send(call("GET", format!("{base}/articles"), token)).await.1;
        if let Some(a) = list
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == json!(id) && a["status"] == json!(status))
        {
            return a.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("article {id} never listed as {status}");
}
