//! Contract test: each REST operation answers exactly the statuses its OpenAPI document lists (requests
//! written here, from the README's rules), with the JSON error shape for every error.
mod common;
use std::collections::BTreeSet;

use common::*;
use demo_support::error::ErrorBody;
use serde_json::{json, Value};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";

fn image(bytes: &[u8], mime: &str) -> reqwest::multipart::Form {
    let part = reqwest::multipart::Part::bytes(bytes.to_vec())
        .file_name("f")
        .mime_str(mime)
        .unwrap();
    reqwest::multipart::Form::new().part("file", part)
}

#[tokio::test]
async fn every_path_in_openapi_document_is_served() {
    let server = start().await;
    let base = server.base.clone();
    let (_, doc) = send(client().get(format!("{base}/openapi.json"))).await;
    let (alice, eve, rita) = (
        token(&base, "alice").await,
        token(&base, "eve").await,
        token(&base, "rita").await,
    );
    let draft = create(&base, &alice, "Contract").await;
    let review = create(&base, &alice, "In review").await;
    send(call(
        "POST",
        format!("{base}/articles/{review}/submit"),
        &alice,
    ))
    .await;
    let rejectable = create(&base, &alice, "To reject").await;
    send(call(
        "POST",
        format!("{base}/articles/{rejectable}/submit"),
        &alice,
    ))
    .await;
    let published = create(&base, &alice, "Published").await;
    send(call(
        "POST",
        format!("{base}/articles/{published}/submit"),
        &alice,
    ))
    .await;
    send(call(
        "POST",
        format!("{base}/articles/{published}/publish"),
        &eve,
    ))
    .await;
    let p = format!("/articles/{published}");
    let (_, media) =
        send(call("POST", format!("{base}/media"), &alice).multipart(image(PNG, "image/png")))
            .await;
    let media = media["url"].as_str().unwrap().to_string();
    let bad = "Bearer not.a.jwt";
    let json_body = |method: &str, path: &str, token: &str, body: &str| {
        let req =
            call(method, format!("{base}{path}"), token).header("content-type", "application/json");
        req.body(body.to_string())
    };
    let over = format!(r#"{{"title": "{}", "body": "x"}}"#, "x".repeat(LIMIT * 2));
    let d = format!("/articles/{draft}");
    let r = format!("/articles/{review}");
    let j = format!("/articles/{rejectable}");
    let draft_body = r#"{"title": "T", "body": "B"}"#;
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, u16, reqwest::RequestBuilder)> = vec![
        ("get", "/health", 200, call("GET", format!("{base}/health"), "")),
        ("post", "/login", 200, json_body("POST", "/login", "", r#"{"username": "eve", "password": "eve-password"}"#)),
        ("post", "/login", 400, json_body("POST", "/login", "", "{\"username\": ")),
        ("post", "/login", 401, json_body("POST", "/login", "", r#"{"username": "eve", "password": "no"}"#)),
        ("post", "/login", 413, json_body("POST", "/login", "", &over)),
        ("post", "/login", 415, call("POST", format!("{base}/login"), "").body("{}")),
        ("post", "/login", 422, json_body("POST", "/login", "", r#"{"username": 1}"#)),
        ("get", "/articles", 200, call("GET", format!("{base}/articles"), "")),
        ("get", "/articles", 401, call("GET", format!("{base}/articles"), "").header("authorization", bad)),
        ("post", "/articles", 201, json_body("POST", "/articles", &alice, draft_body)),
        ("post", "/articles", 400, json_body("POST", "/articles", &alice, "{\"title\"")),
        ("post", "/articles", 401, json_body("POST", "/articles", "", draft_body)),
        ("post", "/articles", 403, json_body("POST", "/articles", &rita, draft_body)),
        ("post", "/articles", 413, json_body("POST", "/articles", &alice, &over)),
        ("post", "/articles", 415, call("POST", format!("{base}/articles"), &alice).body(draft_body)),
        ("post", "/articles", 422, json_body("POST", "/articles", &alice, r#"{"title": " ", "body": "B"}"#)),
        ("get", "/articles/{id}", 200, call("GET", format!("{base}/articles/welcome"), "")),
        ("get", "/articles/{id}", 400, call("GET", format!("{base}/articles/%FF"), "")),
        ("get", "/articles/{id}", 401, call("GET", format!("{base}/articles/welcome"), "").header("authorization", bad)),
        ("get", "/articles/{id}", 404, call("GET", format!("{base}{d}"), "")),
        ("put", "/articles/{id}", 200, json_body("PUT", &d, &alice, draft_body)),
        ("put", "/articles/{id}", 400, json_body("PUT", "/articles/%FF", &alice, draft_body)),
        ("put", "/articles/{id}", 401, json_body("PUT", &d, "", draft_body)),
        ("put", "/articles/{id}", 403, json_body("PUT", &d, &rita, draft_body)),
        ("put", "/articles/{id}", 404, json_body("PUT", "/articles/nope", &alice, draft_body)),
        ("put", "/articles/{id}", 409, json_body("PUT", &p, &alice, draft_body)),
        ("put", "/articles/{id}", 413, json_body("PUT", &d, &alice, &over)),
        ("put", "/articles/{id}", 415, call("PUT", format!("{base}{d}"), &alice).body(draft_body)),
        ("put", "/articles/{id}", 422, json_body("PUT", &d, &alice, r#"{"title": 5}"#)),
        ("post", "/articles/{id}/submit", 200, call("POST", format!("{base}{d}/submit"), &alice)),
        ("post", "/articles/{id}/submit", 400, call("POST", format!("{base}/articles/%FF/submit"), &alice)),
        ("post", "/articles/{id}/submit", 401, call("POST", format!("{base}{d}/submit"), "")),
        ("post", "/articles/{id}/submit", 403, call("POST", format!("{base}{d}/submit"), &rita)),
        ("post", "/articles/{id}/submit", 404, call("POST", format!("{base}/articles/nope/submit"), &alice)),
        ("post", "/articles/{id}/submit", 409, call("POST", format!("{base}{d}/submit"), &alice)),
        ("post", "/articles/{id}/publish", 200, call("POST", format!("{base}{r}/publish"), &eve)),
        ("post", "/articles/{id}/publish", 400, call("POST", format!("{base}/articles/%FF/publish"), &eve)),
        ("post", "/articles/{id}/publish", 401, call("POST", format!("{base}{r}/publish"), "")),
        ("post", "/articles/{id}/publish", 403, call("POST", format!("{base}{r}/publish"), &alice)),
        ("post", "/articles/{id}/publish", 404, call("POST", format!("{base}/articles/nope/publish"), &eve)),
        ("post", "/articles/{id}/publish", 409, call("POST", format!("{base}{r}/publish"), &eve)),
        ("post", "/articles/{id}/reject", 200, json_body("POST", &format!("{j}/reject"), &eve, r#"{"reason": "no"}"#)),
        ("post", "/articles/{id}/reject", 400, json_body("POST", "/articles/%FF/reject", &eve, r#"{"reason": "no"}"#)),
        ("post", "/articles/{id}/reject", 401, json_body("POST", &format!("{j}/reject"), "", r#"{"reason": "no"}"#)),
        ("post", "/articles/{id}/reject", 403, json_body("POST", &format!("{j}/reject"), &alice, r#"{"reason": "no"}"#)),
        ("post", "/articles/{id}/reject", 404, json_body("POST", "/articles/nope/reject", &eve, r#"{"reason": "no"}"#)),
        ("post", "/articles/{id}/reject", 409, json_body("POST", &format!("{j}/reject"), &eve, r#"{"reason": "no"}"#)),
        ("post", "/articles/{id}/reject", 413, json_body("POST", &format!("{j}/reject"), &eve, &over)),
        ("post", "/articles/{id}/reject", 415, call("POST", format!("{base}{j}/reject"), &eve).body("{}")),
        ("post", "/articles/{id}/reject", 422, json_body("POST", &format!("{j}/reject"), &eve, "{}")),
        ("get", "/articles/{id}/versions", 200, call("GET", format!("{base}/articles/welcome/versions"), "")),
        ("get", "/articles/{id}/versions", 400, call("GET", format!("{base}/articles/%FF/versions"), "")),
        ("get", "/articles/{id}/versions", 401, call("GET", format!("{base}/articles/welcome/versions"), "").header("authorization", bad)),
        ("get", "/articles/{id}/versions", 404, call("GET", format!("{base}/articles/nope/versions"), "")),
        ("get", "/articles/{id}/events", 200, call("GET", format!("{base}/articles/welcome/events"), "")),
        ("get", "/articles/{id}/events", 400, call("GET", format!("{base}/articles/%FF/events"), "")),
        ("get", "/articles/{id}/events", 401, call("GET", format!("{base}/articles/welcome/events"), "").header("authorization", bad)),
        ("get", "/articles/{id}/events", 404, call("GET", format!("{base}/articles/nope/events"), "")),
        ("post", "/media", 201, call("POST", format!("{base}/media"), &alice).multipart(image(PNG, "image/png"))),
        ("post", "/media", 400, call("POST", format!("{base}/media"), &alice).body("not multipart")),
        ("post", "/media", 401, call("POST", format!("{base}/media"), "").multipart(image(PNG, "image/png"))),
        ("post", "/media", 403, call("POST", format!("{base}/media"), &rita).multipart(image(PNG, "image/png"))),
        ("post", "/media", 413, call("POST", format!("{base}/media"), &alice).multipart(image(&vec![0; LIMIT * 2], "image/png"))),
        ("post", "/media", 415, call("POST", format!("{base}/media"), &alice).multipart(image(b"text", "text/plain"))),
        ("get", "/media/{id}", 200, call("GET", format!("{base}{media}"), "")),
        ("get", "/media/{id}", 400, call("GET", format!("{base}/media/%FF"), "")),
        ("get", "/media/{id}", 404, call("GET", format!("{base}/media/nope"), "")),
        ("post", "/graphql", 200, json_body("POST", "/graphql", "", r#"{"query": "{ articles { id } }"}"#)),
        ("post", "/graphql", 400, json_body("POST", "/graphql", "", "{\"query\": ")),
        ("post", "/graphql", 401, json_body("POST", "/graphql", bad.trim_start_matches("Bearer "), "{}")),
        ("post", "/graphql", 403, call("POST", format!("{base}/graphql"), &alice).multipart(reqwest::multipart::Form::new().text("operations", "{}"))),
        ("post", "/graphql", 413, json_body("POST", "/graphql", "", &over)),
    ];
    let mut seen = BTreeSet::new();
    for (method, path, expected, req) in cases {
        let r = req.send().await.expect("an answer");
        let status = r.status().as_u16();
        let body = r.bytes().await.unwrap();
        let documented = &doc["paths"][path][method]["responses"][status.to_string()];
        assert!(
            documented.is_object(),
            "{method} {path} answered {status}, undocumented"
        );
        assert_eq!(
            status,
            expected,
            "{method} {path}: {}",
            String::from_utf8_lossy(&body)
        );
        if status >= 400 {
            let error: Value = serde_json::from_slice(&body).expect("a JSON error");
            assert!(
                ErrorBody::matches(&error) && error["status"] == json!(status),
                "{error}"
            );
        }
        seen.insert((method.to_string(), path.to_string(), status.to_string()));
    }
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for status in operation["responses"].as_object().unwrap().keys() {
                documented.insert((method.clone(), path.clone(), status.clone()));
            }
        }
    }
    let missing: Vec<_> = documented.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "documented, never answered: {missing:?}"
    );
}
