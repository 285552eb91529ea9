//! Contract test: each HTTP route answers the statuses the README lists for it (chat-app has no OpenAPI
//! document: its API is GraphQL), with the JSON error shape for every error.
mod common;
use common::*;
use demo_support::error::ErrorBody;
use serde_json::{json, Value};

/// The README's statuses per route.
const DOCUMENTED: [(&str, &str, &[u16]); 6] = [
    ("GET", "/health", &[200]),
    ("POST", "/login", &[200, 400, 401, 413, 415, 422]),
    ("GET", "/channels/{name}/messages", &[200, 400, 404]),
    ("POST", "/graphql", &[200, 400, 401, 413, 415, 422]),
    ("GET", "/graphql/ws", &[400]),
    ("GET", "/graphql/schema.graphql", &[200]),
];

#[tokio::test]
async fn every_route_answers_the_statuses_its_readme_lists() {
    let server = start().await;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{base}{path}");
    let json = |path: &str, body: String| {
        let req = client
            .post(url(path))
            .header("content-type", "application/json");
        req.body(body)
    };
    let over = format!(r#"{{"query": "{}"}}"#, "x".repeat(3 << 20));
    let login = r#"{"username": "bob", "password": "bob-password"}"#.to_string();
    let query = r#"{"query": "{ online }"}"#.to_string();
    let cases: Vec<(&str, &str, u16, reqwest::RequestBuilder)> = vec![
        ("GET", "/health", 200, client.get(url("/health"))),
        ("POST", "/login", 200, json("/login", login.clone())),
        (
            "POST",
            "/login",
            400,
            json("/login", "{\"username\"".into()),
        ),
        (
            "POST",
            "/login",
            401,
            json("/login", login.replace("bob-", "x")),
        ),
        ("POST", "/login", 413, json("/login", over.clone())),
        (
            "POST",
            "/login",
            415,
            client.post(url("/login")).body(login),
        ),
        (
            "POST",
            "/login",
            422,
            json("/login", r#"{"username": 1}"#.into()),
        ),
        (
            "GET",
            "/channels/{name}/messages",
            200,
            client.get(url("/channels/general/messages")),
        ),
        (
            "GET",
            "/channels/{name}/messages",
            400,
            client.get(url("/channels/%FF/messages")),
        ),
        (
            "GET",
            "/channels/{name}/messages",
            404,
            client.get(url("/channels/nope/messages")),
        ),
        ("POST", "/graphql", 200, json("/graphql", query.clone())),
        (
            "POST",
            "/graphql",
            400,
            json("/graphql", "{\"query\": ".into()),
        ),
        (
            "POST",
            "/graphql",
            401,
            json("/graphql", query.clone()).bearer_auth("forged"),
        ),
        ("POST", "/graphql", 413, json("/graphql", over)),
        (
            "POST",
            "/graphql",
            415,
            client.post(url("/graphql")).body(query),
        ),
        (
            "POST",
            "/graphql",
            422,
            json("/graphql", r#"{"query": 5}"#.into()),
        ),
        ("GET", "/graphql/ws", 400, client.get(url("/graphql/ws"))),
        (
            "GET",
            "/graphql/schema.graphql",
            200,
            client.get(url("/graphql/schema.graphql")),
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (method, path, expected, req) in cases {
        let r = req.send().await.expect("an answer");
        let status = r.status().as_u16();
        let body = r.bytes().await.unwrap();
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, expected, "{method} {path}: {text}");
        let listed = DOCUMENTED
            .iter()
            .find(|(m, p, _)| *m == method && *p == path);
        assert!(
            listed.is_some_and(|(_, _, s)| s.contains(&status)),
            "{method} {path} {status}"
        );
        if status >= 400 {
            let error: Value = serde_json::from_slice(&body).expect("a JSON error");
            assert!(
                ErrorBody::matches(&error) && error["status"] == json!(status),
                "{error}"
            );
        }
        seen.insert((method, path, status));
    }
    for (method, path, statuses) in DOCUMENTED {
        for status in statuses {
            assert!(
                seen.contains(&(method, path, *status)),
                "{method} {path} {status} never answered"
            );
        }
    }
}
