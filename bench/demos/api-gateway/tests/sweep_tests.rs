//! The malformed-input sweep: every route of the OpenAPI document, the GraphQL endpoint and every field of
//! its SDL, and every method of the proto, with broken input; and a 200 MB body refused in bounded memory.
mod common;
use api_gateway::proto::{CreateItemRequest, GetItemRequest, ListItemsRequest};
use common::*;
use demo_support::testing::{self, Route, Sweep};
use serde_json::{json, Value};
use tonic::Code;

/// `POST /graphql` as a route of the sweep (the body an async-graphql request).
fn graphql_route() -> Route {
    let properties = json!({"query": {"type": "string"}, "variables": {"type": "object"}});
    Route {
        method: "POST".into(),
        path: "/graphql".into(),
        body: Some(json!({"type": "object", "properties": properties})),
        auth: false,
        responses: vec![
            "200".into(),
            "400".into(),
            "413".into(),
            "415".into(),
            "422".into(),
        ],
    }
}

/// The fields of `type NAME { ... }` in an SDL, with their argument lists.
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
    let mut gw = start().await;
    let (_, spec) = rest_get(&gw.base, "/openapi.json").await;
    let mut routes = testing::routes_from_openapi(&spec);
    assert_eq!(routes.len(), 4, "{spec}");
    routes.push(graphql_route());
    let mut report = Sweep::new(&gw.server, routes).run().await;

    // GraphQL: every field of the SDL with wrong, missing and odd arguments; each answer is a GraphQL
    // response (200 with `errors` entries that have a message) or a JSON error, never a 5xx.
    let sdl = reqwest::get(format!("{}/graphql/schema.graphql", gw.base))
        .await
        .unwrap();
    let sdl = sdl.text().await.unwrap();
    let client = reqwest::Client::new();
    let mut graphql_cases = 0;
    for (root, keyword) in [("QueryRoot", ""), ("MutationRoot", "mutation")] {
        for (field, args) in fields(&sdl, root) {
            let mut queries = vec![format!("{keyword} {{ {field} }}")];
            for value in [
                "12345678901234567890",
                "\"\\u0000\"",
                "null",
                "[1, 2]",
                "\"%FF\"",
            ] {
                let args: Vec<_> = args.iter().map(|a| format!("{a}: {value}")).collect();
                queries.push(format!(
                    "{keyword} {{ {field}({}) {{ id }} }}",
                    args.join(", ")
                ));
            }
            queries.push(format!(
                "{keyword} {{ {field}(nosucharg: 1) {{ nosuchfield }} }}"
            ));
            queries.push(format!(
                "{keyword} {{ {} }}",
                format!("{field} {{ id ").repeat(200)
            ));
            for query in queries {
                graphql_cases += 1;
                let label = format!("POST /graphql [{root}.{field}: {:.40}]", query);
                let answer = client
                    .post(format!("{}/graphql", gw.base))
                    .json(&json!({"query": query}));
                match answer.send().await {
                    Err(e) => report.failures.push(format!("{label}: no answer ({e})")),
                    Ok(r) if r.status().is_server_error() => {
                        report.server_errors += 1;
                        report.failures.push(format!("{label}: {}", r.status()));
                    }
                    Ok(r) => {
                        let body: Value = r.json().await.unwrap_or_default();
                        let messages = body["errors"]
                            .as_array()
                            .map(|e| e.iter().all(|e| e["message"].is_string()));
                        if messages != Some(true) {
                            report
                                .failures
                                .push(format!("{label}: no GraphQL errors: {body}"));
                        }
                    }
                }
            }
        }
    }

    // gRPC: every method of the proto with empty, huge and odd values; never an INTERNAL or UNKNOWN status.
    let long = "x".repeat(100_000);
    let mut grpc_cases = 0;
    let mut codes = Vec::new();
    for id in ["", "%FF", "\u{0}", "../../etc/passwd", long.as_str()] {
        codes.push((
            "GetItem",
            gw.grpc
                .get_item(GetItemRequest { id: id.into() })
                .await
                .err()
                .map(|s| s.code()),
        ));
    }
    for (name, quantity) in [
        ("", 1),
        (long.as_str(), 1),
        ("\u{0}", 0),
        ("Max", u32::MAX),
        ("🦀", 1),
    ] {
        let request = CreateItemRequest {
            name: name.into(),
            quantity,
        };
        codes.push((
            "CreateItem",
            gw.grpc.create_item(request).await.err().map(|s| s.code()),
        ));
    }
    codes.push((
        "ListItems",
        gw.grpc
            .list_items(ListItemsRequest {})
            .await
            .err()
            .map(|s| s.code()),
    ));
    for (method, code) in codes {
        grpc_cases += 1;
        if matches!(
            code,
            Some(Code::Internal | Code::Unknown | Code::Unavailable | Code::DataLoss)
        ) {
            report.server_errors += 1;
            report.failures.push(format!("gRPC {method}: {code:?}"));
        }
    }
    gw.stop_grpc().await;

    let mut figures = report.figures();
    figures["cases"] = json!(report.cases + graphql_cases + grpc_cases);
    figures["failures"] = json!(report.failures.len());
    figures["http_cases"] = json!(report.cases);
    figures["graphql_cases"] = json!(graphql_cases);
    figures["grpc_cases"] = json!(grpc_cases);
    testing::report(
        "api-gateway",
        "malformed_input_sweep_over_every_route_never_5xx",
        figures.clone(),
    );
    println!("{figures:#}");
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}

#[tokio::test]
async fn huge_body_is_refused_with_bounded_rss() {
    let gw = start().await;
    let total = 200 * 1024 * 1024;
    let mut figures = json!({"cases": 0, "failures": 0});
    let mut failures = Vec::new();
    for (method, path) in [("POST", "/items"), ("POST", "/graphql")] {
        let answer = testing::huge_body(&gw.server, method, path, total, &[]).await;
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
    testing::report(
        "api-gateway",
        "huge_body_is_refused_with_bounded_rss",
        figures,
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
