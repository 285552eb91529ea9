//! chat-app through real HTTP and real WebSocket (graphql-transport-ws): one test per PRD feature of scenario 2.
mod common;
use common::*;
use demo_support::jwt::JwtConfig;
use serde_json::json;

#[tokio::test]
async fn health_endpoint_answers_ok() {
    let server = start().await;
    let base = server.base.clone();
    assert_eq!(
        send(reqwest::Client::new().get(format!("{base}/health"))).await,
        (200, json!({"status": "ok"}))
    );
}

#[tokio::test]
async fn sign_in_issues_jwt_that_allframe_validates() {
    let server = start().await;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let token = token(&base, "alice").await;
    assert_eq!(token.split('.').count(), 3, "a JWT");
    let bad = json!({"username": "alice", "password": "nope"});
    assert_eq!(
        send(client.post(format!("{base}/login")).json(&bad))
            .await
            .0,
        401
    );
    let query = json!({"query": "{ online }"});
    let (status, err) = send(
        client
            .post(format!("{base}/graphql"))
            .bearer_auth("not.a.jwt")
            .json(&query),
    )
    .await;
    assert_eq!(status, 401, "{err}");
    // Refused by AllFrame's JwtValidator: expired, forged, another issuer or audience, no iss/aud at all.
    let minter = tokens();
    let hour = std::time::Duration::from_secs(3600);
    let expired = minter.mint_expiring_at("alice", "member", 1).unwrap();
    let forged = JwtConfig::new(b"not the server's secret but 32 bytes long").unwrap();
    let forged = forged
        .with_issuer(chat_app::ISSUER)
        .with_audience(chat_app::AUDIENCE);
    let other_issuer = minter.clone().with_issuer("another-app");
    let other_audience = minter.clone().with_audience("another-api");
    let claims = json!({"sub": "alice", "role": "member", "iat": 1, "exp": 4102444800u64});
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    let bare = jsonwebtoken::encode(&Default::default(), &claims, &key).unwrap();
    for (token, why) in [
        (expired, "expired"),
        (forged.mint("alice", "member", hour).unwrap(), "forged"),
        (
            other_issuer.mint("alice", "member", hour).unwrap(),
            "issuer",
        ),
        (
            other_audience.mint("alice", "member", hour).unwrap(),
            "audience",
        ),
        (bare, "no iss, no aud"),
    ] {
        let req = client.post(format!("{base}/graphql")).bearer_auth(token);
        let (status, err) = send(req.json(&query)).await;
        assert_eq!(status, 401, "{why}: {err}");
        assert!(demo_support::error::ErrorBody::matches(&err), "{err}");
    }
    let post = r#"mutation { postMessage(channel: "general", text: "hi") { seq } }"#;
    let anonymous = gql(&base, "", post).await;
    assert_eq!(anonymous["errors"][0]["message"], json!("sign in first"));
    let post = r#"mutation { postMessage(channel: "general", text: "hi") { author } }"#;
    let signed_in = gql(&base, &token, post).await;
    assert_eq!(signed_in["data"]["postMessage"]["author"], json!("alice"));
}

#[tokio::test]
async fn missing_or_short_jwt_secret_is_a_start_up_error() {
    std::env::remove_var("JWT_SECRET");
    let missing = chat_app::Config::from_env().err().expect("no JWT_SECRET");
    assert!(
        missing.to_string().contains("openssl rand -hex 32"),
        "{missing}"
    );
    let short = chat_app::Config {
        jwt_secret: "too-short".into(),
        ..config()
    };
    let err = chat_app::app(short)
        .await
        .err()
        .expect("a short secret is refused");
    assert!(err.to_string().contains("shorter than 32"), "{err}");
}

#[tokio::test]
async fn channels_are_created_and_listed_through_graphql() {
    let server = start().await;
    let base = server.base.clone();
    let bob = token(&base, "bob").await;
    let created = gql(
        &base,
        &bob,
        r#"mutation { createChannel(name: "rust") { name messages } }"#,
    )
    .await;
    assert_eq!(
        created["data"]["createChannel"],
        json!({"name": "rust", "messages": 0})
    );
    let again = gql(
        &base,
        &bob,
        r#"mutation { createChannel(name: "rust") { name } }"#,
    )
    .await;
    assert!(
        again["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("exists"),
        "{again}"
    );
    let invalid = gql(
        &base,
        &bob,
        r#"mutation { createChannel(name: "no spaces!") { name } }"#,
    )
    .await;
    assert!(
        invalid["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("name"),
        "{invalid}"
    );
    let list = eventually(&base, "{ channels { name messages } }", |v| {
        v["data"]["channels"].as_array().unwrap().len() == 2
    })
    .await;
    assert_eq!(
        list["data"]["channels"],
        json!([{"name": "general", "messages": 1}, {"name": "rust", "messages": 0}])
    );
}

#[tokio::test]
async fn messages_stream_to_subscribers_over_graphql_websocket() {
    let server = start().await;
    let base = server.base.clone();
    let (alice, bob) = (token(&base, "alice").await, token(&base, "bob").await);
    let mut ws = connect(&base, json!({"token": bob})).await;
    assert_eq!(next(&mut ws).await["type"], json!("connection_ack"));
    subscribe(
        &mut ws,
        "1",
        r#"subscription { messages(channel: "general") { seq author text } }"#,
    )
    .await;
    eventually(&base, "{ online }", |v| {
        v["data"]["online"] == json!(["bob"])
    })
    .await;
    // The subscription starts asynchronously: post until the first message comes through.
    let post = |text: &str| {
        format!(r#"mutation {{ postMessage(channel: "general", text: "{text}") {{ seq }} }}"#)
    };
    let seq = loop {
        let seq = gql(&base, &alice, &post("warm-up")).await["data"]["postMessage"]["seq"]
            .as_u64()
            .unwrap();
        if try_next(&mut ws, 200).await.is_some() {
            break seq;
        }
        assert!(seq < 50, "the subscription never delivered");
    };
    gql(
        &base,
        &alice,
        r#"mutation { createChannel(name: "other") { name } }"#,
    )
    .await;
    gql(
        &base,
        &alice,
        r#"mutation { postMessage(channel: "other", text: "elsewhere") { seq } }"#,
    )
    .await;
    for text in ["first", "second"] {
        gql(
            &base,
            &alice,
            &format!(r#"mutation {{ postMessage(channel: "general", text: "{text}") {{ seq }} }}"#),
        )
        .await;
    }
    let first = next(&mut ws).await;
    assert_eq!(
        (&first["type"], &first["id"]),
        (&json!("next"), &json!("1"))
    );
    assert_eq!(
        first["payload"]["data"]["messages"],
        json!({"seq": seq + 1, "author": "alice", "text": "first"})
    );
    let second = next(&mut ws).await;
    assert_eq!(
        second["payload"]["data"]["messages"],
        json!({"seq": seq + 2, "author": "alice", "text": "second"})
    );
}

#[tokio::test]
async fn subscription_connection_without_valid_token_is_refused() {
    let server = start().await;
    let base = server.base.clone();
    for payload in [json!({}), json!({"token": "forged"})] {
        let mut ws = connect(&base, payload.clone()).await;
        let answer = next(&mut ws).await;
        assert_ne!(
            answer["type"],
            json!("connection_ack"),
            "{payload} was accepted"
        );
    }
    assert_eq!(online(&base).await, json!([]));
}

#[tokio::test]
async fn online_presence_follows_websocket_connections() {
    let server = start().await;
    let base = server.base.clone();
    let (alice, carol) = (token(&base, "alice").await, token(&base, "carol").await);
    let mut a = connect(&base, json!({"token": alice})).await;
    assert_eq!(next(&mut a).await["type"], json!("connection_ack"));
    let mut c = connect(&base, json!({"token": carol})).await;
    assert_eq!(next(&mut c).await["type"], json!("connection_ack"));
    eventually(&base, "{ online }", |v| {
        v["data"]["online"] == json!(["alice", "carol"])
    })
    .await;
    a.close(None).await.unwrap();
    eventually(&base, "{ online }", |v| {
        v["data"]["online"] == json!(["carol"])
    })
    .await;
    drop(c);
    eventually(&base, "{ online }", |v| v["data"]["online"] == json!([])).await;
}

#[tokio::test]
async fn message_history_is_replayed_from_the_event_sourced_log() {
    let server = start().await;
    let base = server.base.clone();
    let alice = token(&base, "alice").await;
    for n in 1..=4 {
        gql(
            &base,
            &alice,
            &format!(r#"mutation {{ postMessage(channel: "general", text: "m{n}") {{ seq }} }}"#),
        )
        .await;
    }
    let all = gql(
        &base,
        "",
        r#"{ history(channel: "general") { seq author text } }"#,
    )
    .await;
    let texts: Vec<_> = all["data"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Welcome to #general", "m1", "m2", "m3", "m4"]);
    let last_two = gql(
        &base,
        "",
        r#"{ history(channel: "general", last: 2) { seq text } }"#,
    )
    .await;
    assert_eq!(
        last_two["data"]["history"],
        json!([{"seq": 4, "text": "m3"}, {"seq": 5, "text": "m4"}])
    );
    let (status, rest) =
        send(reqwest::Client::new().get(format!("{base}/channels/general/messages"))).await;
    assert_eq!((status, rest.as_array().unwrap().len()), (200, 5));
    let missing = gql(&base, "", r#"{ history(channel: "nope") { seq } }"#).await;
    assert!(missing["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not found"));
}

#[tokio::test]
async fn graphql_sdl_and_graphiql_page_are_served() {
    let server = start().await;
    let base = server.base.clone();
    let sdl = reqwest::get(format!("{base}/graphql/schema.graphql"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "type SubscriptionRoot",
        "messages(channel: String!): Message!",
        "postMessage(channel: String!, text: String!): Message!",
    ] {
        assert!(sdl.contains(line), "{line} missing from\n{sdl}");
    }
    let page = reqwest::get(format!("{base}/graphql"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("graphiql") && page.contains("/graphql/ws"),
        "subscription URL on the page"
    );
}

#[tokio::test]
async fn malformed_input_gets_4xx_json_error_never_a_panic() {
    let server = start().await;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let check = |req: reqwest::RequestBuilder| async move {
        let (status, body) = send(req).await;
        assert!(demo_support::error::ErrorBody::matches(&body), "{body}");
        assert_eq!(body["status"], json!(status));
        status
    };
    let json_body = |url: &str, b: &'static str| {
        client
            .post(format!("{base}{url}"))
            .header("content-type", "application/json")
            .body(b)
    };
    assert_eq!(check(json_body("/login", "{\"username\": ")).await, 400);
    assert_eq!(check(json_body("/login", r#"{"username": 1}"#)).await, 422);
    assert_eq!(
        check(client.post(format!("{base}/login")).body("x")).await,
        415
    );
    assert_eq!(check(json_body("/graphql", "{\"query\": ")).await, 400);
    assert_eq!(
        check(client.get(format!("{base}/graphql/ws"))).await,
        400,
        "not a WebSocket upgrade"
    );
    assert_eq!(
        check(client.get(format!("{base}/channels/nope/messages"))).await,
        404
    );
    assert_eq!(
        check(client.get(format!("{base}/channels/%FF/messages"))).await,
        400
    );
    let big = format!(r#"{{"query": "{}"}}"#, "x".repeat(3 << 20));
    assert_eq!(check(json_body("/graphql", "").body(big)).await, 413);
    assert_eq!(check(client.delete(format!("{base}/login"))).await, 405);
    assert_eq!(
        check(client.get(format!("{base}/no/such/route"))).await,
        404
    );
    let bad_query = gql(&base, "", "{ nosuchfield }").await;
    assert!(
        bad_query["errors"][0]["message"].is_string(),
        "GraphQL reports it as a GraphQL error"
    );
    assert_eq!(
        send(client.get(format!("{base}/health"))).await.0,
        200,
        "still serving"
    );
}

#[tokio::test]
async fn websocket_without_connection_init_is_closed_with_4408() {
    let server = start().await;
    let started = std::time::Instant::now();
    let mut ws = open(&server.base).await;
    let answer = next(&mut ws).await;
    assert_eq!(
        (&answer["type"], &answer["code"]),
        (&json!("close"), &json!(4408)),
        "{answer}"
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(500),
        "not before the timeout"
    );
    println!("no connection_init: {answer} after {:?}", started.elapsed());
    // A connection that did send connection_init stays open past the timeout.
    let alice = token(&server.base, "alice").await;
    let mut ws = connect(&server.base, json!({"token": alice})).await;
    assert_eq!(next(&mut ws).await["type"], json!("connection_ack"));
    assert_eq!(
        try_next(&mut ws, 1000).await,
        None,
        "still open, nothing sent"
    );
}

#[tokio::test]
async fn lagging_subscriber_is_told_it_lagged() {
    let server = start_with(chat_app::Config {
        live_buffer: 8,
        ..config()
    })
    .await;
    let base = server.base.clone();
    let alice = token(&base, "alice").await;
    let mut ws = connect_small(&base, json!({"token": alice})).await;
    assert_eq!(next(&mut ws).await["type"], json!("connection_ack"));
    subscribe(
        &mut ws,
        "1",
        r#"subscription { messages(channel: "general") { seq text } }"#,
    )
    .await;
    // Post while not reading: once the socket's buffers are full the subscriber falls behind.
    let client = reqwest::Client::new();
    let text = "x".repeat(1900);
    let mut posted = 0u64;
    while posted < 4000 {
        let query =
            format!(r#"mutation {{ postMessage(channel: "general", text: "{text}") {{ seq }} }}"#);
        let req = client.post(format!("{base}/graphql")).bearer_auth(&alice);
        assert_eq!(send(req.json(&json!({"query": query}))).await.0, 200);
        posted += 1;
    }
    let mut delivered = 0;
    let lagged = loop {
        let Some(frame) = try_next(&mut ws, 5000).await else {
            panic!("no frame within 5 s after {delivered} delivered");
        };
        match frame["type"].as_str() {
            Some("next") if frame["payload"]["errors"].is_array() => break frame,
            Some("next") => delivered += 1,
            _ => panic!("stream ended without a lagged error after {delivered}: {frame}"),
        }
    };
    let error = &lagged["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], json!("lagged"), "{lagged}");
    assert!(error["extensions"]["missed"].as_u64().unwrap() > 0);
    assert_eq!(
        next(&mut ws).await["type"],
        json!("complete"),
        "then the stream ends"
    );
    println!("posted {posted}, delivered {delivered}, then: {error}");
}
