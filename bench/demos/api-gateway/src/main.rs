//! api-gateway binary: `api-gateway [ADDR]` (or env DEMO_ADDR; default 127.0.0.1:8080) serves REST and
//! GraphQL; env GRPC_ADDR sets the gRPC address (default: a free port, printed on stderr) and
//! OTEL_SPANS_FILE a file for the exported spans. AllFrame serves gRPC (see lib.rs); axum serves HTTP.
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).or_else(|| std::env::var("DEMO_ADDR").ok());
    let listener = tokio::net::TcpListener::bind(addr.as_deref().unwrap_or("127.0.0.1:8080")).await?;
    let config = api_gateway::Config::from_env()?;
    eprintln!("gRPC on {}", config.grpc_addr);
    let app = api_gateway::app(config).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
