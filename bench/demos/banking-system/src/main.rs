//! banking-system binary: `banking-system [ADDR]` (or env DEMO_ADDR; default 127.0.0.1:8080); env BANK_DB
//! names the SQLite event store file (default: in memory). AllFrame provides the CQRS core and sagas (see
//! lib.rs); axum + tokio serve HTTP.
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).or_else(|| std::env::var("DEMO_ADDR").ok());
    let listener = tokio::net::TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080")).await?;
    let app = banking_system::app(Default::default()).await.map_err(std::io::Error::other)?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
