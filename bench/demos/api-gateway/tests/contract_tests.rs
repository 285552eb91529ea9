//! Contract tests: each REST route answers exactly the statuses its OpenAPI document lists, and the same
//! request over REST, GraphQL and gRPC gives the same answer.
mod common;
use std::collections::BTreeSet;

use api_gateway::proto::{GetItemRequest, ListItemsRequest};
use common::*;
use demo_support::error::ErrorBody;
use serde_json::{json, Value};

/// Sends each request and checks its answer: the expected status, which the document lists for that
/// operation, with a JSON error body for errors. Returns the (method, path, status) triples seen.
async fn answers(
    spec: &Value,
    cases: Vec<(&str, &str, u16, reqwest::RequestBuilder)>,
) -> BTreeSet<(String, String, String)> {
    let mut seen = BTreeSet::new();
    for (method, path, expected, req) in cases {
        let r = req.send().await.expect("an answer");
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("a JSON body");
        assert_eq!(status, expected, "{method} {path}: {body}");
        let documented = &spec["paths"][path][method]["responses"][status.to_string()];
        assert!(
            documented.is_object(),
            "{method} {path} answered {status}, undocumented"
        );
        if status >= 400 {
            assert!(
                ErrorBody::matches(&body) && body["status"] == json!(status),
                "{body}"
            );
        }
        seen.insert((method.to_string(), path.to_string(), status.to_string()));
    }
    seen
}

#[tokio::test]
async fn every_route_answers_the_statuses_its_openapi_document_lists() {
    let mut gw = start().await;
    let (_, spec) = rest_get(&gw.base, "/openapi.json").await;
    let client = reqwest::Client::new();
    let base = gw.base.clone();
    let url = |path: &str| format!("{base}{path}");
    let post = |body: String| {
        let req = client.post(url("/items"));
        req.header("content-type", "application/json").body(body)
    };
    let mut seen = answers(
        &spec,
        vec![
            ("get", "/health", 200, client.get(url("/health"))),
            ("get", "/items", 200, client.get(url("/items"))),
            (
                "post",
                "/items",
                201,
                post(r#"{"name": "Cog", "quantity": 1}"#.into()),
            ),
            (
                "post",
                "/items",
                400,
                post(r#"{"name": " ", "quantity": 1}"#.into()),
            ),
            (
                "post",
                "/items",
                409,
                post(r#"{"name": "Widget", "quantity": 1}"#.into()),
            ),
            (
                "post",
                "/items",
                413,
                post(format!(r#"{{"name": "{}"}}"#, "x".repeat(3 << 20))),
            ),
            ("post", "/items", 415, client.post(url("/items")).body("{}")),
            ("post", "/items", 422, post(r#"{"name": "Cog"}"#.into())),
            ("get", "/items/{id}", 200, client.get(url("/items/widget"))),
            ("get", "/items/{id}", 400, client.get(url("/items/%FF"))),
            ("get", "/items/{id}", 404, client.get(url("/items/nope"))),
        ],
    )
    .await;
    gw.stop_grpc().await;
    let down = vec![
        ("get", "/health", 503, client.get(url("/health"))),
        ("get", "/items", 502, client.get(url("/items"))),
        (
            "post",
            "/items",
            502,
            post(r#"{"name": "Cog2", "quantity": 1}"#.into()),
        ),
        ("get", "/items/{id}", 502, client.get(url("/items/widget"))),
    ];
    seen.extend(answers(&spec, down).await);
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for status in operation["responses"].as_object().unwrap().keys() {
                documented.insert((method.clone(), path.clone(), status.clone()));
            }
        }
    }
    assert_eq!(documented, seen, "documented vs answered");
}

#[tokio::test]
async fn same_get_request_over_rest_graphql_and_grpc_gives_same_item() {
    let mut gw = start().await;
    for id in ["widget", "gadget", "gizmo"] {
        let rest = rest_get(&gw.base, &format!("/items/{id}")).await.1;
        let graphql = gql(
            &gw.base,
            &format!(r#"{{ item(id: "{id}") {{ id name quantity }} }}"#),
        )
        .await["data"]["item"]
            .clone();
        let grpc = serde_json::to_value(
            gw.grpc
                .get_item(GetItemRequest { id: id.into() })
                .await
                .unwrap()
                .into_inner(),
        )
        .unwrap();
        assert_eq!(rest, graphql, "{id}: REST vs GraphQL");
        assert_eq!(rest, grpc, "{id}: REST vs gRPC");
    }
}

#[tokio::test]
async fn same_list_request_over_rest_graphql_and_grpc_gives_same_items() {
    let mut gw = start().await;
    let rest = rest_get(&gw.base, "/items").await.1;
    let graphql = gql(&gw.base, "{ items { id name quantity } }").await["data"]["items"].clone();
    let grpc = serde_json::to_value(
        gw.grpc
            .list_items(ListItemsRequest {})
            .await
            .unwrap()
            .into_inner()
            .items,
    )
    .unwrap();
    assert_eq!((&rest, &rest), (&graphql, &grpc));
    assert_eq!(rest.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn same_failing_request_over_every_protocol_gives_same_error() {
    let mut gw = start().await;
    let rest = rest_get(&gw.base, "/items/absent").await.1;
    let graphql = gql(&gw.base, r#"{ item(id: "absent") { id } }"#).await["errors"][0].clone();
    let grpc = gw
        .grpc
        .get_item(GetItemRequest {
            id: "absent".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(rest["code"], json!("not_found"));
    assert_eq!(graphql["extensions"]["code"], rest["code"]);
    assert_eq!(format!("{:?}", grpc.code()), "NotFound");
    assert_eq!(
        (rest["error"].clone(), graphql["message"].clone()),
        (json!(grpc.message()), json!(grpc.message()))
    );
}
