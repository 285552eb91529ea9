//! ecommerce-api through real HTTP: one test per PRD feature of scenario 1.
mod common;
use common::*;
use serde_json::{json, Value};

const CARD: &str = "4242424242424242";
const DECLINED: &str = "4000000000000002";

/// UpdateCart: PUT /carts/{cart}/items/{product} {"quantity": n}.
async fn add(base: &str, cart: &str, product: &str, quantity: u32) -> (u16, Value) {
    let url = format!("{base}/carts/{cart}/items/{product}");
    let r = reqwest::Client::new()
        .put(url)
        .json(&json!({"quantity": quantity}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn stock(base: &str, product: &str) -> (i64, i64) {
    let inv = get(format!("{base}/inventory")).await.1;
    let level = &inv["levels"][product];
    (
        level["available"].as_i64().unwrap(),
        level["reserved"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn health_endpoint_answers_ok() {
    let base = start().await;
    assert_eq!(
        get(format!("{base}/health")).await,
        (200, json!({"status": "ok"}))
    );
}

#[tokio::test]
async fn product_catalogue_is_served_by_query_bus_from_catalog_projection() {
    let base = start().await;
    let (status, products) = get(format!("{base}/products")).await;
    assert_eq!(status, 200);
    assert_eq!(products.as_array().unwrap().len(), 3);
    assert_eq!(
        products[0],
        json!({"id": "keyboard", "name": "Keyboard", "price_cents": 4999})
    );
    assert_eq!(products[2]["id"], json!("mouse"));
}

#[tokio::test]
async fn cart_commands_update_items_through_command_bus() {
    let base = start().await;
    assert_eq!(add(&base, "c1", "mouse", 2).await.0, 200);
    let (status, cart) = add(&base, "c1", "mouse", 3).await;
    assert_eq!((status, &cart["items"]), (200, &json!({"mouse": 3})));
    add(&base, "c1", "keyboard", 1).await;
    let (status, cart) = add(&base, "c1", "mouse", 0).await; // 0 removes
    assert_eq!((status, &cart["items"]), (200, &json!({"keyboard": 1})));
    assert_eq!(
        get(format!("{base}/carts/c1")).await.1["items"],
        json!({"keyboard": 1})
    );
    // The command handler validates: quantity range, product existence.
    let (status, err) = add(&base, "c1", "mouse", 101).await;
    assert_eq!(status, 422);
    assert!(err["error"].as_str().unwrap().contains("quantity"), "{err}");
    assert_eq!(add(&base, "c1", "toaster", 1).await.0, 404);
    // Each accepted command left its event in the cart's stream.
    let events = get(format!("{base}/streams/cart-c1")).await.1;
    let quantities: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["quantity"])
        .collect();
    assert_eq!(quantities, [&json!(2), &json!(3), &json!(1), &json!(0)]);
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["type"] == json!("CartItemSet")));
}

#[tokio::test]
async fn order_saga_reserves_stock_captures_payment_and_places_order() {
    let base = start().await;
    add(&base, "c1", "keyboard", 2).await;
    add(&base, "c1", "mouse", 1).await;
    let (status, body) = post(
        format!("{base}/carts/c1/checkout"),
        json!({"card_number": CARD}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let order = &body["order"];
    assert_eq!(order["total_cents"], json!(2 * 4999 + 1999));
    let types: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "StockReserved",
            "StockReserved",
            "PaymentCaptured",
            "OrderPlaced",
            "CartCheckedOut"
        ]
    );
    assert_eq!(
        order["lines"],
        json!([{"product_id": "keyboard", "quantity": 2}, {"product_id": "mouse", "quantity": 1}])
    );
    let id = order["order_id"].as_str().unwrap();
    let (status, stored) = get(format!("{base}/orders/{id}")).await;
    assert_eq!((status, &stored), (200, order));
    assert_eq!(
        get(format!("{base}/carts/c1")).await.1["items"],
        json!({}),
        "the cart was checked out"
    );
    let placed = get(format!("{base}/streams/order-{id}")).await.1;
    assert_eq!(placed[1]["type"], json!("OrderPlaced"));
}

#[tokio::test]
async fn order_saga_compensates_stock_reservation_when_payment_is_declined() {
    let base = start().await;
    add(&base, "c1", "keyboard", 3).await;
    let (status, err) = post(
        format!("{base}/carts/c1/checkout"),
        json!({"card_number": DECLINED}),
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        err["error"].as_str().unwrap().contains("charge-payment"),
        "{err}"
    );
    // The compensation is in the log: the reservation and its release, for the same order.
    let events = get(format!("{base}/streams/product-keyboard")).await.1;
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(
        (events[1]["type"].as_str(), events[2]["type"].as_str()),
        (Some("StockReserved"), Some("StockReleased"))
    );
    assert_eq!(events[1]["order_id"], events[2]["order_id"]);
    assert_eq!(events[2]["quantity"], json!(3));
    // ... and in the read model: the stock is whole again (eventually: it is a projection).
    let inv = eventually(format!("{base}/inventory"), |v| {
        v["events_applied"].as_u64() >= Some(6)
    })
    .await;
    assert_eq!(
        inv["levels"]["keyboard"],
        json!({"available": 10, "reserved": 0})
    );
    // The cart is untouched, so the customer can retry with another card.
    assert_eq!(
        get(format!("{base}/carts/c1")).await.1["items"],
        json!({"keyboard": 3})
    );
    assert_eq!(
        post(
            format!("{base}/carts/c1/checkout"),
            json!({"card_number": CARD})
        )
        .await
        .0,
        201
    );
}

#[tokio::test]
async fn order_saga_stops_at_first_step_when_stock_is_insufficient() {
    let base = start().await;
    add(&base, "c1", "monitor", 4).await; // only 3 in stock
    let (status, err) = post(
        format!("{base}/carts/c1/checkout"),
        json!({"card_number": CARD}),
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("insufficient stock for monitor"),
        "{err}"
    );
    assert_eq!(
        get(format!("{base}/streams/product-monitor"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(stock(&base, "monitor").await, (3, 0));
}

#[tokio::test]
async fn inventory_projection_tracks_reservations_from_event_subscription() {
    let base = start().await;
    let before = get(format!("{base}/inventory")).await.1["events_applied"]
        .as_u64()
        .unwrap();
    assert_eq!(stock(&base, "mouse").await, (25, 0));
    add(&base, "c1", "mouse", 5).await;
    assert_eq!(
        post(
            format!("{base}/carts/c1/checkout"),
            json!({"card_number": CARD})
        )
        .await
        .0,
        201
    );
    let inv = eventually(format!("{base}/inventory"), |v| {
        v["levels"]["mouse"]["reserved"] == json!(5)
    })
    .await;
    assert_eq!(inv["levels"]["mouse"]["available"], json!(20));
    assert!(inv["events_applied"].as_u64().unwrap() > before);
}

#[tokio::test]
async fn concurrent_checkouts_never_oversell_stock() {
    let base = start().await;
    for i in 0..5 {
        add(&base, &format!("c{i}"), "monitor", 1).await;
    }
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            tokio::spawn(post(
                format!("{base}/carts/c{i}/checkout"),
                json!({"card_number": CARD}),
            ))
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().0);
    }
    statuses.sort();
    assert_eq!(statuses, [201, 201, 201, 409, 409]);
    let inv = eventually(format!("{base}/inventory"), |v| {
        v["levels"]["monitor"]["reserved"] == json!(3)
    })
    .await;
    assert_eq!(inv["levels"]["monitor"]["available"], json!(0));
}

#[tokio::test]
async fn order_v1_events_are_upcast_to_v2_when_read() {
    let base = start().await;
    // Stored in the old schema (seeded at start-up: the log from before the schema change) ...
    let stored = get(format!("{base}/streams/order-legacy-1001")).await.1;
    assert_eq!(
        stored,
        json!([{"type": "OrderPlacedV1", "order_id": "legacy-1001",
        "items": [["keyboard", 1], ["monitor", 2]], "total": 429.97}])
    );
    // ... read in the current one, through AllFrame's AutoUpcaster<OrderV1, OrderV2>.
    let (status, order) = get(format!("{base}/orders/legacy-1001")).await;
    assert_eq!(status, 200);
    assert_eq!(
        order,
        json!({"order_id": "legacy-1001", "currency": "USD", "schema_version": 2, "total_cents": 42997,
        "lines": [{"product_id": "keyboard", "quantity": 1}, {"product_id": "monitor", "quantity": 2}]})
    );
    // New orders are written as V2 and read back unchanged.
    add(&base, "c1", "mouse", 1).await;
    let placed = post(
        format!("{base}/carts/c1/checkout"),
        json!({"card_number": CARD}),
    )
    .await
    .1;
    let id = placed["order"]["order_id"].as_str().unwrap();
    assert_eq!(get(format!("{base}/orders/{id}")).await.1, placed["order"]);
    assert_eq!(get(format!("{base}/orders/nope")).await.0, 404);
}

#[tokio::test]
async fn openapi_document_is_generated_by_allframe() {
    let base = start().await;
    let (status, doc) = get(format!("{base}/openapi.json")).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], json!("3.1.0"));
    assert_eq!(doc["info"]["title"], json!("AllFrame e-commerce demo"));
    assert_eq!(doc["paths"].as_object().unwrap().len(), 10);
    let checkout = &doc["paths"]["/carts/{id}/checkout"]["post"];
    assert_eq!(
        checkout["requestBody"]["content"]["application/json"]["schema"]["required"],
        json!(["card_number"])
    );
    assert_eq!(
        doc["paths"]["/carts/{id}/items/{product_id}"]["put"]["description"],
        json!("UpdateCart (CommandBus); 0 removes")
    );
}

#[tokio::test]
async fn scalar_docs_page_embeds_the_openapi_document() {
    let base = start().await;
    let r = reqwest::get(format!("{base}/docs")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"id="api-reference""#));
    // Finding: `ScalarConfig::spec_url("/openapi.json")` is dropped (`to_json` omits it); the page works only
    // because `scalar_html` embeds the whole document.
    let config = allframe_core::router::ScalarConfig::new().spec_url("/openapi.json");
    assert!(!config.to_json().to_string().contains("/openapi.json"));
    assert!(
        html.contains("/carts/{id}/checkout"),
        "the spec is embedded in the page"
    );
    assert!(
        html.contains("cdn.jsdelivr.net/npm/@scalar/api-reference"),
        "the UI itself loads from a CDN"
    );
}

#[tokio::test]
async fn malformed_input_gets_4xx_json_error_never_a_panic() {
    let base = start().await;
    let client = reqwest::Client::new();
    let send = |req: reqwest::RequestBuilder| async move {
        let r = req
            .send()
            .await
            .expect("the connection is answered, not dropped");
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("a JSON error body");
        assert!(demo_support::error::ErrorBody::matches(&body), "{body}");
        assert_eq!(body["status"], json!(status), "{body}");
        (status, body["code"].as_str().unwrap().to_string())
    };
    let code = |status: u16, code: &str| (status, code.to_string());
    let items = format!("{base}/carts/c1/items/mouse");
    let json = |b: &'static str| {
        client
            .put(&items)
            .header("content-type", "application/json")
            .body(b)
    };
    assert_eq!(
        send(json("{\"quantity\":")).await,
        code(400, "malformed_json")
    );
    assert_eq!(send(json(r#""three""#)).await, code(422, "invalid_body"));
    assert_eq!(send(json("{}")).await, code(422, "invalid_body"));
    assert_eq!(
        send(json(r#"{"quantity":-1}"#)).await,
        code(422, "invalid_body")
    );
    assert_eq!(
        send(json(r#"{"quantity":1e99}"#)).await,
        code(422, "invalid_body")
    );
    let huge = r#"{"quantity":18446744073709551615}"#;
    assert_eq!(send(json(huge)).await, code(422, "invalid_body"));
    let extra = r#"{"quantity":1,"discount":100}"#;
    assert_eq!(send(json(extra)).await, code(422, "invalid_body"));
    let no_type = client.put(&items).body(r#"{"quantity":1}"#);
    assert_eq!(send(no_type).await, code(415, "unsupported_media_type"));
    let checkout = format!("{base}/carts/c1/checkout");
    let not_a_card = client
        .post(&checkout)
        .json(&json!({"card_number": "not-a-card"}));
    assert_eq!(send(not_a_card).await, code(422, "invalid_input"));
    let empty_cart = client.post(&checkout).json(&json!({"card_number": CARD}));
    assert_eq!(send(empty_cart).await, code(422, "invalid_input"));
    let invalid_utf8 = client.get(format!("{base}/carts/%FF"));
    assert_eq!(send(invalid_utf8).await, code(400, "invalid_path"));
    let put_products = client.put(format!("{base}/products"));
    assert_eq!(send(put_products).await, code(405, "method_not_allowed"));
    let nowhere = client.get(format!("{base}/no/such/route"));
    assert_eq!(send(nowhere).await, code(404, "no_such_route"));
    assert_eq!(get(format!("{base}/health")).await.0, 200, "still serving");
}

#[tokio::test]
async fn checkout_finishes_when_the_client_disconnects() {
    let server = serve().await;
    let base = server.base.clone();
    add(&base, "c1", "keyboard", 2).await;
    // The whole request is sent, then the connection closed before any answer is read.
    let body = json!({"card_number": CARD, "order_id": "gone-1"}).to_string();
    let request = format!(
        "POST /carts/c1/checkout HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut conn = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut conn, request.as_bytes())
        .await
        .unwrap();
    drop(conn);
    let order = eventually(format!("{base}/streams/order-gone-1"), |events| {
        events.as_array().is_some_and(|e| e.len() >= 2)
    })
    .await;
    let types: Vec<&str> = order
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["PaymentCaptured", "OrderPlaced"]);
    let (status, placed) = get(format!("{base}/orders/gone-1")).await;
    assert_eq!((status, &placed["total_cents"]), (200, &json!(2 * 4999)));
    assert_eq!(get(format!("{base}/carts/c1")).await.1["items"], json!({}));
}

#[tokio::test]
async fn failed_checkout_keeps_its_outcome_under_its_order_id() {
    let base = start().await;
    add(&base, "c1", "keyboard", 1).await;
    let declined = json!({"card_number": DECLINED, "order_id": "o-1"});
    let (status, answer) = post(format!("{base}/carts/c1/checkout"), declined).await;
    assert_eq!(
        (status, &answer["code"]),
        (409, &json!("payment_declined")),
        "{answer}"
    );
    let (status, stored) = get(format!("{base}/orders/o-1")).await;
    assert_eq!(
        (status, &stored["code"]),
        (409, &json!("order_failed")),
        "{stored}"
    );
    let events = get(format!("{base}/streams/order-o-1")).await.1;
    assert_eq!(events[0]["type"], json!("OrderFailed"));
    assert_eq!(
        (&events[0]["kind"], &events[0]["step"]),
        (&json!("payment_declined"), &json!("charge-payment"))
    );
    let again = json!({"card_number": CARD, "order_id": "o-1"});
    let (status, answer) = post(format!("{base}/carts/c1/checkout"), again).await;
    assert_eq!(
        (status, &answer["code"]),
        (409, &json!("order_exists")),
        "one outcome per order id"
    );
    add(&base, "c2", "monitor", 5).await;
    let (status, answer) = post(
        format!("{base}/carts/c2/checkout"),
        json!({"card_number": CARD}),
    )
    .await;
    assert_eq!(
        (status, &answer["code"]),
        (409, &json!("insufficient_stock")),
        "{answer}"
    );
}
