//! chat-app through real HTTP and real WebSocket (graphql-transport-ws): one test per PRD feature of scenario 2.
mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn health_endpoint_answers_ok() {
    let base = start().await;
    assert_eq!(send(reqwest::Client::new().get(format!("{base}/health"))).await, (200, json!({"status": "ok"})));
}

#[tokio::test]
async fn sign_in_issues_jwt_that_allframe_validates() {
    let base = start().await;
    let client = reqwest::Client::new();
    let token = token(&base, "alice").await;
    assert_eq!(token.split('.').count(), 3, "a JWT");
    let bad = json!({"username": "alice", "password": "nope"});
    assert_eq!(send(client.post(format!("{base}/login")).json(&bad)).await.0, 401);
    let query = json!({"query": "{ online }"});
    let (status, err) = send(client.post(format!("{base}/graphql")).bearer_auth("not.a.jwt").json(&query)).await;
    assert_eq!(status, 401, "{err}");
    let anonymous = gql(&base, "", r#"mutation { postMessage(channel: "general", text: "hi") { seq } }"#).await;
    assert_eq!(anonymous["errors"][0]["message"], json!("sign in first"));
    let signed_in = gql(&base, &token, r#"mutation { postMessage(channel: "general", text: "hi") { author } }"#).await;
    assert_eq!(signed_in["data"]["postMessage"]["author"], json!("alice"));
}

#[tokio::test]
async fn channels_are_created_and_listed_through_graphql() {
    let base = start().await;
    let bob = token(&base, "bob").await;
    let created = gql(&base, &bob, r#"mutation { createChannel(name: "rust") { name messages } }"#).await;
    assert_eq!(created["data"]["createChannel"], json!({"name": "rust", "messages": 0}));
    let again = gql(&base, &bob, r#"mutation { createChannel(name: "rust") { name } }"#).await;
    assert!(again["errors"][0]["message"].as_str().unwrap().contains("exists"), "{again}");
    let invalid = gql(&base, &bob, r#"mutation { createChannel(name: "no spaces!") { name } }"#).await;
    assert!(invalid["errors"][0]["message"].as_str().unwrap().contains("name"), "{invalid}");
    let list =
        eventually(&base, "{ channels { name messages } }", |v| v["data"]["channels"].as_array().unwrap().len() == 2)
            .await;
    assert_eq!(list["data"]["channels"], json!([{"name": "general", "messages": 1}, {"name": "rust", "messages": 0}]));
}

#[tokio::test]
async fn messages_stream_to_subscribers_over_graphql_websocket() {
    let base = start().await;
    let (alice, bob) = (token(&base, "alice").await, token(&base, "bob").await);
    let mut ws = connect(&base, json!({"token": bob})).await;
    assert_eq!(next(&mut ws).await["type"], json!("connection_ack"));
    subscribe(&mut ws, "1", r#"subscription { messages(channel: "general") { seq author text } }"#).await;
    eventually(&base, "{ online }", |v| v["data"]["online"] == json!(["bob"])).await;
    // The subscription starts asynchronously: post until the first message comes through.
    let post = |text: &str| format!(r#"mutation {{ postMessage(channel: "general", text: "{text}") {{ seq }} }}"#);
    let seq = loop {
        let seq = gql(&base, &alice, &post("warm-up")).await["data"]["postMessage"]["seq"].as_u64().unwrap();
        if try_next(&mut ws, 200).await.is_some() {
            break seq;
        }
        assert!(seq < 50, "the subscription never delivered");
    };
    gql(&base, &alice, r#"mutation { createChannel(name: "other") { name } }"#).await;
    gql(&base, &alice, r#"mutation { postMessage(channel: "other", text: "elsewhere") { seq } }"#).await;
    for text in ["first", "second"] {
        gql(&base, &alice, &format!(r#"mutation {{ postMessage(channel: "general", text: "{text}") {{ seq }} }}"#))
            .await;
    }
    let first = next(&mut ws).await;
    assert_eq!((&first["type"], &first["id"]), (&json!("next"), &json!("1")));
    assert_eq!(first["payload"]["data"]["messages"], json!({"seq": seq + 1, "author": "alice", "text": "first"}));
    let second = next(&mut ws).await;
    assert_eq!(second["payload"]["data"]["messages"], json!({"seq": seq + 2, "author": "alice", "text": "second"}));
}

#[tokio::test]
async fn subscription_connection_without_valid_token_is_refused() {
    let base = start().await;
    for payload in [json!({}), json!({"token": "forged"})] {
        let mut ws = connect(&base, payload.clone()).await;
        let answer = next(&mut ws).await;
        assert_ne!(answer["type"], json!("connection_ack"), "{payload} was accepted");
    }
    assert_eq!(online(&base).await, json!([]));
}

#[tokio::test]
async fn online_presence_follows_websocket_connections() {
    let base = start().await;
    let (alice, carol) = (token(&base, "alice").await, token(&base, "carol").await);
    let mut a = connect(&base, json!({"token": alice})).await;
    assert_eq!(next(&mut a).await["type"], json!("connection_ack"));
    let mut c = connect(&base, json!({"token": carol})).await;
    assert_eq!(next(&mut c).await["type"], json!("connection_ack"));
    eventually(&base, "{ online }", |v| v["data"]["online"] == json!(["alice", "carol"])).await;
    a.close(None).await.unwrap();
    eventually(&base, "{ online }", |v| v["data"]["online"] == json!(["carol"])).await;
    drop(c);
    eventually(&base, "{ online }", |v| v["data"]["online"] == json!([])).await;
}

#[tokio::test]
async fn message_history_is_replayed_from_the_event_sourced_log() {
    let base = start().await;
    let alice = token(&base, "alice").await;
    for n in 1..=4 {
        gql(&base, &alice, &format!(r#"mutation {{ postMessage(channel: "general", text: "m{n}") {{ seq }} }}"#)).await;
    }
    let all = gql(&base, "", r#"{ history(channel: "general") { seq author text } }"#).await;
    let texts: Vec<_> =
        all["data"]["history"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Welcome to #general", "m1", "m2", "m3", "m4"]);
    let last_two = gql(&base, "", r#"{ history(channel: "general", last: 2) { seq text } }"#).await;
    assert_eq!(last_two["data"]["history"], json!([{"seq": 4, "text": "m3"}, {"seq": 5, "text": "m4"}]));
    let (status, rest) = send(reqwest::Client::new().get(format!("{base}/channels/general/messages"))).await;
    assert_eq!((status, rest.as_array().unwrap().len()), (200, 5));
    let missing = gql(&base, "", r#"{ history(channel: "nope") { seq } }"#).await;
    assert!(missing["errors"][0]["message"].as_str().unwrap().contains("not found"));
}

#[tokio::test]
async fn graphql_sdl_and_graphiql_page_are_served() {
    let base = start().await;
    let sdl = reqwest::get(format!("{base}/graphql/schema.graphql")).await.unwrap().text().await.unwrap();
    for line in [
        "type SubscriptionRoot",
        "messages(channel: String!): Message!",
        "postMessage(channel: String!, text: String!): Message!",
    ] {
        assert!(sdl.contains(line), "{line} missing from\n{sdl}");
    }
    let page = reqwest::get(format!("{base}/graphql")).await.unwrap().text().await.unwrap();
    assert!(page.contains("graphiql") && page.contains("/graphql/ws"), "subscription URL on the page");
}

#[tokio::test]
async fn malformed_input_gets_4xx_json_error_never_a_panic() {
    let base = start().await;
    let client = reqwest::Client::new();
    let check = |req: reqwest::RequestBuilder| async move {
        let (status, body) = send(req).await;
        assert!(body["error"].is_string(), "{body}");
        status
    };
    let json_body = |url: &str, b: &'static str| {
        client.post(format!("{base}{url}")).header("content-type", "application/json").body(b)
    };
    assert_eq!(check(json_body("/login", "{\"username\": ")).await, 400);
    assert_eq!(check(json_body("/login", r#"{"username": 1}"#)).await, 422);
    assert_eq!(check(client.post(format!("{base}/login")).body("x")).await, 415);
    assert_eq!(check(json_body("/graphql", "{\"query\": ")).await, 400);
    assert_eq!(check(client.get(format!("{base}/graphql/ws"))).await, 400, "not a WebSocket upgrade");
    assert_eq!(check(client.get(format!("{base}/channels/nope/messages"))).await, 404);
    assert_eq!(check(client.delete(format!("{base}/login"))).await, 405);
    assert_eq!(check(client.get(format!("{base}/no/such/route"))).await, 404);
    let bad_query = gql(&base, "", "{ nosuchfield }").await;
    assert!(bad_query["errors"][0]["message"].is_string(), "GraphQL reports it as a GraphQL error");
    assert_eq!(send(client.get(format!("{base}/health"))).await.0, 200, "still serving");
}
