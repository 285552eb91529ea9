//! banking-system binary: `banking-system [ADDR]` (or env DEMO_ADDR; default 127.0.0.1:8080); env
//! BANK_DB names the SQLite event store file (default: in memory). AllFrame provides the CQRS core
//! and sagas (see lib.rs); axum + tokio serve HTTP; `demo_support::saga::serve` lets the transfers
//! whose clients went away finish after SIGTERM or Ctrl-C.
use banking_system::{app, Config};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    demo_support::saga::serve(|tasks| app(Config::from_env(), tasks)).await
}
