//! Actix-web, written the idiomatic way (App with shared Data, one worker per core it may use).
use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{http::header, web, App, HttpResponse, HttpServer};
use tfb::{json_body, queries_param, Db, HELLO};

type Params = web::Query<HashMap<String, String>>;

fn q(p: &Params) -> usize {
    queries_param(p.get("queries").or_else(|| p.get("q")).map(String::as_str))
}

fn json(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::SERVER, "actix")).content_type("application/json").body(body)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let s = tfb::setup();
    let db: Arc<Db> = Db::connect(&s.database_url, s.pool).await.expect("database");
    eprintln!("tfb-actix listening on {}", s.addr);
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::from(db.clone()))
            .route("/plaintext", web::get().to(|| async {
                HttpResponse::Ok().insert_header((header::SERVER, "actix")).content_type("text/plain").body(HELLO)
            }))
            .route("/json", web::get().to(|| async { json(json_body()) }))
            .route("/db", web::get().to(|db: web::Data<Db>| async move { json(serde_json::to_vec(&db.db().await).unwrap()) }))
            .route("/queries", web::get().to(|db: web::Data<Db>, p: Params| async move {
                json(serde_json::to_vec(&db.queries(q(&p)).await).unwrap())
            }))
            .route("/updates", web::get().to(|db: web::Data<Db>, p: Params| async move {
                json(serde_json::to_vec(&db.updates(q(&p)).await).unwrap())
            }))
            .route("/fortunes", web::get().to(|db: web::Data<Db>| async move {
                HttpResponse::Ok().insert_header((header::SERVER, "actix"))
                    .content_type("text/html; charset=utf-8").body(db.fortunes_html().await)
            }))
    })
    .workers(tfb::threads())
    .bind(&s.addr)?
    .run()
    .await
}
