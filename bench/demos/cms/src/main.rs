//! cms binary: `cms [ADDR]` (or env DEMO_ADDR; default 127.0.0.1:8080); env JWT_SECRET (required, at least 32
//! bytes) signs the tokens. AllFrame provides the CQRS core and JWT validation (see lib.rs); axum and
//! async-graphql serve HTTP.
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    demo_support::startup::exit("cms", run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = cms::Config::from_env()?;
    let limit = config.max_upload_bytes;
    let app = cms::app(config).await?;
    demo_support::serve_with_limit(app, &demo_support::addr(), limit).await?;
    Ok(())
}
