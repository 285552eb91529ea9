//! api-gateway binary: `api-gateway [ADDR]` (or env DEMO_ADDR; default 127.0.0.1:8080) serves REST and
//! GraphQL; env GRPC_ADDR sets the gRPC address (default: a free port, printed on stderr) and
//! OTEL_SPANS_FILE a file for the exported spans. AllFrame serves gRPC (see lib.rs); axum serves HTTP.
use api_gateway::{app, serve_grpc, Config};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let grpc_addr = std::env::var("GRPC_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into());
    // Bound once, here, and handed to the gRPC server: no other process can take the port in between.
    let grpc_listener = tokio::net::TcpListener::bind(&grpc_addr).await?;
    let config = Config {
        grpc_addr: grpc_listener.local_addr()?,
        spans_file: std::env::var_os("OTEL_SPANS_FILE").map(Into::into),
    };
    eprintln!("gRPC on {}", config.grpc_addr);
    tokio::spawn(async move {
        if let Err(e) = serve_grpc(grpc_listener, demo_support::shutdown_signal()).await {
            // The gateway keeps serving; its /health answers 503 from now on.
            eprintln!("the gRPC server stopped: {e}");
        }
    });
    demo_support::serve(app(config), &demo_support::addr()).await?;
    Ok(())
}
