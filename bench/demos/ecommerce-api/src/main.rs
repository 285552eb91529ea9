//! ecommerce-api binary: `ecommerce-api [ADDR]` (or env DEMO_ADDR; default 127.0.0.1:8080).
//! AllFrame provides the CQRS core (see lib.rs); axum + tokio serve HTTP.
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).or_else(|| std::env::var("DEMO_ADDR").ok());
    let listener = tokio::net::TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080")).await?;
    let app = ecommerce_api::app().await;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
