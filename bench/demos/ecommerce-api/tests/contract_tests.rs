//! Contract tests: each route's documented responses (the served OpenAPI document) against what it
//! answers. Every documented status of every operation is produced by a request here, every
//! answer's status is documented for its operation, and every error answer has the documented JSON
//! shape (`demo_support::testing::check_contract`).
mod common;
use common::*;
use demo_support::testing::{self, case, Case, CaseBody};
use serde_json::json;

const CARD: &str = "4242424242424242";
const DECLINED: &str = "4000000000000002";

fn cases() -> Vec<Case> {
    let none = || CaseBody::None;
    let qty = |n: u32| CaseBody::Json(json!({ "quantity": n }));
    let card = |number: &str, order: &str| {
        CaseBody::Json(json!({"card_number": number, "order_id": order}))
    };
    let malformed = || CaseBody::Raw("application/json", "{\"quantity\":");
    let plain = || CaseBody::Raw("text/plain", "{}");
    let item = "/carts/{id}/items/{product_id}";
    let checkout = "/carts/{id}/checkout";
    vec![
        case("GET", "/health", "/health", none(), 200),
        case("GET", "/openapi.json", "/openapi.json", none(), 200),
        case("GET", "/docs", "/docs", none(), 200),
        case("GET", "/products", "/products", none(), 200),
        case("GET", "/inventory", "/inventory", none(), 200),
        case("PUT", item, "/carts/c1/items/mouse", qty(2), 200),
        case("PUT", item, "/carts/c1/items/%FF", qty(2), 400),
        case("PUT", item, "/carts/c1/items/mouse", malformed(), 400),
        case("PUT", item, "/carts/c1/items/toaster", qty(1), 404),
        case(
            "PUT",
            item,
            "/carts/c1/items/mouse",
            CaseBody::OverLimit,
            413,
        ),
        case("PUT", item, "/carts/c1/items/mouse", plain(), 415),
        case("PUT", item, "/carts/c1/items/mouse", qty(101), 422),
        case("GET", "/carts/{id}", "/carts/c1", none(), 200),
        case("GET", "/carts/{id}", "/carts/%FF", none(), 400),
        case(
            "POST",
            checkout,
            "/carts/c1/checkout",
            card(DECLINED, "o-declined"),
            409,
        ),
        case(
            "POST",
            checkout,
            "/carts/c1/checkout",
            card(CARD, "o-1"),
            201,
        ),
        case(
            "POST",
            checkout,
            "/carts/%FF/checkout",
            card(CARD, "o-2"),
            400,
        ),
        case(
            "POST",
            checkout,
            "/carts/c1/checkout",
            CaseBody::OverLimit,
            413,
        ),
        case("POST", checkout, "/carts/c1/checkout", plain(), 415),
        case(
            "POST",
            checkout,
            "/carts/c1/checkout",
            card(CARD, "o-3"),
            422,
        ),
        case("GET", "/orders/{id}", "/orders/o-1", none(), 200),
        case("GET", "/orders/{id}", "/orders/%FF", none(), 400),
        case("GET", "/orders/{id}", "/orders/nope", none(), 404),
        case("GET", "/orders/{id}", "/orders/o-declined", none(), 409),
        case(
            "GET",
            "/streams/{stream}",
            "/streams/order-o-1",
            none(),
            200,
        ),
        case("GET", "/streams/{stream}", "/streams/%FF", none(), 400),
    ]
}

#[tokio::test]
async fn every_path_in_openapi_document_is_served() {
    let server = serve().await;
    let doc = get(server.url("/openapi.json")).await.1;
    let cases = cases();
    let failures = testing::check_contract(&server, &doc, &cases).await;
    let figures =
        json!({"cases": cases.len(), "failures": failures.len(), "failure_examples": failures});
    testing::report(
        "ecommerce-api",
        "every_path_in_openapi_document_is_served",
        figures,
    );
    assert!(failures.is_empty(), "{failures:#?}");
}
