//! The malformed-input sweep: every operation of the OpenAPI document and every field of the GraphQL SDL,
//! with broken input and bad tokens; and a 200 MB body refused in bounded memory.
mod common;
use common::*;
use demo_support::testing::{self, Sweep};
use serde_json::json;

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
    let (_, doc) = send(client().get(format!("{base}/openapi.json"))).await;
    let routes = testing::routes_from_openapi(&doc);
    assert_eq!(routes.len(), 14);
    assert_eq!(
        routes.iter().filter(|r| r.auth).count(),
        6,
        "the writes need a token"
    );
    let eve = token(&base, "eve").await;
    let mut sweep = Sweep::new(&server, routes);
    sweep.param = Box::new(|_| "welcome".to_string());
    sweep.bad_tokens = testing::bad_tokens(&tokens());
    sweep.good_token = Some(format!("Bearer {eve}"));
    let mut report = sweep.run().await;

    // GraphQL: every field of the SDL with wrong, missing and odd arguments, as an editor and anonymously.
    let sdl = client()
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
                "\"welcome\"",
            ] {
                let args: Vec<_> = args.iter().map(|a| format!("{a}: {value}")).collect();
                queries.push(format!(
                    "{keyword} {{ {field}({}) {{ nosuch }} }}",
                    args.join(", ")
                ));
            }
            for query in queries {
                for token in ["", eve.as_str()] {
                    graphql_cases += 1;
                    let answer = gql(&base, token, &query).await;
                    let messages = answer["errors"]
                        .as_array()
                        .map(|e| e.iter().all(|e| e["message"].is_string()));
                    if messages != Some(true) {
                        report
                            .failures
                            .push(format!("POST /graphql [{query:.60}]: {answer}"));
                    }
                }
            }
        }
    }
    assert_eq!(
        send(client().get(format!("{base}/health"))).await.0,
        200,
        "still serving"
    );

    let mut figures = report.figures();
    figures["http_cases"] = json!(report.cases);
    figures["graphql_cases"] = json!(graphql_cases);
    figures["cases"] = json!(report.cases + graphql_cases);
    figures["failures"] = json!(report.failures.len());
    figures["failure_examples"] = json!(report.failures.iter().take(20).collect::<Vec<_>>());
    testing::report(
        "cms",
        "malformed_input_sweep_over_every_route_never_5xx",
        figures.clone(),
    );
    println!("{figures:#}");
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}

#[tokio::test]
async fn huge_body_is_refused_with_bounded_rss() {
    let server = start().await;
    let eve = token(&server.base, "eve").await;
    let auth = format!("Bearer {eve}");
    let total = 200 * 1024 * 1024;
    let mut figures = json!({"cases": 0, "failures": 0});
    let mut failures = Vec::new();
    for path in ["/articles", "/media", "/graphql"] {
        let headers = [("authorization", auth.as_str())];
        let answer = testing::huge_body(&server, "POST", path, total, &headers).await;
        println!("POST {path} with a 200 MB chunked body: {answer:?}");
        let refused = answer.status.is_some_and(|s| s == 413 || s == 400)
            && answer
                .error_body
                .as_ref()
                .is_some_and(demo_support::error::ErrorBody::matches);
        if !refused || answer.rss_growth_bytes > 64 << 20 {
            failures.push(format!("POST {path}: {answer:?}"));
        }
        figures["cases"] = json!(figures["cases"].as_u64().unwrap() + 1);
        figures[path] = serde_json::to_value(&answer).unwrap();
    }
    figures["failures"] = json!(failures.len());
    testing::report("cms", "huge_body_is_refused_with_bounded_rss", figures);
    assert!(failures.is_empty(), "{failures:#?}");
}
