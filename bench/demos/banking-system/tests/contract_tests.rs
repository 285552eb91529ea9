//! Contract tests: each route's documented responses (the served OpenAPI document) against what it
//! answers. Every documented status of every operation is produced by a request here, every answer's
//! status is documented for its operation, and every error answer has the documented JSON shape.
mod common;
use std::collections::{BTreeMap, BTreeSet};

use common::*;
use demo_support::{error::ErrorBody, testing};
use serde_json::{json, Value};

/// (method, path template, concrete path, JSON body or raw body, expected status)
enum Body {
    None,
    Json(Value),
    Raw(&'static str, &'static str),
    Huge,
}

fn cases() -> Vec<(&'static str, &'static str, String, Body, u16)> {
    let transfer =
        |from: &str, to: &str, amount: i64| json!({"from": from, "to": to, "amount_cents": amount});
    let malformed = Body::Raw("application/json", "{\"amount_cents\":");
    let plain = Body::Raw("text/plain", "{}");
    vec![
        ("GET", "/health", "/health".into(), Body::None, 200),
        (
            "GET",
            "/openapi.json",
            "/openapi.json".into(),
            Body::None,
            200,
        ),
        ("GET", "/audit", "/audit".into(), Body::None, 200),
        (
            "GET",
            "/accounts/{id}",
            "/accounts/alice".into(),
            Body::None,
            200,
        ),
        (
            "GET",
            "/accounts/{id}",
            "/accounts/%FF".into(),
            Body::None,
            400,
        ),
        (
            "GET",
            "/accounts/{id}",
            "/accounts/nobody".into(),
            Body::None,
            404,
        ),
        (
            "GET",
            "/accounts/{id}/transactions",
            "/accounts/alice/transactions".into(),
            Body::None,
            200,
        ),
        (
            "GET",
            "/accounts/{id}/transactions",
            "/accounts/%FF/transactions".into(),
            Body::None,
            400,
        ),
        (
            "GET",
            "/accounts/{id}/transactions",
            "/accounts/nobody/transactions".into(),
            Body::None,
            404,
        ),
        (
            "POST",
            "/accounts",
            "/accounts".into(),
            Body::Json(json!({"account_id": "carol", "owner": "C"})),
            201,
        ),
        (
            "POST",
            "/accounts",
            "/accounts".into(),
            Body::Raw("application/json", "{\"account_id\""),
            400,
        ),
        (
            "POST",
            "/accounts",
            "/accounts".into(),
            Body::Json(json!({"account_id": "carol", "owner": "C"})),
            409,
        ),
        ("POST", "/accounts", "/accounts".into(), Body::Huge, 413),
        (
            "POST",
            "/accounts",
            "/accounts".into(),
            Body::Raw("text/plain", "{}"),
            415,
        ),
        (
            "POST",
            "/accounts",
            "/accounts".into(),
            Body::Json(json!({"account_id": "a b", "owner": "x"})),
            422,
        ),
        (
            "POST",
            "/accounts/{id}/deposits",
            "/accounts/bob/deposits".into(),
            Body::Json(json!({"amount_cents": 5})),
            200,
        ),
        (
            "POST",
            "/accounts/{id}/deposits",
            "/accounts/%FF/deposits".into(),
            Body::Json(json!({"amount_cents": 5})),
            400,
        ),
        (
            "POST",
            "/accounts/{id}/deposits",
            "/accounts/bob/deposits".into(),
            malformed,
            400,
        ),
        (
            "POST",
            "/accounts/{id}/deposits",
            "/accounts/nobody/deposits".into(),
            Body::Json(json!({"amount_cents": 5})),
            404,
        ),
        (
            "POST",
            "/accounts/{id}/deposits",
            "/accounts/bob/deposits".into(),
            Body::Huge,
            413,
        ),
        (
            "POST",
            "/accounts/{id}/deposits",
            "/accounts/bob/deposits".into(),
            plain,
            415,
        ),
        (
            "POST",
            "/accounts/{id}/deposits",
            "/accounts/bob/deposits".into(),
            Body::Json(json!({"amount_cents": u64::MAX})),
            422,
        ),
        (
            "POST",
            "/transfers",
            "/transfers".into(),
            Body::Json(
                json!({"from": "alice", "to": "bob", "amount_cents": 10, "transfer_id": "c1"}),
            ),
            201,
        ),
        (
            "POST",
            "/transfers",
            "/transfers".into(),
            Body::Raw("application/json", "{\"from\""),
            400,
        ),
        (
            "POST",
            "/transfers",
            "/transfers".into(),
            Body::Json(transfer("alice", "bob", 150_000)),
            403,
        ),
        (
            "POST",
            "/transfers",
            "/transfers".into(),
            Body::Json(transfer("alice", "nobody", 1)),
            404,
        ),
        (
            "POST",
            "/transfers",
            "/transfers".into(),
            Body::Json(
                json!({"from": "alice", "to": "bob", "amount_cents": 10, "transfer_id": "c1"}),
            ),
            409,
        ),
        ("POST", "/transfers", "/transfers".into(), Body::Huge, 413),
        (
            "POST",
            "/transfers",
            "/transfers".into(),
            Body::Raw("text/plain", "{}"),
            415,
        ),
        (
            "POST",
            "/transfers",
            "/transfers".into(),
            Body::Json(transfer("bob", "alice", 99_999)),
            422,
        ),
        (
            "POST",
            "/transfers",
            "/transfers".into(),
            Body::Json(transfer("alice", "partner", 5)),
            504,
        ),
        (
            "GET",
            "/transfers/{id}",
            "/transfers/c1".into(),
            Body::None,
            200,
        ),
        (
            "GET",
            "/transfers/{id}",
            "/transfers/%FF".into(),
            Body::None,
            400,
        ),
        (
            "GET",
            "/transfers/{id}",
            "/transfers/nope".into(),
            Body::None,
            404,
        ),
    ]
}

#[tokio::test]
async fn every_path_in_openapi_document_is_served() {
    let server = serve(config(":memory:")).await;
    let doc = get(server.url("/openapi.json")).await.1;
    let client = reqwest::Client::new();
    let mut exercised: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut failures = Vec::new();
    let all = cases();
    for (method, template, path, body, expected) in &all {
        let documented = &doc["paths"][template][method.to_lowercase()]["responses"];
        let (status, answer) = match body {
            Body::Huge => {
                let raw = testing::send_body(server.addr, method, path, 3 << 20, false, &[]).await;
                let raw = raw.expect("answered");
                (raw.status, raw.json().unwrap_or(Value::Null))
            }
            _ => {
                let mut req = client.request(method.parse().unwrap(), server.url(path));
                req = match body {
                    Body::Json(v) => req.json(v),
                    Body::Raw(content_type, text) => {
                        req.header("content-type", *content_type).body(*text)
                    }
                    _ => req,
                };
                let r = req.send().await.expect("answered");
                let status = r.status().as_u16();
                (status, r.json().await.unwrap_or(Value::Null))
            }
        };
        let key = (method.to_string(), template.to_string());
        exercised.entry(key).or_default().insert(status.to_string());
        if status != *expected {
            failures.push(format!(
                "{method} {path}: expected {expected}, got {status} {answer}"
            ));
        }
        if documented.get(status.to_string()).is_none() {
            failures.push(format!("{method} {template}: {status} is not documented"));
        }
        let documented_error =
            &documented[status.to_string()]["content"]["application/json"]["schema"]["$ref"];
        if status >= 400
            && (!ErrorBody::matches(&answer)
                || documented_error != "#/components/schemas/ErrorBody")
        {
            failures.push(format!("{method} {path}: {status} error body {answer}"));
        }
    }
    // Each operation in the document: every documented status was produced.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let documented: BTreeSet<String> = operation["responses"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            let seen = exercised
                .get(&(method.to_uppercase(), path.clone()))
                .cloned()
                .unwrap_or_default();
            if documented != seen {
                failures.push(format!(
                    "{method} {path}: documented {documented:?}, produced {seen:?}"
                ));
            }
        }
    }
    let figures =
        json!({"cases": all.len(), "failures": failures.len(), "failure_examples": failures});
    testing::report(
        "banking-system",
        "every_path_in_openapi_document_is_served",
        figures,
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
