//! chat-app binary: `chat-app [ADDR]` (or env DEMO_ADDR; default 127.0.0.1:8080); env CHAT_JWT_SECRET sets
//! the token secret. AllFrame provides the event-sourced log, CQRS and JWT validation (see lib.rs);
//! axum and async-graphql serve HTTP, GraphQL and the WebSocket subscriptions.
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).or_else(|| std::env::var("DEMO_ADDR").ok());
    let listener = tokio::net::TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080")).await?;
    let app = chat_app::app(Default::default()).await;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
