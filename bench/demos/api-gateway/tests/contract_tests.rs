//! Contract tests: the same request over REST, GraphQL and gRPC gives the same answer.
mod common;
use api_gateway::proto::{GetItemRequest, ListItemsRequest};
use common::*;
use serde_json::json;

#[tokio::test]
async fn same_get_request_over_rest_graphql_and_grpc_gives_same_item() {
    let mut gw = start().await;
    for id in ["widget", "gadget", "gizmo"] {
        let rest = rest_get(&gw.base, &format!("/items/{id}")).await.1;
        let graphql =
            gql(&gw.base, &format!(r#"{{ item(id: "{id}") {{ id name quantity }} }}"#)).await["data"]["item"].clone();
        let grpc = serde_json::to_value(gw.grpc.get_item(GetItemRequest { id: id.into() }).await.unwrap().into_inner())
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
    let grpc = serde_json::to_value(gw.grpc.list_items(ListItemsRequest {}).await.unwrap().into_inner().items).unwrap();
    assert_eq!((&rest, &rest), (&graphql, &grpc));
    assert_eq!(rest.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn same_failing_request_over_every_protocol_gives_same_error() {
    let mut gw = start().await;
    let rest = rest_get(&gw.base, "/items/absent").await.1;
    let graphql = gql(&gw.base, r#"{ item(id: "absent") { id } }"#).await["errors"][0].clone();
    let grpc = gw.grpc.get_item(GetItemRequest { id: "absent".into() }).await.unwrap_err();
    assert_eq!(rest["code"], json!("NOT_FOUND"));
    assert_eq!(graphql["extensions"]["code"], rest["code"]);
    assert_eq!(format!("{:?}", grpc.code()), "NotFound");
    assert_eq!((rest["error"].clone(), graphql["message"].clone()), (json!(grpc.message()), json!(grpc.message())));
}
