//! chat-app binary: `chat-app [ADDR]` (or env DEMO_ADDR; default 127.0.0.1:8080); env JWT_SECRET (required,
//! at least 32 bytes) signs the tokens. AllFrame provides the event-sourced log, CQRS and JWT validation (see
//! lib.rs); axum and async-graphql serve HTTP, GraphQL and the WebSocket subscriptions.
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    demo_support::startup::exit("chat-app", run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let app = chat_app::app(chat_app::Config::from_env()?).await?;
    demo_support::serve(app, &demo_support::addr()).await?;
    Ok(())
}
