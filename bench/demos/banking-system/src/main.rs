//! banking-system binary: `banking-system [ADDR]` (or env DEMO_ADDR; default 127.0.0.1:8080); env
//! BANK_DB names the SQLite event store file (default: in memory). AllFrame provides the CQRS core
//! and sagas (see lib.rs); axum + tokio serve HTTP.
use tokio_util::task::TaskTracker;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tasks = TaskTracker::new();
    let app = banking_system::app(banking_system::Config::from_env(), tasks.clone()).await?;
    demo_support::serve(app, &demo_support::addr()).await?;
    // After SIGTERM or Ctrl-C: let the transfers whose clients went away finish.
    tasks.close();
    tasks.wait().await;
    Ok(())
}
