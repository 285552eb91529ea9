//! Actix-web hello world: the idiomatic smallest server a user would write.
use actix_web::{get, App, HttpServer, Responder};

#[get("/")]
async fn hello() -> impl Responder {
    "Hello, World!"
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3000".into());
    HttpServer::new(|| App::new().service(hello)).bind(addr)?.run().await
}
