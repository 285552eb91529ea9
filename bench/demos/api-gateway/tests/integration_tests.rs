//! api-gateway over real HTTP (REST, GraphQL) and real gRPC: one test per PRD feature of scenario 3.
mod common;
use api_gateway::proto::{CreateItemRequest, GetItemRequest, ListItemsRequest};
use common::*;
use serde_json::{json, Value};
use tonic::Code;

#[tokio::test]
async fn health_endpoint_answers_ok() {
    let gw = start().await;
    let (status, health) = rest_get(&gw.base, "/health").await;
    assert_eq!((status, &health["status"]), (200, &json!("ok")), "{health}");
    assert_eq!(health["dependencies"]["grpc"]["status"], json!("serving"));
}

#[tokio::test]
async fn health_reports_503_once_the_grpc_server_is_gone() {
    let mut gw = start().await;
    assert_eq!(rest_get(&gw.base, "/health").await.0, 200);
    gw.stop_grpc().await;
    let (status, health) = rest_get(&gw.base, "/health").await;
    assert_eq!(status, 503, "{health}");
    assert!(demo_support::error::ErrorBody::matches(&health), "{health}");
    assert_eq!(health["code"], json!("dependency_unavailable"));
    assert_eq!(
        health["dependencies"]["grpc"]["status"],
        json!("unavailable")
    );
    println!("GET /health with the gRPC server stopped: {status} {health}");
    // The REST face says which side failed: 502, the backend is unavailable.
    let (status, err) = rest_get(&gw.base, "/items/widget").await;
    assert_eq!(
        (status, &err["code"]),
        (502, &json!("unavailable")),
        "{err}"
    );
}

#[tokio::test]
async fn rest_requests_are_translated_to_grpc_calls() {
    let mut gw = start().await;
    let (status, item) = rest_get(&gw.base, "/items/widget").await;
    assert_eq!(
        (status, item),
        (
            200,
            json!({"id": "widget", "name": "Widget", "quantity": 12})
        )
    );
    let body = json!({"name": "Sprocket", "quantity": 40});
    let (status, created) = send(
        reqwest::Client::new()
            .post(format!("{}/items", gw.base))
            .json(&body),
    )
    .await;
    assert_eq!((status, &created["id"]), (201, &json!("sprocket")));
    // The REST write went to the gRPC service: a plain gRPC client sees it.
    let via_grpc = gw
        .grpc
        .get_item(GetItemRequest {
            id: "sprocket".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (via_grpc.name.as_str(), via_grpc.quantity),
        ("Sprocket", 40)
    );
    assert_eq!(
        rest_get(&gw.base, "/items")
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn graphql_requests_are_served_by_the_same_handlers() {
    let mut gw = start().await;
    let created = gql(
        &gw.base,
        r#"mutation { createItem(name: "Flange", quantity: 3) { id name quantity } }"#,
    )
    .await;
    assert_eq!(
        created["data"]["createItem"],
        json!({"id": "flange", "name": "Flange", "quantity": 3})
    );
    assert_eq!(
        rest_get(&gw.base, "/items/flange").await.1["quantity"],
        json!(3)
    );
    let listed = gw
        .grpc
        .list_items(ListItemsRequest {})
        .await
        .unwrap()
        .into_inner()
        .items;
    assert!(listed.iter().any(|i| i.id == "flange"));
}

#[tokio::test]
async fn grpc_service_is_served_by_allframe_grpc_server_with_reflection_and_health() {
    let mut gw = start().await;
    let item = gw
        .grpc
        .get_item(GetItemRequest { id: "gizmo".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((item.name.as_str(), item.quantity), ("Gizmo", 7));
    // Reflection (AllFrame's reflection_service over the build's descriptor set) lists the service.
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient, ServerReflectionRequest,
    };
    use tonic_reflection::pb::v1::{
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut reflection = ServerReflectionClient::new(gw.grpc_channel.clone());
    let list = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let stream = tonic::codegen::tokio_stream::iter([list]);
    let mut answers = reflection
        .server_reflection_info(stream)
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        answers.message().await.unwrap().unwrap().message_response
    else {
        panic!("no service list");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"inventory.v1.Inventory"), "{names:?}");
    // Health (tonic-health: AllFrame's own health service cannot be added to the server, see README).
    let mut health = tonic_health::pb::health_client::HealthClient::new(gw.grpc_channel.clone());
    let answer = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        answer.into_inner().status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}

#[tokio::test]
async fn one_error_type_maps_to_each_protocol_status() {
    let mut gw = start().await;
    let client = reqwest::Client::new();
    // Not found.
    let (status, rest) = rest_get(&gw.base, "/items/nope").await;
    assert_eq!((status, &rest["code"]), (404, &json!("not_found")));
    let graphql = gql(&gw.base, r#"{ item(id: "nope") { id } }"#).await;
    assert_eq!(
        graphql["errors"][0]["extensions"]["code"],
        json!("not_found")
    );
    let grpc = gw
        .grpc
        .get_item(GetItemRequest { id: "nope".into() })
        .await
        .unwrap_err();
    assert_eq!(grpc.code(), Code::NotFound);
    assert_eq!(
        (
            rest["error"].as_str(),
            graphql["errors"][0]["message"].as_str()
        ),
        (Some(grpc.message()), Some(grpc.message()))
    );
    // Invalid argument.
    let (status, rest) = send(
        client
            .post(format!("{}/items", gw.base))
            .json(&json!({"name": "  ", "quantity": 1})),
    )
    .await;
    assert_eq!((status, &rest["code"]), (400, &json!("invalid_argument")));
    let graphql = gql(
        &gw.base,
        r#"mutation { createItem(name: "", quantity: 1) { id } }"#,
    )
    .await;
    assert_eq!(
        graphql["errors"][0]["extensions"]["code"],
        json!("invalid_argument")
    );
    let grpc = gw
        .grpc
        .create_item(CreateItemRequest {
            name: String::new(),
            quantity: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(grpc.code(), Code::InvalidArgument);
    // Already exists.
    let (status, rest) = send(
        client
            .post(format!("{}/items", gw.base))
            .json(&json!({"name": "Widget", "quantity": 1})),
    )
    .await;
    assert_eq!((status, &rest["code"]), (409, &json!("already_exists")));
    let grpc = gw
        .grpc
        .create_item(CreateItemRequest {
            name: "widget".into(),
            quantity: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(grpc.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn opentelemetry_spans_are_exported_for_gateway_and_grpc_handler() {
    let gw = start().await;
    let name = format!("Traced{}", std::process::id());
    let body = json!({"name": name, "quantity": 1});
    assert_eq!(
        send(
            reqwest::Client::new()
                .post(format!("{}/items", gw.base))
                .json(&body)
        )
        .await
        .0,
        201
    );
    rest_get(&gw.base, "/items/missing-thing").await;
    let spans: Vec<Value> = std::fs::read_to_string(spans_file())
        .expect("the exporter wrote the spans file")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok()) // a line being written by another test
        .collect();
    let find = |span: &str, key: &str, value: &str| {
        spans
            .iter()
            .find(|s| s["name"] == json!(span) && s["attributes"][key] == json!(value))
            .cloned()
    };
    let gateway = find("gateway.create_item", "name", &name).expect("the REST face's span");
    let handler = find("inventory.create_item", "name", &name).expect("the gRPC handler's span");
    assert_eq!(
        (gateway["status"].as_str(), handler["status"].as_str()),
        (Some("Unset"), Some("Unset"))
    );
    let failed =
        find("inventory.get_item", "id", "missing-thing").expect("the failing call's span");
    assert!(
        failed["status"].as_str().unwrap().starts_with("Error"),
        "{failed}"
    );
    // One trace across the protocol translation: gateway span → gRPC server span → handler span.
    assert_eq!(
        handler["trace_id"], gateway["trace_id"],
        "the trace context travelled in the gRPC metadata"
    );
    let server = spans
        .iter()
        .find(|s| s["span_id"] == handler["parent_span_id"])
        .expect("the gRPC server span");
    assert_eq!(
        (&server["name"], &server["attributes"]["rpc.method"]),
        (&json!("grpc.server"), &json!("CreateItem"))
    );
    assert_eq!(server["parent_span_id"], gateway["span_id"]);
}

#[tokio::test]
async fn api_descriptions_are_generated_openapi_sdl_and_proto() {
    let gw = start().await;
    let (status, doc) = rest_get(&gw.base, "/openapi.json").await;
    assert_eq!((status, &doc["openapi"]), (200, &json!("3.1.0")));
    assert!(
        doc["paths"]["/items"]["post"].is_object()
            && doc["paths"]["/items/{id}"]["get"].is_object()
    );
    let sdl = reqwest::get(format!("{}/graphql/schema.graphql", gw.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        sdl.contains("createItem(name: String!, quantity: Int!): Item!"),
        "{sdl}"
    );
    let proto = reqwest::get(format!("{}/proto/inventory.proto", gw.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(proto.contains("service Inventory"));
}

#[tokio::test]
async fn malformed_input_gets_4xx_json_error_never_a_panic() {
    let gw = start().await;
    let client = reqwest::Client::new();
    let check = |req: reqwest::RequestBuilder| async move {
        let (status, body) = send(req).await;
        assert!(demo_support::error::ErrorBody::matches(&body), "{body}");
        assert_eq!(body["status"], json!(status));
        status
    };
    let raw = |path: &str, b: &'static str| {
        let url = format!("{}{path}", gw.base);
        client
            .post(url)
            .header("content-type", "application/json")
            .body(b)
    };
    assert_eq!(check(raw("/items", "{\"name\": ")).await, 400);
    assert_eq!(
        check(raw("/items", r#"{"name": "x", "quantity": -1}"#)).await,
        422
    );
    assert_eq!(check(raw("/items", r#"{"name": "x"}"#)).await, 422);
    assert_eq!(
        check(raw("/items", r#"{"name": "x", "quantity": 1, "n": 2}"#)).await,
        422
    );
    assert_eq!(
        check(client.post(format!("{}/items", gw.base)).body("x")).await,
        415
    );
    assert_eq!(check(raw("/graphql", "{\"query\": ")).await, 400);
    assert_eq!(
        check(client.get(format!("{}/items/%FF", gw.base))).await,
        400
    );
    assert_eq!(
        check(client.delete(format!("{}/items", gw.base))).await,
        405
    );
    assert_eq!(
        check(client.get(format!("{}/no/such/route", gw.base))).await,
        404
    );
    let big = format!(r#"{{"query": "{}"}}"#, "x".repeat(3 << 20));
    assert_eq!(check(raw("/graphql", "").body(big)).await, 413);
    assert_eq!(rest_get(&gw.base, "/health").await.0, 200, "still serving");
}
