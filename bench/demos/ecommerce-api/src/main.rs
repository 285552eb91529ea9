//! ecommerce-api binary: `ecommerce-api [ADDR]` (or env DEMO_ADDR; default 127.0.0.1:8080).
//! AllFrame provides the CQRS core (see lib.rs); axum + tokio serve HTTP;
//! `demo_support::saga::serve` lets the checkouts whose clients went away finish after SIGTERM or
//! Ctrl-C.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    demo_support::saga::serve(ecommerce_api::app).await
}
