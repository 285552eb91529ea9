//! A demo's whole OpenAPI 3.1 document from its route table (feature `apidoc`): the paths and request
//! bodies by AllFrame's `OpenApiGenerator`, then each operation's real statuses and path parameters by
//! [`openapi::document_all`] and, where asked, its bearer security.
//!
//! ```
//! use demo_support::apidoc;
//! const API: [&str; 2] = [
//!     "GET /notes 200 | Every note",
//!     "POST /notes 201 401 413 415 422 | A new note {text}",
//! ];
//! let bodies = [("POST /notes", apidoc::strings(&["text"]))];
//! let mut doc = apidoc::generate("Notes", "0.1.0", &API, &bodies);
//! apidoc::bearer(&mut doc, &API, |row| row.method == "POST");
//! assert_eq!(doc["paths"]["/notes"]["post"]["security"][0]["bearer"], serde_json::json!([]));
//! ```
use allframe_core::router::{OpenApiGenerator, RouteMetadata, Router};
use serde_json::{json, Value};

use crate::openapi::{self, RouteDoc};

/// The document of `table` (rows as [`openapi::parse`] reads them); `bodies` gives the JSON schema of
/// some operations' request bodies, by `"METHOD /path"`.
pub fn generate(title: &str, version: &str, table: &[&str], bodies: &[(&str, Value)]) -> Value {
    let mut router = Router::new();
    for row in table.iter().map(|r| openapi::parse(r)) {
        let route = RouteMetadata::new(row.path, row.method, "rest");
        let route = route.with_description(row.description);
        let operation = format!("{} {}", row.method, row.path);
        router.add_route(match bodies.iter().find(|(op, _)| *op == operation) {
            Some((_, schema)) => route.with_request_schema(schema.clone()),
            None => route,
        });
    }
    let mut doc = OpenApiGenerator::new(title, version).generate(&router);
    openapi::document_all(&mut doc, table);
    doc
}

/// Marks the rows of `table` for which `needs_token` holds as needing `Authorization: Bearer`.
pub fn bearer(doc: &mut Value, table: &[&str], needs_token: impl Fn(&RouteDoc) -> bool) {
    for row in table.iter().map(|r| openapi::parse(r)).filter(needs_token) {
        let operation = &mut doc["paths"][row.path][row.method.to_lowercase()];
        operation["security"] = json!([{"bearer": []}]);
    }
    doc["components"]["securitySchemes"]["bearer"] = json!({"type": "http", "scheme": "bearer"});
}

/// The schema of a JSON object whose `fields` are all required strings.
pub fn strings(fields: &[&str]) -> Value {
    let properties: serde_json::Map<_, _> = fields
        .iter()
        .map(|f| (f.to_string(), json!({"type": "string"})))
        .collect();
    json!({"type": "object", "required": fields, "properties": properties})
}
