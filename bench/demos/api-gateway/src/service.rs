//! The one set of handlers (an in-memory inventory), served over gRPC by AllFrame's `GrpcServer`; REST and
//! GraphQL reach them by translation to gRPC calls. One error type, `GatewayError`, maps to each protocol's
//! status: gRPC through AllFrame's `#[derive(GrpcError)]`, HTTP and GraphQL through `ApiError::status_code`.
use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use allframe::otel::traced;
use axum::http::StatusCode;
use demo_support::error::ApiError;
use tonic::{Code, Request, Response, Status};
use tracing::Instrument;

use crate::proto::{
    inventory_server, CreateItemRequest, GetItemRequest, Item, ListItemsRequest, ListItemsResponse,
};
use crate::telemetry::server_span;

#[derive(Debug, thiserror::Error, allframe::GrpcError)]
pub enum GatewayError {
    #[error("{0}")]
    #[grpc(NOT_FOUND)]
    NotFound(String),
    #[error("{0}")]
    #[grpc(INVALID_ARGUMENT)]
    InvalidArgument(String),
    #[error("{0}")]
    #[grpc(ALREADY_EXISTS)]
    AlreadyExists(String),
    #[error("{0}")]
    #[grpc(UNAVAILABLE)]
    Unavailable(String),
}

/// Back from a gRPC status (the REST and GraphQL side of a translated call).
impl From<Status> for GatewayError {
    fn from(status: Status) -> Self {
        let message = status.message().to_string();
        match status.code() {
            Code::NotFound => GatewayError::NotFound(message),
            Code::InvalidArgument => GatewayError::InvalidArgument(message),
            Code::AlreadyExists => GatewayError::AlreadyExists(message),
            code => GatewayError::Unavailable(format!("{code:?}: {message}")),
        }
    }
}

/// The HTTP status and the code shared by the REST and GraphQL error bodies (gRPC's names, in snake_case).
impl ApiError for GatewayError {
    fn status_code(&self) -> (StatusCode, &'static str) {
        match self {
            GatewayError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            GatewayError::InvalidArgument(_) => (StatusCode::BAD_REQUEST, "invalid_argument"),
            GatewayError::AlreadyExists(_) => (StatusCode::CONFLICT, "already_exists"),
            GatewayError::Unavailable(_) => (StatusCode::BAD_GATEWAY, "unavailable"),
        }
    }
}

demo_support::json_error!(GatewayError);

#[derive(Clone, Debug)]
pub struct Inventory {
    items: Arc<RwLock<BTreeMap<String, Item>>>,
}

impl Default for Inventory {
    fn default() -> Self {
        let seed = [
            ("widget", "Widget", 12),
            ("gadget", "Gadget", 0),
            ("gizmo", "Gizmo", 7),
        ];
        let items = seed.map(|(id, name, quantity)| {
            (
                id.to_string(),
                Item {
                    id: id.into(),
                    name: name.into(),
                    quantity,
                },
            )
        });
        Inventory {
            items: Arc::new(RwLock::new(items.into_iter().collect())),
        }
    }
}

impl Inventory {
    #[traced(name = "inventory.get_item", skip(self))]
    pub async fn get_item(&self, id: String) -> Result<Item, GatewayError> {
        let item = self.items.read().unwrap().get(&id).cloned();
        item.ok_or_else(|| GatewayError::NotFound(format!("item {id} not found")))
    }

    #[traced(name = "inventory.list_items", skip(self))]
    pub async fn list_items(&self) -> Result<Vec<Item>, GatewayError> {
        Ok(self.items.read().unwrap().values().cloned().collect())
    }

    #[traced(name = "inventory.create_item", skip(self))]
    pub async fn create_item(&self, name: String, quantity: u32) -> Result<Item, GatewayError> {
        let id: String = name
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        if id.is_empty() || name.len() > 64 {
            return Err(GatewayError::InvalidArgument(
                "name must have 1 to 64 characters, some alphanumeric".into(),
            ));
        }
        let mut items = self.items.write().unwrap();
        if items.contains_key(&id) {
            return Err(GatewayError::AlreadyExists(format!("item {id} exists")));
        }
        let item = Item {
            id: id.clone(),
            name: name.trim().into(),
            quantity,
        };
        items.insert(id, item.clone());
        Ok(item)
    }
}

/// The gRPC face of the handlers (generated trait from `proto/inventory.proto`).
#[tonic::async_trait]
impl inventory_server::Inventory for Inventory {
    async fn get_item(&self, req: Request<GetItemRequest>) -> Result<Response<Item>, Status> {
        let span = server_span("GetItem", req.metadata());
        Ok(Response::new(
            Inventory::get_item(self, req.into_inner().id)
                .instrument(span)
                .await?,
        ))
    }
    async fn list_items(
        &self,
        req: Request<ListItemsRequest>,
    ) -> Result<Response<ListItemsResponse>, Status> {
        let span = server_span("ListItems", req.metadata());
        Ok(Response::new(ListItemsResponse {
            items: Inventory::list_items(self).instrument(span).await?,
        }))
    }
    async fn create_item(&self, req: Request<CreateItemRequest>) -> Result<Response<Item>, Status> {
        let span = server_span("CreateItem", req.metadata());
        let req = req.into_inner();
        Ok(Response::new(
            Inventory::create_item(self, req.name, req.quantity)
                .instrument(span)
                .await?,
        ))
    }
}
