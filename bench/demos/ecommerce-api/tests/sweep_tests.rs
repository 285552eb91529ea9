//! Malformed input over every route of the served OpenAPI document: never a 5xx, never a dropped
//! connection, always the JSON error shape, only documented statuses; a 200 MB body is refused with
//! the server's memory bounded.
mod common;
use common::*;
use demo_support::testing::{self, Sweep};
use serde_json::json;

#[tokio::test]
async fn every_documented_route_survives_the_malformed_input_sweep() {
    let server = serve().await;
    let doc = get(server.url("/openapi.json")).await.1;
    let routes = testing::routes_from_openapi(&doc);
    assert_eq!(routes.len(), 10);
    let mut sweep = Sweep::new(&server, routes);
    sweep.param = Box::new(|name| match name {
        "product_id" => "mouse".into(),
        _ => "c1".into(),
    });
    sweep.documented_only = true;
    let report = sweep.run().await;

    // 200 MB streamed (chunked, so the server must read to know the size) while sampling RSS.
    let path = "/carts/c1/items/mouse";
    let huge = testing::huge_body(&server, "PUT", path, 200 << 20, &[]).await;
    let mut figures = report.figures();
    figures["huge_body"] = json!(huge);
    let huge_ok = huge.status == Some(413)
        && huge
            .error_body
            .as_ref()
            .is_some_and(demo_support::error::ErrorBody::matches)
        && huge.rss_growth_bytes < 64 << 20;
    figures["cases"] = json!(report.cases + 1);
    figures["failures"] = json!(report.failures.len() + usize::from(!huge_ok));
    println!("{figures:#}");
    let test = "every_documented_route_survives_the_malformed_input_sweep";
    testing::report("ecommerce-api", test, figures);
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
    assert!(huge_ok, "{huge:?}");
    assert_eq!(get(server.url("/health")).await.0, 200, "still serving");
}
