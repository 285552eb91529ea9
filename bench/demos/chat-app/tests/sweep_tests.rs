//! The malformed-input sweep: every HTTP route, every field of the GraphQL SDL, the subscription WebSocket
//! and bad tokens, with broken input; and a 200 MB body refused in bounded memory.
mod common;
use common::*;
use demo_support::testing::{self, Route, Sweep};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

fn route(method: &str, path: &str, body: Option<Value>) -> Route {
    Route {
        method: method.into(),
        path: path.into(),
        body,
        auth: false,
        responses: Vec::new(),
    }
}

/// The routes of the README, with the JSON bodies they take.
fn routes() -> Vec<Route> {
    let string = json!({"type": "string"});
    let login = json!({"type": "object", "properties": {"username": string, "password": string}});
    let graphql =
        json!({"type": "object", "properties": {"query": string, "variables": {"type": "object"}}});
    vec![
        route("GET", "/health", None),
        route("POST", "/login", Some(login)),
        route("GET", "/channels/{name}/messages", None),
        route("GET", "/graphql", None),
        route("POST", "/graphql", Some(graphql)),
        route("GET", "/graphql/ws", None),
        route("GET", "/graphql/schema.graphql", None),
    ]
}

/// The fields of `type NAME { ... }` in an SDL, with their argument names.
fn fields<'a>(sdl: &'a str, name: &str) -> Vec<(&'a str, Vec<&'a str>)> {
    let start = sdl.find(&format!("type {name} {{")).expect("type in SDL");
    let body = &sdl[start..start + sdl[start..].find('}').unwrap()];
    let field = |line: &'a str| {
        let line = line.trim();
        let name = line.split(['(', ':']).next()?.trim();
        let args = line
            .split_once('(')
            .map_or("", |(_, rest)| rest.split(')').next().unwrap());
        let args = args
            .split(',')
            .filter_map(|a| Some(a.split(':').next()?.trim()));
        Some((name, args.filter(|a| !a.is_empty()).collect()))
    };
    body.lines()
        .skip(1)
        .filter(|l| l.contains(':'))
        .filter_map(field)
        .collect()
}

#[tokio::test]
async fn malformed_input_sweep_over_every_route_never_5xx() {
    let server = start().await;
    let base = server.base.clone();
    let mut report = Sweep::new(&server, routes()).run().await;
    let client = reqwest::Client::new();
    let alice = token(&base, "alice").await;

    // Bad tokens on /graphql: 401 with the JSON error, whatever the operation.
    let mut token_cases = 0;
    for (case, header) in testing::bad_tokens(&tokens()) {
        token_cases += 1;
        let query = json!({"query": "mutation { createChannel(name: \"x\") { name } }"});
        let req = client
            .post(format!("{base}/graphql"))
            .header("authorization", header);
        let (status, body) = send(req.json(&query)).await;
        if status != 401 || !demo_support::error::ErrorBody::matches(&body) {
            report.accepted_bad_tokens += 1;
            report
                .failures
                .push(format!("POST /graphql [{case}]: {status} {body}"));
        }
    }

    // GraphQL: every field of the SDL with wrong, missing and odd arguments, signed in and not; each answer
    // is a GraphQL response whose `errors` entries have a message, never a 5xx.
    let sdl = client
        .get(format!("{base}/graphql/schema.graphql"))
        .send()
        .await
        .unwrap();
    let sdl = sdl.text().await.unwrap();
    let mut graphql_cases = 0;
    for (root, keyword) in [("QueryRoot", ""), ("MutationRoot", "mutation")] {
        for (field, args) in fields(&sdl, root) {
            let mut queries = vec![format!(
                "{keyword} {{ {field}(nosucharg: 1) {{ nosuchfield }} }}"
            )];
            for value in [
                "12345678901234567890",
                "\"\\u0000\"",
                "null",
                "[1, 2]",
                "\"%FF\"",
                "-1",
            ] {
                let args: Vec<_> = args.iter().map(|a| format!("{a}: {value}")).collect();
                queries.push(format!(
                    "{keyword} {{ {field}({}) {{ nosuch }} }}",
                    args.join(", ")
                ));
            }
            for query in queries {
                for token in ["", alice.as_str()] {
                    graphql_cases += 1;
                    let label = format!("POST /graphql [{root}.{field}: {query:.50}]");
                    let answer = gql(&base, token, &query).await;
                    let messages = answer["errors"]
                        .as_array()
                        .map(|e| e.iter().all(|e| e["message"].is_string()));
                    if messages != Some(true) {
                        report
                            .failures
                            .push(format!("{label}: no GraphQL errors: {answer}"));
                    }
                }
            }
        }
    }

    // The subscription WebSocket: garbage frames, operations before connection_init, an oversized
    // message, a subscription to no channel. Each ends in a close or an error message, never a crash.
    let oversized = "x".repeat(1 << 20);
    let frames = [
        "not json",
        "{\"type\": \"no-such-type\"}",
        "{\"id\": \"1\", \"type\": \"subscribe\", \"payload\": {\"query\": \"subscription { messages(channel: \\\"general\\\") { seq } }\"}}",
        "{\"type\": \"connection_init\", \"payload\": \"not an object\"}",
        "{\"type\": \"connection_init\", \"payload\": {\"token\": 12}}",
        oversized.as_str(),
    ];
    let mut websocket_cases = 0;
    for frame in frames {
        websocket_cases += 1;
        let mut ws = open(&base).await;
        let _ = ws.send(Message::Text(frame.to_string().into())).await;
        let answer = next(&mut ws).await;
        if answer["type"] == json!("connection_ack") {
            report
                .failures
                .push(format!("WebSocket [{frame:.40}]: acknowledged"));
        }
    }
    let mut ws = connect(&base, json!({"token": alice})).await;
    assert_eq!(next(&mut ws).await["type"], json!("connection_ack"));
    subscribe(
        &mut ws,
        "1",
        r#"subscription { messages(channel: "nope") { seq } nosuch }"#,
    )
    .await;
    websocket_cases += 1;
    let answer = next(&mut ws).await;
    let refused = answer["type"] == json!("error") || answer["payload"]["errors"].is_array();
    if !refused {
        report
            .failures
            .push(format!("WebSocket [invalid subscription]: {answer}"));
    }
    let (status, _) = send(client.get(format!("{base}/health"))).await;
    assert_eq!(status, 200, "still serving");

    let mut figures = report.figures();
    figures["http_cases"] = json!(report.cases);
    figures["cases"] = json!(report.cases + token_cases + graphql_cases + websocket_cases);
    figures["failures"] = json!(report.failures.len());
    figures["token_cases"] = json!(token_cases);
    figures["graphql_cases"] = json!(graphql_cases);
    figures["websocket_cases"] = json!(websocket_cases);
    figures["failure_examples"] = json!(report.failures.iter().take(20).collect::<Vec<_>>());
    testing::report(
        "chat-app",
        "malformed_input_sweep_over_every_route_never_5xx",
        figures.clone(),
    );
    println!("{figures:#}");
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}

#[tokio::test]
async fn huge_body_is_refused_with_bounded_rss() {
    let server = start().await;
    let total = 200 * 1024 * 1024;
    let mut figures = json!({"cases": 0, "failures": 0});
    let mut failures = Vec::new();
    for (method, path) in [("POST", "/login"), ("POST", "/graphql")] {
        let answer = testing::huge_body(&server, method, path, total, &[]).await;
        println!("{method} {path} with a 200 MB chunked body: {answer:?}");
        let refused = answer.status == Some(413)
            && answer
                .error_body
                .as_ref()
                .is_some_and(demo_support::error::ErrorBody::matches);
        if !refused || answer.rss_growth_bytes > 64 << 20 {
            failures.push(format!("{method} {path}: {answer:?}"));
        }
        figures["cases"] = json!(figures["cases"].as_u64().unwrap() + 1);
        figures[path] = serde_json::to_value(&answer).unwrap();
    }
    figures["failures"] = json!(failures.len());
    testing::report("chat-app", "huge_body_is_refused_with_bounded_rss", figures);
    assert!(failures.is_empty(), "{failures:#?}");
}
