//! ecommerce-api binary: `ecommerce-api [ADDR]` (or env DEMO_ADDR; default 127.0.0.1:8080).
//! AllFrame provides the CQRS core (see lib.rs); axum + tokio serve HTTP.
use tokio_util::task::TaskTracker;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tasks = TaskTracker::new();
    let app = ecommerce_api::app(tasks.clone()).await?;
    demo_support::serve(app, &demo_support::addr()).await?;
    // After SIGTERM or Ctrl-C: let the checkouts whose clients went away finish.
    tasks.close();
    tasks.wait().await;
    Ok(())
}
